"""The ``assay`` command line: a thin shell over the engine.

Errors are mapped to exit codes here and nowhere else:
0 success; 2 bad input (rule pack, evidence pack, scheme, signing key, usage); 3 audit trail
does not verify; 4 inference failed; 5 output could not be written; 6 a certificate does not
verify; 7 the register or signer refused (a forbidden transition, no such register, signing);
8 an engagement operation was refused (role, separation of duties, or not at that step).
"""

from __future__ import annotations

import datetime as dt
import logging
import sys
from pathlib import Path

import click
import sqlalchemy.exc
from rich.console import Console
from rich.table import Table

import examples
import rules as bundled_rules
from assay.cert_cli import ca_group, cert_group, verify_command
from assay.demo import run_demo
from assay.engagement_cli import engagement_group, people_group
from assay.matrix_cli import matrix_command
from assay.output import write_folder
from assay.pack_cli import pack_group
from assay.plan_cli import benchmark_command, plan_command
from assay.report import print_table, summary_markdown
from audits.errors import RefusedError, StoreError
from audits.store import open_store
from certificates.errors import RegisterError, SigningError, VerificationError
from certificates.register import Register
from engine.canonical import pretty_json
from engine.cases import load_cases, run_cases
from engine.coverage import coverage
from engine.durable_engine import DurableInference
from engine.errors import AssayError, EngineError, InputError, OutputError, TrailError
from engine.evaluation import Evaluation, Inference, evaluate_on, result_json
from engine.explain import explain as explain_lines
from engine.multimodel import crosswalk_markdown, evaluate_models
from engine.reference import ReferenceInference
from engine.rulepack import RulePack, load_rule_pack
from engine.sources import SystemClock
from engine.trail import jsonl, verify_file, verify_lines
from evidence_schemas.reader import read_pack

EXIT_CODES: list[tuple[type[AssayError], int]] = [
    (InputError, 2),
    (TrailError, 3),
    (EngineError, 4),
    (OutputError, 5),
    (VerificationError, 6),
    (RegisterError, 7),
    (StoreError, 7),
    (SigningError, 7),
    (RefusedError, 8),
]
ENGINES = ("durable", "reference")

rules_option = click.option(
    "--rules",
    "rules_dir",
    type=click.Path(path_type=Path),
    default=None,
    help="Rule pack folder (default: the bundled ISO/TS 37107:2019 pack).",
)
engine_option = click.option(
    "--engine",
    type=click.Choice(ENGINES),
    default="durable",
    show_default=True,
    help="Inference engine.",
)


@click.group(help="Evidence-based maturity audits and certification.")
def app() -> None:
    """The ``assay`` command group."""


app.add_command(matrix_command)
app.add_command(pack_group)
app.add_command(ca_group)
app.add_command(cert_group)
app.add_command(verify_command)
app.add_command(people_group)
app.add_command(engagement_group)
app.add_command(plan_command)
app.add_command(benchmark_command)


@app.group("rules", help="Inspect and check rule packs.")
def rules_group() -> None:
    """``assay rules``."""


@app.group("trail", help="Check audit trails.")
def trail_group() -> None:
    """``assay trail``."""


def _console() -> Console:
    return Console(width=140)


def _rules(folder: Path | None) -> RulePack:
    return load_rule_pack(folder or bundled_rules.bundled())


def _inference(choice: str) -> Inference:
    return DurableInference() if choice == "durable" else ReferenceInference()


def run_evaluation(rules: RulePack, pack_path: Path, as_of: dt.date, engine: str) -> Evaluation:
    """Read a pack and evaluate it reproducibly."""
    loaded = read_pack(pack_path)
    return evaluate_on(rules, loaded.pack, loaded.digest, as_of, _inference(engine))


def output_files(evaluation: Evaluation) -> dict[str, bytes]:
    """The files an evaluation writes."""
    return {
        "result.json": result_json(evaluation.result),
        "trail.jsonl": jsonl(evaluation.trail).encode("utf-8"),
        "summary.md": summary_markdown(evaluation.result, evaluation.head).encode("utf-8"),
    }


