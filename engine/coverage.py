"""How much of the model a rule pack encodes: per characteristic and level, the evidence
predicates, how many need an auditor's judgement, and the evidence kinds used."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from engine.rulepack import RulePack
from engine.spec import EvidenceRule, Level


@dataclass(frozen=True)
class LevelCoverage:
    """One encoded cell."""

    level: int
    predicates: int
    """Evidence predicates in the level's own requirements."""
    judged: int
    """Of those, how many need the auditor's judgement (a rating of the requirement)."""
    as_at: int | None
    """Level whose criteria this one inherits."""


@dataclass(frozen=True)
class CoverageRow:
    """One characteristic of the model."""

    characteristic: str
    title: str
    levels: tuple[LevelCoverage, ...]
    """Empty when the pack does not encode the characteristic."""
    kinds: tuple[str, ...]
    """Evidence kinds its requirements use."""

    @property
    def judged(self) -> int:
        """Predicates needing the auditor's judgement, all levels."""
        return sum(level.judged for level in self.levels)


def coverage(pack: RulePack) -> list[CoverageRow]:
    """One row per characteristic of the model, in reading order."""
    rows = []
    for char in pack.model.characteristics():
        spec = pack.characteristics.get(char.id)
        if spec is None:
            rows.append(CoverageRow(char.id, char.title.en, (), ()))
            continue
        levels = []
        kinds: set[str] = set()
        for number, level in sorted(spec.levels.items()):
            predicates = _predicates(level)
            kinds.update(p.kind for p in predicates)
            levels.append(
                LevelCoverage(
                    number, len(predicates), sum(p.judgement is not None for p in predicates), level.as_at
                )
            )
        rows.append(CoverageRow(char.id, char.title.en, tuple(levels), tuple(sorted(kinds))))
    return rows


TYPE_ATTRIBUTES = frozenset({"doc_type", "engagement_type", "platform_type", "serves"})
"""The attributes that only say which sort of item of a kind it is."""


def kind_only(rule: EvidenceRule) -> bool:
    """Whether a predicate checks nothing beyond an item's kind and type: any item of the right
    sort, accepted as authentic, meets it (what issue 14 holds to at most 10 % of requirements)."""
    return sort_only(rule.where, rule.every, rule.min_count, rule.max_age_days)


def sort_only(where: Iterable[str], every: Iterable[str], min_count: object, max_age_days: object) -> bool:
    """:func:`kind_only` over a predicate's parts, for checks that read a rule file's raw YAML."""
    return set(where) <= TYPE_ATTRIBUTES and not list(every) and min_count == 1 and max_age_days is None


def kind_only_share(pack: RulePack) -> tuple[int, int]:
    """``(kind-only predicates, all predicates)`` of a pack."""
    levels = [level for spec in pack.characteristics.values() for level in spec.levels.values()]
    predicates = [p for level in levels for p in _predicates(level)]
    return sum(kind_only(p) for p in predicates), len(predicates)


def _predicates(level: Level) -> list[EvidenceRule]:
    return [node.evidence for top in level.requirements for node in top.walk() if node.evidence is not None]
