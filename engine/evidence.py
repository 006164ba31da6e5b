"""Evidence as inference sees it: normalised, dated, routed to characteristics.

This is the one place that decides which items, verifications and judgements exist on the
assessment date:
- an item collected after the assessment date did not exist yet, and one approved, baselined or
  starting after it described a state that did not exist yet: each is excluded (and reported);
- a verification dated after it had not been made; of the rest, the latest per item counts;
- so too for judgements, per requirement; a judgement whose cited items changed since (their
  digest differs) or that cites an excluded item no longer counts (and is reported).
Each item is evaluated only for the characteristics it is offered for.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal

from engine.attributes import Value, item_values, sorts_of
from engine.outcomes import JudgementFacts
from evidence_schemas.items import Commitment, EvidenceItem
from evidence_schemas.pack import LINKS, EvidencePack, Judgement, Verification, cited_digest

Verdict = Literal["accepted", "rejected"]


@dataclass(frozen=True)
class ItemFacts:
    """One evidence item, normalised for matching."""

    id: str
    kind: str
    values: Mapping[str, Value]
    """Attribute path -> normalised value (see :func:`engine.attributes.item_values`)."""
    verdict: Verdict | None
    """The auditor's latest verdict on or before the assessment date, if any."""


@dataclass(frozen=True)
class Exclusion:
    """An item left out of inference, and why."""

    id: str
    reason: str


@dataclass(frozen=True)
class Evidence:
    """All evidence of one pack on one assessment date."""

    as_of: dt.date
    by_characteristic: Mapping[str, tuple[ItemFacts, ...]]
    """Characteristic id -> items offered for it, sorted by id."""
    excluded: tuple[Exclusion, ...]
    judgements: Mapping[str, JudgementFacts] = field(default_factory=dict)
    """Requirement node key -> the judgement that counts on the assessment date."""

    def for_characteristic(self, characteristic: str) -> tuple[ItemFacts, ...]:
        """Items offered for a characteristic (empty if none)."""
        return self.by_characteristic.get(characteristic, ())

    def judgements_for(self, characteristic: str) -> dict[str, JudgementFacts]:
        """The judgements of a characteristic's requirements, by node key."""
        prefix = characteristic + "/"
        return {key: j for key, j in self.judgements.items() if key.startswith(prefix)}


def normalise(pack: EvidencePack, as_of: dt.date) -> Evidence:
    """Normalise a validated pack for inference on ``as_of``."""
    verdicts = latest_verdicts(pack.verifications, as_of)
    routed: dict[str, list[ItemFacts]] = {}
    excluded = []
    linked = linkable(pack.items, as_of, verdicts)
    for item in sorted(pack.items, key=lambda i: i.id):
        future = not_yet(item, as_of)
        if future is not None:
            excluded.append(Exclusion(item.id, f"{future}, after the assessment date"))
            continue
        facts = ItemFacts(item.id, item.kind, item_values(item, as_of, linked), verdicts.get(item.id))
        for characteristic in item.offered_for:
            routed.setdefault(characteristic, []).append(facts)
    judgements = latest_judgements(pack, as_of, {e.id for e in excluded}, excluded)
    return Evidence(
        as_of,
        {c: tuple(items) for c, items in sorted(routed.items())},
        tuple(excluded),
        judgements,
    )


def linkable(
    items: Iterable[EvidenceItem], as_of: dt.date, verdicts: Mapping[str, Verdict]
) -> dict[str, tuple[str, ...]]:
    """The items a link may reach on ``as_of`` (evidence then, not rejected), and what each is: a
    plan based on an assessment the auditor rejected is not based on evidence. Empty when no item
    links to another, which spares packs without links the cost."""
    items = list(items)
    if not any(links_of(item) for item in items):
        return {}
    return {
        item.id: sorts_of(item)
        for item in items
        if not_yet(item, as_of) is None and verdicts.get(item.id) != "rejected"
    }


def links_of(item: EvidenceItem) -> list[str]:
    """Every id an item, or what a commitment promises or updates, links to."""
    fields = type(item).model_fields  # getattr on a field a model lacks is slow in pydantic
    found = [target for link in LINKS if link in fields for target in getattr(item, link)]
    if isinstance(item, Commitment):
        found += [target for promised in [*item.promises, *item.updates] for target in links_of(promised)]
    return found


def not_yet(item: EvidenceItem, as_of: dt.date) -> str | None:
    """What about ``item`` lies after ``as_of``, if anything: then it describes a state that did
    not exist on the assessment date and is no evidence of it. (A period ending later is
    ongoing, and a commitment's due date or a KPI's targets lie ahead by nature; observations,
    meetings and decisions after the date are simply not counted, see engine.attributes.)"""
    if item.collected > as_of:
        return f"collected {item.collected}"
    if item.period.start > as_of:
        return f"its period starts {item.period.start}"
    approval = getattr(item, "approval", None)
    if approval is not None and approval.date > as_of:
        return f"approved {approval.date}"
    baseline = getattr(item, "baseline", None)
    if baseline is not None and baseline.date > as_of:
        return f"its baseline is dated {baseline.date}"
    return None


def latest_judgements(
    pack: EvidencePack, as_of: dt.date, left_out: set[str], excluded: list[Exclusion]
) -> dict[str, JudgementFacts]:
    """Requirement key -> its latest judgement on or before ``as_of`` that still stands; the
    ones that no longer do are added to ``excluded`` with the reason."""
    latest: dict[str, Judgement] = {}
    for judgement in pack.judgements:
        if judgement.date > as_of:
            continue
        current = latest.get(judgement.requirement)
        if current is None or judgement.date > current.date:
            latest[judgement.requirement] = judgement
    items = {item.id: item for item in pack.items}
    counted = {}
    for key, j in sorted(latest.items()):
        gone = [i for i in j.cites if i in left_out]
        if gone:
            excluded.append(
                Exclusion(f"judgement {key}", f"cites {', '.join(gone)}, not evidence on this date")
            )
        elif cited_digest(items[i] for i in j.cites) != j.cited_digest:
            reason = "an item it cites changed after it was judged: the requirement needs judging again"
            excluded.append(Exclusion(f"judgement {key}", reason))
        else:
            counted[key] = JudgementFacts(
                key, j.rating, tuple(sorted(j.cites)), j.method, j.reason, j.auditor, j.date.isoformat()
            )
    return counted


def latest_verdicts(verifications: list[Verification], as_of: dt.date) -> dict[str, Verdict]:
    """Evidence id -> verdict of its latest verification on or before ``as_of``.

    Two verifications of one item on one date with different verdicts are rejected when the
    pack is read, so "latest" is always well defined.
    """
    latest: dict[str, Verification] = {}
    for verification in verifications:
        if verification.date > as_of:
            continue
        current = latest.get(verification.evidence_id)
        if current is None or verification.date > current.date:
            latest[verification.evidence_id] = verification
    return {evidence_id: v.verdict for evidence_id, v in latest.items()}
