"""Inference on durable_rules: rule packs compiled to rulesets, evidence asserted as facts.

One ruleset per characteristic (a shard keeps each ruleset far below durable_rules' limit of
511 rules). Three fixed rules join each item with the auditor's verdict and derive a
``checked`` item fact (verdict ``accepted``, ``rejected`` or ``none``). For every evidence predicate the
compiler then emits single-pattern rules over checked facts (tests from
:mod:`engine.patterns`, one rule per alternative) that classify each item in scope:

    qualifies   item matches, fresh, every-conditions hold, accepted (or not rejected)
    unverified  as above but no verdict yet (acceptance required)
    stale       matches but not current (too old, or dated after the assessment date)
    violates    matches ``where`` but fails ``every``
    rejected    matches ``where`` but an auditor rejected it (listed, never counted)

"No verdict" needs the closed-world assumption, so that join fires only after a phase-1
marker asserted once all base facts are in; the marker precedes the negation in the rule,
because durable_rules does not cancel a negation that a later fact would block. A phase-2
marker then closes every predicate: its action counts the classified items and asserts an
``outcome`` fact, which chains through composition rules (``all``/``any``/``not``) into
``level`` facts and finally one ``rating`` fact with the verified level.

Facts carry only small, typed values; the details behind each outcome (item ids, what is
missing) stay in the session and are cross-checked against the derived facts at the end, so a
derived fact that durable_rules lost or duplicated fails the evaluation.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

from engine.canonical import digest_of
from engine.durable_actions import (
    CheckItem,
    ClassifyItem,
    ClosePredicate,
    Compose,
    DurableAction,
    Ignore,
    MetThrough,
    Rate,
    RecordJudgement,
    SettleLevel,
    ShardSession,
)
from engine.durable_runtime import DurableRuntime, RuleDefinition
from engine.errors import EngineError
from engine.evidence import Evidence, ItemFacts
from engine.outcomes import CharacteristicInference, JudgementFacts
from engine.patterns import (
    ALPHA_BUDGET,
    alpha_load,
    fact_key,
    predicate_patterns,
    presence_key,
    referenced_paths,
    ruleset_size,
)
from engine.rulepack import RulePack
from engine.spec import CharacteristicRules, EvidenceRule, Requirement

Rules = dict[str, tuple[list[RuleDefinition], DurableAction]]

_PHASE_1 = {"p": {"$and": [{"t": "phase"}, {"n": 1}]}}
_PHASE_2 = {"p": {"$and": [{"t": "phase"}, {"n": 2}]}}
_ITEM = {"i": {"t": "item"}}
_SAME_ITEM = {"k": {"i": "k"}}
_NEVER = {"x": {"t": "never"}}
# The item-verdict join: the only joins in a ruleset (see engine.patterns on why).
_CHECKS: dict[str, list[RuleDefinition]] = {
    "accepted": [_ITEM, {"v": {"$and": [{"t": "verdict"}, _SAME_ITEM, {"v": "accepted"}]}}],
    "rejected": [_ITEM, {"v": {"$and": [{"t": "verdict"}, _SAME_ITEM, {"v": "rejected"}]}}],
    "none": [_PHASE_1, _ITEM, {"v$not": {"$and": [{"t": "verdict"}, _SAME_ITEM]}}],
}


# --- compiling ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class CompiledShard:
    """One characteristic compiled to a durable_rules ruleset."""

    characteristic: str
    name: str
    """Ruleset name: a digest of the rules and actions, so equal content shares a ruleset."""
    rules: Rules
    keys: dict[str, tuple[str, ...]]
    """Evidence kind -> normalised values (attribute paths) the rules read."""
    nodes: tuple[str, ...]
    """Every requirement node key, for checking that each settled exactly once."""
    judged: frozenset[str] = frozenset()
    """Predicate nodes that need the auditor's judgement (one rule receives their judgements)."""


