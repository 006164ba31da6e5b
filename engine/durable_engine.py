"""Inference on durable_rules: rule packs compiled to rulesets, evidence asserted as facts.

One ruleset per characteristic (a shard keeps each ruleset far below durable_rules' limit of
511 rules). Three fixed rules join each item with the auditor's verdict and derive a ``checked`` item
fact (verdict ``accepted``, ``rejected`` or ``none``). For every evidence predicate the
compiler then emits single-pattern rules over checked facts (tests from
:mod:`engine.patterns`, one rule per alternative) that classify each item in scope:

    qualifies   item matches, fresh, every-conditions hold, accepted (or not rejected)
    unverified  as above but no verdict yet (acceptance required)
    stale       matches but too old
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

import json
from dataclasses import dataclass
from typing import Any

from engine.canonical import digest_of
from engine.durable_runtime import DurableRuntime, RuleDefinition, Session
from engine.errors import EngineError
from engine.evidence import Evidence, ItemFacts
from engine.outcomes import (
    CharacteristicInference,
    ItemStatus,
    LevelOutcome,
    Outcome,
    Rating,
    combine,
    leaf_outcome,
    level_outcome,
    rate,
)
from engine.patterns import (
    ALPHA_BUDGET,
    alpha_load,
    fact_key,
    predicate_patterns,
    presence_key,
    referenced_paths,
)
from engine.rulepack import RulePack
from engine.spec import CharacteristicRules, EvidenceRule, Requirement

Rules = dict[str, tuple[list[RuleDefinition], "DurableAction"]]

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


# --- the session and the actions ---------------------------------------------------------------


class ShardSession(Session):
    """One characteristic's inference in progress."""

    def __init__(self, sid: str) -> None:
        super().__init__(sid)
        self.items: dict[int, str] = {}
        """Join key -> evidence id."""
        self.statuses: dict[str, dict[str, ItemStatus]] = {}
        """Predicate node -> evidence id -> status."""
        self.outcomes: dict[str, Outcome] = {}
        self.arrived: dict[str, dict[str, Outcome]] = {}
        """Composite node or level -> child node -> outcome received."""
        self.inherited: set[str] = set()
        """Levels whose inherited (as_at) level has settled."""
        self.levels: dict[int, LevelOutcome] = {}
        self.rating: Rating | None = None

    def settle(self, closure: Any, node: str, up: str, outcome: Outcome) -> None:
        """Record a node's outcome and assert it as a fact for the rules above it."""
        if node in self.outcomes:
            raise EngineError(f"outcome of {node} derived twice")
        self.outcomes[node] = outcome
        closure.assert_fact(
            {"id": self.fact_id(), "t": "outcome", "node": node, "up": up, "s": outcome.status}
        )

    def receive(self, node: str, child: str, status: str) -> dict[str, Outcome]:
        """Note a child's outcome for ``node``; returns what has arrived so far."""
        outcome = self.outcomes[child]
        if outcome.status != status:
            raise EngineError(f"fact for {child} says {status}, session says {outcome.status}")
        arrived = self.arrived.setdefault(node, {})
        if child in arrived:
            raise EngineError(f"outcome of {child} arrived twice at {node}")
        arrived[child] = outcome
        return arrived


class DurableAction:
    """Base of the actions rules run; subclasses are frozen dataclasses."""

    def describe(self) -> str:
        """Stable text naming the action and all it depends on (feeds the ruleset digest)."""
        return json.dumps([type(self).__name__, _plain(self)], sort_keys=True, default=str)

    def apply(self, session: ShardSession, closure: Any) -> None:
        raise NotImplementedError


def _plain(action: object) -> Any:
    values = {}
    for name, value in vars(action).items():
        values[name] = value.model_dump(mode="json") if hasattr(value, "model_dump") else value
    return values


@dataclass(frozen=True)
class CheckItem(DurableAction):
    """An item met its verdict (or, after phase 1, the lack of one): derive the checked item."""

    verdict: str

    def apply(self, session: ShardSession, closure: Any) -> None:
        item = dict(closure.i._d)
        del item["sid"]
        item.update(id=session.fact_id(), t="checked", verdict=self.verdict)
        closure.assert_fact(item)


@dataclass(frozen=True)
class ClassifyItem(DurableAction):
    """An item in scope of a predicate got its status.

    A pattern with ``$or`` (one_of, contains_any, a negated ``every``) activates once per
    branch that matches, so the same item can arrive more than once with the same status;
    that is one match. Two different statuses for one item would be a broken rule set.
    """

    node: str
    status: ItemStatus

    def apply(self, session: ShardSession, closure: Any) -> None:
        evidence_id = session.items[closure.i.k]
        statuses = session.statuses.setdefault(self.node, {})
        earlier = statuses.setdefault(evidence_id, self.status)
        if earlier != self.status:
            raise EngineError(f"{evidence_id} is both {earlier} and {self.status} for {self.node}")


@dataclass(frozen=True)
class ClosePredicate(DurableAction):
    """Phase 2: count the classified items of a predicate and settle its outcome."""

    node: str
    up: str
    rule: EvidenceRule

    def apply(self, session: ShardSession, closure: Any) -> None:
        outcome = leaf_outcome(self.rule, session.statuses.get(self.node, {}))
        session.settle(closure, self.node, self.up, outcome)


@dataclass(frozen=True)
class Compose(DurableAction):
    """all / any / not: settle once every child's outcome has arrived."""

    node: str
    up: str
    form: str
    children: tuple[tuple[str, str], ...]
    """(child node key, label) in spec order."""

    def apply(self, session: ShardSession, closure: Any) -> None:
        arrived = session.receive(self.node, closure.o.node, closure.o.s)
        if len(arrived) == len(self.children):
            parts = [(label, arrived[key]) for key, label in self.children]
            session.settle(closure, self.node, self.up, combine(self.form, parts))  # type: ignore[arg-type]


