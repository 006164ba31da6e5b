"""An engagement's evaluation as OSCAL Assessment Results (JSON), for certification bodies'
other tools, which read OSCAL rather than Assay's result.json.

The mapping, in short (docs/engagements.md has it in full):

- the maturity model's characteristics in the engagement's scope are the "controls" reviewed;
- one finding per characteristic: its target says whether the verified level reaches the level
  the community claims (satisfied) or not, and carries the level reached;
- one finding per requirement node the evaluation rated (met is satisfied; not met and
  indeterminate are not), related to the observations it rests on;
- one observation per evidence item the evaluation used, citing the item (a back-matter
  resource with its attachments' SHA-256) and saying how the auditor verified it;
- one observation per auditor's judgement the evaluation counted, with the auditor as its
  origin, the rating, the reason and the day;
- the nonconformities raised by then, as findings of their own;
- everyone named (the team, the applicant, the auditors) as parties in the metadata.

The export reads the store and changes nothing. It shows exactly what the evaluation saw, not
what the store holds now: verdicts, judgements, roles and nonconformities recorded after the
evaluation are left out, by the order of the store's trail (each row is bound to the trail
record that wrote it, see :mod:`audits.binding`). The pack the evaluation saw is rebuilt from
those rows and must hash to the digest the evaluation stored, so what the export cites is proven
to be what was evaluated.

Identical store contents give a byte-identical document (:func:`oscal_json`): every uuid is a
uuid5 of a fixed namespace and a stable name, every date comes from the store, every list is in
a fixed order, and nothing reads a clock.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from sqlalchemy import Table, select
from sqlalchemy.engine import Connection

from audits.binding import check_rows, row_key
from audits.errors import NotFoundError, StoreError
from audits.schema import (
    bindings,
    engagement_roles,
    engagements,
    evaluations,
    findings,
    people,
    trail,
)
from audits.versions import as_evaluated, item_digests
from engine.canonical import digest, parse_json
from engine.result import CharacteristicResult, RequirementResult, Result
from evidence_schemas.items import EvidenceItem
from evidence_schemas.pack import EvidencePack, Judgement, Verification

OSCAL_VERSION = "1.1.3"
"""The OSCAL release whose JSON schema the export is checked against (tests/data/oscal)."""

NAMESPACE = uuid.UUID("1e2d1833-77a1-5b84-9437-376448d553fe")
"""Namespace of every uuid in an export: ``uuid5(NAMESPACE_URL, "urn:assay:oscal")``. Fixed, so
the same engagement, evaluation, item or person gets the same uuid in every export."""

PROPS_NS = "urn:assay:oscal"
"""Namespace of Assay's own property names: OSCAL reserves un-namespaced names for its own."""

OBSERVATION_METHODS = {
    "document_review": "EXAMINE",
    "interview": "INTERVIEW",
    "observation": "EXAMINE",
    "system_demonstration": "TEST",
    "sample_examined": "EXAMINE",
}
"""An auditor's method -> OSCAL's (after NIST SP 800-53A): looking at a document, a record or a
practice in place is EXAMINE, asking people is INTERVIEW, and watching a system do what is
claimed is TEST. ``sample_examined`` (a judgement on the items of a proposed sample) examines."""

ROLES = {
    "applicant": "Applicant (the community's submitter)",
    "lead-auditor": "Lead auditor",
    "auditor": "Auditor",
    "reviewer": "Reviewer (certification decision)",
}
"""Roles defined in the metadata; engagement roles map to these ids (tokens use hyphens)."""


def assessment_results(
    connection: Connection, engagement_id: str, number: int | None = None
) -> dict[str, Any]:
    """The OSCAL ``{"assessment-results": ...}`` document of evaluation ``number`` of the
    engagement (the latest when None). Read-only; :class:`NotFoundError` when the engagement or
    the evaluation does not exist, :class:`StoreError` when the stored rows do not rebuild what
    the evaluation saw."""
    engagement = connection.execute(select(engagements).where(engagements.c.id == engagement_id)).first()
    if engagement is None:
        raise NotFoundError(f"cannot export {engagement_id}: no such engagement")
    query = select(evaluations).where(evaluations.c.engagement_id == engagement_id)
    if number is None:
        row = connection.execute(query.order_by(evaluations.c.number.desc()).limit(1)).first()
        if row is None:
            raise NotFoundError(f"cannot export {engagement_id}: it has no evaluation yet")
    else:
        row = connection.execute(query.where(evaluations.c.number == number)).first()
        if row is None:
            raise NotFoundError(f"cannot export {engagement_id}: no evaluation {number}")
    # Everything below rests on these two rows: each must be what its trail record bound.
    check_rows(connection, engagements, [engagement])
    check_rows(connection, evaluations, [row])
    seq, recorded = _recorded(connection, evaluations, row)
    pack = _evaluated_pack(connection, row)
    return _Export(connection, engagement, row, seq, recorded, pack).document()


