"""Requirements in readable words, for ``assay rules explain`` and for what-is-missing texts."""

from __future__ import annotations

from typing import Any, Literal

from engine.catalogue import MaturityModel
from engine.spec import CharacteristicRules, Condition, EvidenceRule, Requirement

Lang = Literal["en", "zh"]

_OPS = {
    "equals": "=",
    "one_of": "one of",
    "contains_all": "contains all of",
    "contains_any": "contains any of",
    "gte": ">=",
    "lte": "<=",
    "better_than": "better than",
    "meets": "at least as good as",
}

_WORDS: dict[Lang, dict[str, str]] = {
    "en": {
        "level": "Level",
        "as_at": "as at level {n}, plus:",
        "refs": "References",
        "kind": "Kind",
        "all": "all of:",
        "any": "any of:",
        "not": "must not hold:",
        "evidence": "evidence",
        "question": "auditor's judgement",
        "met_by": "also met by (a later stage of the same practice)",
    },
    "zh": {
        "level": "级别",
        "as_at": "满足第 {n} 级要求，另加：",
        "refs": "参考",
        "kind": "类别",
        "all": "全部满足：",
        "any": "满足其一：",
        "not": "不得成立：",
        "evidence": "证据",
        "question": "审核员判断",
        "met_by": "亦可由以下要求满足（同一实践的更高阶段）",
    },
}


def describe_conditions(conditions: dict[str, Condition]) -> str:
    """``doc_type = plan, approval exists``."""
    parts = []
    for path, condition in conditions.items():
        for op, operand in condition.operators():
            parts.append(_describe(path, op, operand))
    return ", ".join(parts)


def _describe(path: str, op: str, operand: Any) -> str:
    if op == "exists":
        return f"{path} {'exists' if operand else 'is absent'}"
    if isinstance(operand, list):
        operand = "[" + ", ".join(str(v) for v in operand) + "]"
    elif isinstance(operand, bool):
        operand = str(operand).lower()
    return f"{path} {_OPS[op]} {operand}"


def describe_scope(rule: EvidenceRule) -> str:
    """What an evidence predicate counts: ``kpi item(s) with signal = leading, ...``."""
    text = f"{rule.kind} item(s)"
    if rule.where:
        text += " with " + describe_conditions(rule.where)
    if rule.max_age_days is not None:
        text += f", {rule.age_of} within {rule.max_age_days} days"
    if rule.accepted:
        text += ", accepted by an auditor"
    return text


def describe_rule(rule: EvidenceRule) -> str:
    """The whole predicate in one line."""
    text = f"at least {rule.min_count} {describe_scope(rule)}"
    if rule.every:
        text += f"; every such item: {describe_conditions(rule.every)}"
    return text


def explain(model: MaturityModel, rules: CharacteristicRules, lang: Lang = "en") -> list[str]:
    """A characteristic's levels and requirements as lines of text."""
    words = _WORDS[lang]
    char = model.characteristic(rules.characteristic)
    lines = [
        f"{char.id} {getattr(char.title, lang)}",
        f"{words['kind']}: {getattr(model.kinds[char.kind], lang)}",
    ]
    for key, refs in char.references.items():
        lines.append(f"{words['refs']} ({getattr(model.reference_sets[key], lang)}): {', '.join(refs)}")
    for number, level in sorted(rules.levels.items()):
        name = getattr(model.level_name(number), lang)
        lines += [
            "",
            f"{words['level']} {number} {name}  [{level.cell}]",
            f"  {getattr(level.summary, lang)}",
        ]
        if level.as_at is not None:
            lines.append("  " + words["as_at"].format(n=level.as_at))
        for requirement in level.requirements:
            lines += _requirement_lines(requirement, 1, lang)
    return lines


def _requirement_lines(node: Requirement, depth: int, lang: Lang) -> list[str]:
    words = _WORDS[lang]
    pad = "  " * depth
    lines = [f"{pad}- {node.id}: {getattr(node.summary, lang)}"]
    if node.met_by:
        lines.append(f"{pad}    {words['met_by']}: {', '.join(node.met_by)}")
    if node.evidence is not None:
        lines.append(f"{pad}    {words['evidence']}: {describe_rule(node.evidence)}")
        if node.evidence.judgement is not None:
            question = getattr(node.evidence.judgement.question, lang)
            lines.append(f"{pad}    {words['question']}: {question}")
    else:
        lines.append(f"{pad}    {words[node.form]}")
        for child in node.children():
            lines += _requirement_lines(child, depth + 2, lang)
    return lines