@dataclass(frozen=True)
class SettleLevel(DurableAction):
    """A level: settle once its own requirements and any inherited level have arrived."""

    key: str
    level: int
    own: tuple[tuple[str, str], ...]
    as_at: int | None

    def apply(self, session: ShardSession, closure: Any) -> None:
        if closure.l is not None:  # the inherited level has settled
            if self.key in session.inherited:
                raise EngineError(f"level {self.as_at} arrived twice at {self.key}")
            session.inherited.add(self.key)
            arrived = session.arrived.get(self.key, {})
        else:
            arrived = session.receive(self.key, closure.o.node, closure.o.s)
        waiting = self.as_at is not None and self.key not in session.inherited
        if len(arrived) < len(self.own) or waiting:
            return
        inherited = None
        if self.as_at is not None:
            inherited = (self.as_at, session.levels[self.as_at].criteria)
        outcome = level_outcome(self.level, [(label, arrived[key]) for key, label in self.own], inherited)
        if self.level in session.levels:
            raise EngineError(f"level {self.level} settled twice")
        session.levels[self.level] = outcome
        closure.assert_fact(
            {
                "id": session.fact_id(),
                "t": "level",
                "level": self.level,
                "own": outcome.own.status,
                "s": outcome.criteria.status,
            }
        )


@dataclass(frozen=True)
class Rate(DurableAction):
    """Once every level has settled, derive the verified level."""

    levels: tuple[int, ...]

    def apply(self, session: ShardSession, closure: Any) -> None:
        if len(session.levels) < len(self.levels) or session.rating is not None:
            return
        session.rating = rate(session.levels)
        closure.assert_fact({"id": session.fact_id(), "t": "rating", "verified": session.rating.verified})


@dataclass(frozen=True)
class Ignore(DurableAction):
    """Sink rules never fire (their second pattern never matches); they keep facts stored."""

    what: str

    def apply(self, session: ShardSession, closure: Any) -> None:
        raise EngineError(f"sink rule for {self.what} fired")


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


def compile_characteristic(rules: CharacteristicRules) -> CompiledShard:
    """Compile one characteristic's levels into ruleset rules."""
    over = {kind: load for kind, load in alpha_load(rules).items() if load > ALPHA_BUDGET}
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
    for verdict, patterns in _CHECKS.items():
        out[f"{cid}#check-{verdict}"] = (patterns, CheckItem(verdict))
    for what in ("item", "verdict", "phase", "checked", "rating"):
        out[f"{cid}#keep-{what}"] = ([{"m": {"t": what}}, _NEVER], Ignore(what))
    described = {name: [patterns, action.describe()] for name, (patterns, action) in out.items()}
    name = "assay-" + digest_of(described).removeprefix("sha256:")[:24]
    key_map = {kind: tuple(sorted(paths)) for kind, paths in sorted(keys.items())}
    return CompiledShard(cid, name, out, key_map, tuple(nodes))


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
    if node.evidence is not None:
        _compile_predicate(key, up, node.evidence, out)
        keys.setdefault(node.evidence.kind, set()).update(referenced_paths(node.evidence))
        return
    children = node.children()
    for child in children:
        _compile_node(rules, level, child, key, out, keys, nodes)
    labels = tuple((rules.node_key(level, c.id), c.id) for c in children)
    pattern = {"o": {"$and": [{"t": "outcome"}, {"up": key}]}}
    out[f"{key}#compose"] = ([pattern], Compose(key, up, node.form, labels))


def _compile_predicate(key: str, up: str, rule: EvidenceRule, out: Rules) -> None:
    for role, alternatives in predicate_patterns(rule).items():
        action = ClassifyItem(key, role)  # type: ignore[arg-type]
        for index, tests in enumerate(alternatives):
            out[f"{key}#{role}#{index}"] = ([{"i": {"$and": tests}}], action)
    out[f"{key}#close"] = ([_PHASE_2], ClosePredicate(key, up, rule))


# --- running ------------------------------------------------------------------------------------


class DurableInference:
    """Infers levels with durable_rules. Holds its runtime and compiled rulesets; no globals."""

    def __init__(self, runtime: DurableRuntime | None = None) -> None:
        self.runtime = runtime or DurableRuntime()
        self._compiled: dict[str, list[CompiledShard]] = {}

    def compile(self, pack: RulePack) -> list[CompiledShard]:
        """Compile (once per pack digest) and register a pack's rulesets."""
        shards = self._compiled.get(pack.digest)
        if shards is None:
            shards = [compile_characteristic(rules) for rules in pack.characteristics.values()]
            for shard in shards:
                self.runtime.register(shard.name, shard.rules)
            self._compiled[pack.digest] = shards
        return shards

    def infer(self, pack: RulePack, evidence: Evidence) -> dict[str, CharacteristicInference]:
        """Infer every encoded characteristic of ``pack`` from ``evidence``."""
        return {
            shard.characteristic: self._run(shard, evidence.for_characteristic(shard.characteristic))
            for shard in self.compile(pack)
        }

    def _run(self, shard: CompiledShard, items: tuple[ItemFacts, ...]) -> CharacteristicInference:
        with self.runtime.session(shard.name, ShardSession) as session:
            assert isinstance(session, ShardSession)
            base = self._base_facts(shard, items, session)
            self.runtime.assert_facts(shard.name, session, base)
            for phase in (1, 2):
                self.runtime.assert_facts(
                    shard.name, session, [{"id": session.fact_id(), "t": "phase", "n": phase}]
                )
            derived = self.runtime.facts(shard.name, session)
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