def compile_characteristic(rules: CharacteristicRules, *, limits_checked: bool = False) -> CompiledShard:
    """Compile one characteristic's levels into ruleset rules (``limits_checked``: the loader has
    already bounded its alpha load)."""
    over = {} if limits_checked else {k: n for k, n in alpha_load(rules).items() if n > ALPHA_BUDGET}
    if over:  # the rule-pack loader reports this; a pack built in code must not crash either
        raise EngineError(f"{rules.characteristic}: alpha load {over} exceeds {ALPHA_BUDGET}")
    out: Rules = {}
    keys: dict[str, set[str]] = {}
    nodes: list[str] = []
    cid = rules.characteristic
    for number, level in sorted(rules.levels.items()):
        level_key = f"{cid}/{number}"
        for requirement in level.requirements:
            _compile_node(rules, number, requirement, level_key, out, keys, nodes)
        own = tuple((rules.node_key(number, r.id), r.id) for r in level.requirements)
        settle = SettleLevel(level_key, number, own, level.as_at)
        out[f"{level_key}#own"] = ([{"o": {"$and": [{"t": "outcome"}, {"up": level_key}]}}], settle)
        if level.as_at is not None:
            inherited = {"l": {"$and": [{"t": "level"}, {"level": level.as_at}]}}
            out[f"{level_key}#as_at"] = ([inherited], settle)
    out[f"{cid}#rate"] = ([{"l": {"t": "level"}}], Rate(tuple(sorted(rules.levels))))
    judged = frozenset(
        rules.node_key(number, node.id)
        for number, level in rules.levels.items()
        for requirement in level.requirements
        for node in requirement.walk()
        if node.evidence is not None and node.evidence.judgement is not None
    )
    if judged:
        out[f"{cid}#judgement"] = ([{"j": {"t": "judgement"}}], RecordJudgement(tuple(sorted(judged))))
    for verdict, patterns in _CHECKS.items():
        out[f"{cid}#check-{verdict}"] = (patterns, CheckItem(verdict))
    for what in ("item", "verdict", "phase", "checked", "rating"):
        out[f"{cid}#keep-{what}"] = ([{"m": {"t": what}}, _NEVER], Ignore(what))
    if len(out) != ruleset_size(rules):  # the loader's rule-count check must count what this builds
        raise EngineError(f"{cid}: compiled {len(out)} rules, expected {ruleset_size(rules)}")
    described = {name: [patterns, action.describe()] for name, (patterns, action) in out.items()}
    name = "assay-" + digest_of(described).removeprefix("sha256:")[:24]
    key_map = {kind: tuple(sorted(paths)) for kind, paths in sorted(keys.items())}
    return CompiledShard(cid, name, out, key_map, tuple(nodes), judged)


def _compile_node(
    rules: CharacteristicRules,
    level: int,
    node: Requirement,
    up: str,
    out: Rules,
    keys: dict[str, set[str]],
    nodes: list[str],
) -> None:
    key = rules.node_key(level, node.id)
    nodes.append(key)
    deferred = bool(node.met_by)
    if deferred:  # settled by its MetThrough rule once the requirements it lists have settled
        alternatives = tuple(f"{rules.characteristic}/{target}" for target in node.met_by)
        patterns = [{"w": {"$and": [{"t": "own"}, {"node": key}]}}] + [
            {f"a{index}": {"$and": [{"t": "outcome"}, {"node": other}]}}
            for index, other in enumerate(alternatives)
        ]
        out[f"{key}#met_by"] = (patterns, MetThrough(key, up, alternatives))
    if node.evidence is not None:
        _compile_predicate(key, up, node.evidence, out, deferred)
        keys.setdefault(node.evidence.kind, set()).update(referenced_paths(node.evidence))
        return
    children = node.children()
    for child in children:
        _compile_node(rules, level, child, key, out, keys, nodes)
    labels = tuple((rules.node_key(level, c.id), c.id) for c in children)
    pattern = {"o": {"$and": [{"t": "outcome"}, {"up": key}]}}
    form = node.form
    assert form != "evidence"
    out[f"{key}#compose"] = ([pattern], Compose(key, up, form, labels, deferred))


def _compile_predicate(key: str, up: str, rule: EvidenceRule, out: Rules, deferred: bool) -> None:
    for role, alternatives in predicate_patterns(rule).items():
        action = ClassifyItem(key, role)
        for index, tests in enumerate(alternatives):
            out[f"{key}#{role}#{index}"] = ([{"i": {"$and": tests}}], action)
    out[f"{key}#close"] = ([_PHASE_2], ClosePredicate(key, up, rule, deferred))


# --- running ------------------------------------------------------------------------------------


