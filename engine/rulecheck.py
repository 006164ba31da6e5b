"""What a rule file means, checked against the catalogue and the evidence schemas.

These checks read the parsed YAML document directly, not the pydantic model, and step over
whatever is structurally broken (the schema reports that), so a file's structural and semantic
problems are reported together in one run: unknown characteristics, kinds, attributes and
operators, operands of the wrong type or value, duplicate requirement ids, Annex A cell
references that do not fit, and ``as_at`` pointing to a missing or non-lower level or
forming a cycle.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Iterator
from typing import Any

from engine.attributes import MAX_MAGNITUDE, Attribute, catalogue
from engine.coverage import sort_only
from engine.errors import Problem
from engine.sourcemap import SourceDoc
from engine.spec import COMPARANDS, OPERATORS

CELL_FORMAT = "Table A.1, {characteristic}, level {level}"
"""The MMSSC's cell citation, and the default of a catalogue's ``cell_format``."""
LEVELS = (2, 3, 4, 5)
MAX_LITERAL = 1000  # durable_rules compares string literals of 64 KiB or more wrongly
_LIST_OPERATORS = ("one_of", "contains_all", "contains_any")
_ALLOWED = {
    "string": {"equals", "one_of"},
    "number": {"equals", "one_of", "gte", "lte"},
    "boolean": {"equals"},
    "date": {"equals", "gte", "lte"},
    "list": {"contains_all", "contains_any"},
    "object": set(),
}
_PYTHON_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "number": (int, float),
    "boolean": (bool,),
    "date": (dt.date,),
}

Path_ = list[str | int]


def check_characteristic(
    data: Any, stem: str, known: set[str] | None, doc: SourceDoc, cell_format: str = CELL_FORMAT
) -> list[Problem]:
    """Semantic problems of one characteristic file (``known``: catalogue ids, or None; cells
    must cite in the catalogue's ``cell_format``)."""
    if not isinstance(data, dict):
        return []
    problems: list[Problem] = []
    cid = data.get("characteristic")
    if isinstance(cid, str):
        if known is not None and cid not in known:
            problems.append(doc.problem(["characteristic"], f"unknown characteristic {cid!r}"))
        if stem != cid:
            problems.append(doc.problem(["characteristic"], f"file is named {stem!r}, must be {cid!r}"))
    levels = data.get("levels")
    if not isinstance(levels, dict):
        return problems
    numbers = [n for n in levels if isinstance(n, int) and not isinstance(n, bool)]
    missing = [n for n in LEVELS if n not in numbers]
    if missing:
        problems.append(doc.problem(["levels"], f"levels missing: {missing} (levels 2-5 are needed)"))
    for number in sorted(n for n in numbers if n not in LEVELS):
        problems.append(doc.problem(["levels", number], "only levels 2-5 carry criteria"))
    as_at: dict[int, int] = {}
    for n in numbers:
        level = levels[n]
        if isinstance(level, dict) and isinstance(level.get("as_at"), int):
            as_at[n] = level["as_at"]
    problems += _check_inheritance(as_at, set(numbers), doc)
    seen: dict[str, Path_] = {}
    for number in sorted(numbers):
        level = levels[number]
        if not isinstance(level, dict):
            continue
        base: Path_ = ["levels", number]
        cell = level.get("cell")
        if isinstance(cell, str):
            problems += _check_cell(cell, cell_format, cid, number, [*base, "cell"], doc)
        requirements = level.get("requirements")
        if isinstance(requirements, list):
            for index, node in enumerate(requirements):
                problems += _check_node(node, [*base, "requirements", index], seen, doc)
    problems += _check_met_by(levels, numbers, doc)
    return problems


def _raw_nodes(node: Any, path: Path_) -> Iterator[tuple[dict[str, Any], Path_]]:
    """Every requirement node (as read) under ``node``, with its path."""
    if not isinstance(node, dict):
        return
    yield node, path
    for form in ("all", "any"):
        children = node.get(form)
        if isinstance(children, list):
            for index, child in enumerate(children):
                yield from _raw_nodes(child, [*path, form, index])
    if isinstance(node.get("not"), dict):
        yield from _raw_nodes(node["not"], [*path, "not"])


def _check_met_by(levels: dict[Any, Any], numbers: list[int], doc: SourceDoc) -> list[Problem]:
    """``met_by`` names requirements of higher levels of the same characteristic (``4/some-id``);
    pointing only upwards, it can form no cycle."""
    found: list[tuple[int, dict[str, Any], Path_]] = []
    where: dict[str, int] = {}
    for number in sorted(numbers):
        level = levels[number]
        requirements = level.get("requirements") if isinstance(level, dict) else None
        for index, top in enumerate(requirements if isinstance(requirements, list) else []):
            for node, path in _raw_nodes(top, ["levels", number, "requirements", index]):
                found.append((number, node, path))
                if isinstance(node.get("id"), str):
                    where[node["id"]] = number
    problems = []
    for number, node, path in found:
        listed = node.get("met_by")
        for index, target in enumerate(listed if isinstance(listed, list) else []):
            at = [*path, "met_by", index]
            level, _, rid = str(target).partition("/")
            if not level.isdigit() or not rid:
                problems.append(doc.problem(at, f"met_by {target!r} must read LEVEL/REQUIREMENT-ID"))
            elif int(level) <= number:
                problems.append(doc.problem(at, f"met_by {target!r}: level {level} is not above {number}"))
            elif where.get(rid) != int(level):
                problems.append(doc.problem(at, f"met_by {target!r}: level {level} has no {rid!r}"))
    return problems


def _check_cell(
    cell: str, cell_format: str, cid: Any, number: int, path: Path_, doc: SourceDoc
) -> list[Problem]:
    match = _cell_pattern(cell_format).match(cell)
    if match is None:
        return [doc.problem(path, f"cell must read {cell_format!r}, got {cell!r}")]
    if (match["characteristic"], int(match["level"])) != (cid, number):
        return [doc.problem(path, f"cites {cell!r} but encodes {cid} level {number}")]
    return []


def _cell_pattern(cell_format: str) -> re.Pattern[str]:
    """A citation in ``cell_format``, optionally followed by a remark in parentheses."""
    pattern = re.escape(cell_format)
    pattern = pattern.replace(re.escape("{characteristic}"), r"(?P<characteristic>[0-9.]+)")
    pattern = pattern.replace(re.escape("{level}"), r"(?P<level>[1-5])")
    return re.compile(f"^{pattern}(?: \\([^()]+\\))?$")


def _check_inheritance(as_at: dict[int, int], numbers: set[int], doc: SourceDoc) -> list[Problem]:
    problems = []
    for number, target in sorted(as_at.items()):
        path: Path_ = ["levels", number, "as_at"]
        if target not in numbers:
            problems.append(doc.problem(path, f"as_at {target}: there is no level {target}"))
        elif target >= number:
            problems.append(doc.problem(path, f"as_at {target} is not below level {number}"))
    reported: set[frozenset[int]] = set()
    for start in sorted(as_at):
        chain = [start]
        current = as_at.get(start)
        while current is not None and current in numbers:
            if current in chain:
                cycle = chain[chain.index(current) :]
                if frozenset(cycle) not in reported:
                    reported.add(frozenset(cycle))
                    text = " -> ".join(str(n) for n in [*cycle, current])
                    problems.append(doc.problem(["levels", start, "as_at"], f"inheritance cycle {text}"))
                break
            chain.append(current)
            current = as_at.get(current)
    return problems


def _check_node(node: Any, path: Path_, seen: dict[str, Path_], doc: SourceDoc) -> list[Problem]:
    if not isinstance(node, dict):
        return []
    problems = []
    rid = node.get("id")
    if isinstance(rid, str):
        if rid in seen:
            first = doc.line_of(seen[rid])
            problems.append(
                doc.problem([*path, "id"], f"duplicate requirement id {rid!r} (first at line {first})")
            )
        else:
            seen[rid] = [*path, "id"]
    evidence = node.get("evidence")
    if isinstance(evidence, dict):
        problems += _check_evidence(evidence, [*path, "evidence"], doc)
    for form in ("all", "any"):
        children = node.get(form)
        if isinstance(children, list):
            for index, child in enumerate(children):
                problems += _check_node(child, [*path, form, index], seen, doc)
    if isinstance(node.get("not"), dict):
        problems += _check_node(node["not"], [*path, "not"], seen, doc)
    return problems


def _check_evidence(rule: dict[str, Any], path: Path_, doc: SourceDoc) -> list[Problem]:
    kinds = catalogue()
    kind = rule.get("kind")
    if not isinstance(kind, str):
        return []
    if kind not in kinds:
        known = ", ".join(kinds)
        return [doc.problem([*path, "kind"], f"unknown evidence kind {kind!r} (known: {known})")]
    attrs = kinds[kind]
    problems = []
    for section in ("where", "every"):
        conditions = rule.get(section)
        if not isinstance(conditions, dict):
            continue
        for name, condition in conditions.items():
            where: Path_ = [*path, section, name]
            attr = attrs.get(name)
            if attr is None:
                known = ", ".join(attrs)
                problems.append(
                    doc.problem(where, f"unknown attribute {name!r} of {kind} evidence (known: {known})")
                )
                continue
            if isinstance(condition, dict):
                for op, operand in condition.items():
                    message = operator_problem(attr, op, operand, kind) if op in OPERATORS else None
                    if message:
                        problems.append(doc.problem([*where, op], message))
    if rule.get("judgement") is not None and rule.get("accepted") is not True:
        # A judgement may only cite items an auditor accepted (issue 13): say so in the rule.
        problems.append(doc.problem([*path, "accepted"], "a judged requirement must set accepted: true"))
    problems += _check_kind_only(rule, path, doc)
    age_of = rule.get("age_of", "collected")
    if isinstance(age_of, str) and (age_of not in attrs or attrs[age_of].type != "date"):
        dates = ", ".join(p for p, a in attrs.items() if a.type == "date")
        problems.append(
            doc.problem([*path, "age_of"], f"{age_of!r} is not a date of {kind} evidence (dates: {dates})")
        )
    return problems


def _check_kind_only(rule: dict[str, Any], path: Path_, doc: SourceDoc) -> list[Problem]:
    """A predicate any item of the right sort meets must say why no attribute can carry its cell
    (issue 14), and only such a predicate may."""
    where, every = rule.get("where") or {}, rule.get("every") or {}
    if not isinstance(where, dict) or not isinstance(every, dict):
        return []
    bare = sort_only(where, every, rule.get("min_count", 1), rule.get("max_age_days"))
    because = rule.get("kind_only_because")
    if bare and because is None:
        message = (
            "checks nothing beyond the item's kind and type: test an attribute that carries the cell, "
            "or say in kind_only_because why none can"
        )
        return [doc.problem([*path, "kind"], message)]
    if not bare and because is not None:
        return [doc.problem([*path, "kind_only_because"], "the predicate checks more than the kind and type")]
    return []


def operator_problem(attr: Attribute, op: str, operand: Any, kind: str) -> str | None:
    """Why ``op`` with ``operand`` cannot apply to ``attr``, or None if it can."""
    on_latest = kind == "kpi" and attr.path == "latest"
    if op in ("better_than", "meets"):
        if not on_latest:
            return f"{op} applies only to 'latest' of kpi evidence"
        if operand not in COMPARANDS:
            return f"{op} compares with one of {', '.join(COMPARANDS)}, not {operand!r}"
        return None
    if op == "exists":
        return None if isinstance(operand, bool) else f"exists takes true or false, not {operand!r}"
    if on_latest:
        return "'latest' takes better_than, meets or exists (or use latest.value / latest.date)"
    allowed = _ALLOWED[attr.type]
    if op not in allowed:
        can = ", ".join(sorted(allowed | {"exists"}))
        return f"operator {op!r} does not apply to {attr.type} attribute {attr.path!r} (use: {can})"
    if op in _LIST_OPERATORS:
        if not isinstance(operand, list) or not operand:
            return f"{op} takes a non-empty list, not {operand!r}"
        literals = operand
    else:
        literals = [operand]
    element_type = attr.item_type if attr.type == "list" else attr.type
    for literal in literals:
        problem = _literal_problem(attr, element_type or "", literal)
        if problem:
            return problem
    return None


def _literal_problem(attr: Attribute, element_type: str, literal: Any) -> str | None:
    wrong_bool = isinstance(literal, bool) and element_type != "boolean"
    if wrong_bool or not isinstance(literal, _PYTHON_TYPES.get(element_type, ())):
        return f"{literal!r} is not a {element_type} (attribute {attr.path!r})"
    if isinstance(literal, str) and len(literal) > MAX_LITERAL:
        return f"string literal longer than {MAX_LITERAL} characters"
    if _out_of_range(literal):
        return f"{literal!r} is outside the numbers the engine compares (+/-{MAX_MAGNITUDE:.0e})"
    if attr.values is not None and literal not in attr.values:
        values = ", ".join(map(str, attr.values))
        return f"{literal!r} is not a value of {attr.path!r} (values: {values})"
    return None


def _out_of_range(literal: Any) -> bool:
    if isinstance(literal, bool) or not isinstance(literal, int | float):
        return False
    return not (math.isfinite(literal) and abs(literal) <= MAX_MAGNITUDE)
