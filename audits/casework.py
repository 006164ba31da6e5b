"""Findings (nonconformities and their closure) and complaints and appeals."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence

from sqlalchemy import insert, select, update

from audits.authority import (
    as_auditor,
    as_register_administrator,
    audit_team,
)
from audits.binding import ref
from audits.operations import Operations, decision_row, next_number
from audits.schema import (
    cases,
    findings,
)
from audits.versions import (
    assemble,
)


class Casework(Operations):
    """Nonconformities raised and closed; complaints and appeals recorded and resolved."""

    # Findings -----------------------------------------------------------------------------

    def raise_finding(
        self,
        person_id: str,
        engagement_id: str,
        *,
        severity: str,
        statement: str,
        due_on: dt.date,
        characteristic: str | None = None,
        evidence_id: str | None = None,
    ) -> int:
        """Raise a nonconformity (major or minor) with a due date for its closure."""
        with self._operation("raise a finding", engagement_id, person_id) as (connection, attempt):
            self._engagement(connection, attempt)
            acting = self._refuse_unless(
                attempt, lambda: as_auditor(connection, person_id, engagement_id, "raise a finding")
            )
            problems = []
            if severity not in ("major", "minor"):
                problems.append(f"severity must be major or minor, not {severity!r}")
            if not statement.strip():
                problems.append("a statement of the nonconformity is required")
            if due_on < self.today():
                problems.append(f"due date {due_on} is in the past")
            if characteristic is not None and characteristic not in self.rules.characteristics:
                problems.append(f"{characteristic} is not a characteristic of {self.rules.id}")
            if problems:
                raise self._refusal(attempt, "; ".join(problems))
            number = next_number(connection, findings.c.number, findings.c.engagement_id, engagement_id)
            connection.execute(
                insert(findings),
                {
                    "engagement_id": engagement_id,
                    "number": number,
                    "severity": severity,
                    "characteristic": characteristic,
                    "evidence_id": evidence_id,
                    "statement": statement.strip(),
                    "due_on": due_on,
                    "raised_by": person_id,
                    "raised_on": self.today(),
                },
            )
            payload = {
                "engagement": engagement_id,
                "finding": number,
                "severity": severity,
                "statement": statement.strip(),
                "due_on": due_on.isoformat(),
                "characteristic": characteristic,
                "evidence": evidence_id,
            }
            self._trail(connection, acting, "finding.raised", payload, [ref(findings, engagement_id, number)])
            return number

    def close_finding(
        self, person_id: str, engagement_id: str, number: int, evidence_ids: Sequence[str], note: str
    ) -> None:
        """Close a finding on closure evidence: items of the latest version an auditor accepted."""
        with self._operation("close a finding", engagement_id, person_id) as (connection, attempt):
            self._engagement(connection, attempt)
            acting = self._refuse_unless(
                attempt,
                lambda: as_auditor(connection, person_id, engagement_id, "close a finding", lead=True),
            )
            row = connection.execute(
                select(findings).where(findings.c.engagement_id == engagement_id, findings.c.number == number)
            ).first()
            problems = []
            if row is None:
                problems.append(f"no finding {number} on {engagement_id}")
            elif row.closed_on is not None:
                problems.append(f"finding {number} was closed on {row.closed_on}")
            assembled = assemble(connection, engagement_id)
            accepted = {e for e, v in (assembled.verdicts if assembled else {}).items() if v == "accepted"}
            if not evidence_ids:
                problems.append("closure needs evidence: name the accepted items that resolve it")
            unaccepted = sorted(set(evidence_ids) - accepted)
            if unaccepted:
                problems.append(
                    f"closure evidence not accepted by an auditor in the latest version: {unaccepted}"
                )
            if problems:
                raise self._refusal(attempt, "; ".join(problems))
            connection.execute(
                update(findings)
                .where(findings.c.engagement_id == engagement_id, findings.c.number == number)
                .values(
                    closed_by=person_id,
                    closed_on=self.today(),
                    closure_evidence=json.dumps(sorted(evidence_ids)),
                    closure_note=note.strip(),
                )
            )
            payload = {
                "engagement": engagement_id,
                "finding": number,
                "evidence": sorted(evidence_ids),
                "note": note,
            }
            self._trail(connection, acting, "finding.closed", payload, [ref(findings, engagement_id, number)])

    # Complaints and appeals ---------------------------------------------------------------

    def record_case(
        self,
        person_id: str,
        engagement_id: str,
        kind: str,
        party: str,
        subject: str,
        decision: int | None = None,
    ) -> int:
        """Record a complaint, or an appeal against a decision; returns the case number."""
        with self._operation(
            f"record an {kind}" if kind == "appeal" else "record a complaint", engagement_id, person_id
        ) as (
            connection,
            attempt,
        ):
            self._engagement(connection, attempt)
            acting = self._refuse_unless(
                attempt, lambda: as_register_administrator(connection, person_id, f"record a {kind}")
            )
            problems = []
            if kind not in ("complaint", "appeal"):
                problems.append(f"kind must be complaint or appeal, not {kind!r}")
            if not party.strip() or not subject.strip():
                problems.append("who raised it and what it is about are both required")
            if kind == "appeal" and decision_row(connection, engagement_id, decision) is None:
                problems.append(f"an appeal names a decision of {engagement_id}; {decision} is not one")
            if problems:
                raise self._refusal(attempt, "; ".join(problems))
            number = next_number(connection, cases.c.number, cases.c.engagement_id, engagement_id)
            connection.execute(
                insert(cases),
                {
                    "engagement_id": engagement_id,
                    "number": number,
                    "kind": kind,
                    "party": party.strip(),
                    "subject": subject.strip(),
                    "decision_number": decision,
                    "received_on": self.today(),
                    "recorded_by": person_id,
                },
            )
            payload = {
                "engagement": engagement_id,
                "case": number,
                "kind": kind,
                "party": party,
                "subject": subject,
                "decision": decision,
            }
            self._trail(connection, acting, f"{kind}.received", payload, [ref(cases, engagement_id, number)])
            return number

    def resolve_case(self, person_id: str, engagement_id: str, number: int, resolution: str) -> None:
        """Resolve a complaint or appeal; an appeal only by someone not involved in the decision."""
        with self._operation("resolve a case", engagement_id, person_id) as (connection, attempt):
            self._engagement(connection, attempt)
            acting = self._refuse_unless(
                attempt, lambda: as_register_administrator(connection, person_id, "resolve a case")
            )
            row = connection.execute(
                select(cases).where(cases.c.engagement_id == engagement_id, cases.c.number == number)
            ).first()
            problems = []
            if row is None:
                problems.append(f"no case {number} on {engagement_id}")
            elif row.resolved_on is not None:
                problems.append(f"case {number} was resolved on {row.resolved_on}")
            elif row.kind == "appeal":
                appealed = decision_row(connection, engagement_id, row.decision_number)
                involved = set(audit_team(connection, engagement_id))
                if appealed is not None:
                    involved.add(appealed.decided_by)
                if person_id in involved:
                    problems.append(
                        f"{person_id} was involved in the appealed decision and cannot resolve the appeal"
                    )
            if not resolution.strip():
                problems.append("a resolution is required")
            if problems or row is None:
                raise self._refusal(attempt, "; ".join(problems))
            connection.execute(
                update(cases)
                .where(cases.c.engagement_id == engagement_id, cases.c.number == number)
                .values(resolution=resolution.strip(), resolved_by=person_id, resolved_on=self.today())
            )
            payload = {
                "engagement": engagement_id,
                "case": number,
                "kind": row.kind,
                "resolution": resolution,
            }
            self._trail(
                connection, acting, f"{row.kind}.resolved", payload, [ref(cases, engagement_id, number)]
            )
