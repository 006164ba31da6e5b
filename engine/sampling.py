"""Samples for in-depth checking: where a requirement ranges over a set (every leading KPI
baselined, every dataset licensed), the auditor examines a sample of it, as ISO 19011 audits do.

The engine proposes the sample so that nobody picks it: each item's place in the order is the
SHA-256 of the seed (the evaluation's own seed: pack digest, rule-pack digest and assessment
date), the requirement and the item id, so the same inputs always give the same sample and
editing one item does not move the others. The size rule is the certification scheme's; the
default is the square root of the set, at least 3 and at most 20 (never more than the set).
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable
from dataclasses import dataclass


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
