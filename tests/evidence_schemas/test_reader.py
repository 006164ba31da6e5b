"""Reading evidence packs: folders, zips and manifests; every malformed and hostile input named."""

from __future__ import annotations

import stat
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import examples
from engine.errors import EvidencePackError
from evidence_schemas.reader import Limits, pack_digest, read_pack
from evidence_schemas.writer import write_manifest

Edit = Callable[[Path, Callable[[dict[str, Any]], None]], None]


def _problems(location: Path, limits: Limits | None = None) -> list[tuple[str, int | None, str, str]]:
    with pytest.raises(EvidencePackError) as caught:
        read_pack(location, limits)
    return [(Path(p.file).name, p.line, p.path, p.message) for p in caught.value.problems]


def _zip(folder: Path, target: Path, extra: dict[str, bytes] | None = None) -> Path:
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                archive.write(path, path.relative_to(folder).as_posix())
        for name, data in (extra or {}).items():
            archive.writestr(name, data)
    return target


@pytest.mark.parametrize("name", examples.SAMPLES)
def test_every_sample_pack_reads(name: str) -> None:
    loaded = read_pack(examples.sample_pack(name))
    assert loaded.digest == pack_digest(loaded.pack)
    assert loaded.pack.claims
    assert any(item.attachments for item in loaded.pack.items)


def test_folder_zip_and_manifest_give_the_same_pack(sample_copy: Path, tmp_path: Path) -> None:
    folder = read_pack(sample_copy)
    archive = read_pack(_zip(sample_copy, tmp_path / "pack.zip"))
    manifest = read_pack(sample_copy / "pack.json")
    assert folder.digest == archive.digest == manifest.digest
    xml = tmp_path / "xml"
    (xml / "attachments").mkdir(parents=True)
    for path in (sample_copy / "attachments").iterdir():
        (xml / "attachments" / path.name).write_bytes(path.read_bytes())
    write_manifest(xml, folder.pack, "xml")
    assert read_pack(xml).digest == folder.digest
    assert read_pack(xml).manifest == "pack.xml"


def test_json_schema_problems_are_listed_together_with_lines(sample_copy: Path, edit_manifest: Edit) -> None:
    def change(data: dict[str, Any]) -> None:
        data["items"][0]["doc_type"] = "manifesto"
        data["items"][0]["colour"] = "green"
        data["items"][1]["baseline"]["value"] = "99"
        del data["items"][2]["unit"]
        data["verifications"][0]["verdict"] = "maybe"
        data["community"]["name"] = "Harbour\x07ton"

    edit_manifest(sample_copy, change)
    problems = _problems(sample_copy)
    paths = {path: (line, message) for _, line, path, message in problems}
    assert paths["items[0].doc_type"][1].startswith("Input should be 'vision_strategy'")
    assert paths["items[0].colour"][1] == "unknown field"
    assert paths["items[1].baseline.value"][1] == "Input should be a valid number"
    assert paths["items[2].unit"][1] == "required field is missing"
    assert paths["verifications[0].verdict"][1] == "Input should be 'accepted' or 'rejected'"
    assert paths["community.name"][1] == "contains the control character U+0007, which XML cannot carry"
    assert all(line is not None and line > 1 for _, line, _, _ in problems)
    assert len(problems) == 6


def test_a_tampered_or_missing_attachment_is_named(sample_copy: Path) -> None:
    (sample_copy / "attachments" / "vision-2035.txt").write_text("forged", encoding="utf-8")
    (sample_copy / "attachments" / "resilience-plan.txt").unlink()
    problems = {(path, message) for _, _, path, message in _problems(sample_copy)}
    assert problems == {
        ("items[0].attachments[0].size", "attachments/vision-2035.txt has 6 bytes, not 294"),
        ("items[0].attachments[0].sha256", "attachments/vision-2035.txt does not match its sha256"),
        ("items[8].attachments[0].path", "attachments/resilience-plan.txt is missing"),
    }


def test_attachment_paths_cannot_leave_the_pack(sample_copy: Path, edit_manifest: Edit) -> None:
    def change(data: dict[str, Any]) -> None:
        data["items"][0]["attachments"][0]["path"] = "../../etc/passwd"
        data["items"][5]["attachments"][0]["path"] = "/etc/passwd"

    edit_manifest(sample_copy, change)
    problems = _problems(sample_copy)
    assert sum("stays inside the pack" in m for _, _, _, m in problems) == 2


def test_cross_item_problems(sample_copy: Path, edit_manifest: Edit) -> None:
    def change(data: dict[str, Any]) -> None:
        data["items"][1]["id"] = data["items"][0]["id"]
        data["verifications"].append({**data["verifications"][2], "verdict": "rejected"})
        data["verifications"].append({**data["verifications"][2], "evidence_id": "ghost"})
        data["claims"].append(data["claims"][0])

    edit_manifest(sample_copy, change)
    ((_, _, _, message),) = _problems(sample_copy)
    assert "duplicate item ids: vision-2035" in message
    assert "verifications of items not in the pack: ghost" in message
    assert "conflicting verdicts on one date: kpi-loneliness on 2026-06-12" in message
    assert "characteristics claimed twice: 1.1.1" in message


