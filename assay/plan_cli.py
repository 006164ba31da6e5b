"""``assay plan`` and ``assay benchmark``: improvement plans and cross-city comparison of results.

Both read what ``assay evaluate --out`` writes: the folder, or the ``result.json`` in it. The
engine builds the plan or the benchmark as data (:mod:`engine.plan`, :mod:`engine.benchmark`) and
this module renders them as Markdown and writes the files. Errors are raised as
:class:`InputError` / :class:`OutputError` and mapped to exit codes by ``assay.cli`` alone.

Imports stay light: the PDF renderer (reportlab) is imported only when ``--pdf`` asks for it.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import click
from pydantic import ValidationError

import rules as bundled_rules
from assay.benchmark_chart import benchmark_svg
from assay.output import write_folder
from engine.benchmark import Benchmark, Statistics, build_benchmark
from engine.canonical import parse_json, pretty_json
from engine.errors import InputError, OutputError, Problem
from engine.plan import Plan, PlanItem, build_plan, target_problems
from engine.result import Result
from engine.rulepack import RulePack, load_rule_pack

RESULT_FORMAT = "assay-result/1"
RESULT_FILE = "result.json"
"""What ``assay evaluate --out`` writes the result to, in the folder it names."""

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

rules_option = click.option(
    "--rules",
    "rules_dir",
    type=click.Path(path_type=Path),
    default=None,
    help="Rule pack folder the results were evaluated with (default: the bundled pack the result names).",
)


def result_file(path: Path) -> Path:
    """The ``result.json`` meant by ``path``: the file itself, or the one in an evaluation's
    output folder; :class:`InputError` naming ``path`` when there is none."""
    if not path.is_dir():
        if not path.exists():
            message = (
                f"no such file or folder: give the folder 'assay evaluate --out' wrote, or its {RESULT_FILE}"
            )
            raise InputError([Problem(str(path), None, "", message)])
        return path
    found = path / RESULT_FILE
    if found.exists():
        return found
    message = (
        f"no {RESULT_FILE} in this folder: give the folder 'assay evaluate --out' wrote, or its {RESULT_FILE}"
    )
    inside = sorted(p.name for p in path.iterdir() if (p / RESULT_FILE).is_file())
    if inside:
        # 'assay evaluate --model ...' writes a folder per model: point at them.
        message += f"; folders in it that have one: {', '.join(inside)}"
    raise InputError([Problem(str(path), None, "", message)])


def read_result(path: Path) -> Result:
    """A ``result.json`` (see :func:`result_file`) read back; :class:`InputError` naming the file
    and field otherwise."""
    name = str(path)
    try:
        data: Any = parse_json(path.read_bytes())
    except OSError as exc:
        raise InputError([Problem(name, None, "", f"cannot read the file: {exc.strerror}")]) from None
    except ValueError as exc:
        raise InputError([Problem(name, None, "", f"not a JSON file ({exc})")]) from None
    found = data.get("format") if isinstance(data, dict) else None
    if found != RESULT_FORMAT:
        what = "no format field" if found is None else f"format {found!r}"
        message = f"not an Assay result file: expected format {RESULT_FORMAT!r}, found {what}"
        raise InputError([Problem(name, None, "format", message)])
    try:
        return Result.model_validate(data)
    except ValidationError as exc:
        problems = [
            Problem(name, None, ".".join(str(p) for p in error["loc"]), error["msg"])
            for error in exc.errors()
        ]
        raise InputError(problems) from None


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


def benchmark_markdown(benchmark: Benchmark) -> str:
    """The benchmark as Markdown: participants, dimensions, then characteristics."""
    labels = [p.label for p in benchmark.participants]
    anonymised = "yes (letters in the order of the evidence packs' digests)" if benchmark.anonymised else "no"
    lines = [
        f"# Benchmark of {len(labels)} communities: {benchmark.model}",
        "",
        f"- Rule pack: `{benchmark.rule_pack.id}` (`{benchmark.rule_pack.digest}`)",
        f"- Anonymised: {anonymised}",
        f"- Method: {benchmark.method}.",
        "- Benchmarking compares verified levels, as clause 5.1 of ISO/TS 37107:2019 suggests communities "
        "do to compare and challenge each other's evidence.",
        "",
        "## Communities",
        "",
        "| Community | Assessed as of | Evidence pack |",
        "|---|---|---|",
    ]
    for p in benchmark.participants:
        pack = "(anonymised)" if p.pack is None else f"`{p.pack.id}` (`{p.pack.digest}`)"
        lines.append(f"| {_cell(p.label)} | {p.as_of} | {pack} |")
    head = "| L1 | L2 | L3 | L4 | L5 | P25 | Median | P75 | " + " | ".join(map(_cell, labels)) + " |"
    rule = "|---" * (9 + len(labels)) + "|"
    lines += [
        "",
        "## Dimensions",
        "",
        "Levels pooled over the dimension's characteristics. Per community: mean level / dimension "
        "level (its lowest) / percentile rank of the mean.",
        "",
        "| Dimension " + head,
        rule,
    ]
    for d in benchmark.dimensions:
        cells = [
            "-" if s.mean is None else f"{s.mean:.2f} / {s.level} / {s.percentile_rank:.1f}"
            for s in d.standings
        ]
        lines.append(f"| {d.id} {_cell(d.title)} | {_stats(d.statistics)} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "## Characteristics",
        "",
        "Per community: verified level (percentile rank).",
        "",
        "| Characteristic " + head,
        rule,
    ]
    for c in benchmark.characteristics:
        cells = [
            "not encoded" if s.level is None else f"{s.level} ({s.percentile_rank:.1f})" for s in c.standings
        ]
        lines.append(f"| {c.id} {_cell(c.title)} | {_stats(c.statistics)} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _stats(stats: Statistics | None) -> str:
    if stats is None:
        return " | ".join(["-"] * 8)
    quartiles = [f"{stats.p25:.2f}", f"{stats.median:.2f}", f"{stats.p75:.2f}"]
    return " | ".join([*map(str, stats.counts), *quartiles])


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def _rules(folder: Path | None, evaluated_with: str) -> RulePack:
    """The rule pack in ``folder``; without one, the bundled pack the result was evaluated with
    (a result of 'assay evaluate --model itu-y4904' needs no --rules), else the default pack."""
    if folder is not None:
        return load_rule_pack(folder)
    bundled = evaluated_with if evaluated_with in bundled_rules.packs() else bundled_rules.DEFAULT_PACK
    return load_rule_pack(bundled_rules.bundled(bundled))


def write_file(path: Path, content: bytes) -> None:
    """Write ``content`` to ``path`` whole or not at all (a sibling file, then renamed over it)."""
    staging = path.with_name(f".{path.name}.{os.getpid()}.partial")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            # Opened like any new file (not mkstemp), so it gets the usual permissions under the umask.
            with staging.open("wb") as out:
                out.write(content)
            os.replace(staging, path)
        finally:
            staging.unlink(missing_ok=True)  # gone after the rename; a leftover after a failure
    except OSError as exc:
        raise OutputError(f"cannot write {path}: {exc.strerror or exc}") from None


@click.command("plan")
@click.argument("result_path", metavar="RESULT", type=click.Path(path_type=Path))
@click.option("--target", type=int, required=True, help="Target level, 1-5.")
@rules_option
@click.option("--out", type=click.Path(path_type=Path), default=None, help="Write the Markdown here.")
@click.option("--pdf", type=click.Path(path_type=Path), default=None, help="Also write the plan as a PDF.")
@click.option("--lang", type=click.Choice(["en", "zh"]), default="en", show_default=True, help="Language.")
def plan_command(
    result_path: Path, target: int, rules_dir: Path | None, out: Path | None, pdf: Path | None, lang: str
) -> None:
    """Improvement plan from a result (the folder 'assay evaluate --out' wrote, or its result.json):
    per characteristic below the target (or the community's own higher claim), the next level's
    unmet requirements, the standards that help, and the two-year projection. Markdown on
    standard output unless --out is given."""
    try:
        source = result_file(result_path)
        result = read_result(source)
    except InputError as exc:
        # Report a bad target along with a bad file: one error lists every problem.
        raise InputError(exc.problems + target_problems(target)) from None
    rules = _rules(rules_dir, result.rule_pack.id)
    plan = build_plan(result, rules, target, "zh" if lang == "zh" else "en", source=str(source))
    text = plan_markdown(plan)
    if pdf is not None:
        from assay.plan_pdf import render_plan_pdf  # reportlab: only when a PDF is asked for

        write_file(pdf, render_plan_pdf(plan, WORDS[plan.lang]))
        # Standard output may carry the Markdown: confirmations go to standard error.
        click.echo(f"Wrote {pdf}", err=True)
    if out is None:
        sys.stdout.write(text)
    else:
        write_file(out, text.encode("utf-8"))
        click.echo(f"Wrote {out}", err=True)


@click.command("benchmark")
@click.argument("result_paths", metavar="RESULT...", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--anonymise", is_flag=True, help="Name communities 'Community A', 'B', ... (by pack digest).")
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    default=None,
    help="Folder for benchmark.md, benchmark.json and benchmark.svg (else Markdown on standard output).",
)
@click.option("--force", is_flag=True, help="Replace an existing, non-empty --out folder.")
@rules_option
def benchmark_command(
    result_paths: tuple[Path, ...], anonymise: bool, out: Path | None, force: bool, rules_dir: Path | None
) -> None:
    """Compare the results of two or more communities (one rule pack), each given as the folder
    'assay evaluate --out' wrote or its result.json: level distributions, quartiles and each
    community's percentile rank, per characteristic and per dimension."""
    entries: list[tuple[str, Result]] = []
    problems: list[Problem] = []
    for path in result_paths:
        try:
            source = result_file(path)
            entries.append((str(source), read_result(source)))
        except InputError as exc:
            problems += exc.problems
    if problems:
        raise InputError(problems)
    rules = _rules(rules_dir, entries[0][1].rule_pack.id)
    benchmark = build_benchmark(entries, rules, anonymise=anonymise)
    report = benchmark_markdown(benchmark)
    if out is None:
        sys.stdout.write(report)
        return
    files = {
        "benchmark.md": report.encode("utf-8"),
        "benchmark.json": pretty_json(benchmark.model_dump(mode="json")).encode("utf-8"),
        "benchmark.svg": benchmark_svg(benchmark).encode("utf-8"),
    }
    write_folder(out, files, replace=force)
    click.echo(f"Wrote benchmark.md, benchmark.json and benchmark.svg to {out}", err=True)
