"""The self-assessment workbook: the template mirrors Annex A; a filled one gives claims."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook

from engine.errors import EvidencePackError
from engine.rulepack import RulePack
from evidence_schemas.workbook import HEADERS, SHEETS, read_claims, write_template


def _rows(path: Path, sheet: str) -> list[tuple[Any, ...]]:
    book = load_workbook(path)
    return [tuple(c.value for c in row) for row in book[sheet].iter_rows()]


def _fill(path: Path, sheet: str, values: dict[str, tuple[Any, Any]]) -> None:
    book = load_workbook(path)
    rows = book[sheet]
    for row in rows.iter_rows(min_row=2):
        key = str(row[1].value)
        if key in values:
            row[8].value, row[9].value = values[key]
    book.save(path)


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_the_template_mirrors_annex_a(tmp_path: Path, rule_pack: RulePack, lang: str) -> None:
    path = tmp_path / "self-assessment.xlsx"
    write_template(path, rule_pack.model, rule_pack, lang)  # type: ignore[arg-type]
    rows = _rows(path, SHEETS[lang])  # type: ignore[index]
    assert rows[0] == HEADERS[lang]  # type: ignore[index]
    assert [r[1] for r in rows[1:]] == [c.id for c in rule_pack.model.characteristics()]
    by_id = {r[1]: r for r in rows[1:]}
    tracking = rule_pack.characteristics["1.5.2"]
    model = rule_pack.model
    text = "en" if lang == "en" else "zh"
    assert by_id["1.5.2"][4:8] == tuple(getattr(tracking.levels[n].summary, text) for n in (2, 3, 4, 5))
    assert by_id["1.5.2"][3] == getattr(model.level_guide(model.characteristic("1.5.2"), 1), text)
    assert by_id["2.1.1"][4] == getattr(rule_pack.characteristics["2.1.1"].levels[2].summary, text)
    bare = tmp_path / "guides.xlsx"  # without a rule pack every level text is the kind's guide
    write_template(bare, model, None, lang)  # type: ignore[arg-type]
    guided = {r[1]: r for r in _rows(bare, SHEETS[lang])[1:]}  # type: ignore[index]
    assert guided["2.1.1"][4] == getattr(model.level_guide(model.characteristic("2.1.1"), 2), text)
    assert guided["3.2.3"][5].startswith("Level 3 of its Annex A cell" if lang == "en" else "见附录 A")
    assert by_id["4.3"][0] == f"4 {getattr(model.dimensions[3].title, text)}"
    assert all(r[8] is None and r[9] is None for r in rows[1:])


def test_a_filled_workbook_gives_claims(tmp_path: Path, rule_pack: RulePack) -> None:
    path = tmp_path / "filled.xlsx"
    write_template(path, rule_pack.model, rule_pack, "zh")
    values: dict[str, tuple[Any, Any]] = {c.id: (2, 3) for c in rule_pack.model.characteristics()}
    values["1.5.2"] = (4.0, "5")  # numbers as Excel stores them, or typed as text
    _fill(path, SHEETS["zh"], values)
    claims = read_claims(path, rule_pack.model)
    assert len(claims) == 32
    by_id = {c.characteristic: c for c in claims}
    assert (by_id["1.5.2"].now, by_id["1.5.2"].in_two_years) == (4, 5)
    assert (by_id["4.6"].now, by_id["4.6"].in_two_years) == (2, 3)


def test_every_bad_cell_is_named(tmp_path: Path, rule_pack: RulePack) -> None:
    path = tmp_path / "bad.xlsx"
    write_template(path, rule_pack.model, rule_pack, "en")
    values: dict[str, tuple[Any, Any]] = {c.id: (1, 2) for c in rule_pack.model.characteristics()}
    values["1.1.1"] = (None, 3)
    values["1.1.2"] = (6, 0)
    values["1.2.1"] = ("high", 2.5)
    _fill(path, "Self-assessment", values)
    book = load_workbook(path)
    sheet = book["Self-assessment"]
    sheet["B33"] = "9.9"  # 4.6's row now names an unknown characteristic
    book.save(path)
    with pytest.raises(EvidencePackError) as caught:
        read_claims(path, rule_pack.model)
    problems = {(p.path, p.message) for p in caught.value.problems}
    assert problems == {
        ("Self-assessment!I2", "level now for 1.1.1 is missing"),
        ("Self-assessment!I3", "level now for 1.1.2 is 6, outside 1-5"),
        ("Self-assessment!J3", "level in two years for 1.1.2 is 0, outside 1-5"),
        ("Self-assessment!I4", "level now for 1.2.1 is not a whole number: 'high'"),
        ("Self-assessment!J4", "level in two years for 1.2.1 is not a whole number: 2.5"),
        ("Self-assessment!B33", "'9.9' is not a characteristic of ISO/TS 37107:2019"),
        ("Self-assessment", "no row for characteristic 4.6"),
    }


def test_not_a_workbook(tmp_path: Path, rule_pack: RulePack) -> None:
    path = tmp_path / "x.xlsx"
    path.write_bytes(b"not a zip")
    with pytest.raises(EvidencePackError, match=r"not an \.xlsx workbook"):
        read_claims(path, rule_pack.model)


def test_a_truncated_sheet_is_one_problem(tmp_path: Path, rule_pack: RulePack) -> None:
    """openpyxl reads a sheet's XML only while rows are taken: a truncated sheet raised a bare
    ElementTree.ParseError there."""
    import zipfile

    whole, cut = tmp_path / "whole.xlsx", tmp_path / "cut.xlsx"
    write_template(whole, rule_pack.model, rule_pack, "en")
    with zipfile.ZipFile(whole) as source, zipfile.ZipFile(cut, "w", zipfile.ZIP_DEFLATED) as target:
        for entry in source.infolist():
            data = source.read(entry.filename)
            target.writestr(
                entry.filename, data[: len(data) // 2] if "worksheets/sheet1" in entry.filename else data
            )
    with pytest.raises(EvidencePackError) as caught:
        read_claims(cut, rule_pack.model)
    (problem,) = caught.value.problems
    assert problem.file == str(cut)
    assert problem.message.startswith("a damaged .xlsx workbook: no element found")
