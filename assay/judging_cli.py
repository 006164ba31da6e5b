"""``assay engagement judge`` and ``assay engagement worksheet``: auditors' judgements of the
requirements that need one, one at a time or from a filled worksheet (.xlsx) or a JSON list.

Reading a file checks every cell or entry first and names each bad one (``Judgements!E4``); the
store then checks every judgement against the evidence (nothing is recorded unless all pass).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import click

from assay.cert_cli import PATH, data_option
from assay.services import as_option, attachments_option, date_option, out, rules_option, services_for
from audits.judging import METHODS, RATINGS, JudgementEntry, WorksheetRow
from engine.errors import InputError, Problem
from engine.sourcemap import load_json

ROLES = (
    "requirement", "question", "machine", "candidates", "sample",
    "rating", "cites", "examined", "method", "reason",
)  # fmt: skip
FILLED = ("rating", "cites", "examined", "method", "reason")
"""The columns an auditor fills in; the others say what the engine sees."""
SHEETS = {"en": "Judgements", "zh": "判断"}
HEADERS = {
    "en": (
        "Requirement",
        "Question",
        "Machine outcome",
        "Candidate items",
        "Sample to examine",
        "Rating",
        "Cites (evidence ids)",
        "Examined (evidence ids)",
        "Method",
        "Reason",
    ),
    "zh": (
        "要求", "问题", "条件判定结果", "候选证据", "抽样检查项",
        "评级", "引用（证据编号）", "已深入检查（证据编号）", "方法", "理由",
    ),
}  # fmt: skip
STATUS_WORDS = {"met": "met", "not_met": "not met", "indeterminate": "indeterminate"}
MAX_BYTES = 16 * 1024 * 1024


@click.command("judge")
@click.argument("engagement")
@click.argument("requirement", required=False)
@click.option("--rating", type=click.Choice(RATINGS), default=None, help="How far it is implemented.")
@click.option("--cite", "cites", multiple=True, help="Evidence id the judgement rests on (repeat).")
@click.option(
    "--examined",
    "examined",
    multiple=True,
    help="Cited evidence id examined in depth, as the worksheet's sample proposes (repeat).",
)
@click.option(
    "--method",
    type=click.Choice(METHODS),
    metavar="METHOD",
    default=None,
    help=f"How the judgement was formed: {', '.join(METHODS)}.",
)
@click.option("--reason", default=None, help="The objective evidence seen; what is missing when not met.")
@click.option(
    "--from", "from_file", type=PATH, default=None, help="A filled worksheet (.xlsx) or a JSON list."
)
@as_option
@date_option
@data_option
@attachments_option
@rules_option
def judge_command(
    engagement: str,
    requirement: str | None,
    rating: str | None,
    cites: tuple[str, ...],
    examined: tuple[str, ...],
    method: str | None,
    reason: str | None,
    from_file: Path | None,
    person: str,
    day: dt.datetime | None,
    data: str,
    attachments: Path | None,
    rules_dir: Path | None,
) -> None:
    """Record an auditor's judgement of a requirement (or several, from a worksheet or JSON)."""
    if from_file is not None:
        entries = read_entries(from_file)
    else:
        given = (
            ("REQUIREMENT", requirement),
            ("--rating", rating),
            ("--method", method),
            ("--reason", reason),
        )
        missing = [n for n, v in given if v is None] + ([] if cites else ["--cite"])
        if missing:
            message = f"missing {', '.join(missing)} (or give --from FILE)"
            raise InputError([Problem("judge", None, "", message)])
        entries = [
            JudgementEntry(
                requirement or "", rating or "", cites, method or "", reason or "", examined=examined
            )
        ]
    seqs = services_for(data, attachments, day, rules_dir).engagements.judge(person, engagement, entries)
    out(f"{engagement}: {len(seqs)} judgement(s) recorded")


