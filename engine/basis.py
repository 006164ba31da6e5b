"""The evidence basis of a result: what each level rests on, and where that is thin.

Per level: how many of its evidence predicates (own and inherited through ``as_at``) were
checked by machine only, which were judged by an auditor (and how), how many still await a
judgement, and the items it rests on. Per item: the requirements it carries. Thin spots are
flagged for the reviewer with a plain reason; a flag is a prompt to look, never an outcome.

A predicate is *carried* by the items behind it when it is met and so is every requirement
above it, up to the level's top-level requirement: a met predicate inside an alternative that
does not hold, or under a ``not`` (where being met counts against the level), supports nothing.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, Field

from engine.evidence import Evidence, ItemFacts
from engine.outcomes import CharacteristicInference, JudgementFacts
from engine.spec import CharacteristicRules, Requirement

if TYPE_CHECKING:
    # Only for annotations: the result is built from this module's models.
    from engine.result import CharacteristicResult, Result

MAX_CHARACTERISTICS_PER_ITEM = 3
"""Default of how many characteristics one item may carry requirements in before it is flagged
(a certification scheme may set another)."""

FlagKind = Literal[
    "single-item", "no-attachment", "judged-without-attachment", "item-in-many-characteristics"
]


class BasisModel(BaseModel):
    """Base of evidence-basis models."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class BasisFlag(BasisModel):
    """A thin spot in the evidence basis, for the reviewer to look at."""

    kind: FlagKind = Field(
        description="single-item: a credited level rests on one item (or none); no-attachment: no item "
        "behind a credited level has an attachment; judged-without-attachment: "
        "a credited level rests on judged requirements whose items have no attachment; "
        "item-in-many-characteristics: an item carries requirements in more characteristics than the "
        "threshold (on a level: the level rests on such an item)."
    )
    items: list[str] = Field(description="The items concerned, sorted.")
    reason: str = Field(description="Why it is flagged, in plain words.")


class JudgedRequirement(BasisModel):
    """An evidence predicate the auditor judged."""

    requirement: str = Field(description="Requirement node key.")
    method: str = Field(description="How the auditor formed the judgement.")


class LevelBasis(BasisModel):
    """What one level rests on: its evidence predicates, own and inherited."""

    machine: int = Field(description="Predicates checked by machine only.")
    judged: list[JudgedRequirement] = Field(description="Predicates the auditor judged, in rule order.")
    awaiting_judgement: int = Field(description="Predicates that need a judgement and have none.")
    items: list[str] = Field(description="Distinct items behind the predicates the level carries, sorted.")
    flags: list[BasisFlag] = Field(description="Thin spots of a credited level.")


class ItemBasis(BasisModel):
    """The requirements one item carries."""

    id: str = Field(description="Evidence id.")
    requirements: list[str] = Field(
        description="Node keys of the met predicates it is behind, catalogue order."
    )


class EvidenceBasis(BasisModel):
    """Per item, the requirements it carries, and the items flagged for carrying too many."""

    max_characteristics_per_item: int = Field(description="Items carrying requirements in more are flagged.")
    items: list[ItemBasis] = Field(description="Items carrying at least one requirement, by id.")
    flags: list[BasisFlag] = Field(description="Items carrying requirements in too many characteristics.")


def carried(
    spec: CharacteristicRules, level: int, inference: CharacteristicInference
) -> Iterator[tuple[str, tuple[str, ...]]]:
    """``(node key, items)`` of each predicate of ``level`` (its own only) that its items carry."""
    for top in spec.levels[level].requirements:
        yield from _carried(spec, level, top, inference)


def _carried(
    spec: CharacteristicRules, level: int, node: Requirement, inference: CharacteristicInference
) -> Iterator[tuple[str, tuple[str, ...]]]:
    key = spec.node_key(level, node.id)
    outcome = inference.nodes[key]
    if outcome.status != "met" or node.form == "not":
        return
    if node.form == "evidence":
        yield key, outcome.evidence
    for child in node.children():
        yield from _carried(spec, level, child, inference)