@app.command("evaluate")
@click.argument("pack", type=click.Path(path_type=Path))
@click.option("--as-of", "as_of", type=click.DateTime(["%Y-%m-%d"]), required=True, help="Assessment date.")
@click.option(
    "--out",
    type=click.Path(path_type=Path),
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
    """Evaluate an evidence pack (folder or pack.json) on an assessment date."""
    if models:
        _evaluate_models(pack, as_of.date(), list(models), out, json_output, force, engine)
        return
    evaluation = run_evaluation(_rules(rules_dir), pack, as_of.date(), engine)
    if out is not None:
        write_folder(out, output_files(evaluation), replace=force)
    console = _console()
    if json_output:
        sys.stdout.write(pretty_json(evaluation.result.model_dump(mode="json")))
    else:
        print_table(console, evaluation.result)
    if out is not None:
        console.print(f"Wrote result.json, trail.jsonl and summary.md to {out}")


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
    loaded = read_pack(pack)
    runs, report = evaluate_models(loaded.pack, models, as_of, _inference(engine))
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
    console = _console()
    for model, run in runs.items():
        console.print(f"[bold]{run.rules.model.standard}[/bold] ({model})")
        print_table(console, run.evaluation.result)
    console.print(crosswalk_markdown(report), markup=False)
    if out is not None:
        console.print(f"Wrote one folder per model and crosswalk.json, crosswalk.md to {out}")


@app.command()
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    default=Path("assay-demo"),
    show_default=True,
    help="Folder for the demo's outputs (replaced if it exists).",
)
@engine_option
def demo(out: Path, engine: str) -> None:
    """Run the whole certification process on the bundled sample community, up to a signed TEST
    certificate, printing each step."""
    console = _console()
    pack = _rules(None)
    console.print(
        f"Rule pack {pack.id}: {len(pack.characteristics)} of "
        f"{len(pack.model.characteristics())} characteristics encoded, digest {pack.digest}"
    )
    console.print(f"Sample community: {examples.sample_pack()}, assessed as of {examples.SAMPLE_AS_OF}")
    run_demo(console, out, pack, _inference(engine))
    checked = verify_file(out / "trail.jsonl")
    console.print(f"Wrote {out}/result.json, {out}/trail.jsonl and {out}/summary.md")
    console.print(f"Evaluation trail verified: {checked.records} records, head {checked.head}")


@rules_group.command("validate")
@click.argument("folder", type=click.Path(path_type=Path), required=False)
def rules_validate(folder: Path | None) -> None:
    """Check a rule pack and its cases; lists every problem found."""
    pack = _rules(folder)
    load_cases(folder or bundled_rules.bundled())
    _console().print(f"{pack.id}: valid, {len(pack.characteristics)} characteristics, digest {pack.digest}")


@rules_group.command("list")
@click.argument("folder", type=click.Path(path_type=Path), required=False)
def rules_list(folder: Path | None) -> None:
    """List the model's characteristics and which the pack encodes."""
    pack = _rules(folder)
    table = Table(title=f"{pack.model.standard} ({pack.id})")
    for column in ("Id", "Characteristic", "Kind", "Encoded"):
        table.add_column(column)
    for char in pack.model.characteristics():
        table.add_row(char.id, char.title.en, char.kind, "yes" if char.id in pack.characteristics else "no")
    _console().print(table)


@rules_group.command("matrix")
@click.argument("folder", type=click.Path(path_type=Path), required=False)
def rules_matrix(folder: Path | None) -> None:
    """The coverage table: per characteristic and level, requirements and auditor judgements."""
    pack = _rules(folder)
    rows = coverage(pack)
    table = Table(title=f"{pack.model.standard}: rule coverage ({pack.id})")
    for column in ("Id", "Characteristic", "L1", "L2", "L3", "L4", "L5", "Evidence kinds", "Judged"):
        table.add_column(column, overflow="fold")
    for row in rows:
        cells = {c.level: _cell(c.predicates, c.judged, c.as_at) for c in row.levels}
        levels = ["floor" if row.levels else "-", *(cells.get(n, "-") for n in (2, 3, 4, 5))]
        table.add_row(row.characteristic, row.title, *levels, ", ".join(row.kinds), str(row.judged))
    console = _console()
    console.print(table)
    encoded = [c for row in rows for c in row.levels]
    predicates, judged = sum(c.predicates for c in encoded), sum(c.judged for c in encoded)
    console.print(
        f"{len(encoded)} of {4 * len(rows)} level cells encoded; {predicates} evidence "
        f"requirements, {judged} needing an auditor's judgement. "
        "Cell: requirements / judged, ^N = as at level N."
    )


