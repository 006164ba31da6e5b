"""The checked-pack record: a pack that passed is built again without its checks, and nothing
but the exact same files under the same code is ever taken as checked."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import engine.rulepack as rulepack
import rules as bundled_rules
from engine.errors import RulePackError
from engine.packcache import CheckedPacks
from engine.rulepack import load_rule_pack


@pytest.fixture
def pack_copy(tmp_path: Path) -> Path:
    folder = tmp_path / "pack"
    shutil.copytree(bundled_rules.bundled(), folder)
    return folder


def _forbid_checks(monkeypatch: pytest.MonkeyPatch) -> None:
    def checks(folder: Path) -> rulepack.RulePack:
        raise AssertionError(f"{folder} was checked again")

    monkeypatch.setattr(rulepack, "_load_and_check", checks)


def test_a_pack_that_passed_loads_again_without_its_checks_and_the_same(
    pack_copy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    checked = CheckedPacks(tmp_path / "cache")
    first = load_rule_pack(pack_copy, checked=checked)
    assert len(list((tmp_path / "cache").iterdir())) == 1
    _forbid_checks(monkeypatch)
    again = load_rule_pack(pack_copy, checked=checked)
    assert again.digest == first.digest
    assert again.files == first.files
    assert again.model == first.model
    assert again.characteristics == first.characteristics
    assert again.limits_checked


def test_an_edited_rule_file_is_checked_in_full(pack_copy: Path, tmp_path: Path) -> None:
    checked = CheckedPacks(tmp_path / "cache")
    load_rule_pack(pack_copy, checked=checked)
    rule_file = pack_copy / "characteristics" / "1.1.1.yaml"
    rule_file.write_text(rule_file.read_text(encoding="utf-8") + "\nsurprise: 1\n", encoding="utf-8")
    with pytest.raises(RulePackError) as raised:
        load_rule_pack(pack_copy, checked=checked)
    assert [(p.file.endswith("1.1.1.yaml"), p.path, p.message) for p in raised.value.problems] == [
        (True, "surprise", "unknown field")
    ]


def test_a_marker_that_does_not_match_is_not_trusted(
    pack_copy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    checked = CheckedPacks(tmp_path / "cache")
    load_rule_pack(pack_copy, checked=checked)
    [marker] = (tmp_path / "cache").iterdir()
    marker.write_bytes(b"pack sha256:0\ncode 0\n")
    calls: list[Path] = []
    original = rulepack._load_and_check

    def counting(folder: Path) -> rulepack.RulePack:
        calls.append(folder)
        return original(folder)

    monkeypatch.setattr(rulepack, "_load_and_check", counting)
    load_rule_pack(pack_copy, checked=checked)
    assert calls == [pack_copy]


def test_other_code_misses(pack_copy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    load_rule_pack(pack_copy, checked=CheckedPacks(tmp_path / "cache"))
    monkeypatch.setattr("engine.packcache.code_digest", lambda: "another version")
    assert not CheckedPacks(tmp_path / "cache").passed(load_rule_pack(pack_copy).digest)


def test_a_cache_that_cannot_be_written_only_costs_time(pack_copy: Path, tmp_path: Path) -> None:
    blocked = tmp_path / "file"
    blocked.write_text("not a folder", encoding="utf-8")
    pack = load_rule_pack(pack_copy, checked=CheckedPacks(blocked / "cache"))
    assert len(pack.characteristics) == 32


def test_the_cache_folder_follows_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("ASSAY_CACHE_DIR", str(tmp_path))
    cache = CheckedPacks.default()
    assert cache is not None
    assert cache.folder == tmp_path / "checked-packs"
    monkeypatch.setenv("ASSAY_CACHE_DIR", "off")
    assert CheckedPacks.default() is None
    monkeypatch.delenv("ASSAY_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    cache = CheckedPacks.default()
    assert cache is not None
    assert cache.folder == tmp_path / "xdg" / "assay" / "checked-packs"
