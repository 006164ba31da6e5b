"""The level in two years on current plans (ISO/TS 37107 clause 5.1): the projected evidence.

A commitment counts when it is approved, funded, due after the assessment date and within 24
months of it, and not rejected by an auditor. Its promised evidence then joins the evidence as
if delivered: each promised item is read as at the commitment's due date (so its own dates and
freshness are those of delivery) and carries the auditor's verdict on the commitment, since
what the auditor checked is that the plan is real. Existing evidence is judged as it stands on
the assessment date. A commitment may also change items that exist (put these KPIs on a public dashboard): the
changed version, read as at the due date and carrying the verdict on the commitment, stands in
the item's place. Only characteristics that receive promised or changed evidence can change.

Promised evidence cannot be judged before it exists. Where a requirement needs the auditor's
judgement, the projection counts a promised item that meets the requirement's conditions as if
judged satisfactory on delivery (rated ``largely``, naming the commitment): the forecast is the
plan's, and the certified level never rests on it. A current judgement stands beside it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from engine.attributes import item_values, sorts_of
from engine.evidence import Evidence, ItemFacts, latest_verdicts, linkable
from engine.judging import candidates, judged_requirements
from engine.outcomes import JudgementFacts
from engine.rulepack import RulePack
from evidence_schemas.items import Commitment
from evidence_schemas.pack import EvidencePack


def horizon(as_of: dt.date) -> dt.date:
    """The last day a commitment may be due and still count: 24 months after ``as_of``."""
    try:
        return as_of.replace(year=as_of.year + 2)
    except ValueError:  # 29 February
        return as_of.replace(year=as_of.year + 2, day=28)


@dataclass(frozen=True)
class Projection:
    """The evidence in two years, and what changed."""

    evidence: Evidence
    until: dt.date
    """Commitments due after the assessment date and on or before this day count."""
    counted: dict[str, tuple[str, ...]]
    """Characteristic -> commitments whose promised evidence it receives, sorted."""
    left_out: tuple[tuple[str, str], ...]
    """(commitment id, why it does not count), sorted by id."""
    promised_by: dict[str, str]
    """Promised item id -> the commitment promising it."""


def project(pack: EvidencePack, current: Evidence) -> Projection:
    """Add the promised evidence of every qualifying commitment to ``current``, and put the
    changed version of every item a qualifying commitment changes in the item's place."""
    as_of = current.as_of
    verdicts = latest_verdicts(pack.verifications, as_of)
    routed = {cid: list(items) for cid, items in current.by_characteristic.items()}
    counted: dict[str, set[str]] = {}
    promised_by: dict[str, str] = {}
    left_out = []
    qualifying = []
    for item in sorted(pack.items, key=lambda i: i.id):
        if not isinstance(item, Commitment) or not (item.promises or item.updates):
            continue
        reason = _why_not(item, as_of, verdicts.get(item.id))
        if reason is None:
            qualifying.append(item)
        else:
            left_out.append((item.id, reason))
    # Links from promised or changed items may reach one another as well as today's evidence.
    linked = linkable(pack.items, as_of, verdicts)
    for commitment in qualifying:
        linked.update((p.id, sorts_of(p)) for p in [*commitment.promises, *commitment.updates])
    for commitment in qualifying:
        changed = {item.id for item in commitment.updates}
        for cid, items in routed.items():
            kept = [f for f in items if f.id not in changed]
            if len(kept) < len(items):
                routed[cid] = kept
                counted.setdefault(cid, set()).add(commitment.id)
        for promised in sorted([*commitment.promises, *commitment.updates], key=lambda p: p.id):
            values = item_values(promised, commitment.due, linked)
            facts = ItemFacts(promised.id, promised.kind, values, verdicts.get(commitment.id))
            promised_by[promised.id] = commitment.id
            for characteristic in promised.offered_for:
                routed.setdefault(characteristic, []).append(facts)
                counted.setdefault(characteristic, set()).add(commitment.id)
    evidence = Evidence(
        as_of,
        {cid: tuple(sorted(items, key=lambda f: f.id)) for cid, items in sorted(routed.items())},
        current.excluded,
        current.judgements,
    )
    counts = {c: tuple(sorted(ids)) for c, ids in sorted(counted.items())}
    return Projection(evidence, horizon(as_of), counts, tuple(left_out), promised_by)


def judge_promised(projection: Projection, rules: RulePack) -> Evidence:
    """The projected evidence with promised items standing as judged where a requirement needs a
    judgement and they meet its conditions (see the module's docstring)."""
    evidence = projection.evidence
    judgements = dict(evidence.judgements)
    changed = [cid for cid in projection.counted if cid in rules.characteristics]
    for requirement in judged_requirements(rules.only(*changed)):
        promised = [
            c.id
            for c in candidates(evidence, requirement).items
            if c.id in projection.promised_by and c.status == "qualifies"
        ]
        if not promised:
            continue
        current = judgements.get(requirement.key)
        kept = current.cites if current is not None and current.satisfied else ()
        by = sorted({projection.promised_by[i] for i in promised})
        judgements[requirement.key] = JudgementFacts(
            requirement=requirement.key,
            rating="largely",
            cites=tuple(sorted({*kept, *promised})),
            method="projected",
            reason=f"promised by {', '.join(by)}; to be judged on delivery",
            auditor="projection",
            date=evidence.as_of.isoformat(),
        )
    return Evidence(evidence.as_of, evidence.by_characteristic, evidence.excluded, judgements)


def _why_not(commitment: Commitment, as_of: dt.date, verdict: str | None) -> str | None:
    if commitment.collected > as_of:
        return "collected after the assessment date"
    if verdict == "rejected":
        return "rejected by the auditor"
    if commitment.approval_status != "approved":
        return "not approved"
    if commitment.funding_status != "funded":
        return f"not funded ({commitment.funding_status.replace('_', ' ')})"
    if commitment.due <= as_of:
        return f"due {commitment.due}, not after the assessment date"
    if commitment.due > horizon(as_of):
        return f"due {commitment.due}, more than 24 months after the assessment date"
    return None
