"""Issuing an engagement's certificate, and register changes, by a register administrator only.

Issuing follows a positive decision: the certificate is built from the evaluation that decision
was made on (its stored result and trail, re-checked), names the engagement's lead auditor and
the reviewer who decided, renews the engagement's certificate in force if there is one, and
links the decision to the certificate in the same transaction that records it in the register.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select, update
from sqlalchemy.engine import Connection

from audits.authority import Acting, as_register_administrator, audit_team, refuse_issuer_conflict
from audits.binding import check_rows, ref
from audits.decisions import live_certificate
from audits.errors import RefusedError
from audits.operations import Operations
from audits.people import find_person
from audits.schema import decisions, evaluations
from audits.store import append_trail
from certificates.issue import Decision, Issued, evaluated_from, issue_certificate
from certificates.keys import SigningKey
from certificates.model import Certificate, Language
from certificates.register import Register
from certificates.scheme import Scheme
from certificates.signing import SigningOptions
from engine.canonical import parse_json

LIFECYCLE = ("suspend", "reinstate", "withdraw")


@dataclass(frozen=True)
class Award:
    """What a positive decision certifies and who is named on the certificate."""

    decision: int
    evaluation: int
    result: bytes
    trail: str
    lead_auditor: str
    decision_maker: str
    renews: str | None


class Awarding(Operations):
    """Certificates for engagements, and suspending, reinstating and withdrawing them."""

    def issue(
        self,
        person_id: str,
        engagement_id: str,
        key: SigningKey,
        *,
        body: str,
        language: Language,
        out: Path | None,
        scheme: Scheme,
        folder: Path = Path("."),
        signing: SigningOptions | None = None,
    ) -> Issued:
        """Issue, sign and record the certificate the latest positive decision calls for (written
        to ``out``, or to ``<number>.pdf`` in ``folder``)."""
        acting, award = self._award(person_id, engagement_id)

        def link(connection: Connection, certificate: Certificate) -> None:
            linked = connection.execute(
                update(decisions)
                .where(
                    decisions.c.engagement_id == engagement_id,
                    decisions.c.number == award.decision,
                    decisions.c.certificate.is_(None),
                )
                .values(certificate=certificate.number)
            )
            if linked.rowcount != 1:
                # Another administrator issued on this decision meanwhile: roll this one back.
                raise RefusedError(f"decision {award.decision} of {engagement_id} was issued meanwhile")
            payload = {
                "engagement": engagement_id,
                "decision": award.decision,
                "evaluation": award.evaluation,
                "certificate": certificate.number,
                "renews": award.renews,
            }
            written = [ref(decisions, engagement_id, award.decision)]
            append_trail(connection, self.clock, acting.actor, [("engagement.certified", payload, written)])

        # No issue date here: issuing takes it from the register, which runs on this clock.
        decision = Decision(
            body=body,
            lead_auditor=award.lead_auditor,
            decision_maker=award.decision_maker,
            language=language,
            renews=award.renews,
        )
        return issue_certificate(
            evaluated_from(award.result, award.trail, f"{engagement_id} result", f"{engagement_id} trail"),
            self.rules,
            scheme,
            decision,
            key,
            Register(self.store, self.clock),
            out=out,
            actor=acting.actor,
            folder=folder,
            signing=signing,
            on_record=link,
        )

    def _award(self, person_id: str, engagement_id: str) -> tuple[Acting, Award]:
        with self._operation("issue a certificate", engagement_id, person_id, read_only=True) as (
            connection,
            attempt,
        ):
            engagement = self._engagement(connection, attempt)
            acting = self._refuse_unless(
                attempt, lambda: as_register_administrator(connection, person_id, "issue a certificate")
            )
            self._refuse_unless(
                attempt,
                lambda: refuse_issuer_conflict(connection, person_id, engagement_id, "issue a certificate"),
            )
            latest = connection.execute(
                select(decisions)
                .where(decisions.c.engagement_id == engagement_id)
                .order_by(decisions.c.number.desc())
                .limit(1)
            ).first()
            if latest is not None:
                check_rows(connection, decisions, [latest])  # read only once it is the one recorded
            if latest is None or latest.outcome != "certify":
                raise self._refusal(attempt, "the latest decision is not to certify")
            if latest.certificate is not None:
                raise self._refusal(attempt, f"decision {latest.number} was issued as {latest.certificate}")
            evaluation = connection.execute(
                select(evaluations).where(
                    evaluations.c.engagement_id == engagement_id,
                    evaluations.c.number == latest.evaluation_number,
                )
            ).one()
            check_rows(connection, evaluations, [evaluation])
            certified = parse_json(evaluation.result)["pack"]["community"]
            if certified != engagement.community_name:
                # The certificate names the community the result names: it must be the applicant.
                raise self._refusal(
                    attempt,
                    f"the evaluation is of {certified!r}, the application of {engagement.community_name!r}",
                )
            leads = [
                p for p, roles in audit_team(connection, engagement_id).items() if "lead_auditor" in roles
            ]
            live = live_certificate(connection, engagement_id, self.today())
            return acting, Award(
                decision=latest.number,
                evaluation=evaluation.number,
                result=evaluation.result.encode("utf-8"),
                trail=evaluation.trail,
                lead_auditor=_name(connection, leads[0]),
                decision_maker=_name(connection, latest.decided_by),
                renews=None if live is None else live.number,
            )

    def change(self, person_id: str, number: str, operation: str, reason: str) -> None:
        """Suspend, reinstate or withdraw a certificate (one of :data:`LIFECYCLE`), with the reason."""
        if operation not in LIFECYCLE:
            raise ValueError(f"{operation!r} is not one of {LIFECYCLE}")
        acting = self.check_administrator(person_id, f"{operation} {number}")
        getattr(Register(self.store, self.clock), operation)(number, reason, acting.actor)

    def check_administrator(self, person_id: str, operation: str) -> Acting:
        """Refuse (and record it) unless ``person_id`` is a register administrator."""
        with self._operation(operation, "", person_id, read_only=True) as (connection, attempt):
            return self._refuse_unless(
                attempt, lambda: as_register_administrator(connection, person_id, operation)
            )


def _name(connection: Connection, person_id: str) -> str:
    person = find_person(connection, person_id)
    return person_id if person is None else person.name
