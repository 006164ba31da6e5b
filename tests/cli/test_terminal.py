"""The command line as a terminal user meets it: fast help, whole summaries, output that fits
the terminal's width, and no library's warning on stderr."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import click
import pytest

import examples
from assay.cli import COMMANDS, app, run
from assay.groups import summary

INSTALLED = Path(sys.executable).with_name("assay")
HEAVY = ("pyhanko", "pyhanko_certvalidator", "sqlalchemy", "alembic", "aiohttp", "reportlab", "psycopg")


def test_every_listed_command_is_the_command_of_that_name() -> None:
    context = click.Context(app)
    for name in COMMANDS:
        command = app.get_command(context, name)
        assert command is not None
        assert command.name == name


def _modules_loaded_by(argv: list[str]) -> set[str]:
    script = (
        "import sys, io, contextlib\n"
        "from assay.cli import run\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        f"    code = run({argv!r})\n"
        "assert code == 0, code\n"
        "print('\\n'.join(sorted(sys.modules)))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    return set(done.stdout.split())


@pytest.mark.parametrize(
    ("argv", "allowed"),
    [
        (["--help"], set()),
        (["rules", "explain", "1.1.1"], set()),
        (["evaluate", str(examples.sample_pack()), "--as-of", "2026-06-30"], set()),
    ],
)
def test_quick_commands_import_no_signing_store_or_pdf_library(argv: list[str], allowed: set[str]) -> None:
    loaded = {m.split(".")[0] for m in _modules_loaded_by(argv)}
    assert sorted(loaded & set(HEAVY) - allowed) == []


@pytest.mark.parametrize(
    "module",
    ["assay.evaluate_cli", "assay.rules_cli", "assay.matrix_cli", "assay.plan_cli", "assay.benchmark_cli"],
)
def test_command_modules_that_need_no_signing_or_store_do_not_import_them(module: str) -> None:
    code = f"import sys, {module}; print(chr(10).join(sorted(sys.modules)))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = {m.split(".")[0] for m in done.stdout.split()}
    assert sorted(loaded & {*HEAVY, "cryptography", "audits", "certificates"}) == []


def test_help_imports_no_command() -> None:
    loaded = _modules_loaded_by(["--help"])
    tops = {m.split(".")[0] for m in loaded}
    assert not tops & {"durable", "pydantic", "rich", "audits", "certificates", "evidence_schemas"}
    assert {m for m in loaded if m.startswith("engine.")} == {"engine.errors"}


def test_the_installed_command_writes_nothing_to_stderr() -> None:
    env = {"PATH": "/usr/bin:/bin"}
    for argv in (["--help"], ["verify", "--help"], ["engagement", "--help"]):
        done = subprocess.run([str(INSTALLED), *argv], capture_output=True, text=True, env=env, check=True)
        assert done.stderr == "", argv


def _all_commands(group: click.Group, prefix: list[str]) -> list[list[str]]:
    found = [prefix]
    context = click.Context(group)
    for name in group.list_commands(context):
        command = group.get_command(context, name)
        assert command is not None
        if isinstance(command, click.Group):
            found += _all_commands(command, [*prefix, name])
        else:
            found.append([*prefix, name])
    return found


@pytest.mark.parametrize("columns", [80, 200])
def test_no_summary_in_any_help_is_cut_short(
    columns: int, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("COLUMNS", str(columns))
    for argv in _all_commands(app, []):
        assert run([*argv, "--help"]) == 0
        text = capsys.readouterr().out
        listing = text.split("Commands:", 1)[1] if "Commands:" in text else ""
        assert "..." not in listing, argv
        assert max(len(line) for line in text.splitlines()) <= max(columns, 80), argv


def test_summaries_end_as_sentences() -> None:
    context = click.Context(app)
    for name, (_, text) in COMMANDS.items():
        command = app.get_command(context, name)
        assert command is not None
        assert text.endswith("."), name
        assert summary(command).endswith("."), name


def _words(text: str) -> set[str]:
    return set(re.findall(r"[\w'.,:()/-]+", text))


@pytest.mark.parametrize("columns", [80, 200])
def test_tables_fit_the_terminal_and_break_no_word(
    columns: int, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("COLUMNS", str(columns))
    assert run(["evaluate", str(examples.sample_pack()), "--as-of", "2026-06-30"]) == 0
    table = capsys.readouterr().out
    lines = table.splitlines()
    assert max(len(line) for line in lines) <= columns
    if columns == 200:
        assert max(len(line) for line in lines) > 120  # the room is used, not a fixed narrow table
    assert run(["rules", "list"]) == 0
    listing = capsys.readouterr().out
    assert max(len(line) for line in listing.splitlines()) <= columns
    words = _words(listing)
    for title in ("Outcomes-focused city vision and strategy", "Leadership", "Resilience"):
        for word in title.split():
            if word.lower() in listing.lower():
                assert any(word.lower() == w.lower().strip(",.:") for w in words), (title, word)


def test_engagement_status_is_short_and_json_is_the_full_record(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    out = tmp_path / "demo"
    assert run(["demo", "--out", str(out), "--date", "2026-07-20"]) == 0
    capsys.readouterr()
    data = str(out / "data")
    assert run(["engagement", "status", "ENG-2026-0001", "--data", data, "--date", "2026-07-21"]) == 0
    short = capsys.readouterr().out
    lines = short.splitlines()
    assert lines[0] == "Engagement: ENG-2026-0001: Harbourton against iso37107-2019"
    assert "Next step: surveillance when due" in lines
    assert "Team: amira (auditor), jonas (reviewer), rolu (lead auditor)" in lines
    assert "Evidence: latest version 1" in lines
    assert "Open findings: finding 1 (minor, due 2026-09-28)" in lines
    assert "Levels: evaluation 1 as of 2026-06-30:" in short
    assert "Certificate: ASSAY-2026-000001 issued" in short
    # The reviewer's first look: the thinnest credited levels, flagged ones first.
    assert "Thinnest levels:" in lines
    thin = lines[lines.index("Thinnest levels:") + 1 :]
    assert " ".join(" ".join(thin).split()).startswith(
        "1.1.1 level 3: 1 item(s), 1 judged: credited on a single item, vision-2035"
    )
    assert max(len(line) for line in lines) <= 80
    assert (
        run(["engagement", "status", "ENG-2026-0001", "--data", data, "--date", "2026-07-21", "--json"]) == 0
    )
    record = json.loads(capsys.readouterr().out)
    assert record["engagement"] == "ENG-2026-0001"
    assert record["certificate"]["number"] == "ASSAY-2026-000001"
    assert len(record["latest_evaluation"]["levels"]) == 32
    thinnest = record["latest_evaluation"]["thinnest_levels"]
    assert [(t["characteristic"], t["level"], t["items"]) for t in thinnest[:2]] == [
        ("1.1.1", 3, 1),
        ("1.2.1", 2, 1),
    ]
    assert thinnest[0]["flags"] == ["credited on a single item, vision-2035"]
    assert thinnest[1]["flags"] == [
        "credited on a single item, c1-2-1-change-board",
        "no item behind it has an attachment: c1-2-1-change-board",
    ]


def test_explain_prints_plain_lines_without_loading_rich_or_the_checks() -> None:
    loaded = _modules_loaded_by(["rules", "explain", "1.1.1"])
    tops = {m.split(".")[0] for m in loaded}
    assert "rich" not in tops
    assert "durable" not in tops
