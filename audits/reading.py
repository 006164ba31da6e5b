"""Reading an engagement, for the people allowed to: the read side of the operations.

The command line reads the store directly (whoever runs it holds the store). Over HTTP many
people share one store, so every read goes through here and asks :func:`audits.authority.as_reader`
first: a community's submitters read their own engagements, auditors and reviewers those they are
assigned to, register administrators all. To anybody else an engagement does not exist
(:class:`audits.errors.NotFoundError`); each refusal is a trail record like any other.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import IO, Any

from sqlalchemy import or_, select
from sqlalchemy.engine import Connection

from audits.authority import REGISTER_ADMINISTRATOR, as_reader, community_of
from audits.binding import check_rows
from audits.errors import NotFoundError
from audits.judging import WorksheetRow, worksheet
from audits.operations import Operations
from audits.oscal import assessment_results
from audits.people import Person, all_people, find_person
from audits.rerating import Rerating, read_reratings
from audits.schema import (
    cases,
    certificates,
    decisions,
    engagement_roles,
    engagements,
    evaluations,
    findings,
    pack_versions,
)
from audits.versions import assemble, version_pack
from audits.views import HistoryEntry, history, status
from certificates.register import effective_status
from engine.evaluation import Inference, evaluate_on
from engine.performance import KpiLevel, assess_matrix
from engine.plan import Plan, build_plan
from engine.result import CharacteristicResult, Result
from evidence_schemas.items import EvidenceItem
from evidence_schemas.pack import EvidencePack


@dataclass(frozen=True)
class EvaluationView:
    """One stored evaluation: its levels, the engine's result and its trail, as recorded."""

    number: int
    purpose: str
    as_of: str
    pack_version: int
    rule_pack_id: str
    rule_pack_digest: str
    levels: dict[str, int | None]
    result: str
    """result.json as the engine wrote it (JSON text)."""
    trail: str
    """The evaluation's hash-chained trail, one JSON record a line."""
    trail_head: str


@dataclass(frozen=True)
class Queue:
    """What awaits the audit team on an engagement's latest evidence."""

    items: tuple[EvidenceItem, ...]
    """Items without a verdict on their current content."""
    requirements: tuple[WorksheetRow, ...]
    """Requirements needing a judgement that have none on the latest evidence."""
    findings: tuple[dict[str, Any], ...]
    """Open findings, the soonest due first."""


def _finding(row: Any) -> dict[str, Any]:
    return {
        "number": row.number,
        "severity": row.severity,
        "statement": row.statement,
        "due_on": row.due_on.isoformat(),
        "characteristic": row.characteristic,
        "evidence_id": row.evidence_id,
    }


@dataclass(frozen=True)
class Download:
    """An attachment to send: its file, opened and already checked against its address."""

    stream: IO[bytes]
    filename: str
    media_type: str
    size: int


