"""Re-rating every certificate in force under a newly installed rule pack, changing nothing.

When a corrected rule pack is installed (:mod:`audits.rulepacks`), the body needs to know which
certificates it would affect: for each certificate in force, the engagement's evidence and the
auditors' verdicts and judgements exactly as the evaluation the certificate rests on saw them
are evaluated again under the new pack, on that evaluation's assessment date, with the real
engine (durable_rules), and every characteristic whose level would differ from the certified
one is listed with why: what the rules of that characteristic say differently in the old pack
(the one the evaluation pinned, loaded from the store) and the new one.

Nothing else changes: no certificate, evaluation or decision is touched. The findings are
stored (``reratings``, bound to the trail) for a reviewer, who decides through the normal
process (a surveillance evaluation, a decision), as a certificate changes only that way.

In force means issued or reinstated and not expired on the job's day (the register's
:func:`~certificates.register.effective_status`): a suspended certificate is already under
review, and a withdrawn, renewed or expired one certifies nothing. A certificate rests on the
evaluation of the decision that issued it.

The pack that evaluation saw is rebuilt as it was: its evidence version, with the verdicts and
judgements recorded before it (those bound to the trail before the evaluation's own record, as
both are only ever added), assembled by :func:`audits.versions.assemble`; the rebuilt pack must
have the digest the evaluation pinned, or the certificate is reported as not re-rated, and why.

Deterministic: the same store and pack give byte-identical stored changes (canonical JSON, in
catalogue and file order, no times); only ``created_at`` comes from the injected clock.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Row, insert, select
from sqlalchemy.engine import Connection

from audits.binding import Ref, check_rows, inserted
from audits.jobs import JobContext, JobFinishedError
from audits.rulepacks import held_pack, installed_row, instant, row_pack
from audits.schema import (
    certificates,
    decisions,
    engagements,
    evaluations,
    reratings,
)
from audits.store import append_trail
from audits.versions import Assembled, as_evaluated
from audits.workers import process_inference
from certificates.register import effective_status
from engine.canonical import canonical_json, parse_json
from engine.errors import AssayError
from engine.evaluation import Inference, evaluate_on
from engine.rulepack import RulePack
from engine.spec import CharacteristicRules, Requirement

IN_FORCE = ("issued", "reinstated")
"""Effective statuses of the certificates re-rated."""
CHANGED, NO_CHANGE, NOT_RERATED = "changed", "no change", "not re-rated"
"""What a re-rating found for a certificate."""


@dataclass(frozen=True)
class Subject:
    """A certificate in force and what it rests on, read in one snapshot."""

    certificate: str
    engagement: Row[Any]
    evaluation: Row[Any]
    pinned: Assembled | None
    """The pack as evaluated; None when it could not be rebuilt (``problem`` says why)."""
    problem: str | None = None


@dataclass(frozen=True)
class Rerating:
    """One certificate's re-rating, as stored."""

    run: int
    certificate: str
    engagement: str
    old_rule_pack_digest: str
    new_rule_pack_digest: str
    changes: dict[str, Any]
    created_at: str

    def as_dict(self) -> dict[str, Any]:
        """The re-rating as JSON (``assay rules reratings --json``, the HTTP API)."""
        return {
            "run": self.run,
            "certificate": self.certificate,
            "engagement": self.engagement,
            "old_rule_pack_digest": self.old_rule_pack_digest,
            "new_rule_pack_digest": self.new_rule_pack_digest,
            "changes": self.changes,
            "created_at": self.created_at,
        }


def rerate_job(context: JobContext, args: Mapping[str, Any]) -> dict[str, Any]:
    """The ``rerate`` job (audits.jobs.JOBS): re-rate under install ``args["run"]``."""
    return rerate(context, int(args["run"]))


def rerate(context: JobContext, run: int, inference: Inference | None = None) -> dict[str, Any]:
    """Re-rate every certificate in force on the clock's day under the pack of install ``run``
    and store one ``reratings`` row per certificate; returns a summary.

    Reads in one snapshot, evaluates outside any transaction, writes in one
    (:meth:`JobContext.finishing`). ``inference`` defaults to this process's durable_rules.
    """
    today = context.clock.now().date()
    with context.store.read() as connection:
        new = row_pack(installed_row(connection, run))
        subjects = list(_subjects(connection, today))
        old = {s.evaluation.rule_pack_digest for s in subjects}
        held = {d: held_pack(connection, d) for d in sorted(old)}
    engine = inference or process_inference()
    found = [(s, _changes(s, new, held[s.evaluation.rule_pack_digest], engine)) for s in subjects]
    created = instant(context.clock.now())
    with context.finishing() as (connection, job_rows):
        done = connection.execute(
            select(reratings.c.certificate).where(reratings.c.run == run).limit(1)
        ).first()
        if done is not None:
            raise JobFinishedError(f"rule pack install {run} was already re-rated")
        rows = [
            {
                "run": run,
                "certificate": subject.certificate,
                "engagement_id": subject.engagement.id,
                "old_rule_pack_digest": subject.evaluation.rule_pack_digest,
                "new_rule_pack_digest": new.digest,
                "changes": canonical_json(changes).decode("utf-8"),
                "created_at": created,
            }
            for subject, changes in found
        ]
        if rows:
            connection.execute(insert(reratings), rows)
        outcome = {subject.certificate: changes["status"] for subject, changes in found}
        payload = {
            "run": run,
            "rule_pack_digest": new.digest,
            "on": today.isoformat(),
            "certificates": outcome,
            "job": context.job.describe(),
        }
        refs: list[Ref] = [inserted(reratings, row) for row in rows]
        append_trail(
            connection, context.clock, context.actor, [("rule_pack.rerated", payload, [*refs, *job_rows])]
        )
    changed = sorted(c for c, status in outcome.items() if status == CHANGED)
    words = f"re-rated {len(outcome)} certificate(s) in force under rule pack install {run} ({new.digest})"
    return {
        "run": run,
        "certificates": len(outcome),
        "changed": changed,
        "not_rerated": sorted(c for c, status in outcome.items() if status == NOT_RERATED),
        "summary": f"{words}: {len(changed)} would change" + (f" ({', '.join(changed)})" if changed else ""),
    }