def carried_by_item(
    specs: Mapping[str, CharacteristicRules], inferred: Mapping[str, CharacteristicInference]
) -> dict[str, list[str]]:
    """Item id -> node keys of the predicates it carries, in the order of ``specs`` then level."""
    by_item: dict[str, list[str]] = {}
    for cid, spec in specs.items():
        for number in sorted(spec.levels):
            for key, items in carried(spec, number, inferred[cid]):
                for item in items:
                    by_item.setdefault(item, []).append(key)
    return by_item


def overused_items(by_item: Mapping[str, list[str]], threshold: int) -> dict[str, int]:
    """Items carrying requirements in more than ``threshold`` characteristics -> how many."""
    counts = {item: len({key.split("/", 1)[0] for key in keys}) for item, keys in by_item.items()}
    return {item: n for item, n in sorted(counts.items()) if n > threshold}


def evidence_basis(
    by_item: Mapping[str, list[str]], overused: Mapping[str, int], threshold: int
) -> EvidenceBasis:
    """The result-wide basis: every carrying item, and the over-used ones flagged."""
    flags = [
        BasisFlag(
            kind="item-in-many-characteristics",
            items=[item],
            reason=f"{item} carries {len(by_item[item])} requirements in {count} characteristics, "
            f"more than {threshold}",
        )
        for item, count in overused.items()
    ]
    return EvidenceBasis(
        max_characteristics_per_item=threshold,
        items=[ItemBasis(id=item, requirements=keys) for item, keys in sorted(by_item.items())],
        flags=flags,
    )


@dataclass(frozen=True)
class _Own:
    """What one level's own predicates contribute to a basis (levels inherit it through as_at)."""

    machine: int
    judged: tuple[JudgedRequirement, ...]
    awaiting: int
    items: frozenset[str]
    unattached: tuple[tuple[str, tuple[str, ...]], ...]


def level_bases(
    spec: CharacteristicRules,
    inference: CharacteristicInference,
    evidence: Evidence,
    *,
    verified: int,
    overused: Mapping[str, int],
    threshold: int,
) -> dict[int, LevelBasis]:
    """Every level's basis and, for the credited ones (up to ``verified``), its flags.

    ``overused`` maps the items carrying requirements in more than ``threshold`` characteristics
    to that number. Each level's own predicates are read once and shared by the levels that
    inherit them.
    """
    facts = {f.id: f for f in evidence.for_characteristic(spec.characteristic)}
    own = {number: _own(spec, number, inference, evidence, facts) for number in spec.levels}
    bases = {}
    for level in spec.levels:
        chain = [own[number] for number in _chain(spec, level)]
        items = sorted(frozenset().union(*(o.items for o in chain)))
        unattached = {key: bare for o in chain for key, bare in o.unattached}
        bare = sorted(i for i in items if i in facts and facts[i].values.get("attachments") is not True)
        flags = _level_flags(items, bare, unattached, overused, threshold) if level <= verified else []
        bases[level] = LevelBasis(
            machine=sum(o.machine for o in chain),
            judged=[j for o in chain for j in o.judged],
            awaiting_judgement=sum(o.awaiting for o in chain),
            items=items,
            flags=flags,
        )
    return bases


def _own(
    spec: CharacteristicRules,
    number: int,
    inference: CharacteristicInference,
    evidence: Evidence,
    facts: Mapping[str, ItemFacts],
) -> _Own:
    machine = awaiting = 0
    judged: list[JudgedRequirement] = []
    for top in spec.levels[number].requirements:
        for node in top.walk():
            if node.evidence is None:
                continue
            key = spec.node_key(number, node.id)
            judgement = evidence.judgements.get(key) if node.evidence.judgement else None
            if judgement is not None:
                judged.append(JudgedRequirement(requirement=key, method=judgement.method))
            elif node.evidence.judgement is not None:
                awaiting += 1
            else:
                machine += 1
    items: set[str] = set()
    unattached = []
    for key, behind in carried(spec, number, inference):
        items.update(behind)
        bare = _without_attachment(evidence.judgements.get(key), behind, facts)
        if bare:
            unattached.append((key, bare))
    return _Own(machine, tuple(judged), awaiting, frozenset(items), tuple(unattached))


