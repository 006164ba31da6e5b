"""``assay rules``: inspect and check rule packs."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from assay.groups import Group
from assay.options import PATH, engine_option, inference, load_rules, rules_option

if TYPE_CHECKING:
    from rich.console import Console


@click.group("rules", cls=Group, help="Inspect and check rule packs.")
def rules_group() -> None:
    """``assay rules``."""


def console() -> Console:
    """The terminal console; rich is imported only by the commands that print tables (explain
    writes plain lines and answers faster without it)."""
    from assay.terminal import console as terminal

    return terminal()


def _folder(folder: Path | None) -> Path:
    import rules as bundled_rules

    return folder or bundled_rules.bundled()


@rules_group.command("validate")
@click.argument("folder", type=PATH, required=False)
def rules_validate(folder: Path | None) -> None:
    """Check a rule pack and its cases; lists every problem found."""
    from engine.cases import load_cases

    pack = load_rules(folder)
    load_cases(_folder(folder))
    console().print(f"{pack.id}: valid, {len(pack.characteristics)} characteristics, digest {pack.digest}")


@rules_group.command("list")
@click.argument("folder", type=PATH, required=False)
def rules_list(folder: Path | None) -> None:
    """List the model's characteristics and which the pack encodes."""
    from rich.table import Table

    pack = load_rules(folder)
    table = Table(title=f"{pack.model.standard} ({pack.id})")
    for column in ("Id", "Characteristic", "Kind", "Encoded"):
        table.add_column(column, overflow="fold")
    for char in pack.model.characteristics():
        table.add_row(char.id, char.title.en, char.kind, "yes" if char.id in pack.characteristics else "no")
    console().print(table)