class DurableInference:
    """Infers levels with durable_rules. Holds its runtime and compiled rulesets; no globals."""

    def __init__(self, runtime: DurableRuntime | None = None) -> None:
        self.runtime = runtime or DurableRuntime()
        self._compiled: dict[tuple[str, str], CompiledShard] = {}

    def compile(self, pack: RulePack) -> list[CompiledShard]:
        """Compile and register a pack's rulesets, each once per pack digest and characteristic."""
        shards = []
        for cid, rules in pack.characteristics.items():
            shard = self._compiled.get((pack.digest, cid))
            if shard is None:
                shard = compile_characteristic(rules, limits_checked=pack.limits_checked)
                self.runtime.register(shard.name, shard.rules)
                self._compiled[(pack.digest, cid)] = shard
            shards.append(shard)
        return shards

    def infer(
        self, pack: RulePack, evidence: Evidence, only: Collection[str] | None = None
    ) -> dict[str, CharacteristicInference]:
        """Infer the encoded characteristics of ``pack`` (or those in ``only``) from ``evidence``."""
        return {
            shard.characteristic: self._run(
                shard,
                evidence.for_characteristic(shard.characteristic),
                evidence.judgements_for(shard.characteristic),
            )
            for shard in self.compile(pack)
            if only is None or shard.characteristic in only
        }

    def _run(
        self, shard: CompiledShard, items: tuple[ItemFacts, ...], judgements: Mapping[str, JudgementFacts]
    ) -> CharacteristicInference:
        with self.runtime.session(shard.name, ShardSession) as session:
            assert isinstance(session, ShardSession)
            base = self._base_facts(shard, items, session)
            # Judgements of the predicates that need one; any other is no fact for these rules.
            for key, judgement in sorted(judgements.items()):
                if key in shard.judged:
                    base.append(
                        {"id": session.fact_id(), "t": "judgement", "node": key, "n": len(session.offered)}
                    )
                    session.offered.append(judgement)
            self.runtime.assert_facts(shard.name, session, base)
            for phase in (1, 2):
                self.runtime.assert_facts(
                    shard.name, session, [{"id": session.fact_id(), "t": "phase", "n": phase}]
                )
            derived = self.runtime.facts(shard.name, session)
        if len(session.judgements) != len(session.offered):
            lost = f"{len(session.offered)} asserted, {len(session.judgements)} received"
            raise EngineError(f"{shard.characteristic}: judgement facts lost: {lost}")
        return _checked(shard, session, derived)

    @staticmethod
    def _base_facts(
        shard: CompiledShard, items: tuple[ItemFacts, ...], session: ShardSession
    ) -> list[dict[str, Any]]:
        facts: list[dict[str, Any]] = []
        for item in items:
            wanted = shard.keys.get(item.kind)
            if wanted is None:
                continue  # no rule of this characteristic reads this kind
            k = session.join_key()
            session.items[k] = item.id
            fact: dict[str, Any] = {"id": session.fact_id(), "t": "item", "k": k, "kind": item.kind}
            for path in wanted:
                value = item.values.get(path)
                fact[presence_key(path)] = value is not None
                if value is not None:
                    fact[fact_key(path)] = list(value) if isinstance(value, tuple) else value
            facts.append(fact)
            if item.verdict is not None:
                facts.append({"id": session.fact_id(), "t": "verdict", "k": k, "v": item.verdict})
        return facts


def _checked(
    shard: CompiledShard, session: ShardSession, facts: list[dict[str, Any]]
) -> CharacteristicInference:
    """Cross-check the derived facts against the session; any loss or duplicate is an error."""
    outcome_facts: dict[str, str] = {}
    for fact in facts:
        if fact.get("t") == "outcome":
            if fact["node"] in outcome_facts:
                raise EngineError(f"{shard.characteristic}: outcome of {fact['node']} stored twice")
            outcome_facts[fact["node"]] = fact["s"]
    expected = {node: session.outcomes[node].status for node in shard.nodes if node in session.outcomes}
    if len(expected) != len(shard.nodes) or outcome_facts != expected:
        lost = sorted(set(shard.nodes) - set(outcome_facts))
        raise EngineError(f"{shard.characteristic}: derived outcome facts lost or changed: {lost}")
    level_facts = sorted((f["level"], f["s"]) for f in facts if f.get("t") == "level")
    if level_facts != sorted((n, lo.criteria.status) for n, lo in session.levels.items()):
        raise EngineError(f"{shard.characteristic}: level facts do not match the levels settled")
    ratings = [f["verified"] for f in facts if f.get("t") == "rating"]
    if session.rating is None or ratings != [session.rating.verified]:
        raise EngineError(f"{shard.characteristic}: no single rating was derived")
    nodes = {node: session.outcomes[node] for node in shard.nodes}
    return CharacteristicInference(
        shard.characteristic, nodes, dict(sorted(session.levels.items())), session.rating
    )