class Reading(Operations):
    """Reads of engagements, each scoped to the person asking."""

    def engagements(self, person_id: str) -> list[dict[str, Any]]:
        """The engagements ``person_id`` may read, oldest first."""
        with self.store.read() as connection:
            person = find_person(connection, person_id)
            if person is None:
                return []
            query = select(engagements).order_by(engagements.c.id)
            if REGISTER_ADMINISTRATOR not in person.roles:
                assigned = select(engagement_roles.c.engagement_id).where(
                    engagement_roles.c.person_id == person.id
                )
                query = query.where(
                    or_(engagements.c.community_id == person.community, engagements.c.id.in_(assigned))
                )
            rows = connection.execute(query).all()
            check_rows(connection, engagements, rows)
        return [
            {
                "id": row.id,
                "community": row.community_id,
                "community_name": row.community_name,
                "model": row.model,
                "scope": json.loads(row.scope),
                "applied_on": row.applied_on.isoformat(),
            }
            for row in rows
        ]

    def status(self, person_id: str, engagement_id: str) -> dict[str, Any]:
        """Where the engagement stands (as ``assay engagement status --json``)."""
        with self._reading("read", engagement_id, person_id) as connection:
            return status(connection, engagement_id, self.today())

    def status_and_community(self, person_id: str, engagement_id: str) -> tuple[dict[str, Any], str]:
        """:meth:`status`, and the id of the community the engagement is about (one read)."""
        with self._reading("read", engagement_id, person_id) as connection:
            return status(connection, engagement_id, self.today()), community_of(connection, engagement_id)

    def history(self, person_id: str, engagement_id: str) -> list[HistoryEntry]:
        """Levels at every evaluation, with what changed and why."""
        with self._reading("read the history of", engagement_id, person_id) as connection:
            return history(connection, engagement_id)

    def evaluation(self, person_id: str, engagement_id: str, number: int | None) -> EvaluationView:
        """Evaluation ``number`` (the latest when None)."""
        with self._reading("read an evaluation of", engagement_id, person_id) as connection:
            query = select(evaluations).where(evaluations.c.engagement_id == engagement_id)
            if number is not None:
                query = query.where(evaluations.c.number == number)
            row = connection.execute(query.order_by(evaluations.c.number.desc()).limit(1)).first()
            if row is None:
                raise NotFoundError(
                    f"no evaluation {number} of {engagement_id}"
                    if number
                    else f"no evaluation of {engagement_id}"
                )
            check_rows(connection, evaluations, [row])
        return EvaluationView(
            row.number,
            row.purpose,
            row.as_of.isoformat(),
            row.pack_version,
            row.rule_pack_id,
            row.rule_pack_digest,
            json.loads(row.levels),
            row.result,
            row.trail,
            row.trail_head,
        )

    def levels(
        self, person_id: str, engagement_id: str, inference: Inference, *, item: str | None = None
    ) -> dict[str, int | None]:
        """The levels the latest evidence and verdicts give now, evaluated and not stored: of the
        characteristics ``item`` is offered for, or of every one in scope. What an auditor reads
        after recording a verdict; only the lead's evaluation is recorded and can be decided on."""
        found = self.standing(person_id, engagement_id, inference, item=item)
        return {c.id: c.verified_level for c in found}

    def standing(
        self,
        person_id: str,
        engagement_id: str,
        inference: Inference,
        *,
        item: str | None = None,
        only: Sequence[str] | None = None,
    ) -> list[CharacteristicResult]:
        """Where each characteristic stands on the latest evidence and verdicts (evaluated, not
        stored): its level, the claim checked, and why not the next level; of the characteristics
        ``item`` is offered for, or those in ``only``, or all in scope. Characteristics are
        inferred independently, so one item's costs only its own."""
        with self._reading("read the levels of", engagement_id, person_id) as connection:
            assembled = assemble(connection, engagement_id)
            scope = json.loads(
                connection.execute(
                    select(engagements.c.scope).where(engagements.c.id == engagement_id)
                ).scalar_one()
            )
        if assembled is None:
            raise NotFoundError(f"no levels of {engagement_id}: no evidence has been submitted yet")
        wanted = list(scope)
        if item is not None:
            offered = next((i.offered_for for i in assembled.pack.items if i.id == item), None)
            if offered is None:
                raise NotFoundError(f"no item {item} in the latest evidence of {engagement_id}")
            wanted = [c for c in scope if c in offered]
        if only is not None:
            wanted = [c for c in wanted if c in only]
        if not wanted:
            return []
        evaluation = evaluate_on(
            self.rules.only(*wanted), assembled.pack, assembled.digest, self.today(), inference
        )
        # The result lists every characteristic of the model; only those evaluated are answers.
        return [c for c in evaluation.result.characteristics if c.id in wanted]

    def queue(self, person_id: str, engagement_id: str, lang: str) -> Queue:
        """An auditor's work on the latest evidence: items without a verdict, requirements
        without a judgement, and open findings by due date."""
        rows = self.worksheet(person_id, engagement_id, lang)
        with self._reading("read the work queue of", engagement_id, person_id) as connection:
            assembled = assemble(connection, engagement_id)
            open_findings = connection.execute(
                select(findings)
                .where(findings.c.engagement_id == engagement_id, findings.c.closed_on.is_(None))
                .order_by(findings.c.due_on, findings.c.number)
            ).all()
            check_rows(connection, findings, open_findings)
        if assembled is None:
            return Queue((), (), tuple(_finding(f) for f in open_findings))
        verified = {v.evidence_id for v in assembled.pack.verifications}
        judged = {j.requirement for j in assembled.pack.judgements}
        return Queue(
            tuple(i for i in assembled.pack.items if i.id not in verified),
            tuple(r for r in rows if r.candidates.requirement.key not in judged),
            tuple(_finding(f) for f in open_findings),
        )

    def cases(self, person_id: str, engagement_id: str) -> list[dict[str, Any]]:
        """The engagement's complaints and appeals, open ones first."""
        with self._reading("read the cases of", engagement_id, person_id) as connection:
            rows = connection.execute(
                select(cases).where(cases.c.engagement_id == engagement_id).order_by(cases.c.number)
            ).all()
            check_rows(connection, cases, rows)
        found = [
            {
                "number": r.number,
                "kind": r.kind,
                "party": r.party,
                "subject": r.subject,
                "decision": r.decision_number,
                "received_on": r.received_on.isoformat(),
                "resolution": r.resolution,
                "resolved_on": r.resolved_on.isoformat() if r.resolved_on else None,
            }
            for r in rows
        ]
        return sorted(found, key=lambda c: c["resolved_on"] is not None)

    def matrix(self, person_id: str, engagement_id: str) -> list[KpiLevel]:
        """The ITU-T Y.4904 performance matrix of the latest evidence with its verdicts: each
        KPI's baseline, level targets and latest value, and the level that value reaches."""
        with self._reading("read the performance matrix of", engagement_id, person_id) as connection:
            assembled = assemble(connection, engagement_id)
        return [] if assembled is None else assess_matrix(assembled.pack, self.today())

    def benchmark(self) -> list[tuple[str, Result]]:
        """(certificate, result) of each community's latest certificate in force today that was
        evaluated with the rule pack in force (others would not compare): public, as the
        register is. Every row read is checked against the trail that bound it."""
        today = self.today()
        with self.store.read() as connection:
            certified = connection.execute(select(certificates).order_by(certificates.c.number)).all()
            live = [
                c
                for c in certified
                if effective_status(c.status, c.expires_on, today) in ("issued", "reinstated")
            ]
            check_rows(connection, certificates, live)
            chosen = connection.execute(
                select(decisions).where(decisions.c.certificate.in_([c.number for c in live]))
            ).all()
            check_rows(connection, decisions, chosen)
            evaluated = []
            for decision in chosen:
                row = connection.execute(
                    select(evaluations).where(
                        evaluations.c.engagement_id == decision.engagement_id,
                        evaluations.c.number == decision.evaluation_number,
                        evaluations.c.rule_pack_digest == self.rules.digest,
                    )
                ).first()
                if row is not None:
                    evaluated.append((decision.certificate, row))
            check_rows(connection, evaluations, [row for _, row in evaluated])
        found: dict[str, tuple[str, Result]] = {}
        for number, row in sorted(evaluated, key=lambda pair: pair[0]):
            result = Result.model_validate_json(row.result)
            found[result.pack.community] = (number, result)  # numbers rise: the latest wins
        return [found[c] for c in sorted(found)]

    def oscal(self, person_id: str, engagement_id: str, number: int | None) -> dict[str, Any]:
        """Evaluation ``number`` (the latest when None) as OSCAL assessment results."""
        with self._reading("export", engagement_id, person_id) as connection:
            return assessment_results(connection, engagement_id, number)

    def plan(self, person_id: str, engagement_id: str, number: int | None, target: int, lang: str) -> Plan:
        """The improvement plan towards ``target`` from evaluation ``number`` (as ``assay plan``);
        only with the rule pack that evaluation ran with, since the plan reads its catalogue."""
        view = self.evaluation(person_id, engagement_id, number)
        if view.rule_pack_digest != self.rules.digest:
            raise NotFoundError(
                f"no plan for evaluation {view.number} of {engagement_id}: it ran with rule pack "
                f"{view.rule_pack_digest[:19]}, and this server holds {self.rules.digest[:19]}"
            )
        result = Result.model_validate_json(view.result)
        return build_plan(result, self.rules, target, "zh" if lang == "zh" else "en", source="result")

    def reratings(self, person_id: str, run: int | None) -> list[Rerating]:
        """The re-ratings of install ``run`` (the latest when None): what a corrected rule pack
        would change on each certificate in force, for the body's reviewers and register
        administrators to decide on. Nobody else reads them (a refusal is recorded)."""
        operation = "read the re-ratings"
        with self._operation(operation, "", person_id, read_only=True) as (connection, attempt):
            person = find_person(connection, person_id)
            if person is None or not person.roles & {"reviewer", REGISTER_ADMINISTRATOR}:
                raise self._refusal(
                    attempt, f"{person_id} may not: only the body's reviewers and register administrators may"
                )
            return read_reratings(connection, run)

    def people(self, person_id: str) -> list[Person]:
        """Who ``person_id`` may see: everyone for a register administrator, otherwise the people
        of their own side (their community's submitters, or the body's staff)."""
        with self.store.read() as connection:
            asking = find_person(connection, person_id)
            if asking is None:
                return []
            everyone = all_people(connection)
        if REGISTER_ADMINISTRATOR in asking.roles:
            return everyone
        return [p for p in everyone if p.community == asking.community]

    def worksheet(self, person_id: str, engagement_id: str, lang: str) -> list[WorksheetRow]:
        """The judgement worksheet on the latest evidence (as ``assay engagement worksheet``)."""
        with self._reading("read the worksheet of", engagement_id, person_id) as connection:
            return worksheet(connection, self.rules, engagement_id, self.today(), lang)

    def evidence(self, person_id: str, engagement_id: str, version: int | None) -> tuple[int, EvidencePack]:
        """An evidence version's pack (the latest when None) and its number."""
        with self._reading("read the evidence of", engagement_id, person_id) as connection:
            number = version if version is not None else latest_version(connection, engagement_id)
            row = connection.execute(
                select(pack_versions).where(
                    pack_versions.c.engagement_id == engagement_id, pack_versions.c.version == number
                )
            ).first()
            if row is None:
                raise NotFoundError(f"no evidence version {number} of {engagement_id}")
            check_rows(connection, pack_versions, [row])
            return number, version_pack(connection, engagement_id, number)

    def attachment(self, person_id: str, engagement_id: str, sha256: str) -> Download:
        """An attachment of one of the engagement's evidence versions, opened for sending; one
        of another engagement is not there for this one, whoever holds it."""
        with self._reading("download an attachment of", engagement_id, person_id) as connection:
            rows = connection.execute(
                select(pack_versions).where(pack_versions.c.engagement_id == engagement_id)
            ).all()
            check_rows(connection, pack_versions, rows)
            for row in sorted(rows, key=lambda r: -r.version):
                pack = EvidencePack.model_validate_json(row.manifest)
                for item in pack.items:
                    for attached in item.attachments:
                        if attached.sha256 == sha256:
                            name = attached.path.rsplit("/", 1)[-1]
                            stream = self._blobs().open(sha256)
                            return Download(stream, name, attached.media_type, attached.size)
        raise NotFoundError(f"no attachment {sha256} in the evidence of {engagement_id}")

    @contextmanager
    def _reading(self, operation: str, engagement_id: str, person_id: str) -> Iterator[Connection]:
        """A read-only transaction, once the reader's right to read is checked (a refusal is
        recorded by :meth:`Operations._operation`)."""
        with self._operation(operation, engagement_id, person_id, read_only=True) as (connection, attempt):
            self._refuse_unless(attempt, lambda: as_reader(connection, person_id, engagement_id))
            yield connection


def latest_version(connection: Connection, engagement_id: str) -> int:
    """The number of the engagement's latest evidence version (0: none yet)."""
    found = connection.execute(
        select(pack_versions.c.version)
        .where(pack_versions.c.engagement_id == engagement_id)
        .order_by(pack_versions.c.version.desc())
        .limit(1)
    ).scalar()
    return int(found) if found is not None else 0
