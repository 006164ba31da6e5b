"""Evaluations pinned to evidence and rule pack, and the reviewer's certification decisions.

Each evaluation stores the evidence version and its digest, the verdicts it saw, the rule-pack
digest, the result and its trail, so any later reader can re-check or explain it.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Row, insert, select
from sqlalchemy.engine import Connection

from audits.authority import (
    as_auditor,
    as_decision_maker,
)
from audits.binding import inserted
from audits.operations import Operations, next_number
from audits.schema import (
    certificates,
    decisions,
    evaluations,
    findings,
)
from audits.versions import Assembled, assemble, changed_since
from certificates.issue import trail_closing_on
from engine.basis import MAX_CHARACTERISTICS_PER_ITEM
from engine.canonical import parse_json
from engine.evaluation import Inference, evaluate_on, result_json
from engine.trail import jsonl

OUTCOMES = ("certify", "maintain", "refuse")


@dataclass(frozen=True)
class EvaluationRecord:
    """A stored evaluation, as the store keeps it."""

    engagement: str
    number: int
    purpose: str
    as_of: dt.date
    pack_version: int
    rule_pack_digest: str
    levels: dict[str, int | None]
    result: bytes
    trail: str
    trail_head: str
    lower_than_certified: dict[str, tuple[int | None, int | None]] = field(default_factory=dict)
    """For surveillance: characteristic -> (certified, now) where the level went down."""


class Decisions(Operations):
    """Evaluating, surveillance and deciding."""

    # Evaluation ---------------------------------------------------------------------------

    def pending_evaluation(
        self, person_id: str, engagement_id: str, *, surveillance: bool = False
    ) -> Assembled:
        """Check the lead auditor may evaluate now and return the pack to evaluate."""
        operation = "run surveillance" if surveillance else "evaluate"
        with self._operation(operation, engagement_id, person_id, read_only=True) as (connection, attempt):
            self._engagement(connection, attempt)
            self._refuse_unless(
                attempt, lambda: as_auditor(connection, person_id, engagement_id, operation, lead=True)
            )
            assembled = assemble(connection, engagement_id)
            if assembled is None:
                raise self._refusal(attempt, "no evidence has been submitted yet")
            if surveillance and live_certificate(connection, engagement_id, self.today()) is None:
                raise self._refusal(attempt, "surveillance needs a certificate in force on the engagement")
            return assembled

    def evaluate(
        self,
        person_id: str,
        engagement_id: str,
        inference: Inference,
        *,
        as_of: dt.date | None = None,
        surveillance: bool = False,
        max_characteristics_per_item: int = MAX_CHARACTERISTICS_PER_ITEM,
    ) -> EvaluationRecord:
        """Evaluate the latest evidence with its verdicts and judgements and store the pinned
        result; ``max_characteristics_per_item`` is the scheme's threshold for flagging an item."""
        assembled = self.pending_evaluation(person_id, engagement_id, surveillance=surveillance)
        day = as_of or self.today()
        scope = self._scope(engagement_id)
        evaluation = evaluate_on(
            self.rules.only(*scope),
            assembled.pack,
            assembled.digest,
            day,
            inference,
            max_characteristics_per_item=max_characteristics_per_item,
        )
        return self.record_evaluation(
            person_id,
            engagement_id,
            assembled,
            result_json(evaluation.result),
            jsonl(evaluation.trail),
            surveillance=surveillance,
        )

    def record_evaluation(
        self,
        person_id: str,
        engagement_id: str,
        of: Assembled,
        result: bytes,
        trail_text: str,
        *,
        surveillance: bool = False,
    ) -> EvaluationRecord:
        """Store an evaluation of the assembled pack ``of`` computed elsewhere (a worker process),
        after checking the result is of that pack, with this rule pack, and that no evidence or
        verdict was added since ``of`` was assembled."""
        operation = "run surveillance" if surveillance else "evaluate"
        with self._operation(operation, engagement_id, person_id) as (connection, attempt):
            self._engagement(connection, attempt)
            acting = self._refuse_unless(
                attempt, lambda: as_auditor(connection, person_id, engagement_id, operation, lead=True)
            )
            # The result comes from this engine (a worker or evaluate above), so its schema is not
            # validated again here (that is a third of the cost of recording); its trail is.
            value = parse_json(result)
            head = trail_closing_on(value, trail_text, f"{engagement_id} result", f"{engagement_id} trail")
            problems = []
            if value["pack"]["digest"] != of.digest:
                problems.append(f"the result is of pack {value['pack']['digest']}, not of {of.digest}")
            elif changes := changed_since(connection, of, engagement_id):
                problems.append(f"since the pack was assembled, {' and '.join(changes)}; evaluate again")
            if value["rule_pack"]["digest"] != self.rules.digest:
                problems.append(
                    f"the result was evaluated with another rule pack ({value['rule_pack']['digest']})"
                )
            live = live_certificate(connection, engagement_id, self.today())
            if surveillance and live is None:
                problems.append("surveillance needs a certificate in force on the engagement")
            if problems:
                raise self._refusal(attempt, "; ".join(problems))
            as_of = dt.date.fromisoformat(value["as_of"])
            levels = {
                c["id"]: c["verified_level"] for c in value["characteristics"] if c["status"] == "evaluated"
            }
            purpose = "surveillance" if surveillance else ("recertification" if live else "initial")
            lower = (
                _lower(certified_levels(connection, engagement_id, self.today()), levels)
                if surveillance
                else {}
            )
            number = next_number(connection, evaluations.c.number, evaluations.c.engagement_id, engagement_id)
            evaluation = {
                "engagement_id": engagement_id,
                "number": number,
                "purpose": purpose,
                "as_of": as_of,
                "pack_version": of.version,
                "version_digest": of.version_digest,
                "pack_digest": of.digest,
                "rule_pack_id": self.rules.id,
                "rule_pack_digest": self.rules.digest,
                "result": result.decode("utf-8"),
                "trail": trail_text,
                "trail_head": head,
                "levels": json.dumps(levels, sort_keys=True),
                "verdicts": json.dumps(of.verdicts, sort_keys=True),
                "evaluated_by": person_id,
            }
            connection.execute(insert(evaluations), evaluation)
            payload: dict[str, Any] = {
                "engagement": engagement_id,
                "evaluation": number,
                "purpose": purpose,
                "as_of": as_of.isoformat(),
                "version": of.version,
                "version_digest": of.version_digest,
                "pack_digest": of.digest,
                "rule_pack_digest": self.rules.digest,
                "trail_head": head,
                "levels": levels,
            }
            if surveillance:
                payload["lower_than_certified"] = {c: list(v) for c, v in lower.items()}
            self._trail(
                connection,
                acting,
                f"engagement.{'surveilled' if surveillance else 'evaluated'}",
                payload,
                [inserted(evaluations, evaluation)],
            )
            return EvaluationRecord(
                engagement_id,
                number,
                purpose,
                as_of,
                of.version,
                self.rules.digest,
                levels,
                result,
                trail_text,
                head,
                lower,
            )

    # Decisions ----------------------------------------------------------------------------

    def decide(self, person_id: str, engagement_id: str, outcome: str, reason: str) -> int:
        """The reviewer's decision on the latest evaluation: certify, maintain (surveillance) or refuse."""
        with self._operation("decide", engagement_id, person_id) as (connection, attempt):
            self._engagement(connection, attempt)
            acting = self._refuse_unless(
                attempt, lambda: as_decision_maker(connection, person_id, engagement_id, "decide")
            )
            latest = connection.execute(
                select(evaluations)
                .where(evaluations.c.engagement_id == engagement_id)
                .order_by(evaluations.c.number.desc())
                .limit(1)
            ).first()
            problems = []
            if outcome not in OUTCOMES:
                problems.append(f"outcome must be one of {', '.join(OUTCOMES)}, not {outcome!r}")
            if not reason.strip():
                problems.append("a reason is required")
            if latest is None:
                problems.append("there is no evaluation to decide on")
            else:
                problems += self._decision_problems(connection, engagement_id, latest, outcome)
            if problems or latest is None:
                raise self._refusal(attempt, "; ".join(problems))
            number = next_number(connection, decisions.c.number, decisions.c.engagement_id, engagement_id)
            decision = {
                "engagement_id": engagement_id,
                "number": number,
                "evaluation_number": latest.number,
                "outcome": outcome,
                "reason": reason.strip(),
                "decided_by": person_id,
                "decided_on": self.today(),
            }
            connection.execute(insert(decisions), decision)
            payload = {
                "engagement": engagement_id,
                "decision": number,
                "evaluation": latest.number,
                "outcome": outcome,
                "reason": reason.strip(),
                "result_trail_head": latest.trail_head,
            }
            self._trail(connection, acting, "engagement.decided", payload, [inserted(decisions, decision)])
            return number

    def _decision_problems(
        self, connection: Connection, engagement_id: str, latest: Row[Any], outcome: str
    ) -> list[str]:
        problems = []
        decided = connection.execute(
            select(decisions.c.number).where(
                decisions.c.engagement_id == engagement_id, decisions.c.evaluation_number == latest.number
            )
        ).first()
        if decided is not None:
            problems.append(f"evaluation {latest.number} was already decided (decision {decided.number})")
        if outcome == "certify":
            open_major = (
                connection.execute(
                    select(findings.c.number).where(
                        findings.c.engagement_id == engagement_id,
                        findings.c.severity == "major",
                        findings.c.closed_on.is_(None),
                    )
                )
                .scalars()
                .all()
            )
            if open_major:
                problems.append(f"major nonconformities are open: {', '.join(str(n) for n in open_major)}")
            if latest.rule_pack_digest != self.rules.digest:
                problems.append("the evaluation used another rule pack; evaluate again before certifying")
        if outcome == "maintain":
            if latest.purpose != "surveillance":
                problems.append("maintain decides on a surveillance evaluation")
            else:
                lower = _lower(
                    certified_levels(connection, engagement_id, self.today()), json.loads(latest.levels)
                )
                if lower:
                    names = ", ".join(f"{c} {was}->{now}" for c, (was, now) in sorted(lower.items()))
                    problems.append(
                        f"levels went down ({names}): certify the new profile or refuse, not maintain"
                    )
        return problems


