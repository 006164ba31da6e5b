"""Crosswalks: one verified pack re-offered to other models, evaluated, and compared."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

import examples
import rules as bundled_rules
from assay.cli import run
from engine.catalogue import MaturityModel
from engine.crosswalk import CROSSWALKS, load_crosswalk, translate
from engine.errors import RulePackError
from engine.multimodel import evaluate_models
from engine.reference import ReferenceInference
from engine.rulepack import load_rule_pack
from evidence_schemas.reader import read_pack
from tests.helpers import AS_OF

MODELS = ["iso37107-2019", "pas181", "itu-y4904"]


def catalogues() -> dict[str, MaturityModel]:
    return {m: load_rule_pack(bundled_rules.bundled(m)).model for m in MODELS}


def test_items_follow_their_iso37106_sub_component_and_keep_their_verdicts() -> None:
    pack = read_pack(examples.sample_pack()).pack
    crosswalk = load_crosswalk(catalogues())
    translated = translate(pack, "pas181", crosswalk)
    items = {i.id: i for i in translated.pack.items}
    vision = next(i for i in pack.items if "1.1.1" in i.offered_for)  # 1.1.1 rests on B1
    assert items[vision.id].offered_for == ["1.1"]  # PAS 181 leadership environment: B1, B2, B4
    assert translated.pack.model == "pas181"
    assert translated.pack.claims == []
    purposes_only = [i.id for i in pack.items if all(c.startswith("4.") for c in i.offered_for)]
    assert purposes_only
    assert set(purposes_only) <= set(translated.dropped)
    kept = {i.id for i in translated.pack.items}
    assert {v.evidence_id for v in translated.pack.verifications} == {
        v.evidence_id for v in pack.verifications if v.evidence_id in kept
    }
    assert translate(pack, pack.model, crosswalk).pack is pack


def test_three_models_from_one_pack_and_where_they_agree() -> None:
    pack = read_pack(examples.sample_pack()).pack
    runs, report = evaluate_models(pack, MODELS, AS_OF, ReferenceInference())
    assert list(runs) == MODELS
    levels = {
        m: {c.id: c.verified_level for c in r.evaluation.result.characteristics} for m, r in runs.items()
    }
    assert levels["pas181"].keys() == {f"1.{n}" for n in range(1, 8)}
    rows = {row["sub_component"]: row for row in report["sub_components"]}
    # B1 (vision): MMSSC 1.1.x, PAS 181 1.1 and Y.4904 1.1 all rest on it.
    b1 = rows["B1"]["models"]
    assert b1["pas181"]["characteristics"] == {"1.1": levels["pas181"]["1.1"]}
    assert b1["itu-y4904"]["characteristics"] == {"1.1": levels["itu-y4904"]["1.1"]}
    assert b1["iso37107-2019"]["level"] == min(levels["iso37107-2019"][c] or 0 for c in ("1.1.1", "1.1.2"))
    for row in report["sub_components"]:
        compared = [m["level"] for m in row["models"].values() if m["level"] is not None]
        assert row["agree"] == (len(compared) > 1 and len(set(compared)) == 1)
        assert row["spread"] == (max(compared) - min(compared) if len(compared) > 1 else None)
    # Harbourton's vision sub-component: the models do not rate it alike (the report says by how much).
    assert not rows["B1"]["agree"]
    assert rows["B1"]["spread"] == max(m["level"] for m in b1.values()) - min(m["level"] for m in b1.values())
    colours = {p["characteristic"]: p["colour"] for p in report["iso18091"]}
    functions = {p["characteristic"]: p["functions"] for p in report["iso18091"]}
    mmssc = load_rule_pack(bundled_rules.bundled("iso37107-2019")).model
    assert functions["4.3"] == mmssc.characteristic("4.3").references["iso18091"] != []
    for cid, colour in colours.items():
        level = levels["iso37107-2019"][cid]
        assert colour == ("red" if level == 1 else "yellow" if level == 2 else "green")


def test_evaluate_with_models_writes_each_result_and_the_crosswalk(tmp_path: Path) -> None:
    args = ["evaluate", str(examples.sample_pack()), "--as-of", AS_OF.isoformat()]
    for model in MODELS:
        args += ["--model", model]
    assert run([*args, "--out", str(tmp_path / "a"), "--engine", "reference"]) == 0
    assert run([*args, "--out", str(tmp_path / "b"), "--engine", "reference"]) == 0
    written = sorted(
        p.relative_to(tmp_path / "a").as_posix() for p in (tmp_path / "a").rglob("*") if p.is_file()
    )
    assert written == sorted(
        ["crosswalk.json", "crosswalk.md"]
        + [f"{m}/{f}" for m in MODELS for f in ("result.json", "summary.md", "trail.jsonl")]
    )
    for name in written:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
    result = json.loads((tmp_path / "a" / "pas181" / "result.json").read_text(encoding="utf-8"))
    assert result["rule_pack"]["id"] == "pas181"
    markdown = (tmp_path / "a" / "crosswalk.md").read_text(encoding="utf-8")
    assert "| B1 Vision and strategy |" in markdown
    assert "## ISO 18091 diagnostic of the MMSSC purposes" in markdown


def test_an_unknown_model_is_named(capsys: pytest.CaptureFixture[str]) -> None:
    code = run(["evaluate", str(examples.sample_pack()), "--as-of", AS_OF.isoformat(), "--model", "pas182"])
    assert code == 2
    assert "no bundled rule pack 'pas182'" in capsys.readouterr().err


def test_a_broken_crosswalk_lists_every_problem(tmp_path: Path) -> None:
    folder = tmp_path / "crosswalks"
    shutil.copytree(CROSSWALKS, folder)
    text = (folder / "iso37106.yaml").read_text(encoding="utf-8")
    text = text.replace('"1.6": [B12]', '"1.6": [B99]').replace('"1.7": [C]', '"9.9": [C]')
    (folder / "iso37106.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(RulePackError) as caught:
        load_crosswalk(catalogues(), folder)
    messages = sorted(p.message for p in caught.value.problems)
    assert messages == ["unknown characteristic", "unknown sub-component 'B99'"]
    assert all(p.line is not None for p in caught.value.problems)
