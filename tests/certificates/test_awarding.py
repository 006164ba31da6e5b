"""Issuing an engagement's certificate: dated by the operations' clock, not by the assessment.

The evaluation is made on the assessment date; the decision and the issue come months later on
the same (injected) clock. The certificate states both dates, and its validity and surveillance
count from the day it was issued.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from pyhanko.pdf_utils.reader import PdfFileReader

from certificates.keys import SigningKey
from certificates.scheme import Scheme
from engine.rulepack import RulePack
from tests.engagements.conftest import ADMIN, DAY, REVIEWER, MovableClock, World, evaluated, make_world

DECIDED = dt.date(2026, 11, 22)
"""The day the reviewer decides and the administrator issues, months after the assessment."""


class AfternoonClock(MovableClock):
    """The engagement tests' clock, but at 14:05:09 UTC on its day rather than midnight."""

    def now(self) -> dt.datetime:
        return dt.datetime.combine(self.day, dt.time(14, 5, 9), tzinfo=dt.UTC)


@pytest.fixture
def world(database: str, tmp_path: Path, rule_pack: RulePack) -> Iterator[World]:
    """The engagement tests' world, on a clock that stands in the afternoon."""
    with make_world(database, tmp_path, rule_pack, AfternoonClock(DAY)) as made:
        yield made


def test_the_issue_date_is_the_clock_s_day_of_issue(world: World, signing_key: SigningKey) -> None:
    eid = evaluated(world)  # on the assessment date
    world.at(DECIDED)
    world.decisions.decide(REVIEWER, eid, "certify", "evidence supports the profile")
    out = world.tmp / "cert.pdf"
    cert = world.awarding.issue(
        ADMIN, eid, signing_key, body="Test Body", language="en+zh", out=out, scheme=Scheme()
    ).certificate
    assert (cert.assessed_on, cert.issued_on) == (DAY, DECIDED)
    assert cert.expires_on == dt.date(2029, 11, 21)
    assert cert.surveillance_due == [dt.date(2027, 11, 22), dt.date(2028, 11, 22)]
    info = PdfFileReader(io.BytesIO(out.read_bytes())).trailer["/Info"]
    assert str(info["/CreationDate"]) == "D:20261122140509Z"
    issued = [e["payload"] for e in world.trail_events() if e["event"] == "certificate.issued"]
    assert [p["number"] for p in issued] == [cert.number]