def live_certificate(connection: Connection, engagement_id: str, today: dt.date) -> Row[Any] | None:
    """The engagement's most recent certificate that is issued, suspended or reinstated and unexpired."""
    return connection.execute(
        select(certificates)
        .join(decisions, decisions.c.certificate == certificates.c.number)
        .where(
            decisions.c.engagement_id == engagement_id,
            certificates.c.status.in_(["issued", "suspended", "reinstated"]),
            certificates.c.expires_on >= today,
        )
        .order_by(certificates.c.issued_on.desc(), certificates.c.number.desc())
        .limit(1)
    ).first()


def certified_levels(connection: Connection, engagement_id: str, today: dt.date) -> dict[str, int | None]:
    """The levels on the engagement's certificate in force (from the evaluation it was issued on)."""
    live = live_certificate(connection, engagement_id, today)
    if live is None:
        return {}
    row = connection.execute(
        select(evaluations.c.levels)
        .join(
            decisions,
            (decisions.c.engagement_id == evaluations.c.engagement_id)
            & (decisions.c.evaluation_number == evaluations.c.number),
        )
        .where(decisions.c.certificate == live.number)
    ).first()
    return {} if row is None else dict(json.loads(row.levels))


def _lower(
    certified: dict[str, int | None], now: dict[str, int | None]
) -> dict[str, tuple[int | None, int | None]]:
    """Characteristics whose level is now below the certified one."""
    return {
        cid: (was, now.get(cid))
        for cid, was in sorted(certified.items())
        if was is not None and (now.get(cid) or 0) < was
    }
