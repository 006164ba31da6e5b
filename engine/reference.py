"""The reference evaluator: the rule semantics in plain Python.

It exists to be obviously right. The durable_rules engine must agree with it on every
requirement and level outcome; property tests generate rule packs and evidence to check that.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Any

from engine.attributes import Value, literal_value
from engine.evidence import Evidence, ItemFacts
from engine.outcomes import (
    CharacteristicInference,
    ItemStatus,
    JudgementFacts,
    LevelOutcome,
    Outcome,
    combine,
    leaf_outcome,
    level_outcome,
    met_through,
    rate,
)
from engine.rulepack import RulePack
from engine.spec import CharacteristicRules, Condition, EvidenceRule, Requirement


class ReferenceInference:
    """Infers levels in plain Python (the specification durable_rules is checked against)."""

    def infer(
        self, pack: RulePack, evidence: Evidence, only: Collection[str] | None = None
    ) -> dict[str, CharacteristicInference]:
        """Infer the encoded characteristics of ``pack`` (or those in ``only``) from ``evidence``."""
        return {
            cid: infer_characteristic(rules, evidence.for_characteristic(cid), evidence.judgements_for(cid))
            for cid, rules in pack.characteristics.items()
            if only is None or cid in only
        }


def infer_characteristic(
    rules: CharacteristicRules,
    items: Sequence[ItemFacts],
    judgements: Mapping[str, JudgementFacts] | None = None,
) -> CharacteristicInference:
    """Infer one characteristic from the items offered for it and the judgements of its
    requirements (by node key)."""
    judged = judgements or {}
    nodes: dict[str, Outcome] = {}

    def evaluate(level: int, node: Requirement) -> Outcome:
        if node.evidence is not None:
            rule = node.evidence
            statuses = {item.id: s for item in items if (s := item_status(rule, item)) is not None}
            outcome = leaf_outcome(rule, statuses, judged.get(rules.node_key(level, node.id)))
        else:
            form = node.form
            assert form != "evidence"
            outcome = combine(form, [(child.id, evaluate(level, child)) for child in node.children()])
        if node.met_by:  # higher levels are evaluated first, so theirs are known
            keys = [f"{rules.characteristic}/{target}" for target in node.met_by]
            outcome = met_through(outcome, [(key, nodes[key]) for key in keys])
        nodes[rules.node_key(level, node.id)] = outcome
        return outcome

    # Requirements from the top level down (met_by points up), then levels from the bottom up
    # (as_at points down).
    own = {
        number: [(r.id, evaluate(number, r)) for r in rules.levels[number].requirements]
        for number in sorted(rules.levels, reverse=True)
    }
    levels: dict[int, LevelOutcome] = {}
    for number in sorted(rules.levels):
        level = rules.levels[number]
        inherited = None if level.as_at is None else (level.as_at, levels[level.as_at].criteria)
        levels[number] = level_outcome(number, own[number], inherited)
    return CharacteristicInference(rules.characteristic, nodes, levels, rate(levels))


def item_status(rule: EvidenceRule, item: ItemFacts) -> ItemStatus | None:
    """How one item stands against an evidence predicate; None when out of scope."""
    if item.kind != rule.kind or not all_hold(rule.where, item.values):
        return None
    if item.verdict == "rejected":
        return "rejected"
    if not all_hold(rule.every, item.values):
        return "violates"
    if rule.max_age_days is not None:
        age = item.values.get("age:" + rule.age_of)
        if not isinstance(age, int) or age > rule.max_age_days:
            return "stale"
    if rule.accepted and item.verdict != "accepted":
        return "unverified"
    return "qualifies"


def all_hold(conditions: Mapping[str, Condition], values: Mapping[str, Value]) -> bool:
    """Whether every condition holds on an item's values."""
    return all(
        holds(path, op, operand, values)
        for path, condition in conditions.items()
        for op, operand in condition.operators()
    )


def holds(path: str, op: str, operand: Any, values: Mapping[str, Value]) -> bool:
    """One operator on one attribute. A missing value fails everything but ``exists: false``."""
    if op in ("better_than", "meets"):
        gain = values.get("gain:" + operand)
        if gain is None:
            return False
        assert isinstance(gain, int)
        return gain > 0 if op == "better_than" else gain >= 0
    value = values.get(path)
    if op == "exists":
        return (value is not None) is operand
    if value is None:
        return False
    literal = literal_value(operand)
    if op == "equals":
        return bool(value == literal)
    if op == "one_of":
        return value in literal
    assert not isinstance(value, tuple) or op.startswith("contains")
    if op == "contains_all":
        assert isinstance(value, tuple)
        return all(x in value for x in literal)
    if op == "contains_any":
        assert isinstance(value, tuple)
        return any(x in value for x in literal)
    assert isinstance(value, int | float)
    return bool(value >= literal) if op == "gte" else bool(value <= literal)
