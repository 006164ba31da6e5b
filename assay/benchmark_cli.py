"""``assay benchmark``: cross-city comparison of results, per characteristic and dimension.

Reads what ``assay evaluate --out`` writes (the folder or its ``result.json``); the engine builds
the benchmark as data (:mod:`engine.benchmark`) and this module renders and writes it."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from assay.benchmark_chart import benchmark_svg
from assay.output import write_folder
from assay.results import read_result, result_file, rules_for, rules_option
from engine.benchmark import Benchmark, Statistics, build_benchmark
from engine.canonical import pretty_json
from engine.errors import InputError, Problem
from engine.result import Result


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
    rules = rules_for(rules_dir, entries[0][1].rule_pack.id)
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