def test_no_manifest_two_manifests_and_bad_json(tmp_path: Path, sample_copy: Path) -> None:
    assert _problems(tmp_path) == [
        (tmp_path.name, None, "", "a pack needs one of pack.json or pack.xml; found neither")
    ]
    (sample_copy / "pack.xml").write_text("<pack/>", encoding="utf-8")
    assert "found pack.json, pack.xml" in _problems(sample_copy)[0][3]
    (tmp_path / "pack.json").write_text('{"format": "assay-evidence-pack/1",\n "id": }', encoding="utf-8")
    ((_, line, _, message),) = _problems(tmp_path)
    assert line == 2
    assert message.startswith("not valid JSON")
    assert _problems(tmp_path / "nothing-here") == [
        ("nothing-here", None, "", "not a pack folder, zip or manifest")
    ]


def test_unreferenced_files_and_symlinks_in_a_folder(sample_copy: Path) -> None:
    (sample_copy / "attachments" / "notes.txt").write_text("stray", encoding="utf-8")
    (sample_copy / "attachments" / "link.txt").symlink_to("/etc/hostname")
    problems = _problems(sample_copy)
    assert ("link.txt", None, "", "symlinks are not allowed in a pack") in problems
    assert ("notes.txt", None, "", "not referenced by the manifest") in problems


@pytest.mark.filterwarnings("ignore:Duplicate name")
def test_zip_entries_that_escape_or_are_links_are_refused(sample_copy: Path, tmp_path: Path) -> None:
    archive = _zip(sample_copy, tmp_path / "evil.zip", {"../outside.txt": b"x", "/abs.txt": b"y"})
    with zipfile.ZipFile(archive, "a") as handle:
        link = zipfile.ZipInfo("attachments/link")
        link.external_attr = (stat.S_IFLNK | 0o777) << 16
        handle.writestr(link, "/etc/passwd")
        handle.writestr("attachments/vision-2035.txt", b"a second copy")
    problems = {(name, message) for name, _, _, message in _problems(archive)}
    assert ("outside.txt", "entry path is absolute or leaves the pack") in problems
    assert ("abs.txt", "entry path is absolute or leaves the pack") in problems
    assert ("link", "symlinks are not allowed in a pack") in problems
    assert ("vision-2035.txt", "entry appears twice in the archive") in problems
    assert not (tmp_path.parent / "outside.txt").exists()


def test_size_caps_stop_reading(sample_copy: Path, tmp_path: Path) -> None:
    assert _problems(sample_copy, Limits(manifest=1000))[0][3] == "larger than the limit of 1000 bytes"
    caps = {message for _, _, _, message in _problems(sample_copy, Limits(attachment=200))}
    assert "attachments/vision-2035.txt is larger than the limit of 200 bytes" in caps
    total = (sample_copy / "pack.json").stat().st_size + 300
    over = _problems(sample_copy, Limits(total=total))
    assert [m for _, _, _, m in over] == [f"the pack exceeds the limit of {total} bytes"]


def test_a_zip_bomb_is_cut_off_at_the_cap(sample_copy: Path, tmp_path: Path, edit_manifest: Edit) -> None:
    import hashlib

    bomb = b"\0" * (64 << 20)  # 64 MiB of zeros deflates to about 64 KiB

    def change(data: dict[str, Any]) -> None:
        data["items"][0]["attachments"] = [{
            "path": "attachments/bomb.bin", "media_type": "application/octet-stream",
            "size": len(bomb), "sha256": hashlib.sha256(bomb).hexdigest(),
        }]  # fmt: skip

    edit_manifest(sample_copy, change)
    (sample_copy / "attachments" / "vision-2035.txt").unlink()
    archive = _zip(sample_copy, tmp_path / "bomb.zip", {"attachments/bomb.bin": bomb})
    assert archive.stat().st_size < 1 << 20
    problems = _problems(archive, Limits(attachment=1 << 20))
    assert [m for _, _, _, m in problems] == [
        "attachments/bomb.bin is larger than the limit of 1048576 bytes"
    ]
    assert read_pack(archive).pack.items[0].attachments[0].size == 64 << 20


def test_a_failed_read_changes_nothing(sample_copy: Path, edit_manifest: Edit) -> None:
    before = {p: p.read_bytes() for p in sample_copy.rglob("*") if p.is_file()}
    edit_manifest(sample_copy, lambda data: data["items"][0].update(doc_type="manifesto"))
    edited = (sample_copy / "pack.json").read_bytes()
    with pytest.raises(EvidencePackError):
        read_pack(sample_copy)
    after = {p: p.read_bytes() for p in sample_copy.rglob("*") if p.is_file()}
    assert after == {**before, sample_copy / "pack.json": edited}
