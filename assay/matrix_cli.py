"""``assay matrix``: the ITU-T Y.4904 performance matrix of a pack, KPI by KPI and per dimension."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.table import Table

import rules as bundled_rules
from engine.canonical import pretty_json
from engine.durable_engine import DurableInference
from engine.evaluation import evaluate_on
from engine.performance import DIMENSIONS, KpiLevel, assess_matrix, check_catalogue, load_kpi_catalogue
from engine.rulepack import load_rule_pack
from evidence_schemas.reader import read_pack

Y4904 = "itu-y4904"


@click.command("matrix")
@click.argument("pack", type=click.Path(path_type=Path))
@click.option("--as-of", "as_of", type=click.DateTime(["%Y-%m-%d"]), required=True, help="Assessment date.")
@click.option("--rules", "rules_dir", type=click.Path(path_type=Path), default=None, help="Y.4904 rule pack.")
@click.option("--json", "json_output", is_flag=True, help="Print the matrix as JSON.")
def matrix_command(pack: Path, as_of: dt.datetime, rules_dir: Path | None, json_output: bool) -> None:
    """The performance matrix of a Y.4904 pack: each KPI's level and change from its baseline
    (method steps 4 and 5), and each KPI dimension's level as the rule engine infers it."""
    folder = rules_dir or bundled_rules.bundled(Y4904)
    rules = load_rule_pack(folder)
    loaded = read_pack(pack)
    check_catalogue(loaded.pack, load_kpi_catalogue(folder))
    day = as_of.date()
    evaluation = evaluate_on(rules, loaded.pack, loaded.digest, day, DurableInference())
    inferred = {c.id: c.verified_level for c in evaluation.result.characteristics if c.id in DIMENSIONS}
    rows = assess_matrix(loaded.pack, day)
    report = matrix_report(rows, inferred, day)
    if json_output:
        sys.stdout.write(pretty_json(report))
        return
    _print(rows, inferred, Console(width=160))


def matrix_report(rows: list[KpiLevel], inferred: dict[str, int | None], as_of: dt.date) -> dict[str, Any]:
    """The matrix as JSON-able data."""
    return {
        "as_of": as_of.isoformat(),
        "kpis": [
            {
                "evidence_id": r.evidence_id,
                "indicator": r.indicator,
                "name": r.name,
                "dimension": r.dimension,
                "unit": r.unit,
                "direction": r.direction,
                "baseline": r.baseline,
                "targets": {str(n): v for n, v in sorted(r.targets.items())},
                "latest": {"date": r.latest[0].isoformat(), "value": r.latest[1]} if r.latest else None,
                "verdict": r.verdict,
                "level": r.level,
                "gain_from_baseline": r.gain,
                "next_target": {"level": r.next_target[0], "value": r.next_target[1]}
                if r.next_target
                else None,
            }
            for r in rows
        ],
        "dimensions": {cid: inferred.get(cid) for cid in DIMENSIONS},
    }


def _print(rows: list[KpiLevel], inferred: dict[str, int | None], console: Console) -> None:
    table = Table(title="Performance matrix (ITU-T Y.4904)")
    for column in (
        "Dim",
        "KPI",
        "Unit",
        "Baseline",
        "L2",
        "L3",
        "L4",
        "L5",
        "Latest",
        "Verdict",
        "Level",
        "Gain",
    ):
        table.add_column(column)
    for r in rows:
        latest = f"{r.latest[1]:g} ({r.latest[0]})" if r.latest else "-"
        table.add_row(
            r.dimension,
            f"{r.indicator} {r.name}",
            r.unit,
            f"{r.baseline:g}",
            *(f"{r.targets[n]:g}" for n in (2, 3, 4, 5)),
            latest,
            r.verdict or "unverified",
            str(r.level) if r.level is not None else "-",
            f"{r.gain:+g}" if r.gain is not None else "-",
        )
    console.print(table)
    for cid in DIMENSIONS:
        level = inferred.get(cid)
        console.print(f"{cid}: level {level if level is not None else '-'} (inferred by the rule engine)")