# What each certificate rests on ----------------------------------------------------------------


def _subjects(connection: Connection, today: dt.date) -> Iterator[Subject]:
    """Every certificate in force on ``today``, by number, with what it rests on."""
    rows = connection.execute(
        select(
            certificates,
            decisions.c.engagement_id,
            decisions.c.evaluation_number,
            decisions.c.number.label("decision"),
        )
        .join(decisions, decisions.c.certificate == certificates.c.number)
        .order_by(certificates.c.number)
    ).all()
    for row in rows:
        if effective_status(row.status, row.expires_on, today) not in IN_FORCE:
            continue
        # The rows a re-rating rests on must be the ones their trail records bound.
        check_rows(connection, certificates, [row])
        decision = connection.execute(
            select(decisions).where(
                decisions.c.engagement_id == row.engagement_id, decisions.c.number == row.decision
            )
        ).one()
        engagement = connection.execute(
            select(engagements).where(engagements.c.id == row.engagement_id)
        ).one()
        evaluation = connection.execute(
            select(evaluations).where(
                evaluations.c.engagement_id == row.engagement_id,
                evaluations.c.number == row.evaluation_number,
            )
        ).one()
        check_rows(connection, decisions, [decision])
        check_rows(connection, engagements, [engagement])
        check_rows(connection, evaluations, [evaluation])
        pinned, problem = as_evaluated(connection, evaluation)
        yield Subject(row.number, engagement, evaluation, pinned, problem)


# Re-evaluating and comparing -------------------------------------------------------------------


def _changes(subject: Subject, new: RulePack, old: RulePack | None, inference: Inference) -> dict[str, Any]:
    """What the re-rating of one certificate found (the ``changes`` JSON)."""
    evaluation = subject.evaluation
    found: dict[str, Any] = {
        "evaluation": evaluation.number,
        "as_of": evaluation.as_of.isoformat(),
        "pack_digest": evaluation.pack_digest,
    }
    model = subject.engagement.model
    if subject.pinned is None or model != new.id:
        why = subject.problem or f"certified under {model}; the installed pack is {new.id}"
        return {**found, "status": NOT_RERATED, "reason": why}
    scope = list(json.loads(subject.engagement.scope))
    try:
        evaluated = evaluate_on(
            new.only(*scope), subject.pinned.pack, subject.pinned.digest, evaluation.as_of, inference
        )
    except AssayError as exc:
        return {
            **found,
            "status": NOT_RERATED,
            "reason": f"the evidence as evaluated cannot be evaluated under the new pack: {exc}",
        }
    now = {c.id: c.verified_level for c in evaluated.result.characteristics if c.status == "evaluated"}
    certified: dict[str, int | None] = dict(json.loads(evaluation.levels))
    listed = [
        {
            "id": cid,
            "old_level": certified.get(cid),
            "new_level": now.get(cid),
            "causes": causes(old, new, cid, evaluation.rule_pack_digest),
        }
        for cid in _in_catalogue_order(new, scope)
        if certified.get(cid) != now.get(cid)
    ]
    return {**found, "status": CHANGED if listed else NO_CHANGE, "characteristics": listed}


def _in_catalogue_order(pack: RulePack, scope: Sequence[str]) -> list[str]:
    known = [c.id for c in pack.model.characteristics() if c.id in scope]
    return known + sorted(set(scope) - set(known))


def causes(old: RulePack | None, new: RulePack, cid: str, old_digest: str) -> list[dict[str, Any]]:
    """What the rules of characteristic ``cid`` say differently in ``old`` and ``new``, each
    difference naming its level and requirement (``<characteristic>/<level>/<id>``)."""
    if old is None:
        return [
            {
                "change": "old rule pack not held",
                "detail": f"the pack the certificate rests on ({old_digest}) is neither installed in this "
                "store nor the bundled one, so its rules cannot be compared",
            }
        ]
    before, after = old.characteristics.get(cid), new.characteristics.get(cid)
    if before is None or after is None:
        if before is after:
            return [{"change": "not encoded", "detail": f"{cid} is encoded in neither pack"}]
        added = before is None
        return [
            {
                "change": "characteristic added" if added else "characteristic removed",
                "detail": f"{cid} is encoded only in the {'new' if added else 'old'} pack",
            }
        ]
    found = _rule_changes(before, after)
    if found:
        return found
    if old.model != new.model:
        return [
            {
                "change": "catalogue changed",
                "detail": "the characteristic's rules are the same; model.yaml is not",
            }
        ]
    return [
        {
            "change": "no rule difference",
            "detail": "the characteristic's rules and the catalogue are the same in both packs; "
            "the level differs for another reason (a change of the engine)",
        }
    ]