@click.command("worksheet")
@click.argument("engagement")
@click.option("--xlsx", "xlsx", type=PATH, default=None, help="Write the worksheet to fill in here.")
@click.option("--lang", type=click.Choice(["en", "zh"]), default="en", show_default=True)
@date_option
@data_option
@rules_option
def worksheet_command(
    engagement: str, xlsx: Path | None, lang: str, day: dt.datetime | None, data: str, rules_dir: Path | None
) -> None:
    """The requirements that need a judgement: question, machine outcome and candidate items."""
    import rules as bundled_rules
    from assay.stores import open_data
    from audits.judging import worksheet
    from engine.rulepack import load_rule_pack
    from engine.sources import SystemClock

    on = day.date() if day else SystemClock().now().date()
    rules = load_rule_pack(rules_dir or bundled_rules.bundled())
    with open_data(data, create=False).read() as connection:
        rows = worksheet(connection, rules, engagement, on, lang)
    if xlsx is not None:
        write_worksheet(xlsx, rows, lang)
        out(f"{engagement}: {len(rows)} requirement(s) to judge written to {xlsx}")
        return
    _print_worksheet(engagement, rows, lang)


def machine_text(row: WorksheetRow) -> str:
    """The machine outcome in words: status, and what is missing when not met."""
    outcome = row.candidates.machine
    word = STATUS_WORDS[outcome.status]
    return f"{word}: {outcome.missing}" if outcome.missing else word


def candidates_text(row: WorksheetRow) -> str:
    """One line per candidate item: id, title and status."""
    return "\n".join(f"{c.id}: {row.titles[c.id]} ({c.status})" for c in row.candidates.items) or "none"


def sample_text(row: WorksheetRow) -> str:
    """The proposed sample, or a dash where the requirement does not range over a set."""
    return " ".join(row.sample) or "-"


def _print_worksheet(engagement: str, rows: list[WorksheetRow], lang: str) -> None:
    from rich.table import Table

    from assay.terminal import console

    terminal = console()
    if not rows:
        terminal.print(f"{engagement}: no requirement in scope needs a judgement")
        return
    table = Table(title=f"{engagement}: requirements to judge", show_lines=True)
    for header in HEADERS[lang][:5]:
        table.add_column(header, overflow="fold")
    for row in rows:
        table.add_row(
            row.candidates.requirement.key,
            row.question,
            machine_text(row),
            candidates_text(row),
            sample_text(row),
        )
    terminal.print(table)
    terminal.print(
        f"Fill in rating, cites, examined (the sample, where one is proposed), method and reason in "
        "--xlsx FILE, then: "
        f"assay engagement judge {engagement} --from FILE --as AUDITOR",
        overflow="fold",
    )


