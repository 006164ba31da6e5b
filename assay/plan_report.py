"""The improvement plan in words: its labels in English and Chinese and its Markdown; the PDF
(:mod:`assay.plan_pdf`) uses the same labels and sentences."""

from __future__ import annotations

from collections.abc import Mapping

from engine.plan import Plan, PlanItem

WORDS: dict[str, dict[str, str]] = {
    "en": {
        "title": "Improvement plan",
        "assessed": "assessed as of",
        "target": "target level",
        "pack": "Evidence pack",
        "rules": "Rule pack",
        "evaluation": "Evaluation",
        "goal_rule": "Goal of each characteristic: the target level, or the level the community claims "
        "now where that is higher.",
        "standards_note": "Standards that help: what the catalogue cites for each characteristic. For "
        "ISO/TS 37107:2019 these are the supporting standards Annex B names for its sub-dimension "
        "(summarised in Table 3, clause 5.2), its ISO 37106 sub-component and, for the six purposes, "
        "the ISO 18091 functions of Annex C.",
        "dimension": "Dimension",
        "level": "level",
        "goal": "goal",
        "basis.target": "the target",
        "basis.claim": "the community's claim",
        "basis.target and claim": "the target and the community's claim",
        "next": "Next level",
        "actions": "Actions",
        "any": "any one of",
        "missing": "missing",
        "not_met": "not met",
        "indeterminate": "undecided",
        "no_next": "The rule pack does not encode the next level; nothing to plan from.",
        "after": "After that, still to reach the goal: level(s)",
        "standards": "Standards that help",
        "none": "none",
        "projection": "In two years",
        "projected": "projected level",
        "commitments": "on commitments",
        "claimed_later": "claimed",
        "on_target": "On target",
        "on_target_none": "No characteristic is at or above its goal yet.",
        "verified": "Verified",
        "goal_column": "Goal",
        "characteristic": "Characteristic",
        "not_encoded": "Not encoded (no rules, so no level and no plan)",
        "no_actions": "Every characteristic is at or above its goal.",
        "page": "Page {n}",
    },
    "zh": {
        "title": "改进计划",
        "assessed": "评估日期",
        "target": "目标级别",
        "pack": "证据包",
        "rules": "规则包",
        "evaluation": "评估",
        "goal_rule": "各特征的目标：目标级别；若社区当前自评级别更高，则以自评级别为目标。",
        "standards_note": "可参考的标准：目录为各特征列出的参考文件。对 ISO/TS 37107:2019 而言，即附录 B "
        "为其子维度列出的支撑文件（见 5.2 表 3）、ISO 37106 子组成部分，以及（对六大宗旨）附录 C 所列 "
        "ISO 18091 职能。",
        "dimension": "维度",
        "level": "级别",
        "goal": "目标",
        "basis.target": "目标级别",
        "basis.claim": "社区自评",
        "basis.target and claim": "目标级别与社区自评",
        "next": "下一级别",
        "actions": "行动",
        "any": "满足其一",
        "missing": "缺少",
        "not_met": "未满足",
        "indeterminate": "待定",
        "no_next": "规则包未编码下一级别，无法制定计划。",
        "after": "此后达到目标仍需：级别",
        "standards": "可参考的标准",
        "none": "无",
        "projection": "两年后",
        "projected": "预计级别",
        "commitments": "依据承诺",
        "claimed_later": "自评",
        "on_target": "已达目标",
        "on_target_none": "尚无特征达到目标。",
        "verified": "核实级别",
        "goal_column": "目标",
        "characteristic": "特征",
        "not_encoded": "未编码（无规则，故无级别和计划）",
        "no_actions": "所有特征均已达到目标。",
        "page": "第 {n} 页",
    },
}
"""Labels of the plan's Markdown and PDF, per language; the result's own texts (what is missing)
stay as written, in English."""


def plan_markdown(plan: Plan) -> str:
    """The plan as Markdown: per dimension the characteristics below their goal, then those on target."""
    words = WORDS[plan.lang]
    lines = [
        f"# {words['title']}: {plan.community}",
        "",
        f"{plan.model}, {words['assessed']} {plan.as_of}; {words['target']} {plan.target}",
        "",
        f"- {words['pack']}: `{plan.pack.id}` (`{plan.pack.digest}`)",
        f"- {words['rules']}: `{plan.rule_pack.id}` (`{plan.rule_pack.digest}`)",
        f"- {words['evaluation']}: `{plan.evaluation_id}`",
        "",
        words["goal_rule"],
        "",
        words["standards_note"],
        "",
    ]
    if not plan.items:
        lines += [words["no_actions"], ""]
    for dimension, title in plan.dimensions.items():
        items = [i for i in plan.items if i.dimension == dimension]
        if items:
            lines += [f"## {words['dimension']} {dimension} {title}", ""]
            for item in items:
                lines += _item_markdown(item, plan)
    lines += [f"## {words['on_target']}", ""]
    if plan.on_target:
        lines += [
            f"| {words['characteristic']} | {words['verified']} | {words['goal_column']} |",
            "|---|---|---|",
        ]
        lines += [
            f"| {c.id} {_cell(c.title)} | {c.verified_level} | {c.goal} ({words['basis.' + c.basis]}) |"
            for c in plan.on_target
        ]
    else:
        lines.append(words["on_target_none"])
    if plan.not_encoded:
        lines += ["", f"## {words['not_encoded']}", ""]
        lines += [f"- {c.id} {c.title}" for c in plan.not_encoded]
    return "\n".join(lines) + "\n"


def _item_markdown(item: PlanItem, plan: Plan) -> list[str]:
    words = WORDS[plan.lang]
    lines = [
        f"### {item.id} {item.title}: {words['level']} {item.verified_level} -> {words['goal']} {item.goal} "
        f"({words['basis.' + item.basis]})",
        "",
    ]
    if item.next_level is None:
        lines += [words["no_next"], ""]
    else:
        lines += [
            f"{words['next']} {item.next_level} ({item.next_level_name}): {item.next_level_summary}",
            "",
        ]
    if item.actions:
        lines += [f"{words['actions']}:", ""]
        for action in item.actions:
            choice = f"; {words['any']}:" if action.alternatives else ""
            lines.append(f"- [ ] `{action.requirement}` ({words[action.outcome]}): {action.summary}{choice}")
            lines += [f"  - `{a.requirement}`: {a.summary}" for a in action.alternatives]
            lines.append(f"  - {words['missing']}: {action.missing}")
        lines.append("")
    if item.later_levels:
        lines += [f"{words['after']} {', '.join(map(str, item.later_levels))}", ""]
    lines += [standards_text(item, words), ""]
    if item.projection is not None:
        lines += [projection_text(item, words), ""]
    return lines


def standards_text(item: PlanItem, words: Mapping[str, str]) -> str:
    """'Standards that help: Supporting standards (Annex B): ISO 37104; ISO 37106 sub-component ...: B2'."""
    parts = [f"{r.title}: {', '.join(r.items)}" for r in item.standards]
    return f"{words['standards']}: " + ("; ".join(parts) or words["none"])


def projection_text(item: PlanItem, words: Mapping[str, str]) -> str:
    """'In two years: projected level 3, on commitments: a, b (claimed 4)'; empty without a projection."""
    if item.projection is None:
        return ""
    p = item.projection
    line = f"{words['projection']}: {words['projected']} {p.level}"
    line += f", {words['commitments']}: {', '.join(p.commitments) or words['none']}"
    if p.claimed is not None:
        line += f" ({words['claimed_later']} {p.claimed})"
    return line


def _cell(text: str) -> str:
    return text.replace("|", "\\|")
