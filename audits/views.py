"""Reading an engagement: where it stands, and the history of its levels with the reasons.

The history compares each evaluation with the one before: which levels changed, and what
changed underneath them (evidence added, removed or changed between versions, verdicts changed,
a different rule pack). A cause is tied to a characteristic when the item was offered for it,
so a surveillance audit can say why a level went down, item by item.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Connection

from audits.authority import audit_team
from audits.decisions import live_certificate
from audits.errors import RefusedError
from audits.schema import cases, certificates, decisions, engagements, evaluations, findings, pack_versions
from audits.versions import changes, item_digests, version_pack
from certificates.register import effective_status
from engine.basis import thinnest_levels
from engine.result import Result
from evidence_schemas.pack import EvidencePack


@dataclass(frozen=True)
class LevelChange:
    """One characteristic's level from one evaluation to the next, and why."""

    characteristic: str
    before: int | None
    after: int | None
    causes: list[str]


@dataclass(frozen=True)
class HistoryEntry:
    """One evaluation, with what changed since the previous one."""

    number: int
    purpose: str
    as_of: dt.date
    version: int
    rule_pack_digest: str
    levels: dict[str, int | None]
    evidence: dict[str, list[str]] = field(default_factory=dict)
    """Items added / removed / changed since the previous evaluation's version."""
    verdicts: dict[str, tuple[str | None, str | None]] = field(default_factory=dict)
    """Evidence id -> (verdict before, verdict now) where it changed."""
    rule_pack_changed: bool = False
    level_changes: list[LevelChange] = field(default_factory=list)


def history(connection: Connection, engagement_id: str) -> list[HistoryEntry]:
    """Every evaluation of the engagement in order, each explained against the one before."""
    _require(connection, engagement_id)
    rows = connection.execute(
        select(evaluations).where(evaluations.c.engagement_id == engagement_id).order_by(evaluations.c.number)
    ).all()
    entries: list[HistoryEntry] = []
    packs: dict[int, EvidencePack] = {}
    previous: Any = None
    for row in rows:
        levels = json.loads(row.levels)
        if previous is None:
            entries.append(
                HistoryEntry(
                    row.number, row.purpose, row.as_of, row.pack_version, row.rule_pack_digest, levels
                )
            )
            previous = row
            continue
        before = _pack(connection, engagement_id, previous.pack_version, packs)
        after = _pack(connection, engagement_id, row.pack_version, packs)
        evidence = (
            changes(item_digests(before), item_digests(after))
            if previous.pack_version != row.pack_version
            else {}
        )
        old_verdicts, new_verdicts = json.loads(previous.verdicts), json.loads(row.verdicts)
        verdicts = {
            e: (old_verdicts.get(e), new_verdicts.get(e))
            for e in sorted(set(old_verdicts) | set(new_verdicts))
            if old_verdicts.get(e) != new_verdicts.get(e)
        }
        rule_pack_changed = previous.rule_pack_digest != row.rule_pack_digest
        offered = {item.id: set(item.offered_for) for pack in (before, after) for item in pack.items}
        old_levels = json.loads(previous.levels)
        level_changes = [
            LevelChange(
                cid,
                old_levels.get(cid),
                levels.get(cid),
                _causes(cid, evidence, verdicts, offered, rule_pack_changed),
            )
            for cid in sorted(set(old_levels) | set(levels))
            if old_levels.get(cid) != levels.get(cid)
        ]
        entries.append(
            HistoryEntry(
                row.number,
                row.purpose,
                row.as_of,
                row.pack_version,
                row.rule_pack_digest,
                levels,
                {k: v for k, v in evidence.items() if v},
                verdicts,
                rule_pack_changed,
                level_changes,
            )
        )
        previous = row
    return entries


def _causes(
    cid: str,
    evidence: dict[str, list[str]],
    verdicts: dict[str, tuple[str | None, str | None]],
    offered: dict[str, set[str]],
    rule_pack_changed: bool,
) -> list[str]:
    causes = []
    for kind in ("added", "removed", "changed"):
        causes += [f"evidence {kind}: {e}" for e in evidence.get(kind, []) if cid in offered.get(e, set())]
    for e, (was, now) in verdicts.items():
        if cid in offered.get(e, set()):
            causes.append(f"verification changed: {e} {was or 'unverified'} -> {now or 'unverified'}")
    if rule_pack_changed:
        causes.append("rule pack changed")
    return causes or ["no change to this characteristic's evidence; the evaluation date moved (freshness)"]


