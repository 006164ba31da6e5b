"""The assay command line, end to end: outputs, determinism, exit codes, no partial folders."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import engine.durable_actions as durable_actions
import examples
import rules as bundled_rules
from assay.cli import run

Edit = Callable[[Path, Callable[[dict[str, Any]], None]], None]


def test_demo_writes_result_trail_and_summary(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "demo"
    assert run(["demo", "--out", str(out), "--date", "2026-07-20"]) == 0
    output = capsys.readouterr().out
    printed = " ".join(output.split())  # messages wrap at the terminal's width (80 in a pipe)
    assert "Harbourton" in printed
    assert "4.3 Resilience" in printed
    records = len((out / "trail.jsonl").read_text(encoding="utf-8").splitlines())
    assert f"Evaluation trail verified: {records} records" in printed
    for step in (
        "mei.harbourton applies for ISO/TS 37107:2019 certification of Harbourton: ENG-2026-0001",
        "sofia assigns lead auditor rolu, auditor amira, reviewer jonas",
        "mei.harbourton submits the evidence pack: version 1",
        "refused and recorded: mei.harbourton may not verify evidence",
        "rolu records 118 verdicts (117 accepted, 1 rejected)",
        "refused and recorded: rolu may not decide on ENG-2026-0001: they audited it",
        "jonas (not on the audit team) decides on 2026-07-20: certify",
        "sofia issues the certificate",
    ):
        assert step in printed
    assert sorted(p.name for p in out.iterdir()) == [
        "certificate.pdf",
        "data",
        "result.json",
        "submission",
        "summary.md",
        "test-pki",
        "trail.jsonl",
    ]
    number = "ASSAY-2026-000001"  # numbered in the year of the decision (--date)
    assert f"Issued certificate {number} to Harbourton" in printed
    assert f"VALID: certificate {number} for Harbourton" in printed
    verify = f" verify {out}/certificate.pdf --trust {out}/test-pki/root.pem --register {out}/data"
    assert len([line for line in output.splitlines() if line.endswith(verify)]) == 1
    assert run(verify.split()) == 0
    result = json.loads((out / "result.json").read_text(encoding="utf-8"))
    levels = {c["id"]: c["verified_level"] for c in result["characteristics"] if c["status"] == "evaluated"}
    assert len(levels) == 32
    assert {c: levels[c] for c in ("1.1.1", "1.5.2", "4.3")} == {"1.1.1": 4, "1.5.2": 4, "4.3": 2}
    summary = (out / "summary.md").read_text(encoding="utf-8")
    assert "# Harbourton: ISO/TS 37107:2019 assessment as of 2026-06-30" in summary
    assert "rejected by the auditor: resilience-procedure" in summary
    assert run(["demo", "--out", str(out)]) == 0  # the demo replaces its own folder


def test_the_installed_command_runs_the_demo(tmp_path: Path) -> None:
    command = shutil.which("assay") or str(Path(__file__).resolve().parents[2] / ".venv" / "bin" / "assay")
    done = subprocess.run(
        [command, "demo", "--out", str(tmp_path / "d")], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "d" / "trail.jsonl").is_file()


def _evaluate(out: Path, *extra: str) -> int:
    return run(["evaluate", str(examples.sample_pack()), "--as-of", "2026-06-30", "--out", str(out), *extra])


def test_evaluate_is_byte_identical_across_runs_and_engines(tmp_path: Path) -> None:
    assert _evaluate(tmp_path / "a") == 0
    assert _evaluate(tmp_path / "b") == 0
    assert _evaluate(tmp_path / "c", "--engine", "reference") == 0
    for name in ("result.json", "trail.jsonl", "summary.md"):
        first = (tmp_path / "a" / name).read_bytes()
        assert first == (tmp_path / "b" / name).read_bytes() == (tmp_path / "c" / name).read_bytes()


def test_evaluate_json_prints_the_result(capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        run(["evaluate", str(examples.sample_pack() / "pack.json"), "--as-of", "2026-06-30", "--json"]) == 0
    )
    result = json.loads(capsys.readouterr().out)
    assert result["format"] == "assay-result/1"
    assert result["as_of"] == "2026-06-30"


def test_a_bad_pack_exits_2_listing_every_problem_and_writes_nothing(
    sample_copy: Path, edit_manifest: Edit, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    def change(data: dict[str, Any]) -> None:
        data["items"][0]["doc_type"] = "manifesto"
        data["items"][3]["direction"] = "sideways"

    edit_manifest(sample_copy, change)
    out = tmp_path / "out"
    before = sorted(p.name for p in tmp_path.iterdir())
    assert run(["evaluate", str(sample_copy), "--as-of", "2026-06-30", "--out", str(out)]) == 2
    error = capsys.readouterr().err
    assert "invalid evidence pack: 2 problems" in error
    assert "items[0].doc_type" in error
    assert "items[3].direction" in error
    assert "pack.json:" in error
    assert sorted(p.name for p in tmp_path.iterdir()) == before


def test_an_engine_failure_exits_4_and_leaves_no_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def broken(*_: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(durable_actions, "leaf_outcome", broken)
    assert _evaluate(tmp_path / "out") == 4
    assert "rule action failed" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_an_occupied_output_folder_is_left_alone_unless_forced(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("mine", encoding="utf-8")
    assert _evaluate(out) == 5
    assert [p.name for p in out.iterdir()] == ["notes.txt"]
    assert _evaluate(out, "--force") == 0
    assert sorted(p.name for p in out.iterdir()) == ["result.json", "summary.md", "trail.jsonl"]
    assert [p.name for p in tmp_path.iterdir()] == ["out"]


def test_rules_validate_list_and_test(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert run(["rules", "validate"]) == 0
    assert "iso37107-2019: valid, 32 characteristics" in capsys.readouterr().out
    assert run(["rules", "list"]) == 0
    listing = capsys.readouterr().out
    assert "3.2.3" in listing
    assert "unclassified" in listing
    assert run(["rules", "test"]) == 0
    tested = capsys.readouterr().out
    assert "256 of 256 cases pass" in tested
    assert (
        "iso37107-2019: 94 of 96 profiles agree (98%); 2 of the 2 differences are known and explained"
        in tested
    )
    assert "profile 4.1 corvann-attractiveness-strategy: expected 3, verified 2 (known difference: " in tested
    broken = tmp_path / "pack"
    shutil.copytree(bundled_rules.bundled(), broken)
    path = broken / "characteristics" / "1.1.1.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(
        text.replace("kind: engagement", "kind: meeting").replace("as_at: 4", "as_at: 6"), encoding="utf-8"
    )
    assert run(["rules", "validate", str(broken)]) == 2
    error = capsys.readouterr().err
    assert "invalid rule pack: 2 problems" in error
    assert "levels[5].as_at: as_at 6: there is no level 6" in error
    assert "unknown evidence kind 'meeting'" in error


def test_rules_explain_in_english_and_chinese(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["rules", "explain", "1.5.2"]) == 0
    english = capsys.readouterr().out
    assert english.startswith("1.5.2 Benefit tracking\n")
    assert "Level 3 Fulfilled  [Table A.1, 1.5.2, level 3]" in english
    assert "as at level 2, plus:" in english
    assert "every such item: baseline exists, targets.count >= 2" in english
    assert run(["rules", "explain", "1.5.2", "--lang", "zh"]) == 0
    chinese = capsys.readouterr().out
    assert chinese.startswith("1.5.2 推动收益方案实施\n")
    assert "级别 3 实现" in chinese
    assert run(["rules", "explain", "9.9"]) == 2
    assert "'9.9' is not encoded" in capsys.readouterr().err


def test_trail_verify_exit_codes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _evaluate(tmp_path / "out") == 0
    trail = tmp_path / "out" / "trail.jsonl"
    lines = trail.read_text(encoding="utf-8").splitlines()
    assert run(["trail", "verify", str(trail)]) == 0
    assert f"intact: {len(lines)} records" in capsys.readouterr().out
    del lines[6]
    trail.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert run(["trail", "verify", str(trail)]) == 3
    assert "record 7" in capsys.readouterr().err


def test_a_pack_for_another_model_is_one_problem_naming_the_manifest_read(
    capsys: pytest.CaptureFixture[str],
) -> None:
    norbridge = examples.sample_pack("norbridge")
    assert (
        run(
            [
                "evaluate",
                str(norbridge),
                "--as-of",
                "2026-06-30",
                "--rules",
                str(bundled_rules.bundled("pas181")),
            ]
        )
        == 2
    )
    error = capsys.readouterr().err
    assert error.splitlines() == [
        "assay: invalid evidence pack: 1 problem",
        f"  - {norbridge}/pack.xml: model: pack is for 'iso37107-2019', rule pack is 'pas181' "
        "(Smart city maturity model on BSI PAS 181:2014)",
    ]