def _cell(predicates: int, judged: int, as_at: int | None) -> str:
    return f"{predicates} / {judged}" + (f" ^{as_at}" if as_at is not None else "")


@rules_group.command("explain")
@click.argument("characteristic")
@rules_option
@click.option("--lang", type=click.Choice(["en", "zh"]), default="en", show_default=True, help="Language.")
def rules_explain(characteristic: str, rules_dir: Path | None, lang: str) -> None:
    """Show a characteristic's levels and requirements."""
    pack = _rules(rules_dir)
    spec = pack.characteristics.get(characteristic)
    if spec is None:
        known = ", ".join(pack.characteristics)
        raise click.UsageError(f"{characteristic!r} is not encoded in {pack.id} (encoded: {known})")
    for line in explain_lines(pack.model, spec, "zh" if lang == "zh" else "en"):
        sys.stdout.write(line + "\n")


@rules_group.command("test")
@click.argument("folder", type=click.Path(path_type=Path), required=False)
@engine_option
def rules_test(folder: Path | None, engine: str) -> None:
    """Run the cases beside the rules: each level reached, and missed by one requirement."""
    root = folder or bundled_rules.bundled()
    results = run_cases(_rules(folder), load_cases(root), _inference(engine))
    failed = [r for r in results if not r.ok]
    for r in results:
        state = "ok" if r.ok else "FAIL " + "; ".join(r.failures)
        sys.stdout.write(f"{r.characteristic} level {r.level} {r.run}: {state}\n")
    sys.stdout.write(f"{len(results) - len(failed)} of {len(results)} cases pass\n")
    if failed:
        raise click.exceptions.Exit(1)


@trail_group.command("verify")
@click.argument("file", type=click.Path(path_type=Path), required=False)
@click.option("--head", default=None, help="Expected hash of the last record.")
@click.option("--store", "store", default=None, help="Verify the trail in this store instead of a file.")
def trail_verify(file: Path | None, head: str | None, store: str | None) -> None:
    """Verify an audit trail's hash chain: a JSONL file ('-' reads standard input) or a store's
    trail (``--store``); names the first bad record."""
    if (file is None) == (store is None):
        raise click.UsageError("give a trail FILE or --store, not both")
    if store is not None:
        checked = Register(open_store(store, create=False), SystemClock()).verify_trail(head)
    elif str(file) == "-":
        checked = verify_lines(sys.stdin.read().splitlines(), head)
    else:
        assert file is not None
        checked = verify_file(file, head)
    sys.stdout.write(f"intact: {checked.records} records, head {checked.head}\n")


def run(argv: list[str]) -> int:
    """Run the CLI with ``argv``; returns the exit code (errors mapped here, once)."""
    try:
        app.main(args=argv, prog_name="assay", standalone_mode=False)
    except AssayError as exc:
        sys.stderr.write(f"assay: {exc}\n")
        return next((code for cls, code in EXIT_CODES if isinstance(exc, cls)), 1)
    except sqlalchemy.exc.OperationalError as exc:
        # The database is unreachable or locked past the busy timeout: say so in one line (the
        # driver's message names host and port, never the password), not with a traceback.
        reason = str(exc.orig).splitlines()[0] if exc.orig is not None else str(exc)
        sys.stderr.write(f"assay: the store cannot be used: {reason}\n")
        return 7
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.ClickException as exc:
        exc.show()
        return 2
    except click.exceptions.Abort:
        return 130
    return 0


def main() -> None:
    """Console entry point."""
    # pyHanko logs every failed path validation with a traceback; the verdict and its reasons
    # are what a user of the command needs, so its records are dropped here, not in the library.
    for name in ("pyhanko", "pyhanko_certvalidator"):
        logging.getLogger(name).addHandler(logging.NullHandler())
    sys.exit(run(sys.argv[1:]))
