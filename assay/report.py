"""Readable renderings of a result: the terminal table and ``summary.md``."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from engine.basis import ThinLevel, thinnest_levels
from engine.result import CharacteristicResult, Result

SUMMARY_THIN_LEVELS = 10
"""Levels the summary's evidence basis lists at least (every flagged one is listed, however many)."""


def table_rows(result: Result) -> list[tuple[str, str, str, str, str]]:
    """(characteristic, claimed, verified, verdict, blockers for the next level) per row."""
    rows: list[tuple[str, str, str, str, str]] = []
    for char in result.characteristics:
        claimed = "-" if char.claim is None else str(char.claim.now)
        verdict = "" if char.claim is None else char.claim.verdict
        if char.status == "not_encoded":
            rows.append((f"{char.id} {char.title}", claimed, "not encoded", verdict, ""))
            continue
        rows.append((f"{char.id} {char.title}", claimed, str(char.verified_level), verdict, blockers(char)))
    return rows


def blockers(char: CharacteristicResult) -> str:
    """Short list of what stands between the verified level and the next."""
    if char.next_level is None:
        return "highest level reached"
    names = [
        b.requirement.rsplit("/", 1)[1] + ("?" if b.outcome == "indeterminate" else "") for b in char.blockers
    ]
    return f"L{char.next_level}: " + ", ".join(names)


def summary_markdown(result: Result, trail_head: str) -> str:
    """The result as a Markdown report for people."""
    lines = [
        f"# {result.pack.community}: {result.model} assessment as of {result.as_of}",
        "",
        f"- Evaluation: `{result.evaluation_id}`",
        f"- Evidence pack: `{result.pack.id}` (`{result.pack.digest}`)",
        f"- Rule pack: `{result.rule_pack.id}` (`{result.rule_pack.digest}`)",
        f"- Audit trail head: `{trail_head}` (check with `assay trail verify trail.jsonl`)",
        "",
        "## Levels",
        "",
        "| Characteristic | Claimed | Verified | Claim | Next level needs |",
        "|---|---|---|---|---|",
    ]
    for row in table_rows(result):
        lines.append("| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |")
    lines += [
        "",
        "`?` marks a requirement that is undecided: evidence awaits verification or is stale.",
        "",
    ]
    for char in result.characteristics:
        if char.status != "evaluated":
            continue
        lines += [f"### {char.id} {char.title}: level {char.verified_level}", ""]
        for level in char.levels:
            mark = "credited" if level.credited else level.criteria.replace("_", " ")
            inherit = f", as at level {level.as_at}" if level.as_at else ""
            lines.append(f"- Level {level.level} ({level.name}{inherit}): {mark}. {level.summary}")
            if level.note:
                lines.append(f"  - {level.note}")
        if char.blockers:
            lines += ["", f"Why not level {char.next_level}:"]
            lines += [
                f"- `{b.requirement}` ({b.outcome.replace('_', ' ')}): {b.missing}" for b in char.blockers
            ]
        lines.append("")
    lines += [
        "## Dimensions and sub-dimensions",
        "",
        f"Aggregation: {result.summaries.rule}.",
        "",
        "| Group | Level | Mean | Evaluated | Not encoded |",
        "|---|---|---|---|---|",
    ]
    for group in result.summaries.groups:
        floor = "-" if group.level is None else str(group.level)
        mean = "-" if group.mean is None else f"{group.mean:.2f}"
        lines.append(
            f"| {group.id} {group.title} | {floor} | {mean} | {group.evaluated} | {group.not_encoded} |"
        )
    lines += evidence_basis_markdown(result)
    lines += samples_markdown(result)
    if result.excluded_evidence:
        lines += ["", "## Evidence left out", ""]
        lines += [f"- `{e.id}`: {e.reason}" for e in result.excluded_evidence]
    return "\n".join(lines) + "\n"


def evidence_basis_markdown(result: Result) -> list[str]:
    """The "Evidence basis" section: the thinnest credited levels with their flags, then the items
    flagged for carrying requirements in many characteristics (empty for older results)."""
    if result.basis is None:
        return []
    thin = thinnest_levels(result)
    flagged = sum(1 for t in thin if t.basis.flags)
    shown = thin[: max(flagged, SUMMARY_THIN_LEVELS)]
    lines = [
        "",
        "## Evidence basis",
        "",
        f"Credited levels, thinnest first: flagged ({flagged} of {len(thin)}), then resting on the fewest "
        "distinct items, then with the most judged requirements. Requirements count the level's own and "
        "inherited evidence predicates.",
    ]
    if shown:
        lines += [
            "",
            "| Level | Items | Machine-checked | Judged | Flags |",
            "|---|---|---|---|---|",
        ]
        lines += ["| " + " | ".join(c.replace("|", "\\|") for c in _basis_row(t)) + " |" for t in shown]
    if len(thin) > len(shown):
        least = len(thin[len(shown)].basis.items)
        lines += [
            "",
            f"{len(thin) - len(shown)} more credited levels, none flagged, rest on {least} items or more "
            "each; result.json gives every level's basis.",
        ]
    threshold = result.basis.max_characteristics_per_item
    lines += ["", f"Items carrying requirements in more than {threshold} characteristics:"]
    lines += [f"- `{f.items[0]}`: {f.reason}" for f in result.basis.flags] or ["- none"]
    return lines


def samples_markdown(result: Result) -> list[str]:
    """The "Samples to examine" section (empty for older results and when nothing ranges over a
    set)."""
    if result.sampling is None or not result.sampling.samples:
        return []
    lines = [
        "",
        "## Samples to examine",
        "",
        "Requirements that range over a set, with the items the auditor examines in depth (size: "
        f"{result.sampling.rule}; seeded by the pack, the rules and the date, so nobody chooses them).",
        "",
    ]
    for sample in result.sampling.samples:
        items = ", ".join(f"`{i}`" for i in sample.items)
        lines.append(f"- `{sample.requirement}`: {len(sample.items)} of {sample.population}: {items}")
    return lines


def _basis_row(thin: ThinLevel) -> tuple[str, str, str, str, str]:
    basis = thin.basis
    methods = sorted({j.method.replace("_", " ") for j in basis.judged})
    judged = f"{len(basis.judged)} ({', '.join(methods)})" if methods else "0"
    flags = "; ".join(f.reason for f in basis.flags) or "-"
    return (
        f"{thin.characteristic} L{thin.level} {thin.title}",
        str(len(basis.items)),
        str(basis.machine),
        judged,
        flags,
    )


def print_table(console: Console, result: Result) -> None:
    """The result as a terminal table."""
    table = Table(title=f"{result.pack.community}: {result.model}, as of {result.as_of}")
    for column in ("Characteristic", "Claimed", "Verified", "Claim", "Blockers for the next level"):
        table.add_column(column, overflow="fold")
    for row in table_rows(result):
        table.add_row(*row)
    console.print(table)
