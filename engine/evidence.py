"""Evidence as inference sees it: normalised, dated, routed to characteristics.

This is the one place that decides which items and verifications exist on the assessment date:
- an item collected after the assessment date did not exist yet and is excluded (and reported);
- a verification dated after it had not been made; of the rest, the latest per item counts.
Each item is evaluated only for the characteristics it is offered for.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from engine.attributes import Value, item_values
from evidence_schemas.pack import EvidencePack, Verification

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

    def for_characteristic(self, characteristic: str) -> tuple[ItemFacts, ...]:
        """Items offered for a characteristic (empty if none)."""
        return self.by_characteristic.get(characteristic, ())


def normalise(pack: EvidencePack, as_of: dt.date) -> Evidence:
    """Normalise a validated pack for inference on ``as_of``."""
    verdicts = latest_verdicts(pack.verifications, as_of)
    routed: dict[str, list[ItemFacts]] = {}
    excluded = []
    for item in sorted(pack.items, key=lambda i: i.id):
        if item.collected > as_of:
            excluded.append(Exclusion(item.id, f"collected {item.collected}, after the assessment date"))
            continue
        facts = ItemFacts(item.id, item.kind, item_values(item, as_of), verdicts.get(item.id))
        for characteristic in item.offered_for:
            routed.setdefault(characteristic, []).append(facts)
    return Evidence(
        as_of,
        {c: tuple(items) for c, items in sorted(routed.items())},
        tuple(excluded),
    )


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
