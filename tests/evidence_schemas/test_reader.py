"""Reading evidence packs: the sample is valid; bad packs fail whole, naming every problem."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from engine.errors import EvidencePackError
from evidence_schemas.reader import pack_digest, read_pack

Edit = Callable[[Path, Callable[[dict[str, Any]], None]], None]


def _problems(folder: Path) -> list[tuple[int | None, str, str]]:
    with pytest.raises(EvidencePackError) as caught:
        read_pack(folder)
    return [(p.line, p.path, p.message) for p in caught.value.problems]


def test_sample_pack_reads_and_its_digest_is_stable(sample_copy: Path) -> None:
    first = read_pack(sample_copy)
    assert first.pack.community.name == "Harbourton"
    assert len(first.pack.items) == 14
    assert first.digest == pack_digest(first.pack) == read_pack(sample_copy / "pack.json").digest


def test_schema_problems_are_listed_together_with_lines(sample_copy: Path, edit_manifest: Edit) -> None:
    def change(data: dict[str, Any]) -> None:
        data["items"][0]["doc_type"] = "manifesto"
        data["items"][0]["colour"] = "green"
        data["items"][1]["baseline"]["value"] = "99"
        del data["items"][2]["unit"]
        data["verifications"][0]["verdict"] = "maybe"

    edit_manifest(sample_copy, change)
    problems = _problems(sample_copy)
    paths = {path: (line, message) for line, path, message in problems}
    assert paths["items[0].doc_type"][1].startswith("Input should be 'vision_strategy'")
    assert paths["items[0].colour"][1] == "unknown field"
    assert paths["items[1].baseline.value"][1] == "Input should be a valid number"
    assert paths["items[2].unit"][1] == "required field is missing"
    assert paths["verifications[0].verdict"][1] == "Input should be 'accepted' or 'rejected'"
    assert all(line is not None for line, _, _ in problems)
    assert len(problems) == 5


def test_a_tampered_or_missing_attachment_is_named(sample_copy: Path) -> None:
    (sample_copy / "attachments" / "vision-2035.txt").write_text("forged", encoding="utf-8")
    (sample_copy / "attachments" / "resilience-plan.txt").unlink()
    problems = {(path, message) for _, path, message in _problems(sample_copy)}
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
    assert sum("stays inside the pack" in m for _, _, m in problems) == 2


def test_cross_item_problems(sample_copy: Path, edit_manifest: Edit) -> None:
    def change(data: dict[str, Any]) -> None:
        data["items"][1]["id"] = data["items"][0]["id"]
        data["verifications"].append({**data["verifications"][2], "verdict": "rejected"})
        data["verifications"].append({**data["verifications"][2], "evidence_id": "ghost"})
        data["claims"].append(data["claims"][0])

    edit_manifest(sample_copy, change)
    (problem,) = _problems(sample_copy)
    message = problem[2]
    assert "duplicate item ids: vision-2035" in message
    assert "verifications of items not in the pack: ghost" in message
    assert "conflicting verdicts on one date: kpi-loneliness on 2026-06-12" in message
    assert "characteristics claimed twice: 1.1.1" in message


def test_not_json_and_no_manifest(tmp_path: Path) -> None:
    assert _problems(tmp_path) == [(None, "", "no pack.json found")]
    (tmp_path / "pack.json").write_text('{"format": "assay-evidence-pack/1",\n "id": }', encoding="utf-8")
    ((line, _, message),) = _problems(tmp_path)
    assert line == 2
    assert message.startswith("not valid JSON")