def oscal_json(document: dict[str, Any]) -> bytes:
    """The document as UTF-8 JSON: indented for people, keys in the order OSCAL lists them
    (the order the export builds them in), so equal documents give equal bytes."""
    return (json.dumps(document, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


# Reading what the evaluation saw --------------------------------------------------------------


def _recorded(connection: Connection, table: Table, row: Any) -> tuple[int, dt.date]:
    """The trail record that bound ``row`` (its sequence number) and the day it was written."""
    found = connection.execute(
        select(bindings.c.seq, trail.c.time)
        .join(trail, trail.c.seq == bindings.c.seq)
        .where(bindings.c.table_name == table.name, bindings.c.row_key == row_key(table, row._mapping))
    ).one()  # check_rows has just found it
    return int(found.seq), dt.datetime.fromisoformat(found.time).astimezone(dt.UTC).date()


def _bound_by(connection: Connection, table: Table, engagement_id: str, seq: int) -> set[str]:
    """Keys of the engagement's rows of ``table`` bound by trail records up to ``seq``: the rows
    that existed when that record was written (these tables only ever gain rows)."""
    # At or before, not before: a store migrated from before rows were bound (migration 0005)
    # binds all its old rows in one record, the evaluation among them.
    return set(
        connection.execute(
            select(bindings.c.row_key).where(
                bindings.c.table_name == table.name,
                bindings.c.row_key.startswith(f"{engagement_id}/", autoescape=True),
                bindings.c.seq <= seq,
            )
        ).scalars()
    )


def _rows_before(connection: Connection, table: Table, engagement_id: str, seq: int) -> list[Any]:
    """The engagement's rows of ``table`` written up to trail record ``seq``, in table order."""
    before = _bound_by(connection, table, engagement_id, seq)
    key_columns = list(table.primary_key.columns)
    rows = connection.execute(
        select(table).where(table.c.engagement_id == engagement_id).order_by(*key_columns)
    ).all()
    return [r for r in rows if row_key(table, r._mapping) in before]


def _evaluated_pack(connection: Connection, evaluation: Any) -> EvidencePack:
    """The pack the evaluation saw (:func:`audits.versions.as_evaluated`): its evidence version
    with the verdicts and judgements recorded before it, proven by the digest it stored."""
    assembled, problem = as_evaluated(connection, evaluation)
    if assembled is None:
        raise StoreError(f"cannot export {evaluation.engagement_id}: {problem}")
    return assembled.pack


# Building the document --------------------------------------------------------------------------


def _uuid(*name: object) -> str:
    """A uuid5 of the fixed namespace and a stable name (the kind of thing first)."""
    return str(uuid.uuid5(NAMESPACE, "/".join(str(part) for part in name)))


def _timestamp(day: dt.date) -> str:
    """A day as OSCAL's date-time with a time zone: its start, in UTC."""
    return f"{day.isoformat()}T00:00:00Z"


def _token(*parts: str) -> str:
    """An OSCAL token (a letter or ``_`` first; letters, digits, ``.``, ``-``, ``_``) naming a
    characteristic or a requirement: ``requirement_1.1.1_3_outcome-objectives``."""
    return re.sub(r"[^A-Za-z0-9._-]", "_", "_".join(parts))


def _prop(name: str, value: object) -> dict[str, Any]:
    return {"name": name, "ns": PROPS_NS, "value": str(value)}


def _words(method: str) -> str:
    return method.replace("_", " ")


def _compact(value: dict[str, Any]) -> dict[str, Any]:
    """Leave out absent fields and empty lists: OSCAL lists must have at least one entry."""
    return {k: v for k, v in value.items() if v is not None and v != []}


def _walk(node: RequirementResult) -> Iterator[RequirementResult]:
    yield node
    for child in node.children:
        yield from _walk(child)


@dataclass(frozen=True)
class _Counted:
    """A judgement the evaluation counted, with what the pack recorded of it."""

    key: str
    judgement: Judgement


class _Export:
    """One export: the rows read once, the document built from them."""

    def __init__(
        self,
        connection: Connection,
        engagement: Any,
        evaluation: Any,
        seq: int,
        recorded: dt.date,
        pack: EvidencePack,
    ) -> None:
        self.engagement = engagement
        self.evaluation = evaluation
        self.eid: str = engagement.id
        self.number: int = evaluation.number
        self.recorded = recorded
        self.pack = pack
        self.result = Result.model_validate_json(evaluation.result)
        self.scope: list[str] = list(json.loads(engagement.scope))
        self.items: dict[str, EvidenceItem] = {item.id: item for item in pack.items}
        self.digests = item_digests(pack)
        self.verified = _latest_verifications(pack.verifications, self.result.as_of)
        self.counted = _counted_judgements(evaluation.trail, pack)
        self.team: dict[str, set[str]] = {}
        for row in _rows_before(connection, engagement_roles, self.eid, seq):
            self.team.setdefault(row.person_id, set()).add(row.role)
        self.nonconformities = _nonconformities(connection, self.eid, seq)
        named = {engagement.applicant, evaluation.evaluated_by, *self.team}
        named |= {v.auditor for v in self.verified.values()}
        named |= {c.judgement.auditor for c in self.counted.values()}
        named |= {n.raised_by for n in self.nonconformities}
        named |= {n.closed_by for n in self.nonconformities if n.closed_by is not None}
        self.people = {
            row.id: row
            for row in connection.execute(select(people).where(people.c.id.in_(sorted(named)))).all()
        }
        self.engine_uuid = _uuid(
            "component", "engine", self.result.rule_pack.id, self.result.rule_pack.digest
        )
        self.community_uuid = _uuid("party", "community", engagement.community_id)
        self.plan_uuid = _uuid("resource", "plan", self.eid)
        self.used = self._used_items()

    # The parts of the document ----------------------------------------------------------------

    def document(self) -> dict[str, Any]:
        """The whole ``{"assessment-results": ...}`` document."""
        return {
            "assessment-results": {
                "uuid": _uuid("assessment-results", self.eid, self.number),
                "metadata": self.metadata(),
                # Assay keeps no OSCAL assessment plan: the engagement's application (scope,
                # model, rule pack) is the plan. OSCAL wants one imported, so the reference is to
                # a back-matter resource describing that plan ("#" + the resource's uuid).
                "import-ap": {
                    "href": f"#{self.plan_uuid}",
                    "remarks": "The plan is the engagement's application: the characteristics in scope, "
                    "assessed against the rule pack named in the back matter.",
                },
                "results": [self.result_entry()],
                "back-matter": {"resources": [self.plan_resource(), *self.item_resources()]},
            }
        }

    def metadata(self) -> dict[str, Any]:
        organisations = sorted({p.organisation for p in self.people.values()})
        parties = [
            {
                "uuid": self.community_uuid,
                "type": "organization",
                "name": self.engagement.community_name,
                "props": [_prop("community-id", self.engagement.community_id)],
                "remarks": "The community assessed.",
            },
            *(
                {"uuid": _uuid("party", "organisation", o), "type": "organization", "name": o}
                for o in organisations
            ),
            *(
                {
                    "uuid": _uuid("party", "person", p.id),
                    "type": "person",
                    "name": p.name,
                    "props": [_prop("person-id", p.id)],
                    "member-of-organizations": [_uuid("party", "organisation", p.organisation)],
                }
                for p in sorted(self.people.values(), key=lambda p: p.id)
            ),
        ]
        holders: dict[str, list[str]] = {"applicant": [self.engagement.applicant]}
        for person, roles in sorted(self.team.items()):
            for role in sorted(roles):
                holders.setdefault(role.replace("_", "-"), []).append(person)
        return {
            "title": f"Assessment results of {self.eid}: {self.engagement.community_name} against "
            f"{self.engagement.standard}, evaluation {self.number}",
            "last-modified": _timestamp(self.recorded),
            "version": str(self.number),
            "oscal-version": OSCAL_VERSION,
            "props": [
                _prop("engagement", self.eid),
                _prop("evaluation", self.number),
                _prop("model", self.engagement.model),
                _prop("standard", self.engagement.standard),
            ],
            "roles": [{"id": role, "title": title} for role, title in ROLES.items()],
            "parties": parties,
            "responsible-parties": [
                {"role-id": role, "party-uuids": [_uuid("party", "person", p) for p in holders[role]]}
                for role in ROLES
                if role in holders
            ],
            "remarks": f"Exported by Assay from evaluation {self.number} of engagement {self.eid}, recorded "
            f"on {self.recorded.isoformat()}.",
        }

    def result_entry(self) -> dict[str, Any]:
        result, evaluation = self.result, self.evaluation
        excluded = "; ".join(f"{e.id}: {e.reason}" for e in result.excluded_evidence)
        return _compact(
            {
                "uuid": _uuid("result", self.eid, self.number),
                "title": f"Evaluation {self.number} of {self.eid} ({evaluation.purpose}) as of "
                f"{result.as_of.isoformat()}",
                "description": "The verified level of each characteristic of "
                f"{self.engagement.community_name} in the engagement's scope against {result.model}, "
                "inferred by the Assay rules engine "
                f"with rule pack {result.rule_pack.id} from evidence version {evaluation.pack_version}, "
                "the auditors' verdicts on its items and their judgements of requirements.",
                "start": _timestamp(result.as_of),
                "props": [
                    _prop("evaluation-id", result.evaluation_id),
                    _prop("purpose", evaluation.purpose),
                    _prop("as-of", result.as_of.isoformat()),
                    _prop("evidence-version", evaluation.pack_version),
                    _prop("pack-digest", evaluation.pack_digest),
                    _prop("rule-pack", result.rule_pack.id),
                    _prop("rule-pack-digest", result.rule_pack.digest),
                    _prop("result-digest", digest(evaluation.result.encode("utf-8"))),
                    _prop("trail-head", evaluation.trail_head),
                ],
                "local-definitions": {"components": [self.engine_component()]},
                "reviewed-controls": {
                    "control-selections": [
                        {
                            "include-controls": [
                                {"control-id": _token("characteristic", c)} for c in self._in_scope_ids()
                            ]
                        }
                    ],
                    "remarks": f"The characteristics of {result.model} in the engagement's scope.",
                },
                "observations": [*self.item_observations(), *self.judgement_observations()],
                "findings": [
                    *(f for c in self._in_scope() for f in self.characteristic_findings(c)),
                    *self.nonconformity_findings(),
                ],
                "remarks": f"Group summaries: {result.summaries.rule}."
                + (f" Left out of inference on the day: {excluded}." if excluded else ""),
            }
        )

    def engine_component(self) -> dict[str, Any]:
        rule_pack = self.result.rule_pack
        return {
            "uuid": self.engine_uuid,
            "type": "software",
            "title": f"Assay rules engine with rule pack {rule_pack.id}",
            "description": "Infers the verified level of each characteristic from the evidence, the "
            f"auditors' verdicts and judgements, under rule pack {rule_pack.id} ({rule_pack.digest}).",
            "props": [_prop("rule-pack", rule_pack.id), _prop("rule-pack-digest", rule_pack.digest)],
            "status": {"state": "operational"},
        }

    def plan_resource(self) -> dict[str, Any]:
        engagement, result = self.engagement, self.result
        return {
            "uuid": self.plan_uuid,
            "title": f"Audit plan of {self.eid}: {engagement.community_name} against {engagement.standard}",
            "props": [
                _prop("engagement", self.eid),
                _prop("model", engagement.model),
                _prop("rule-pack", result.rule_pack.id),
                _prop("rule-pack-digest", result.rule_pack.digest),
                _prop("applied-on", engagement.applied_on.isoformat()),
            ],
            "citation": {
                "text": f"Applied for on {engagement.applied_on.isoformat()}; characteristics in scope: "
                f"{', '.join(self.scope)}."
            },
        }

    def item_resources(self) -> list[dict[str, Any]]:
        resources = []
        for evidence_id in self.used:
            item = self.items[evidence_id]
            resources.append(
                _compact(
                    {
                        "uuid": self._resource_uuid(evidence_id),
                        "title": item.title,
                        "props": [
                            _prop("evidence-id", item.id),
                            _prop("evidence-kind", item.kind),
                            _prop("issuer", item.issuer),
                            _prop("item-digest", self.digests[item.id]),
                        ],
                        "rlinks": [
                            {
                                "href": quote(a.path),
                                "media-type": a.media_type,
                                "hashes": [{"algorithm": "SHA-256", "value": a.sha256}],
                            }
                            for a in item.attachments
                        ],
                    }
                )
            )
        return resources

    def item_observations(self) -> list[dict[str, Any]]:
        """One observation per evidence item the evaluation used, saying how it was verified."""
        observations = []
        for evidence_id in self.used:
            item = self.items[evidence_id]
            verification = self.verified.get(evidence_id)
            if verification is None:
                description = (
                    f"{evidence_id} was not verified by an auditor on or before "
                    f"{self.result.as_of.isoformat()}; the engine examined its record."
                )
                methods = ["EXAMINE"]
                origins = [{"actors": [{"type": "tool", "actor-uuid": self.engine_uuid}]}]
                collected = self.result.as_of
                verdict = "unverified"
            else:
                auditor = verification.auditor
                description = (
                    f"{self._name(auditor)} {verification.verdict} {evidence_id} on "
                    f"{verification.date.isoformat()} after {_words(verification.method)}: "
                    f"{verification.reason}"
                )
                methods = [OBSERVATION_METHODS[verification.method]]
                origins = [{"actors": [self._actor(auditor)]}]
                collected = verification.date
                verdict = verification.verdict
            evidence = _compact(
                {
                    "href": f"#{self._resource_uuid(evidence_id)}",
                    "description": _describe(item),
                    "props": [
                        _prop("evidence-id", evidence_id),
                        *(_prop("attachment-sha256", a.sha256) for a in item.attachments),
                    ],
                }
            )
            observations.append(
                _compact(
                    {
                        "uuid": self._item_observation(evidence_id),
                        "title": f"Evidence item {evidence_id}: {item.title}",
                        "description": description,
                        "props": [
                            _prop("evidence-id", evidence_id),
                            _prop("verdict", verdict),
                            *([_prop("verification-method", verification.method)] if verification else []),
                        ],
                        "methods": methods,
                        "origins": origins,
                        "subjects": [
                            {"subject-uuid": self.community_uuid, "type": "party"},
                            {"subject-uuid": self._resource_uuid(evidence_id), "type": "resource"},
                        ],
                        "relevant-evidence": [evidence],
                        "collected": _timestamp(collected),
                    }
                )
            )
        return observations

    def judgement_observations(self) -> list[dict[str, Any]]:
        """One observation per judgement the evaluation counted: the auditor's own finding on
        a requirement, with the auditor as its origin."""
        observations = []
        for key in sorted(self.counted):
            j = self.counted[key].judgement
            meets = j.rating in ("fully", "largely")
            observations.append(
                _compact(
                    {
                        "uuid": self._judgement_observation(key),
                        "title": f"Judgement of {key}: {j.rating} implemented",
                        "description": f"{self._name(j.auditor)} judged {key} {j.rating} implemented on "
                        f"{j.date.isoformat()} after {_words(j.method)}, citing {', '.join(j.cites)}: "
                        f"{j.reason}",
                        "props": [
                            _prop("requirement", key),
                            _prop("rating", j.rating),
                            _prop("outcome", "met" if meets else "not_met"),
                            _prop("judgement-method", j.method),
                            _prop("judged-on", j.date.isoformat()),
                            *(_prop("cites", e) for e in j.cites),
                            *(_prop("examined", e) for e in j.examined),
                        ],
                        "methods": [OBSERVATION_METHODS[j.method]],
                        "types": ["control-objective"],
                        "origins": [{"actors": [self._actor(j.auditor)]}],
                        "subjects": [{"subject-uuid": self.community_uuid, "type": "party"}],
                        "relevant-evidence": [
                            {
                                "href": f"#{self._resource_uuid(e)}",
                                "description": _describe(self.items[e]),
                                "props": [_prop("evidence-id", e)],
                            }
                            for e in j.cites
                        ],
                        "collected": _timestamp(j.date),
                    }
                )
            )
        return observations

    def characteristic_findings(self, characteristic: CharacteristicResult) -> list[dict[str, Any]]:
        """The characteristic's finding (its verified level), then one per requirement node."""
        cid = characteristic.id
        names = {level.level: level.name for level in characteristic.levels}
        level = characteristic.verified_level
        reached = "no level (not encoded)" if level is None else f"verified level {level}"
        if level is not None and level in names:
            reached += f" ({names[level]})"
        claim = characteristic.claim
        if level is None:
            state, reason = "not-satisfied", "other"
            remarks = f"The rule pack has no rules for {cid}: no level can be verified."
        elif claim is None:
            state, reason = "satisfied", "other"
            remarks = f"No level claimed; {reached}."
        else:
            state, reason = ("satisfied", "pass") if level >= claim.now else ("not-satisfied", "fail")
            remarks = f"{reached[0].upper()}{reached[1:]}; level {claim.now} claimed: {claim.verdict}."
        why_not = "; ".join(
            f"{b.requirement} ({b.outcome.replace('_', ' ')}): {_unstop(b.missing)}"
            for b in characteristic.blockers
        )
        credited = [lv for lv in characteristic.levels if lv.credited]
        rested = sorted(
            {e for lv in credited for top in lv.requirements for n in _walk(top) for e in n.evidence}
        )
        judged = sorted(
            self._key(cid, lv.level, n.id)
            for lv in credited
            for top in lv.requirements
            for n in _walk(top)
            if self._key(cid, lv.level, n.id) in self.counted
        )
        props = [
            _prop("characteristic", cid),
            _prop("status", characteristic.status),
            *([_prop("verified-level", level)] if level is not None else []),
            *([_prop("claimed-level", claim.now), _prop("claim-verdict", claim.verdict)] if claim else []),
            *(_prop("capped-level", c) for c in characteristic.capped),
            *([_prop("projected-level", characteristic.projected.level)] if characteristic.projected else []),
        ]
        finding = _compact(
            {
                "uuid": _uuid("finding", self.eid, self.number, "characteristic", cid),
                "title": f"{cid} {characteristic.title}: {reached}",
                "description": f"{cid} {characteristic.title}: {reached}."
                + (f" Why not level {characteristic.next_level}: {why_not}." if why_not else ""),
                "props": props,
                "origins": [{"actors": self._evaluators()}],
                "target": {
                    "type": "objective-id",
                    "target-id": _token("characteristic", cid),
                    "title": f"{cid} at the level claimed; {reached}",
                    "props": props[:1] + [p for p in props if p["name"] == "verified-level"],
                    "status": {"state": state, "reason": reason, "remarks": remarks},
                },
                "related-observations": [
                    *({"observation-uuid": self._item_observation(e)} for e in rested),
                    *({"observation-uuid": self._judgement_observation(k)} for k in judged),
                ],
            }
        )
        found = [finding]
        for lv in characteristic.levels:
            for top in lv.requirements:
                for node in _walk(top):
                    found.append(self.requirement_finding(cid, lv.level, node))
        return found

    def requirement_finding(self, cid: str, level: int, node: RequirementResult) -> dict[str, Any]:
        key = self._key(cid, level, node.id)
        state, reason = {
            "met": ("satisfied", "pass"),
            "not_met": ("not-satisfied", "fail"),
            "indeterminate": ("not-satisfied", "other"),
        }[node.outcome]
        named = sorted({*node.evidence, *node.rejected, *(p.id for p in node.pending), *node.violations})
        counted = self.counted.get(key)
        if counted is not None:
            named = sorted({*named, *counted.judgement.cites})
        pending = "; ".join(f"{p.id}: {p.reason}" for p in node.pending)
        actors = self._evaluators()
        if counted is not None and self._actor(counted.judgement.auditor) not in actors:
            actors.append(self._actor(counted.judgement.auditor))
        detail = [
            f"Outcome: {node.outcome.replace('_', ' ')}.",
            f"Evidence: {', '.join(node.evidence)}." if node.evidence else "",
            f"Met through {node.through}." if node.through else "",
            f"Missing: {_unstop(node.missing)}." if node.missing else "",
            f"Rejected by an auditor: {', '.join(node.rejected)}." if node.rejected else "",
            f"Pending: {pending}." if pending else "",
        ]
        return _compact(
            {
                "uuid": _uuid("finding", self.eid, self.number, "requirement", key),
                "title": f"{key}: {node.summary}",
                "description": " ".join(part for part in [f"{_unstop(node.summary)}.", *detail] if part),
                "props": [
                    _prop("characteristic", cid),
                    _prop("level", level),
                    _prop("requirement", key),
                    _prop("form", node.form),
                    _prop("outcome", node.outcome),
                    *([_prop("judged", "true")] if counted is not None else []),
                ],
                "origins": [{"actors": actors}],
                "target": {
                    "type": "objective-id",
                    "target-id": _token("requirement", cid, str(level), node.id),
                    "status": _compact({"state": state, "reason": reason, "remarks": node.missing}),
                },
                "related-observations": [
                    *({"observation-uuid": self._item_observation(e)} for e in named),
                    *([{"observation-uuid": self._judgement_observation(key)}] if counted else []),
                ],
            }
        )

    def nonconformity_findings(self) -> list[dict[str, Any]]:
        """The nonconformities raised by the time of the evaluation, as they stood then."""
        found = []
        for n in self.nonconformities:
            closed = n.closed_by is not None and n.closed_on is not None
            status = (
                f"Raised by {self._name(n.raised_by)} on {n.raised_on.isoformat()}, "
                f"due {n.due_on.isoformat()}"
            )
            if n.closed_by is not None and n.closed_on is not None:
                status += (
                    f"; closed by {self._name(n.closed_by)} on {n.closed_on.isoformat()} on evidence "
                    f"{', '.join(n.closure_evidence)}"
                    + (f": {_unstop(n.closure_note)}" if n.closure_note else "")
                )
            target = (
                _token("characteristic", n.characteristic)
                if n.characteristic
                else _token("engagement", self.eid)
            )
            cited = sorted({*n.closure_evidence, *([n.evidence_id] if n.evidence_id else [])})
            found.append(
                _compact(
                    {
                        "uuid": _uuid("finding", self.eid, self.number, "nonconformity", n.number),
                        "title": f"Nonconformity {n.number} ({n.severity})",
                        "description": n.statement,
                        "props": [
                            _prop("nonconformity", n.number),
                            _prop("severity", n.severity),
                            _prop("due-on", n.due_on.isoformat()),
                            _prop("state", "closed" if closed else "open"),
                            *([_prop("characteristic", n.characteristic)] if n.characteristic else []),
                            *([_prop("evidence-id", n.evidence_id)] if n.evidence_id else []),
                        ],
                        "origins": [{"actors": [self._actor(n.raised_by)]}],
                        "target": {
                            "type": "objective-id",
                            "target-id": target,
                            "status": {
                                "state": "satisfied" if closed else "not-satisfied",
                                "reason": "pass" if closed else "fail",
                                "remarks": f"{status}.",
                            },
                        },
                        "related-observations": [
                            {"observation-uuid": self._item_observation(e)} for e in cited if e in self.used
                        ],
                    }
                )
            )
        return found

    # Helpers ----------------------------------------------------------------------------------

    def _in_scope(self) -> list[CharacteristicResult]:
        scope = set(self.scope)
        return [c for c in self.result.characteristics if c.id in scope]

    def _in_scope_ids(self) -> list[str]:
        listed = [c.id for c in self._in_scope()]
        return listed + sorted(set(self.scope) - set(listed))

    def _used_items(self) -> list[str]:
        """Every item the evaluation's outcomes name (behind an outcome, rejected, pending or
        failing a condition) or a judgement it counted cites, sorted."""
        used: set[str] = set()
        for characteristic in self._in_scope():
            for level in characteristic.levels:
                for top in level.requirements:
                    for node in _walk(top):
                        used |= {
                            *node.evidence,
                            *node.rejected,
                            *(p.id for p in node.pending),
                            *node.violations,
                        }
        for counted in self.counted.values():
            used |= set(counted.judgement.cites)
        unknown = sorted(used - set(self.items))
        if unknown:  # the pack is the one evaluated (its digest says so): the result is not of it
            raise StoreError(
                f"cannot export {self.eid}: evaluation {self.number} names items its evidence version "
                f"lacks: {', '.join(unknown)}"
            )
        return sorted(used)

    def _key(self, cid: str, level: int, requirement: str) -> str:
        return f"{cid}/{level}/{requirement}"

    def _resource_uuid(self, evidence_id: str) -> str:
        return _uuid("resource", "evidence", self.eid, evidence_id, self.digests.get(evidence_id, ""))

    def _item_observation(self, evidence_id: str) -> str:
        return _uuid("observation", self.eid, self.number, "item", evidence_id)

    def _judgement_observation(self, key: str) -> str:
        return _uuid("observation", self.eid, self.number, "judgement", key)

    def _name(self, person_id: str) -> str:
        person = self.people.get(person_id)
        return f"{person.name} ({person_id})" if person is not None else person_id

    def _actor(self, person_id: str) -> dict[str, Any]:
        """A person as an origin: their party, in the role they held on the engagement."""
        roles = self.team.get(person_id, set())
        role = "lead-auditor" if "lead_auditor" in roles else "auditor" if "auditor" in roles else None
        return _compact({"type": "party", "actor-uuid": _uuid("party", "person", person_id), "role-id": role})

    def _evaluators(self) -> list[dict[str, Any]]:
        """Who produced the engine's findings: the engine, run by the lead auditor who evaluated."""
        return [{"type": "tool", "actor-uuid": self.engine_uuid}, self._actor(self.evaluation.evaluated_by)]


def _unstop(text: str) -> str:
    """Text without its closing full stop, to go inside a sentence of the export's own."""
    return text.rstrip().removesuffix(".")


def _describe(item: EvidenceItem) -> str:
    end = item.period.end.isoformat() if item.period.end else "ongoing"
    files = "".join(f"; {a.path} sha256:{a.sha256}" for a in item.attachments)
    return (
        f"{item.id}: {item.title} ({item.kind}, issued by {item.issuer}, period "
        f"{item.period.start.isoformat()} to {end}, collected {item.collected.isoformat()}{files})"
    )


def _latest_verifications(verified: Sequence[Verification], as_of: dt.date) -> dict[str, Verification]:
    """Evidence id -> its latest verification on or before ``as_of``: the one that counted (as
    :func:`engine.evidence.latest_verdicts` decides)."""
    latest: dict[str, Verification] = {}
    for verification in verified:
        if verification.date > as_of:
            continue
        current = latest.get(verification.evidence_id)
        if current is None or verification.date > current.date:
            latest[verification.evidence_id] = verification
    return latest


def _counted_judgements(trail_text: str, pack: EvidencePack) -> dict[str, _Counted]:
    """Requirement key -> the judgement the evaluation counted. The evaluation's own trail says
    which (each requirement outcome resting on a judgement names it); the pack it saw holds the
    reason, as one judgement per requirement and day."""
    recorded = {(j.requirement, j.date.isoformat()): j for j in pack.judgements}
    counted = {}
    for line in trail_text.splitlines():
        record = parse_json(line)
        payload = record["payload"]
        if record["event"] != "requirement.evaluated" or "judgement" not in payload:
            continue
        key = payload["requirement"]
        judgement = recorded.get((key, payload["judgement"]["date"]))
        if judgement is None:
            raise StoreError(f"the evaluation's trail names a judgement of {key} its pack does not hold")
        counted[key] = _Counted(key, judgement)
    return counted


@dataclass(frozen=True)
class _Nonconformity:
    """A nonconformity as it stood when the evaluation was recorded."""

    number: int
    severity: str
    characteristic: str | None
    evidence_id: str | None
    statement: str
    due_on: dt.date
    raised_by: str
    raised_on: dt.date
    closed_by: str | None
    closed_on: dt.date | None
    closure_evidence: tuple[str, ...]
    closure_note: str | None


def _nonconformities(connection: Connection, engagement_id: str, seq: int) -> list[_Nonconformity]:
    """The engagement's nonconformities raised up to trail record ``seq``, closed only if their
    closure was recorded by then too. A closure updates the row, so the row's own binding says
    only when it last changed; the trail's raise and close records say when each happened."""
    raised: set[int] = set()
    closed: set[int] = set()
    for record in connection.execute(
        select(trail.c.event, trail.c.payload).where(
            trail.c.event.in_(("finding.raised", "finding.closed")), trail.c.seq <= seq
        )
    ):
        payload = parse_json(record.payload)
        if payload.get("engagement") == engagement_id:
            (raised if record.event == "finding.raised" else closed).add(payload["finding"])
    rows = connection.execute(
        select(findings).where(findings.c.engagement_id == engagement_id).order_by(findings.c.number)
    ).all()
    check_rows(connection, findings, rows)
    return [
        _Nonconformity(
            row.number,
            row.severity,
            row.characteristic,
            row.evidence_id,
            row.statement,
            row.due_on,
            row.raised_by,
            row.raised_on,
            row.closed_by if row.number in closed else None,
            row.closed_on if row.number in closed else None,
            tuple(json.loads(row.closure_evidence or "[]")) if row.number in closed else (),
            row.closure_note if row.number in closed else None,
        )
        for row in rows
        if row.number in raised
    ]