def _chain(spec: CharacteristicRules, level: int) -> Iterator[int]:
    """``level`` and every level it inherits through ``as_at`` (the loader refuses cycles)."""
    current: int | None = level
    while current is not None:
        yield current
        current = spec.levels[current].as_at


def _without_attachment(
    judgement: JudgementFacts | None, behind: tuple[str, ...], facts: Mapping[str, ItemFacts]
) -> tuple[str, ...]:
    """The items a judged predicate rests on that have no attachment (``attachments`` is present
    in an item's values exactly when it has at least one)."""
    if judgement is None:
        return ()
    return tuple(i for i in behind if i in facts and facts[i].values.get("attachments") is not True)


def _level_flags(
    items: list[str],
    bare: list[str],
    unattached: Mapping[str, tuple[str, ...]],
    overused: Mapping[str, int],
    threshold: int,
) -> list[BasisFlag]:
    flags = []
    if len(items) <= 1:
        reason = f"credited on a single item, {items[0]}" if items else "credited on no evidence item"
        flags.append(BasisFlag(kind="single-item", items=items, reason=reason))
    if items and bare == items:
        # Nothing behind the level can be read: whatever the attributes say rests on the pack alone.
        reason = f"no item behind it has an attachment: {', '.join(items)}"
        flags.append(BasisFlag(kind="no-attachment", items=items, reason=reason))
    if unattached and not (items and bare == items):  # no-attachment already says it
        bare = sorted({i for behind in unattached.values() for i in behind})
        reason = (
            f"rests on judgements ({', '.join(unattached)}) whose items have no attachment: {', '.join(bare)}"
        )
        flags.append(BasisFlag(kind="judged-without-attachment", items=bare, reason=reason))
    many = [i for i in items if i in overused]
    if many:
        named = ", ".join(f"{i} ({overused[i]})" for i in many)
        reason = f"rests on items carrying requirements in more than {threshold} characteristics: {named}"
        flags.append(BasisFlag(kind="item-in-many-characteristics", items=many, reason=reason))
    return flags


@dataclass(frozen=True)
class ThinLevel:
    """A credited level and what it rests on, as :func:`thinnest_levels` lists it."""

    characteristic: str
    """Characteristic id."""
    title: str
    """Characteristic title."""
    level: int
    basis: LevelBasis


def thinnest_levels(result: Result, limit: int | None = None) -> list[ThinLevel]:
    """The credited levels, thinnest basis first: flagged ones, then those resting on the fewest
    distinct items, then those with the most judged requirements; ties in catalogue and level
    order. At most ``limit`` when given. Levels of results written before the evidence basis
    existed are left out."""
    # Built in catalogue and level order; the sort is stable, so ties keep that order.
    found = [
        ThinLevel(char.id, char.title, level.level, level.basis)
        for char in result.characteristics
        for level in char.levels
        if level.credited and level.basis is not None
    ]
    found.sort(key=lambda t: (not t.basis.flags, len(t.basis.items), -len(t.basis.judged)))
    return found if limit is None else found[:limit]


def credited_basis(char: CharacteristicResult) -> tuple[int, int] | None:
    """``(distinct items, judged requirements)`` behind a characteristic's credited levels
    together, as the certificate's schedule shows them; None when no level above 1 is credited
    or the result predates the evidence basis."""
    bases = [level.basis for level in char.levels if level.credited]
    items: set[str] = set()
    judged: set[str] = set()
    for basis in bases:
        if basis is None:
            return None
        items.update(basis.items)
        judged.update(j.requirement for j in basis.judged)
    return (len(items), len(judged)) if bases else None