@rules_group.command("matrix")
@click.argument("folder", type=PATH, required=False)
def rules_matrix(folder: Path | None) -> None:
    """The coverage table: per characteristic and level, requirements and auditor judgements."""
    from rich.table import Table

    from engine.coverage import coverage, kind_only_share

    pack = load_rules(folder)
    rows = coverage(pack)
    table = Table(title=f"{pack.model.standard}: rule coverage ({pack.id})")
    for column in ("Id", "Characteristic", "L1", "L2", "L3", "L4", "L5", "Evidence kinds", "Judged"):
        table.add_column(column, overflow="fold")
    for row in rows:
        cells = {c.level: _cell(c.predicates, c.judged, c.as_at) for c in row.levels}
        levels = ["floor" if row.levels else "-", *(cells.get(n, "-") for n in (2, 3, 4, 5))]
        table.add_row(row.characteristic, row.title, *levels, ", ".join(row.kinds), str(row.judged))
    terminal = console()
    terminal.print(table)
    encoded = [c for row in rows for c in row.levels]
    predicates, judged = sum(c.predicates for c in encoded), sum(c.judged for c in encoded)
    bare, total = kind_only_share(pack)
    terminal.print(
        f"{len(encoded)} of {4 * len(rows)} level cells encoded; {predicates} evidence "
        f"requirements, {judged} needing an auditor's judgement; {bare} ({bare / max(total, 1):.0%}) "
        "check nothing beyond an item's kind and type. "
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
    from engine.explain import explain as explain_lines

    pack = load_rules(rules_dir)
    spec = pack.characteristics.get(characteristic)
    if spec is None:
        known = ", ".join(pack.characteristics)
        raise click.UsageError(f"{characteristic!r} is not encoded in {pack.id} (encoded: {known})")
    for line in explain_lines(pack.model, spec, "zh" if lang == "zh" else "en"):
        sys.stdout.write(line + "\n")


@rules_group.command("test")
@click.argument("folder", type=PATH, required=False)
@engine_option
def rules_test(folder: Path | None, engine: str) -> None:
    """Run the cases beside the rules (each level reached, and missed by one requirement), then
    the profiles written from the standard: how often the rules agree with their auditor."""
    from engine.cases import load_cases, run_cases
    from engine.profiles import agreement, load_profiles, run_profiles

    rules, engine_used = load_rules(folder), inference(engine)
    results = run_cases(rules, load_cases(_folder(folder)), engine_used)
    failed = [r for r in results if not r.ok]
    for r in results:
        state = "ok" if r.ok else "FAIL " + "; ".join(r.failures)
        sys.stdout.write(f"{r.characteristic} level {r.level} {r.run}: {state}\n")
    sys.stdout.write(f"{len(results) - len(failed)} of {len(results)} cases pass\n")
    profiles = run_profiles(rules, load_profiles(_folder(folder)), engine_used)
    for p in profiles:
        if not p.agrees:
            why = f" (known difference: {p.difference})" if p.difference else ""
            got = f"expected {p.expected}, verified {p.verified}{why}"
            sys.stdout.write(f"profile {p.characteristic} {p.profile}: {got}\n")
    if profiles:
        agreeing = sum(p.agrees for p in profiles)
        known = sum(1 for p in profiles if not p.agrees and p.difference)
        sys.stdout.write(
            f"{rules.id}: {agreeing} of {len(profiles)} profiles agree ({agreement(profiles):.0%}); "
            f"{known} of the {len(profiles) - agreeing} differences are known and explained\n"
        )
    if failed:
        raise click.exceptions.Exit(1)


# Installed rule packs and re-ratings (the store) ------------------------------------------------
# Options defined here, not imported from the store's commands: `assay rules explain` must not
# load the store (a test counts the modules it imports), nor `assay worker` the signing code.

store_data_option = click.option(
    "--data",
    "data",
    envvar="ASSAY_DATA",
    default="assay-data",
    show_default=True,
    help="The store: a data folder, a .db file or a database URL (env ASSAY_DATA).",
)


@rules_group.command("install")
@click.argument("folder", type=PATH)
@click.option("--as", "person", required=True, help="The register administrator installing it.")
@store_data_option
@click.option(
    "--date",
    "day",
    type=click.DateTime(["%Y-%m-%d"]),
    default=None,
    help="Day it takes effect (default today).",
)
def rules_install(folder: Path, person: str, data: str, day: dt.datetime | None) -> None:
    """Install a rule pack as the pack in force and re-rate every certificate in force under it
    (what would change, for a reviewer; no certificate changes). On SQLite the re-rating runs
    before the command ends; on PostgreSQL it is queued for 'assay worker'."""
    from assay.services import out, services_for
    from assay.worker_cli import print_outcome
    from audits.jobs import LOCAL, run_local
    from audits.rulepacks import RulePacks

    services = services_for(data, None, day)
    packs = RulePacks(services.store, None, services.clock, services.decisions.rules)
    installed = packs.install(person, folder)
    out(f"installed {installed.pack_id} as rule pack {installed.number}: {installed.digest}")
    if installed.job.queue != LOCAL:
        out(f"re-rating queued as {installed.job}: 'assay worker --data DATA' runs it")
        return
    out(f"re-rating: {installed.job}")
    failed = False
    for outcome in run_local(services.store, services.clock):
        print_outcome(outcome)
        failed = failed or outcome.status == "failed"
    if failed:
        raise click.exceptions.Exit(1)


@rules_group.command("reratings")
@store_data_option
@click.option(
    "--run", type=int, default=None, help="The install whose re-rating to show (default: the latest)."
)
@click.option("--json", "json_output", is_flag=True, help="Print the re-ratings as JSON.")
def rules_reratings(data: str, run: int | None, json_output: bool) -> None:
    """Per certificate re-rated under an installed rule pack, the characteristics whose level
    would change and why."""
    import json

    from assay.stores import open_data
    from audits.rerating import read_reratings

    with open_data(data, create=False) as store, store.read() as connection:
        found = read_reratings(connection, run)
    if json_output:
        sys.stdout.write(json.dumps([r.as_dict() for r in found], indent=2, ensure_ascii=False) + "\n")
        return
    if not found:
        sys.stdout.write("no re-ratings stored" + (f" for rule pack install {run}" if run else "") + "\n")
        return
    first = found[0]
    sys.stdout.write(
        f"rule pack install {first.run} ({first.new_rule_pack_digest}), re-rated at {first.created_at}\n"
    )
    for rerating in found:
        for line in rerating_lines(rerating.certificate, rerating.engagement, rerating.changes):
            sys.stdout.write(line + "\n")


def rerating_lines(certificate: str, engagement: str, changes: dict[str, object]) -> list[str]:
    """One certificate's re-rating in words: what would change, and each cause."""
    status = changes["status"]
    head = f"{certificate} ({engagement}, evaluation {changes['evaluation']} as of {changes['as_of']})"
    if status == "not re-rated":
        return [f"{head}: not re-rated: {changes['reason']}"]
    listed = changes.get("characteristics") or []
    assert isinstance(listed, list)
    if not listed:
        return [f"{head}: no change"]
    lines = [f"{head}: {len(listed)} characteristic(s) would change"]
    for characteristic in listed:
        lines.append(
            f"  {characteristic['id']}: level {characteristic['old_level']} -> {characteristic['new_level']}"
        )
        lines += [f"    - {cause_text(cause)}" for cause in characteristic["causes"]]
    return lines


def cause_text(cause: dict[str, object]) -> str:
    """A cause of a level change in words (audits.rerating.causes)."""
    words = str(cause["change"])
    if "requirement" in cause:
        words += f": {cause['requirement']}"
        if "summary" in cause:
            words += f" ({cause['summary']})"
    elif "level" in cause:
        words += f" at level {cause['level']}"
    if "fields" in cause and isinstance(cause["fields"], dict):
        words += "; " + ", ".join(f"{name} {v['old']} -> {v['new']}" for name, v in cause["fields"].items())
    if "met_by" in cause:
        words += f": {cause['met_by']}"
    if "old" in cause and "new" in cause:
        words += f": {cause['old']} -> {cause['new']}"
    if "requirements" in cause and isinstance(cause["requirements"], list):
        words += ": " + ", ".join(str(r) for r in cause["requirements"])
    if "detail" in cause:
        words += f": {cause['detail']}"
    return words
