"""What every engagement operation shares: one transaction, an authority check, a trail record.

Every operation runs as one write transaction that checks the acting person's authority
(:mod:`audits.authority`), checks the engagement is at the right step, changes the tables and
appends the trail record naming the person and role, all or nothing. A refusal rolls the
transaction back and is then recorded by itself (``engagement.refused``), so the trail shows
what was attempted as well as what was done. The clock is injected: every date an operation
records is the clock's.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Row, bindparam, func, select, union_all
from sqlalchemy.engine import Connection

from audits.authority import (
    Acting,
    described,
)
from audits.binding import Ref, check_rows
from audits.blobs import BlobStore
from audits.errors import RefusedError, StoreError
from audits.people import find_person
from audits.schema import (
    cases,
    decisions,
    engagement_roles,
    engagements,
    findings,
    judgements,
    pack_versions,
    verifications,
)
from audits.store import Store, append_trail
from engine.rulepack import RulePack
from engine.sources import Clock


@dataclass
class _Attempt:
    """An operation in progress, so a refusal can be recorded after the rollback."""

    operation: str
    engagement: str
    person: str
    refusal: RefusedError | None = None
    read_only: bool = False


class Operations:
    """Base of the engagement services: the store, the clock and the rule pack they act with."""

    def __init__(self, store: Store, blobs: BlobStore | None, clock: Clock, rules: RulePack) -> None:
        self.store = store
        self.blobs = blobs
        self.clock = clock
        self.rules = rules
        """The rule pack evaluations run with (its digest is pinned in each)."""

    def today(self) -> dt.date:
        """The date operations take effect: the clock's."""
        return self.clock.now().date()

    @contextmanager
    def _operation(
        self, operation: str, engagement_id: str, person_id: str, *, read_only: bool = False
    ) -> Iterator[tuple[Connection, _Attempt]]:
        """One transaction for an operation; a refusal is recorded after the rollback."""
        attempt = _Attempt(operation, engagement_id, person_id, read_only=read_only)
        try:
            with self.store.read() if read_only else self.store.write() as connection:
                yield connection, attempt
        except RefusedError as exc:
            if exc is attempt.refusal:
                self._record_refusal(attempt, str(exc))
            raise

    def _refusal(self, attempt: _Attempt, reason: str) -> RefusedError:
        where = f" {attempt.engagement}" if attempt.engagement else ""
        attempt.refusal = RefusedError(f"cannot {attempt.operation}{where}: {reason}")
        return attempt.refusal

    def _refuse_unless(self, attempt: _Attempt, check: Any) -> Acting:
        """Run an authority check; its refusal becomes this operation's (and is recorded)."""
        try:
            acting: Acting = check()
        except RefusedError as exc:
            attempt.refusal = exc
            raise
        return acting

    def _record_refusal(self, attempt: _Attempt, reason: str) -> None:
        with self.store.write() as connection:
            who = described(attempt.person, find_person(connection, attempt.person, checked=False))
            payload = {
                "operation": attempt.operation,
                "engagement": attempt.engagement or None,
                "person": attempt.person,
                "reason": reason,
            }
            append_trail(connection, self.clock, who, [("engagement.refused", payload)])

    def _trail(
        self,
        connection: Connection,
        acting: Acting,
        event: str,
        payload: dict[str, Any],
        rows: Sequence[Ref] = (),
    ) -> None:
        append_trail(connection, self.clock, acting.actor, [(event, payload, rows)])

    def _engagement(self, connection: Connection, attempt: _Attempt) -> Row[Any]:
        row = connection.execute(select(engagements).where(engagements.c.id == attempt.engagement)).first()
        if row is None:
            raise self._refusal(attempt, "no such engagement")
        check_rows(connection, engagements, [row])
        if not attempt.read_only:
            latest = last_step_on(connection, row.id)
            if latest is not None and self.today() < latest:
                raise self._refusal(
                    attempt,
                    f"the date {self.today()} is before {latest}, the engagement's last recorded step: "
                    "its steps are recorded in the order they happen",
                )
        return row

    def _scope(self, engagement_id: str) -> list[str]:
        with self.store.read() as connection:
            scope = connection.execute(
                select(engagements.c.scope).where(engagements.c.id == engagement_id)
            ).scalar_one()
        return list(json.loads(scope))

    def _blobs(self) -> BlobStore:
        if self.blobs is None:
            raise StoreError("this store has no attachment folder: give --attachments with a database URL")
        return self.blobs


def next_number(connection: Connection, column: Any, key: Any, value: str) -> int:
    """One above the highest number used under ``value`` (1 for the first)."""
    highest = connection.execute(select(func.max(column)).where(key == value)).scalar()
    return 1 if highest is None else int(highest) + 1


def decision_row(connection: Connection, engagement_id: str, number: int | None) -> Row[Any] | None:
    if number is None:
        return None
    return connection.execute(
        select(decisions).where(decisions.c.engagement_id == engagement_id, decisions.c.number == number)
    ).first()


_STEP_DATES = (
    (engagements.c.applied_on, engagements.c.id),
    (engagement_roles.c.assigned_on, engagement_roles.c.engagement_id),
    (pack_versions.c.submitted_on, pack_versions.c.engagement_id),
    (verifications.c.verified_on, verifications.c.engagement_id),
    (judgements.c.judged_on, judgements.c.engagement_id),
    (findings.c.raised_on, findings.c.engagement_id),
    (findings.c.closed_on, findings.c.engagement_id),
    (decisions.c.decided_on, decisions.c.engagement_id),
    (cases.c.received_on, cases.c.engagement_id),
    (cases.c.resolved_on, cases.c.engagement_id),
)
"""The date of every step an engagement records, with the column naming its engagement (an
evaluation's own date is its assessment date, which may lie before it, so it is not a step's)."""


def last_step_on(connection: Connection, engagement_id: str) -> dt.date | None:
    """The date of the engagement's latest recorded step, if any."""
    latest = connection.execute(_LAST_STEP, {"engagement": engagement_id}).scalar()
    if latest is None or isinstance(latest, dt.date):
        return latest
    return dt.date.fromisoformat(str(latest))  # SQLite hands a union's dates back as text


# Built once (every write operation asks it): one query over every step table.
_STEPS = union_all(
    *(select(column.label("day")).where(owner == bindparam("engagement")) for column, owner in _STEP_DATES)
).subquery()
_LAST_STEP = select(func.max(_STEPS.c.day))