def _pack(
    connection: Connection, engagement_id: str, version: int, cache: dict[int, EvidencePack]
) -> EvidencePack:
    if version not in cache:
        cache[version] = version_pack(connection, engagement_id, version)
    return cache[version]


def status(connection: Connection, engagement_id: str, today: dt.date) -> dict[str, Any]:
    """Where the engagement stands: team, evidence, findings, evaluations, decisions, certificate,
    surveillance due and open cases; ``next_step`` says what the process waits for."""
    row = _require(connection, engagement_id)

    def count(table: Any, *where: Any) -> int:
        return len(
            connection.execute(select(table).where(table.c.engagement_id == engagement_id, *where)).all()
        )

    versions = count(pack_versions)
    team = {p: sorted(r) for p, r in sorted(audit_team(connection, engagement_id).items())}
    open_findings = connection.execute(
        select(findings.c.number, findings.c.severity, findings.c.due_on).where(
            findings.c.engagement_id == engagement_id, findings.c.closed_on.is_(None)
        )
    ).all()
    last_eval = connection.execute(
        select(evaluations)
        .where(evaluations.c.engagement_id == engagement_id)
        .order_by(evaluations.c.number.desc())
    ).first()
    last_decision = connection.execute(
        select(decisions)
        .where(decisions.c.engagement_id == engagement_id)
        .order_by(decisions.c.number.desc())
    ).first()
    live = live_certificate(connection, engagement_id, today)
    certificate = None
    if last_decision is not None and last_decision.certificate is not None:
        cert = connection.execute(
            select(certificates).where(certificates.c.number == last_decision.certificate)
        ).one()
        due = [dt.date.fromisoformat(d) for d in json.loads(cert.surveillance_due)]
        certificate = {
            "number": cert.number,
            "status": effective_status(cert.status, cert.expires_on, today),
            "expires_on": cert.expires_on.isoformat(),
            "surveillance_due": [d.isoformat() for d in due],
            "next_surveillance": next((d.isoformat() for d in due if d >= today), None),
        }
    return {
        "engagement": engagement_id,
        "community": row.community_name,
        "model": row.model,
        "scope": json.loads(row.scope),
        "applied_on": row.applied_on.isoformat(),
        "team": team,
        "evidence_versions": versions,
        "open_findings": [
            {"number": f.number, "severity": f.severity, "due_on": f.due_on.isoformat()}
            for f in open_findings
        ],
        "evaluations": count(evaluations),
        "latest_evaluation": None
        if last_eval is None
        else {
            "number": last_eval.number,
            "purpose": last_eval.purpose,
            "as_of": last_eval.as_of.isoformat(),
            "levels": json.loads(last_eval.levels),
            "thinnest_levels": _thinnest(last_eval.result),
        },
        "latest_decision": None
        if last_decision is None
        else {
            "number": last_decision.number,
            "outcome": last_decision.outcome,
            "certificate": last_decision.certificate,
        },
        "certificate": certificate,
        "open_cases": count(cases, cases.c.resolved_on.is_(None)),
        "next_step": _next_step(team, versions, last_eval, last_decision, live),
    }


def _thinnest(result_json: str, limit: int = 5) -> list[dict[str, Any]]:
    """The reviewer's first look: the credited levels resting on the least, flagged ones first."""
    thin = thinnest_levels(Result.model_validate_json(result_json), limit)
    return [
        {
            "characteristic": t.characteristic,
            "level": t.level,
            "items": len(t.basis.items),
            "judged": len(t.basis.judged),
            "flags": [f.reason for f in t.basis.flags],
        }
        for t in thin
    ]


def _next_step(
    team: dict[str, list[str]], versions: int, last_eval: Any, last_decision: Any, live: Any
) -> str:
    roles = {r for rs in team.values() for r in rs}
    if not {"lead_auditor", "reviewer"} <= roles:
        return "assign the lead auditor and the reviewer"
    if versions == 0:
        return "the community submits evidence"
    if last_eval is None:
        return "auditors verify the evidence; the lead auditor evaluates"
    if last_decision is None or last_decision.evaluation_number != last_eval.number:
        return "the reviewer decides on the latest evaluation"
    if last_decision.outcome == "certify" and last_decision.certificate is None:
        return "the register administrator issues the certificate"
    if live is not None:
        return "surveillance when due"
    return "none: no certificate in force"


def _require(connection: Connection, engagement_id: str) -> Any:
    row = connection.execute(select(engagements).where(engagements.c.id == engagement_id)).first()
    if row is None:
        raise RefusedError(f"no engagement {engagement_id}")
    return row
