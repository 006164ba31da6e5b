"""Fixtures for engagement tests: the demo's people and sample community on a fresh store,
once on SQLite and once on PostgreSQL (see the ``database`` fixture)."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

import examples
from assay.demo import sample_submission
from audits.blobs import Blobs
from audits.casework import Casework
from audits.decisions import Decisions
from audits.engagements import Engagements, Verdict
from audits.judging import JudgementEntry
from audits.people import load_people
from audits.schema import metadata, trail
from audits.store import Store, open_store
from certificates.awarding import Awarding
from engine.reference import ReferenceInference
from engine.rulepack import RulePack

DAY = examples.SAMPLE_AS_OF
SUBMITTER, LEAD, AUDITOR, REVIEWER, ADMIN = "mei.harbourton", "rolu", "amira", "jonas", "sofia"


class MovableClock:
    """A clock standing at one day that a test can move on (surveillance a year later)."""

    def __init__(self, day: dt.date) -> None:
        self.day = day

    def now(self) -> dt.datetime:
        return dt.datetime.combine(self.day, dt.time(), tzinfo=dt.UTC)


@dataclass
class World:
    """A store with the demo's people, services on a clock that can be moved, and the sample pack."""

    store: Store
    clock: MovableClock
    engagements: Engagements
    decisions: Decisions
    casework: Casework
    awarding: Awarding
    pack: Path
    verdicts: list[Verdict]
    judged: list[JudgementEntry]
    """The sample auditor's judgements (against the bundled rules)."""
    tmp: Path

    def at(self, day: dt.date) -> None:
        """Move the clock (every service shares it)."""
        self.clock.day = day

    def counts(self) -> dict[str, int]:
        """Rows per table: a refused operation must leave every count as it was (bar the trail)."""
        with self.store.read() as connection:
            return {
                name: connection.execute(select(func.count()).select_from(table)).scalar_one()
                for name, table in metadata.tables.items()
            }

    def trail_events(self) -> list[dict[str, Any]]:
        """The store's trail records as dicts with the payload parsed."""
        with self.store.read() as connection:
            rows = connection.execute(select(trail).order_by(trail.c.seq)).all()
        return [{"actor": r.actor, "event": r.event, "payload": json.loads(r.payload)} for r in rows]

    def variant(self, name: str, change: Any) -> Path:
        """A copy of the sample submission with ``change(manifest)`` applied."""
        target = self.tmp / name
        shutil.copytree(self.pack, target)
        manifest = json.loads((target / "pack.json").read_text(encoding="utf-8"))
        change(manifest)
        (target / "pack.json").write_text(json.dumps(manifest), encoding="utf-8")
        # A pack holds only what its manifest references: drop files of removed items.
        referenced = {a["path"] for item in manifest["items"] for a in item.get("attachments", [])}
        for path in sorted(target.rglob("*")):
            name = path.relative_to(target).as_posix()
            if path.is_file() and name != "pack.json" and name not in referenced:
                path.unlink()
        return target


@contextmanager
def make_world(database: str, tmp_path: Path, rule_pack: RulePack, clock: MovableClock) -> Iterator[World]:
    """A fresh store with the demo's people loaded, services on ``clock``, and the sample
    submission (without its verdicts and judgements, which the auditors record)."""
    # The anchor named for every database (PostgreSQL has no file beside it to default to).
    store = open_store(database, anchor=tmp_path / "store.head")
    args = (store, Blobs(tmp_path / "attachments"), clock, rule_pack)
    pack, verdicts, judged = sample_submission(examples.sample_pack(), tmp_path / "submission")
    engagements = Engagements(*args)
    engagements.import_people(load_people(examples.people_file()), None)
    try:
        yield World(
            store,
            clock,
            engagements,
            Decisions(*args),
            Casework(*args),
            Awarding(*args),
            pack,
            verdicts,
            judged,
            tmp_path,
        )
    finally:
        store.close()


@pytest.fixture
def world(database: str, tmp_path: Path, rule_pack: RulePack) -> Iterator[World]:
    """A fresh store (each database) with the demo's people loaded."""
    with make_world(database, tmp_path, rule_pack, MovableClock(DAY)) as made:
        yield made


def applied(world: World) -> str:
    """An engagement with its team assigned."""
    eid = world.engagements.create(SUBMITTER, "harbourton", "Harbourton", [])
    world.engagements.assign(ADMIN, eid, lead=LEAD, auditors=[AUDITOR], reviewer=REVIEWER)
    return eid


def evaluated(world: World) -> str:
    """An engagement with evidence submitted, verified, judged as the sample's auditor did, and
    evaluated once."""
    eid = applied(world)
    world.engagements.submit(SUBMITTER, eid, world.pack)
    world.engagements.verify(LEAD, eid, world.verdicts)
    world.engagements.judge(AUDITOR, eid, world.judged)
    world.decisions.evaluate(LEAD, eid, inference())
    return eid


def inference() -> ReferenceInference:
    """The reference evaluator: the same results as durable_rules (tested elsewhere), and it keeps
    these process tests fast; the demo and the CLI run durable_rules."""
    return ReferenceInference()
