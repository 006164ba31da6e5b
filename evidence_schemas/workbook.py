"""The self-assessment workbook: the Annex A table as a spreadsheet a city fills in.

One row per characteristic: dimension, characteristic, title, the five levels in the
project's words (the rule pack's level summaries where it encodes the characteristic, the
Table 2 guide for its kind otherwise, and always for level 1), then "level now", "level in
two years" and notes. Reading a filled workbook gives the pack's claims; every missing,
out-of-range or unknown entry is reported with its cell reference, and nothing is changed
unless all of them are right.
"""

from __future__ import annotations

import zipfile
import zlib
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Literal
from xml.etree import ElementTree

from openpyxl import Workbook, load_workbook
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from engine.catalogue import MaturityModel
from engine.errors import EvidencePackError, InputError, Problem
from engine.rulepack import RulePack
from evidence_schemas.pack import Claim

Lang = Literal["en", "zh"]
MAX_BYTES = 20 << 20
SHEETS: dict[Lang, str] = {"en": "Self-assessment", "zh": "自我评估"}
ROLES = (
    "dimension",
    "characteristic",
    "title",
    "level1",
    "level2",
    "level3",
    "level4",
    "level5",
    "now",
    "in_two_years",
    "notes",
)
HEADERS: dict[Lang, tuple[str, ...]] = {
    "en": (
        "Dimension",
        "Characteristic",
        "Title",
        "Level 1",
        "Level 2",
        "Level 3",
        "Level 4",
        "Level 5",
        "Level now",
        "Level in two years",
        "Notes",
    ),
    "zh": (
        "维度",
        "特征",
        "名称",
        "第 1 级",
        "第 2 级",
        "第 3 级",
        "第 4 级",
        "第 5 级",
        "现在水平",
        "两年后水平",
        "备注",
    ),
}
ABOUT: dict[Lang, list[str]] = {
    "en": [
        "Self-assessment against {standard}.",
        "For every characteristic, enter the level the community is at now and the level it expects in two",
        "years on current plans: whole numbers from 1 to 5. Level texts are summaries in Assay's own words;",
        "the standard's Annex A is authoritative.",
        "Read it into an evidence pack with: assay pack import-claims THIS-FILE PACK-FOLDER",
    ],
    "zh": [
        "依据 {standard} 的自我评估。",
        "请为每个特征填写城市和社区现在的水平，以及按现有计划两年后预期达到的水平：1 至 5 的整数。",
        "各级说明为 Assay 的概括，以标准附录 A 为准。",
        "导入证据包：assay pack import-claims 本文件 证据包文件夹",
    ],
}