def write_worksheet(path: Path, rows: list[WorksheetRow], lang: str) -> None:
    """The worksheet as an .xlsx workbook: one row per requirement, the auditor's five columns empty."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font
    from openpyxl.worksheet.datavalidation import DataValidation

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = SHEETS[lang]
    sheet.append(list(HEADERS[lang]))
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in rows:
        key = row.candidates.requirement.key
        shown = [key, row.question, machine_text(row), candidates_text(row), sample_text(row)]
        sheet.append([*shown, *(None for _ in FILLED)])
    for role, width in zip(ROLES, (28, 50, 50, 50, 28, 12, 28, 28, 22, 50), strict=True):
        sheet.column_dimensions[_column(role)].width = width
    for cells in sheet.iter_rows(min_row=2, max_row=sheet.max_row):
        for cell in cells:
            cell.alignment = Alignment(wrap_text=True, vertical="top")
    last = max(sheet.max_row, 2)
    for role, allowed in (("rating", RATINGS), ("method", METHODS)):
        check = DataValidation(type="list", formula1=f'"{",".join(allowed)}"', allow_blank=True)
        check.add(f"{_column(role)}2:{_column(role)}{last}")
        sheet.add_data_validation(check)
    sheet.freeze_panes = "B2"
    book.save(path)


def _column(role: str) -> str:
    from openpyxl.utils import get_column_letter

    return str(get_column_letter(ROLES.index(role) + 1))


def read_entries(path: Path) -> list[JudgementEntry]:
    """Judgements from a filled worksheet (.xlsx) or a JSON list; every bad cell or entry named."""
    if not path.is_file() or path.stat().st_size > MAX_BYTES:
        raise InputError([Problem(str(path), None, "", f"not a file of at most {MAX_BYTES} bytes")])
    if path.suffix.lower() == ".xlsx":
        return _from_workbook(path)
    return _from_json(path)


def _from_workbook(path: Path) -> list[JudgementEntry]:
    from evidence_schemas.workbook import read_sheet  # openpyxl: only for a workbook

    name = str(path)
    title, table = read_sheet(path, SHEETS.values())
    header = tuple(str(v).strip() if v is not None else "" for v in (table[0] if table else ()))
    if header[: len(ROLES)] not in HEADERS.values():
        raise InputError([Problem(name, 1, title, "the header row is not the worksheet's")])
    problems: list[Problem] = []
    entries = []
    for number, row in enumerate(table[1:], start=2):
        values = {role: _text(v) for role, v in zip(ROLES, row, strict=False)}
        if all(values.get(r) is None for r in FILLED):
            continue  # not judged in this worksheet
        found = _field_problems(values)
        problems += [Problem(name, number, f"{title}!{_column(r)}{number}", m) for r, m in found]
        if not found:
            entries.append(_entry(values, f"{title}!{_column('requirement')}{number}"))
    if not problems and not entries:
        problems.append(Problem(name, None, title, "no row has a rating, cites, method or reason filled in"))
    if problems:
        raise InputError(problems)
    return entries


def _from_json(path: Path) -> list[JudgementEntry]:
    name = str(path)
    doc = load_json(path)
    if doc.problems:
        raise InputError(doc.problems)
    loaded = doc.data
    if not isinstance(loaded, list) or not loaded:
        message = "not a non-empty JSON list of {requirement, rating, cites, examined, method, reason}"
        raise InputError([doc.problem([], message)])
    problems: list[Problem] = []
    entries = []
    for index, entry in enumerate(loaded):
        if not isinstance(entry, dict):
            problems.append(doc.problem([index], "not an object"))
            continue
        unknown = sorted(set(entry) - set(ROLES))
        if unknown:
            problems.append(doc.problem([index], f"unknown fields: {', '.join(unknown)}"))
        mistyped = [
            (r, "must be a text")
            for r in ("requirement", "rating", "method", "reason")
            if r in entry and not isinstance(entry[r], str)
        ] + [
            (r, "must be a list of item ids")
            for r in ("cites", "examined")
            if r in entry and not (isinstance(entry[r], list) and all(isinstance(c, str) for c in entry[r]))
        ]
        problems += [doc.problem([index, r], m) for r, m in mistyped]
        if mistyped:
            continue
        values = {r: _text(entry.get(r)) for r in ("requirement", "rating", "method", "reason")}
        for role in ("cites", "examined"):
            listed = entry.get(role)
            values[role] = ",".join(listed) if isinstance(listed, list) else None
        found = _field_problems(values)
        problems += [doc.problem([index, r], m) for r, m in found]
        if not found and not unknown:
            entries.append(_entry(values, f"{name}[{index}]"))
    if problems:
        raise InputError(problems)
    return entries


def _field_problems(values: dict[str, str | None]) -> list[tuple[str, str]]:
    """(role, message) for every missing or malformed field of one judgement."""
    found = []
    for role in ("requirement", "rating", "cites", "method", "reason"):
        if values.get(role) is None:
            found.append((role, f"{role} is missing"))
    for role, allowed in (("rating", RATINGS), ("method", METHODS)):
        value = values.get(role)
        if value is not None and value not in allowed:
            found.append((role, f"{role} {value!r} is not one of {', '.join(allowed)}"))
    return found


def _entry(values: dict[str, str | None], where: str) -> JudgementEntry:
    return JudgementEntry(
        values["requirement"] or "",
        values["rating"] or "",
        _ids(values["cites"]),
        values["method"] or "",
        values["reason"] or "",
        where,
        examined=_ids(values.get("examined")),
    )


def _ids(text: str | None) -> tuple[str, ...]:
    """Evidence ids separated by commas or white space (a dash: none)."""
    return tuple(i for i in (text or "").replace(",", " ").split() if i and i != "-")


def _text(value: Any) -> str | None:
    if value is None:
        return None
    return str(value).strip() or None
