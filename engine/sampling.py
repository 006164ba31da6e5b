"""Samples for in-depth checking: where a requirement ranges over a set (every leading KPI
baselined, every dataset licensed), the auditor examines a sample of it, as ISO 19011 audits do.

The engine proposes the sample so that nobody picks it: each item's place in the order is the
SHA-256 of the seed (the evidence's item ids, the rule pack's digest and the assessment date: not
the verdicts or judgements, so recording them does not move the sample), the requirement and the
item id, so the same inputs always give the same sample and
editing one item does not move the others. The size rule is the certification scheme's; the
default is the square root of the set, at least 3 and at most 20 (never more than the set).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
from collections.abc import Iterable
from dataclasses import dataclass

from engine.canonical import digest_of
from engine.evidence import Evidence
from engine.outcomes import ItemStatus
from engine.reference import item_status
from engine.rulepack import RulePack
from engine.spec import EvidenceRule
from evidence_schemas.items import EvidenceItem


@dataclass(frozen=True)
class SampleRule:
    """How large a sample is: ``ceil(sqrt(N))`` held between ``least`` and ``most``."""

    least: int = 3
    most: int = 20

    def size(self, population: int) -> int:
        """Sample size for a set of ``population`` items (all of them when it is small)."""
        if population <= 0:
            return 0
        wanted = max(self.least, min(self.most, math.isqrt(population - 1) + 1))
        return min(population, wanted)

    def describe(self) -> str:
        """The rule in words, for results and worksheets."""
        return f"the square root of the set, at least {self.least} and at most {self.most}"


def propose_sample(seed: str, requirement: str, items: Iterable[str], rule: SampleRule) -> tuple[str, ...]:
    """The items to examine in depth for ``requirement``, sorted by id."""
    population = sorted(set(items))
    ranked = sorted(
        population,
        key=lambda item: hashlib.sha256(f"{seed}\n{requirement}\n{item}".encode()).hexdigest(),
    )
    return tuple(sorted(ranked[: rule.size(len(population))]))


@dataclass(frozen=True)
class Sample:
    """The sample proposed for one requirement that ranges over a set."""

    requirement: str
    """Requirement node key, ``<characteristic>/<level>/<id>``."""
    population: int
    """How many items the requirement ranges over."""
    items: tuple[str, ...]
    """The items to examine in depth, sorted."""


def sampling_seed(items: Iterable[EvidenceItem], rules_digest: str, as_of: dt.date) -> str:
    """The seed of an evaluation's samples: which items the evidence holds, the rules and the
    day. The auditor's verdicts and judgements are not in it, so the sample the worksheet shows is
    the one the evaluation reports. Item ids rather than contents: as hard to steer (a community
    could as well retitle an item as rename it) and free to compute on every evaluation."""
    return digest_of([sorted(item.id for item in items), rules_digest, as_of.isoformat()])


def ranges_over_a_set(rule: EvidenceRule) -> bool:
    """A requirement ranges over a set when it states conditions every item in scope must meet
    (every leading KPI baselined): those are checked on a sample in depth."""
    return bool(rule.every)


def in_the_set(status: ItemStatus | None) -> bool:
    """Whether an item with this status against a requirement is in the set it ranges over: in
    scope and not rejected by an auditor (the worksheet and the evaluation agree on it)."""
    return status is not None and status != "rejected"


def samples(rules: RulePack, evidence: Evidence, seed: str, size: SampleRule) -> list[Sample]:
    """The sample of every requirement of ``rules`` that ranges over a non-empty set, in reading
    order."""
    found = []
    for cid, characteristic in rules.characteristics.items():
        items = evidence.for_characteristic(cid)
        for number in sorted(characteristic.levels):
            for top in characteristic.levels[number].requirements:
                for node in top.walk():
                    if node.evidence is None or not ranges_over_a_set(node.evidence):
                        continue
                    population = [i.id for i in items if in_the_set(item_status(node.evidence, i))]
                    if population:
                        key = characteristic.node_key(number, node.id)
                        found.append(
                            Sample(key, len(population), propose_sample(seed, key, population, size))
                        )
    return found
