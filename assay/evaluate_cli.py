"""``assay evaluate``: an evidence pack on an assessment date, against one model or several."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import click

from assay.options import PATH, engine_option, inference, load_rules, rules_option
from assay.output import write_folder
from assay.report import print_table, summary_markdown
from assay.terminal import console
from engine.canonical import pretty_json
from engine.evaluation import Evaluation, check_fit, evaluate_on, result_json
from engine.rulepack import RulePack
from engine.trail import jsonl
from evidence_schemas.reader import read_pack


def run_evaluation(rules: RulePack, pack_path: Path, as_of: dt.date, engine: str) -> Evaluation:
    """Read a pack and evaluate it reproducibly."""
    loaded = read_pack(pack_path)
    check_fit(rules, loaded.pack, manifest=loaded.source)  # before evaluating, naming the manifest read
    return evaluate_on(rules, loaded.pack, loaded.digest, as_of, inference(engine))


def output_files(evaluation: Evaluation) -> dict[str, bytes]:
    """The files an evaluation writes."""
    return {
        "result.json": result_json(evaluation.result),
        "trail.jsonl": jsonl(evaluation.trail).encode("utf-8"),
        "summary.md": summary_markdown(evaluation.result, evaluation.head).encode("utf-8"),
    }


@click.command("evaluate")
@click.argument("pack", type=PATH)
@click.option("--as-of", "as_of", type=click.DateTime(["%Y-%m-%d"]), required=True, help="Assessment date.")
@click.option(
    "--out",
    type=PATH,
    default=None,
    help="Folder to write result.json, trail.jsonl and summary.md to.",
)
@rules_option
@click.option("--json", "json_output", is_flag=True, help="Print the result JSON instead of the table.")
@click.option("--force", is_flag=True, help="Replace an existing, non-empty --out folder.")
@click.option(
    "--model",
    "models",
    multiple=True,
    help="Evaluate against this bundled model too (repeat); evidence is carried over by the crosswalk.",
)
@engine_option
def evaluate_command(
    pack: Path,
    as_of: dt.datetime,
    out: Path | None,
    rules_dir: Path | None,
    json_output: bool,
    force: bool,
    models: tuple[str, ...],
    engine: str,
) -> None:
    """Evaluate an evidence pack (folder or manifest) on an assessment date."""
    if models:
        _evaluate_models(pack, as_of.date(), list(models), out, json_output, force, engine)
        return
    evaluation = run_evaluation(load_rules(rules_dir), pack, as_of.date(), engine)
    if out is not None:
        write_folder(out, output_files(evaluation), replace=force)
    if json_output:
        sys.stdout.write(pretty_json(evaluation.result.model_dump(mode="json")))
    else:
        print_table(console(), evaluation.result)
    if out is not None:
        console().print(f"Wrote result.json, trail.jsonl and summary.md to {out}")


def _evaluate_models(
    pack: Path,
    as_of: dt.date,
    models: list[str],
    out: Path | None,
    json_output: bool,
    force: bool,
    engine: str,
) -> None:
    """``evaluate --model ...``: one verified pack, several models, and where they agree."""
    from engine.multimodel import crosswalk_markdown, evaluate_models

    loaded = read_pack(pack)
    runs, report = evaluate_models(loaded.pack, models, as_of, inference(engine))
    if out is not None:
        files = {
            f"{m}/{name}": data
            for m, run in runs.items()
            for name, data in output_files(run.evaluation).items()
        }
        files["crosswalk.json"] = pretty_json(report).encode("utf-8")
        files["crosswalk.md"] = crosswalk_markdown(report).encode("utf-8")
        write_folder(out, files, replace=force)
    if json_output:
        sys.stdout.write(pretty_json(report))
        return
    terminal = console()
    for model, run in runs.items():
        terminal.print(f"[bold]{run.rules.model.standard}[/bold] ({model})")
        print_table(terminal, run.evaluation.result)
    terminal.print(crosswalk_markdown(report), markup=False)
    if out is not None:
        terminal.print(f"Wrote one folder per model and crosswalk.json, crosswalk.md to {out}")
