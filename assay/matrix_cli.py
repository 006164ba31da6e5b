"""``assay matrix``: the ITU-T Y.4904 performance matrix of a pack, KPI by KPI and per dimension.

Imports stay light (no certificates, audits, database or PDF libraries): the command only reads
a pack and runs the engine.
"""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.table import Table
from rich.text import Text

import rules as bundled_rules
from assay.terminal import console
from engine.canonical import pretty_json
from engine.durable_engine import DurableInference
from engine.evaluation import evaluate_on
from engine.performance import DIMENSIONS, KpiLevel, assess_matrix, check_matrix_pack, load_kpi_catalogue
from engine.rulepack import RulePack, load_rule_pack
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
    check_matrix_pack(loaded.pack, rules, load_kpi_catalogue(folder), manifest=loaded.source)
    day = as_of.date()
    evaluation = evaluate_on(rules, loaded.pack, loaded.digest, day, DurableInference())
    inferred = {c.id: c.verified_level for c in evaluation.result.characteristics if c.id in DIMENSIONS}
    rows = assess_matrix(loaded.pack, day)
    if json_output:
        sys.stdout.write(pretty_json(matrix_report(rows, inferred, day)))
        return
    _print(rows, inferred, rules, f"{loaded.pack.community.name}, as of {day}", console())


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


def _print(
    rows: list[KpiLevel], inferred: dict[str, int | None], rules: RulePack, about: str, out: Console
) -> None:
    # No borders and narrow headers: eleven columns must stay readable on an 80-column terminal,
    # where the KPI's name and the latest value's date wrap and every number stays whole.
    table = Table(title=f"Performance matrix ({rules.model.standard}): {about}", box=None, pad_edge=False)
    table.add_column("Dim", no_wrap=True)
    table.add_column("KPI", ratio=1, min_width=12)
    for column in ("Unit", "Base", "L2", "L3", "L4", "L5"):
        table.add_column(column, justify="right", no_wrap=True)
    table.add_column("Latest", justify="right")
    table.add_column("Level", justify="right", no_wrap=True)
    table.add_column("Gain", justify="right", no_wrap=True)
    for r in rows:
        table.add_row(
            r.dimension,
            Text(f"{r.indicator} {r.name}"),  # the pack's words, never read as markup
            Text(r.unit),
            f"{r.baseline:g}",
            *(f"{r.targets[n]:g}" for n in (2, 3, 4, 5)),
            f"{r.latest[1]:g} on {r.latest[0]}" if r.latest else "-",
            # Only an accepted record has a level: say why the others have none.
            str(r.level) if r.level is not None else (r.verdict or "unverified"),
            f"{r.gain:+g}" if r.gain is not None else "-",
        )
    if rows:
        out.print(table)
    else:
        out.print("No KPI of the pack has a performance-matrix row (maturity_targets).")
    titles = {c.id: c.title.en for c in rules.model.characteristics()}
    for cid in DIMENSIONS:
        level = inferred.get(cid)
        shown = level if level is not None else "-"
        out.print(f"{cid} {titles.get(cid, '')}: level {shown} (inferred by the rule engine)", markup=False)
