"""``assay pack``: every command on the sample packs, and failures that change nothing."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from openpyxl import load_workbook

import examples
from assay.cli import run
from evidence_schemas.reader import read_pack


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_init_writes_a_valid_pack_with_every_kind(tmp_path: Path, fmt: str) -> None:
    folder = tmp_path / "town"
    assert (
        run(["pack", "init", str(folder), "--format", fmt, "--community", "Riverton", "--date", "2026-01-15"])
        == 0
    )
    loaded = read_pack(folder)
    assert loaded.manifest == f"pack.{fmt}"
    assert sorted({item.kind for item in loaded.pack.items}) == [
        "commitment", "document", "engagement", "governance", "kpi", "platform", "programme",
    ]  # fmt: skip
    assert loaded.pack.community.name == "Riverton"
    assert run(["pack", "init", str(folder)]) == 5  # not empty any more


def test_add_attaches_hashes_and_updates_the_manifest(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "town"
    run(["pack", "init", str(folder), "--format", "xml", "--date", "2026-01-15"])
    source = tmp_path / "minutes.pdf"
    source.write_bytes(b"%PDF-1.4 minutes of the board")
    assert (
        run(["pack", "add", str(folder), str(source), "--kind", "governance", "--id", "example-board"]) == 0
    )
    assert "attached attachments/minutes.pdf (29 bytes" in capsys.readouterr().out
    item = next(i for i in read_pack(folder).pack.items if i.id == "example-board")
    (attachment,) = item.attachments
    assert (attachment.path, attachment.media_type, attachment.size) == (
        "attachments/minutes.pdf",
        "application/pdf",
        29,
    )
    assert (folder / "attachments" / "minutes.pdf").read_bytes() == source.read_bytes()


def test_add_refuses_and_changes_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "town"
    run(["pack", "init", str(folder), "--date", "2026-01-15"])
    source = tmp_path / "note.txt"
    source.write_text("note", encoding="utf-8")
    before = _snapshot(folder)
    assert run(["pack", "add", str(folder), str(source), "--kind", "kpi", "--id", "example-board"]) == 2
    assert "example-board is a governance, not a kpi" in capsys.readouterr().err
    assert run(["pack", "add", str(folder), str(source), "--kind", "kpi", "--id", "nobody"]) == 2
    assert "no item 'nobody' in the pack" in capsys.readouterr().err
    assert _snapshot(folder) == before
    (folder / "pack.json").write_text(
        (folder / "pack.json").read_text().replace('"vision_strategy"', '"manifesto"')
    )
    broken = _snapshot(folder)
    assert run(["pack", "add", str(folder), str(source), "--kind", "document", "--id", "example-vision"]) == 2
    assert _snapshot(folder) == broken


@pytest.mark.parametrize("name", examples.SAMPLES)
def test_validate_and_export_on_every_sample(
    name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pack = examples.sample_pack(name)
    assert run(["pack", "validate", str(pack)]) == 0
    digest = read_pack(pack).digest
    assert digest in capsys.readouterr().out
    for fmt in ("json", "xml"):
        folder = tmp_path / fmt
        shutil.copytree(pack, folder)
        for manifest in ("pack.json", "pack.xml"):
            (folder / manifest).unlink(missing_ok=True)
        assert run(["pack", "export", str(pack), "--format", fmt, "--out", str(folder / f"pack.{fmt}")]) == 0
        assert read_pack(folder).digest == digest
    assert run(["pack", "export", str(pack), "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["id"] == read_pack(pack).pack.id


def test_validate_lists_problems_and_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "pack"
    shutil.copytree(examples.sample_pack("norbridge"), folder)
    text = (folder / "pack.xml").read_text(encoding="utf-8")
    (folder / "pack.xml").write_text(text.replace("<unit>jobs</unit>", "<unit>jobs</unit><colour>x</colour>"))
    assert run(["pack", "validate", str(folder)]) == 2
    error = capsys.readouterr().err
    assert "pack.xml:" in error
    assert "Element 'colour': This element is not expected." in error


def test_template_and_import_claims(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    workbook = tmp_path / "self-assessment.xlsx"
    assert run(["pack", "template", "--xlsx", str(workbook), "--lang", "zh"]) == 0
    book = load_workbook(workbook)
    sheet = book["自我评估"]
    for row in sheet.iter_rows(min_row=2):
        row[8].value, row[9].value = 3, 4
    book.save(workbook)
    folder = tmp_path / "pack"
    shutil.copytree(examples.sample_pack("larkfield"), folder)
    assert run(["pack", "import-claims", str(workbook), str(folder)]) == 0
    claims = read_pack(folder).pack.claims
    assert len(claims) == 32
    assert {(c.now, c.in_two_years) for c in claims} == {(3, 4)}
    sheet["I5"] = 9
    book.save(workbook)
    before = _snapshot(folder)
    assert run(["pack", "import-claims", str(workbook), str(folder)]) == 2
    assert "自我评估!I5: level now for 1.2.2 is 9, outside 1-5" in capsys.readouterr().err
    assert _snapshot(folder) == before


def test_changes_need_a_folder_not_a_zip(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    archive = shutil.make_archive(str(tmp_path / "pack"), "zip", examples.sample_pack())
    assert run(["pack", "validate", archive]) == 0
    workbook = tmp_path / "w.xlsx"
    run(["pack", "template", "--xlsx", str(workbook)])
    assert run(["pack", "import-claims", str(workbook), archive]) == 2
    assert "changes need a pack folder, not a zip" in capsys.readouterr().err