def write_template(path: Path, model: MaturityModel, rules: RulePack | None, lang: Lang = "en") -> None:
    """Write an empty self-assessment workbook for ``model``."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = SHEETS[lang]
    sheet.append(list(HEADERS[lang]))
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for dimension in model.dimensions:
        for char in dimension.all_characteristics():
            spec = rules.characteristics.get(char.id) if rules is not None else None
            levels = []
            for number in range(1, 6):
                level = spec.levels.get(number) if spec is not None else None
                text = level.summary if level is not None else model.level_guide(char, number)
                levels.append(getattr(text, lang))
            names = [f"{dimension.id} {getattr(dimension.title, lang)}", char.id, getattr(char.title, lang)]
            sheet.append([*names, *levels, None, None, None])
    last = sheet.max_row
    for role, width in zip(ROLES, (22, 13, 34, 40, 40, 40, 40, 40, 12, 14, 30), strict=True):
        sheet.column_dimensions[_column(role)].width = width
    for cells in sheet.iter_rows(min_row=2, max_row=last):
        for cell in cells:
            cell.alignment = Alignment(wrap_text=True, vertical="top")
    check = DataValidation(type="whole", operator="between", formula1="1", formula2="5", allow_blank=False)
    check.error = "1-5" if lang == "en" else "1 至 5"
    check.add(f"{_column('now')}2:{_column('in_two_years')}{last}")
    sheet.add_data_validation(check)
    sheet.freeze_panes = "D2"
    about = book.create_sheet("About" if lang == "en" else "说明")
    for line in ABOUT[lang]:
        about.append([line.format(standard=model.standard)])
    book.save(path)


def _column(role: str) -> str:
    return get_column_letter(ROLES.index(role) + 1)


def read_claims(path: Path, model: MaturityModel) -> list[Claim]:
    """Claims from a filled workbook; raises :class:`EvidencePackError` naming every bad cell."""
    try:
        title, rows = read_sheet(path, SHEETS.values())
    except InputError as exc:
        raise EvidencePackError(exc.problems) from None
    return _claims(rows, title, str(path), model)


def read_sheet(path: Path, names: Iterable[str]) -> tuple[str, list[tuple[Any, ...]]]:
    """The title and rows of the first sheet called one of ``names`` in a workbook that comes
    from outside (a filled template); size-capped, and any problem is one :class:`InputError`."""
    name = str(path)
    if not path.is_file() or path.stat().st_size > MAX_BYTES:
        raise InputError([Problem(name, None, "", f"not a workbook file of at most {MAX_BYTES} bytes")])
    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise InputError([Problem(name, None, "", f"not an .xlsx workbook: {exc}")]) from None
    wanted = list(names)
    try:
        sheet = next((book[s] for s in wanted if s in book.sheetnames), None)
        if sheet is None:
            expected = " or ".join(repr(s) for s in wanted)
            raise InputError([Problem(name, None, "", f"no sheet named {expected}")])
        return sheet.title, list(sheet.iter_rows(values_only=True))
    except DAMAGED_SHEET as exc:  # the sheet's XML is read only now, row by row
        raise InputError([Problem(name, None, "", f"a damaged .xlsx workbook: {exc}")]) from None
    finally:
        book.close()


DAMAGED_SHEET = (ElementTree.ParseError, zipfile.BadZipFile, zlib.error, EOFError, KeyError, ValueError)
"""What reading a truncated or corrupt sheet raises (truncated XML, a bad CRC, a broken stream)."""


def _claims(rows: list[tuple[Any, ...]], title: str, name: str, model: MaturityModel) -> list[Claim]:
    header = [str(v).strip() if v is not None else "" for v in (rows[0] if rows else ())]
    if tuple(header[: len(ROLES)]) not in HEADERS.values():
        raise EvidencePackError([Problem(name, 1, title, "the header row is not the template's")])
    known = {c.id for c in model.characteristics()}
    problems: list[Problem] = []
    seen: dict[str, int] = {}
    claims: dict[str, Claim] = {}
    for number, row in enumerate(rows[1:], start=2):
        values = dict(zip(ROLES, row, strict=False))
        cid = _text(values.get("characteristic"))
        if cid is None and all(v is None for v in row):
            continue
        where = f"{title}!{_column('characteristic')}{number}"
        if cid not in known:
            problems.append(
                Problem(name, number, where, f"{cid!r} is not a characteristic of {model.standard}")
            )
            continue
        if cid in seen:
            problems.append(Problem(name, number, where, f"{cid} also appears in row {seen[cid]}"))
            continue
        seen[cid] = number
        levels = {}
        for role, label in (("now", "level now"), ("in_two_years", "level in two years")):
            level, problem = _level(values.get(role))
            if problem:
                cell = f"{title}!{_column(role)}{number}"
                problems.append(Problem(name, number, cell, f"{label} for {cid} {problem}"))
            levels[role] = level
        if levels["now"] is not None and levels["in_two_years"] is not None:
            claims[cid] = Claim(characteristic=cid, now=levels["now"], in_two_years=levels["in_two_years"])
    for cid in sorted(known - set(seen), key=lambda c: [int(p) for p in c.split(".")]):
        problems.append(Problem(name, None, title, f"no row for characteristic {cid}"))
    if problems:
        raise EvidencePackError(problems)
    return [claims[c.id] for c in model.characteristics()]


def _text(value: Any) -> str | None:
    if value is None:
        return None
    return str(value).strip() or None


def _level(value: Any) -> tuple[int | None, str | None]:
    """A level 1-5 from a cell, or why not."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None, "is missing"
    if isinstance(value, bool):
        return None, f"is not a level: {value!r}"
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if not isinstance(value, int):
        return None, f"is not a whole number: {value!r}"
    if not 1 <= value <= 5:
        return None, f"is {value}, outside 1-5"
    return value, None