def _rule_changes(before: CharacteristicRules, after: CharacteristicRules) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    cid = before.characteristic
    for level in sorted(set(before.levels) | set(after.levels)):
        old, new = before.levels.get(level), after.levels.get(level)
        if old is None or new is None:
            level_of = new if old is None else old
            assert level_of is not None
            ids = [f"{cid}/{level}/{node.id}" for top in level_of.requirements for node in _preorder(top)]
            change = "level added" if old is None else "level removed"
            found.append({"change": change, "level": level, "requirements": ids})
            continue
        if old.as_at != new.as_at:
            found.append({"change": "as_at changed", "level": level, "old": old.as_at, "new": new.as_at})
        was = {node.id: node for top in old.requirements for node in _preorder(top)}
        now = {node.id: node for top in new.requirements for node in _preorder(top)}
        if [r.id for r in old.requirements] != [r.id for r in new.requirements] and set(was) == set(now):
            found.append(
                {
                    "change": "composition changed",
                    "level": level,
                    "old": [r.id for r in old.requirements],
                    "new": [r.id for r in new.requirements],
                }
            )
        for rid in [*now, *(r for r in was if r not in now)]:  # the new file's order, then the removed
            key = f"{cid}/{level}/{rid}"
            if rid not in was:
                found.append(
                    {
                        "change": "requirement added",
                        "level": level,
                        "requirement": key,
                        "summary": now[rid].summary.en,
                    }
                )
            elif rid not in now:
                found.append(
                    {
                        "change": "requirement removed",
                        "level": level,
                        "requirement": key,
                        "summary": was[rid].summary.en,
                    }
                )
            else:
                found += [
                    {"level": level, "requirement": key, **c} for c in _node_changes(was[rid], now[rid])
                ]
    return found


def _preorder(node: Requirement) -> Iterator[Requirement]:
    """A requirement and everything under it, parents first (the order a file reads in)."""
    yield node
    for child in node.children():
        yield from _preorder(child)


_NOT_RULES = {"judgement", "kind_only_because"}
"""Evidence fields compared on their own (judgement) or not at all (a justification in words)."""


def _node_changes(old: Requirement, new: Requirement) -> list[dict[str, Any]]:
    """How one requirement node differs (its wording aside, which rates nothing)."""
    if old.form != new.form:
        return [{"change": "form changed", "old": old.form, "new": new.form}]
    found: list[dict[str, Any]] = []
    if old.evidence is not None and new.evidence is not None:
        was = old.evidence.model_dump(mode="json", exclude=_NOT_RULES)
        now = new.evidence.model_dump(mode="json", exclude=_NOT_RULES)
        fields = {
            name: {"old": was.get(name), "new": now.get(name)}
            for name in sorted(set(was) | set(now))
            if was.get(name) != now.get(name)
        }
        if fields:
            found.append({"change": "rule changed", "fields": fields})
        if (old.evidence.judgement is None) != (new.evidence.judgement is None):
            added = old.evidence.judgement is None
            found.append({"change": "judgement added" if added else "judgement removed"})
    elif [c.id for c in old.children()] != [c.id for c in new.children()]:
        found.append(
            {
                "change": "composition changed",
                "old": [c.id for c in old.children()],
                "new": [c.id for c in new.children()],
            }
        )
    found += [{"change": "met_by added", "met_by": m} for m in new.met_by if m not in old.met_by]
    found += [{"change": "met_by removed", "met_by": m} for m in old.met_by if m not in new.met_by]
    return found


# Reading ---------------------------------------------------------------------------------------


def latest_run(connection: Connection) -> int | None:
    """The latest install that has re-ratings stored, or None."""
    row = connection.execute(select(reratings.c.run).order_by(reratings.c.run.desc()).limit(1)).first()
    return None if row is None else int(row.run)


def read_reratings(connection: Connection, run: int | None = None) -> list[Rerating]:
    """The re-ratings of install ``run`` (default: the latest re-rated), by certificate number;
    each row checked against the trail record that wrote it."""
    chosen = latest_run(connection) if run is None else run
    if chosen is None:
        return []
    rows = connection.execute(
        select(reratings).where(reratings.c.run == chosen).order_by(reratings.c.certificate)
    ).all()
    check_rows(connection, reratings, rows)
    return [
        Rerating(
            row.run,
            row.certificate,
            row.engagement_id,
            row.old_rule_pack_digest,
            row.new_rule_pack_digest,
            parse_json(row.changes),
            row.created_at,
        )
        for row in rows
    ]
