"""Evidence predicates as durable_rules item patterns, and the limit they must respect.

Every condition is compiled to disjunctive normal form: a list of alternatives, each a plain
conjunction of tests, and each alternative becomes its own durable_rules rule. No pattern uses
``$or``, ``$ex`` or ``$nex``:

- durable_rules builds an unshared "forward" node for every ``$or`` and pushes it once per
  matching branch, and pushes every ``$nex`` node whenever the property is missing;
- its alpha-network walk keeps pending nodes on a fixed stack of 64 entries; overflowing it
  fails the assert (error 303) and corrupts memory (measured: ``munmap_chunk(): invalid
  pointer`` on the next call).

- a join test (``k`` equal to another pattern's ``k``) is never shared between rules and is
  pushed for every fact of its type, so 65 rules joining verdicts overflow it by themselves.

With plain conjunctions and no joins, durable_rules shares identical test prefixes between
rules, so the tests for one evidence kind form a trie in which each node is pushed at most once
per fact. The trie's size therefore bounds the stack, and :func:`alpha_load` lets a rule pack
be rejected at load time when a characteristic needs more than :data:`ALPHA_BUDGET` tests for
one kind of evidence. Presence of a value is an explicit flag in the fact, so "absent" is a
plain equality test too. The item-verdict join happens once per ruleset, in three fixed rules
(see :mod:`engine.durable_engine`).
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Iterator
from typing import Any

from engine.attributes import literal_value
from engine.outcomes import ItemStatus
from engine.spec import CharacteristicRules, Condition, EvidenceRule

Test = dict[str, Any]
Alternative = list[Test]
ALPHA_BUDGET = 56
"""Most alpha tests one evidence kind may need in one ruleset (durable_rules' stack is 64)."""
MAX_RULES = 500
"""Most rules in one ruleset: with 512 durable_rules hangs on the first assert."""
FIXED_RULES = 9
"""Rules every characteristic's ruleset has: three verdict joins, one rating, five keepers."""


def fact_key(path: str) -> str:
    """Key of an attribute value in a fact ('.' would mean a nested lookup in durable_rules)."""
    return "a_" + re.sub(r"[.:]", "__", path)


def presence_key(path: str) -> str:
    """Key of the flag telling whether an attribute has a value."""
    return "p_" + re.sub(r"[.:]", "__", path)


def value_path(path: str, op: str, operand: Any) -> str:
    """The normalised value an operator reads: KPI comparisons read a gain."""
    return "gain:" + str(operand) if op in ("better_than", "meets") else path


def _holds(path: str, op: str, operand: Any) -> list[Alternative]:
    """Alternatives under which one operator holds."""
    read = value_path(path, op, operand)
    key, present = fact_key(read), presence_key(read)
    literal = literal_value(operand)
    if op == "exists":
        return [[{present: bool(operand)}]]
    if op == "better_than":
        return [[{"$gt": {key: 0}}]]
    if op == "meets":
        return [[{"$gte": {key: 0}}]]
    if op == "equals":
        return [[{key: literal}]]
    if op == "one_of":
        return [[{key: value}] for value in _unique(literal)]
    if op == "contains_all":
        return [[{"$iany": {key: {"$i": value}}} for value in _unique(literal)]]
    if op == "contains_any":
        return [[{"$iany": {key: {"$i": value}}}] for value in _unique(literal)]
    return [[{"$gte" if op == "gte" else "$lte": {key: literal}}]]


def _fails(path: str, op: str, operand: Any) -> list[Alternative]:
    """Alternatives under which one operator fails (a missing value fails all but exists)."""
    read = value_path(path, op, operand)
    key, present = fact_key(read), presence_key(read)
    literal = literal_value(operand)
    if op == "exists":
        return [[{present: not operand}]]
    absent: Alternative = [{present: False}]
    if op == "better_than":
        return [absent, [{"$lte": {key: 0}}]]
    if op == "meets":
        return [absent, [{"$lt": {key: 0}}]]
    if op == "equals":
        return [absent, [{"$neq": {key: literal}}]]
    if op == "one_of":
        return [absent, [{"$neq": {key: value}} for value in _unique(literal)]]
    if op == "contains_all":
        return [absent, *([{"$iall": {key: {"$neq": {"$i": value}}}}] for value in _unique(literal))]
    if op == "contains_any":
        return [absent, [{"$iall": {key: {"$neq": {"$i": value}}}} for value in _unique(literal)]]
    return [absent, [{"$lt" if op == "gte" else "$gt": {key: literal}}]]


def _unique(values: list[Any]) -> list[Any]:
    seen: list[Any] = []
    for value in values:
        if value not in seen:
            seen.append(value)
    return seen


def _operators(conditions: dict[str, Condition]) -> list[tuple[str, str, Any]]:
    return [(path, op, operand) for path, c in sorted(conditions.items()) for op, operand in c.operators()]


def all_hold(conditions: dict[str, Condition]) -> list[Alternative]:
    """Alternatives under which every condition holds (the product of each one's)."""
    per_operator = [_holds(*entry) for entry in _operators(conditions)]
    return [[test for part in combo for test in part] for combo in itertools.product(*per_operator)]


def some_fails(conditions: dict[str, Condition]) -> list[Alternative]:
    """Alternatives under which at least one condition fails."""
    return [alt for entry in _operators(conditions) for alt in _fails(*entry)]


def _age(rule: EvidenceRule) -> tuple[str, str]:
    age = "age:" + rule.age_of
    return fact_key(age), presence_key(age)


_NOT_REJECTED: Test = {"$neq": {"verdict": "rejected"}}


def predicate_patterns(rule: EvidenceRule) -> dict[ItemStatus, list[Alternative]]:
    """Tests on ``checked`` item facts per classification (``rejected``, ``qualifies``,
    ``unverified``, ``stale``, ``violates``), each a list of alternatives.

    A checked fact is an item with the auditor's verdict joined in (``accepted``,
    ``rejected`` or ``none``). The verdict test comes right after the kind, so an item walks
    only the branches its verdict passes.
    """
    scope = [list(alt) for alt in all_hold(rule.where)]
    fitting = [a + b for a in scope for b in all_hold(rule.every)]
    fresh: list[Alternative] = [[]]
    stale: list[Alternative] = []
    if rule.max_age_days is not None:
        key, present = _age(rule)
        fresh = [[{"$lte": {key: rule.max_age_days}}]]
        stale = [[{present: False}], [{"$gt": {key: rule.max_age_days}}]]
    current = [a + b for a in fitting for b in fresh]
    counted = {"verdict": "accepted"} if rule.accepted else _NOT_REJECTED
    head: Alternative = [{"t": "checked"}, {"kind": rule.kind}]
    patterns: dict[ItemStatus, list[Alternative]] = {
        "rejected": [[*head, {"verdict": "rejected"}, *alt] for alt in scope],
        "qualifies": [[*head, counted, *alt] for alt in current],
        "unverified": [[*head, {"verdict": "none"}, *alt] for alt in current] if rule.accepted else [],
        "stale": [[*head, _NOT_REJECTED, *a, *b] for a in fitting for b in stale],
        "violates": [[*head, _NOT_REJECTED, *a, *b] for a in scope for b in some_fails(rule.every)],
    }
    return {role: alts for role, alts in patterns.items() if alts}


def referenced_paths(rule: EvidenceRule) -> set[str]:
    """Normalised values a predicate reads."""
    paths = {value_path(*entry) for entry in _operators(rule.where) + _operators(rule.every)}
    if rule.max_age_days is not None:
        paths.add("age:" + rule.age_of)
    return paths


def evidence_rules(rules: CharacteristicRules) -> Iterator[EvidenceRule]:
    """Every evidence predicate of a characteristic."""
    for level in rules.levels.values():
        for requirement in level.requirements:
            for node in requirement.walk():
                if node.evidence is not None:
                    yield node.evidence


def _can_match_together(tests: list[Test]) -> int:
    """How many of these sibling tests one fact can pass at once: equality tests on one
    property exclude each other; any other test may pass alongside the rest."""
    equality = {next(iter(t)) for t in tests if not next(iter(t)).startswith("$")}
    others = [t for t in tests if next(iter(t)).startswith("$")]
    return len(equality) + len(others)


def alpha_load(rules: CharacteristicRules) -> dict[str, int]:
    """Evidence kind -> a bound on durable_rules' alpha stack for one checked item of it.

    durable_rules walks the alpha network depth first, pushing every child test the fact
    passes; identical prefixes are shared between rules, array tests never are. The bound is
    the largest sum, along any path of the trie below the kind test, of the children that can
    pass together at each node (see :func:`_can_match_together`).
    """
    loads: dict[str, int] = {}
    unshared = itertools.count()
    tries: dict[str, _Trie] = {}
    for rule in evidence_rules(rules):
        root = tries.setdefault(rule.kind, {})
        for alternatives in predicate_patterns(rule).values():
            for alternative in alternatives:
                node = root
                for test in alternative[2:]:  # below the shared 't' and 'kind' tests
                    text = json.dumps(test, sort_keys=True)
                    if "$iany" in test or "$iall" in test:
                        text += f"#{next(unshared)}"
                    node = node.setdefault(text, (test, {}))[1]
    for kind, root in sorted(tries.items()):
        loads[kind] = _path_load(root)
    return loads


_Trie = dict[str, tuple[Test, "_Trie"]]
"""Canonical text of a test -> (the test, the tests below it)."""


def _path_load(node: _Trie) -> int:
    if not node:
        return 0
    tests = [test for test, _ in node.values()]
    return _can_match_together(tests) + max(_path_load(child) for _, child in node.values())


def ruleset_size(rules: CharacteristicRules) -> int:
    """How many rules a characteristic compiles to (the engine checks it matches)."""
    size = FIXED_RULES
    judged = False
    for level in rules.levels.values():
        size += 1 if level.as_at is None else 2  # own requirements, and the inherited level
        for requirement in level.requirements:
            for node in requirement.walk():
                size += bool(node.met_by)  # settles it once the requirements it lists have
                if node.evidence is None:
                    size += 1  # compose
                else:
                    size += 1 + sum(len(alts) for alts in predicate_patterns(node.evidence).values())
                    judged = judged or node.evidence.judgement is not None
    return size + judged  # one rule receives every judgement of the characteristic
