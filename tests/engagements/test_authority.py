"""Separation of duties: every refused operation names the problem, changes nothing, and is
itself recorded in the trail with the person who tried. On SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

import pytest

from assay.cli import run
from audits.engagements import Verdict
from audits.errors import RefusedError
from audits.people import PersonEntry
from certificates.keys import SigningKey
from certificates.scheme import Scheme
from tests.engagements.conftest import (
    ADMIN,
    AUDITOR,
    DAY,
    LEAD,
    REVIEWER,
    SUBMITTER,
    World,
    applied,
    evaluated,
    inference,
)

Attempt = Callable[[World, str], object]
VERDICT = [Verdict("HB-STRAT-01", "accepted", "document_review", "checked")]


def _issue(person: str) -> Callable[[World, str, SigningKey], object]:
    def attempt(world: World, eid: str, key: SigningKey) -> object:
        out = world.tmp / "refused.pdf"
        return world.awarding.issue(person, eid, key, body="B", language="en", out=out, scheme=Scheme())

    return attempt


CASES: list[tuple[str, Attempt, str]] = [
    (
        "community verifies its own evidence",
        lambda w, e: w.engagements.verify(SUBMITTER, e, VERDICT),
        "a community never verifies or audits its own evidence",
    ),
    (
        "auditor decides on an engagement they audited",
        lambda w, e: w.decisions.decide(AUDITOR, e, "certify", "x"),
        "they audited it",
    ),
    (
        "lead auditor decides",
        lambda w, e: w.decisions.decide(LEAD, e, "certify", "x"),
        "they audited it",
    ),
    (
        "a reviewer not assigned decides",
        lambda w, e: w.decisions.decide("kai", e, "certify", "x"),
        "only its assigned reviewer may",
    ),
    (
        "auditor not on the team verifies",
        lambda w, e: w.engagements.verify("noor", e, VERDICT),
        "only an auditor on the audit team may",
    ),
    (
        "auditor (not lead) evaluates",
        lambda w, e: w.decisions.evaluate(AUDITOR, e, inference()),
        "only the lead auditor may",
    ),
    (
        "reviewer assigns a team",
        lambda w, e: w.engagements.assign(REVIEWER, e, lead=None, auditors=["noor"], reviewer=None),
        "only a register administrator may",
    ),
    (
        "reviewer suspends a certificate",
        lambda w, e: w.awarding.change(REVIEWER, "ASSAY-2026-000001", "suspend", "x"),
        "only a register administrator may",
    ),
    (
        "another community submits",
        lambda w, e: w.engagements.submit("piet.larkfield", e, w.pack),
        "only a submitter of harbourton may",
    ),
    (
        "unknown person",
        lambda w, e: w.engagements.verify("nobody", e, VERDICT),
        "no such person in the people table",
    ),
    (
        "a community member assigned as auditor",
        lambda w, e: w.engagements.assign(ADMIN, e, lead=None, auditors=[SUBMITTER], reviewer=None),
        "belongs to community harbourton and cannot audit or decide",
    ),
    (
        "the reviewer assigned to the audit team",
        lambda w, e: w.engagements.assign(ADMIN, e, lead=None, auditors=[REVIEWER], reviewer=None),
        "cannot both audit and decide",
    ),
    (
        "a second lead auditor",
        lambda w, e: w.engagements.assign(ADMIN, e, lead="noor", auditors=[], reviewer=None),
        "one lead auditor",
    ),
]


def _extra_people(world: World) -> None:
    world.engagements.import_people(
        [
            PersonEntry(id="kai", name="Kai", organisation="Body", roles=["reviewer"]),
            PersonEntry(id="noor", name="Noor", organisation="Body", roles=["auditor"]),
            PersonEntry(id="piet.larkfield", name="Piet", organisation="Larkfield", community="larkfield"),
        ],
        ADMIN,
    )


@pytest.mark.parametrize(("case", "attempt", "message"), CASES, ids=[c[0] for c in CASES])
def test_refusal_changes_nothing_and_is_recorded(
    world: World, case: str, attempt: Attempt, message: str
) -> None:
    _extra_people(world)
    eid = evaluated(world)
    before = world.counts()
    trail_before = len(world.trail_events())
    with pytest.raises(RefusedError, match=message):
        attempt(world, eid)
    after = world.counts()
    assert after.pop("trail") == before.pop("trail") + 1
    assert after == before
    events = world.trail_events()
    assert len(events) == trail_before + 1
    refused = events[-1]
    assert refused["event"] == "engagement.refused"
    assert message in refused["payload"]["reason"]
    person = refused["payload"]["person"]
    assert refused["actor"].startswith(f"{person} (")


def test_only_the_register_administrator_issues(world: World, signing_key: SigningKey) -> None:
    eid = evaluated(world)
    world.decisions.decide(REVIEWER, eid, "certify", "ok")
    for person in (LEAD, REVIEWER, SUBMITTER):
        with pytest.raises(RefusedError, match="only a register administrator may"):
            _issue(person)(world, eid, signing_key)
    assert not (world.tmp / "refused.pdf").exists()
    assert world.counts()["certificates"] == 0
    _issue(ADMIN)(world, eid, signing_key)
    assert world.counts()["certificates"] == 1


def test_people_file_forbids_community_members_with_body_roles(tmp_path: Path) -> None:
    from audits.people import load_people
    from engine.errors import InputError

    path = tmp_path / "people.yaml"
    path.write_text(
        "people:\n  - id: x\n    name: X\n    organisation: City\n    community: c\n    roles: [auditor]\n"
        "  - id: y\n    name: Y\n    organisation: Body\n",
        encoding="utf-8",
    )
    with pytest.raises(InputError) as caught:
        load_people(path)
    text = str(caught.value)
    assert "people.yaml" in text
    assert "cannot also hold body roles" in text
    assert "give either community" in text


def test_cli_refusal_exits_8_and_names_the_rule(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import examples

    data = str(tmp_path / "data")
    common = ["--data", data, "--date", DAY.isoformat()]
    assert run(["people", "import", str(examples.people_file()), "--data", data]) == 0
    create = ["engagement", "create", "--community", "harbourton", "--name", "H"]
    capsys.readouterr()
    assert run([*create, "--as", LEAD, *common]) == 8
    assert "rolu may not apply: only a submitter of harbourton may" in capsys.readouterr().err
    assert run([*create, "--as", SUBMITTER, *common]) == 0
    assert capsys.readouterr().out.strip() == f"ENG-{DAY.year}-0001"
    due = (DAY + dt.timedelta(days=1)).isoformat()
    finding = ["engagement", "finding", "raise", f"ENG-{DAY.year}-0001", "--severity", "minor"]
    assert run([*finding, "--statement", "s", "--due", due, "--as", SUBMITTER, *common]) == 8
    assert "a community never verifies or audits its own evidence" in capsys.readouterr().err


def test_applied_engagement_waits_for_evidence(world: World) -> None:
    eid = applied(world)
    with pytest.raises(RefusedError, match="no evidence has been submitted yet"):
        world.decisions.evaluate(LEAD, eid, inference())
    with pytest.raises(RefusedError, match="there is no evaluation to decide on"):
        world.decisions.decide(REVIEWER, eid, "certify", "x")
