"""ITU-T Y.4904: the performance matrix in evidence packs, per-KPI levels and the catalogue check."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

import rules as bundled_rules
from assay.cli import run
from engine.durable_engine import DurableInference
from engine.errors import EvidencePackError, InputError
from engine.evaluation import evaluate_on
from engine.performance import DIMENSIONS, assess_matrix, check_matrix_pack, load_kpi_catalogue
from engine.rulepack import load_rule_pack
from evidence_schemas.reader import read_pack

AS_OF = dt.date(2026, 6, 30)
Y4904 = bundled_rules.bundled("itu-y4904")


def kpi(item_id: str, indicator: str, catalogue: str, unit: str, direction: str, latest: float,
        targets: list[float], dimension: str = "2.1") -> dict[str, Any]:  # fmt: skip
    up = direction == "higher_is_better"
    return {
        "kind": "kpi",
        "id": item_id,
        "title": f"KPI {item_id}",
        "issuer": "Statistics office",
        "period": {"start": "2025-01-01", "end": "2025-12-31"},
        "collected": "2026-04-10",
        "submitted": "2026-04-20",
        "offered_for": [dimension],
        "indicator": {"id": indicator, "catalogue": catalogue, "name": f"Indicator {indicator}"},
        "unit": unit,
        "direction": direction,
        "baseline": {"value": 20 if up else 40, "date": "2024-12-31", "method": "survey"},
        "observations": [{"date": "2026-03-31", "value": latest}],
        "maturity_targets": {f"level_{n}": t for n, t in zip(range(2, 6), targets, strict=True)},
    }  # fmt: skip


def write_pack(folder: Path, items: list[dict[str, Any]], accepted: list[str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    manifest = {
        "format": "assay-evidence-pack/1",
        "id": "fjordby-2026",
        "community": {"id": "fjordby", "name": "Fjordby", "country": "NO"},
        "model": "itu-y4904",
        "items": items,
        "verifications": [
            {
                "evidence_id": i,
                "verdict": "accepted",
                "method": "document_review",
                "reason": "checked",
                "auditor": "A. Auditor",
                "date": "2026-05-15",
            }
            for i in accepted
        ],
        "claims": [],
    }
    (folder / "pack.json").write_text(json.dumps(manifest, indent=1), encoding="utf-8")
    return folder


INTERNET = ("EC: ICT: ICT: 1C", "itu_y4903", "%", "higher_is_better")
AIR = ("EN: EN: AQ: 1C", "itu_y4903", "µg/m³", "lower_is_better")


def test_a_matrix_whose_targets_get_easier_is_refused_with_its_place(tmp_path: Path) -> None:
    bad = kpi("internet", *INTERNET, latest=55, targets=[30, 50, 45, 90])
    with pytest.raises(EvidencePackError) as caught:
        read_pack(write_pack(tmp_path / "p", [bad], ["internet"]))
    problems = caught.value.problems
    assert len(problems) == 1
    assert problems[0].path.startswith("items[0]")
    assert problems[0].line is not None
    assert (
        "not monotone: the level 4 target (45) is easier than the level 3 target (50)" in problems[0].message
    )


def test_a_falling_kpi_matrix_must_fall_and_needs_a_baseline(tmp_path: Path) -> None:
    rising = kpi("air", *AIR, latest=14, targets=[35, 25, 30, 15], dimension="2.2")
    no_baseline = kpi("air2", *AIR, latest=14, targets=[35, 25, 20, 15], dimension="2.2")
    del no_baseline["baseline"]
    with pytest.raises(EvidencePackError) as caught:
        read_pack(write_pack(tmp_path / "p", [rising, no_baseline], ["air", "air2"]))
    messages = [p.message for p in caught.value.problems]
    assert any(
        "level 4 target (30) is easier than the level 3 target (25) for a lower_is_better" in m
        for m in messages
    )
    assert any("maturity_targets needs a baseline" in m for m in messages)


def test_each_kpi_gets_its_level_and_the_engine_agrees_per_dimension(tmp_path: Path) -> None:
    items = [
        kpi("internet", *INTERNET, latest=55, targets=[30, 50, 70, 90]),  # level 3
        kpi("broadband", "EC: ICT: ICT: 2C", "itu_y4903", "%", "higher_is_better", 72, [30, 50, 70, 90]),  # 4
        kpi("air", *AIR, latest=24, targets=[35, 25, 20, 15], dimension="2.2"),  # 25 >= 24 > 20: level 3
        kpi("unverified", "LOC-1", "local", "count", "higher_is_better", 99, [30, 50, 70, 90], "2.3"),
    ]
    loaded = read_pack(write_pack(tmp_path / "p", items, ["internet", "broadband", "air"]))
    check_matrix_pack(loaded.pack, load_rule_pack(Y4904), load_kpi_catalogue(Y4904), manifest=loaded.source)
    rows = {r.evidence_id: r for r in assess_matrix(loaded.pack, AS_OF)}
    assert {k: r.level for k, r in rows.items()} == {
        "internet": 3,
        "broadband": 4,
        "air": 3,
        "unverified": None,
    }
    assert rows["internet"].gain == 35  # step 5: improvement on the baseline
    assert rows["air"].gain == 16
    assert rows["internet"].next_target == (4, 70)
    assert rows["unverified"].verdict is None
    evaluation = evaluate_on(load_rule_pack(Y4904), loaded.pack, loaded.digest, AS_OF, DurableInference())
    inferred = {c.id: c.verified_level for c in evaluation.result.characteristics if c.id in DIMENSIONS}
    # The engine's dimension level is the lowest verified KPI level of the dimension.
    assert inferred["2.1"] == 3 == min(rows["internet"].level or 0, rows["broadband"].level or 0)
    assert inferred["2.2"] == 3
    assert inferred["2.3"] == 1  # its only KPI awaits verification


def test_catalogue_kpis_must_match_the_catalogue(tmp_path: Path) -> None:
    items = [
        kpi("internet", "EC: ICT: ICT: 1C", "itu_y4903", "per 100", "higher_is_better", 55, [30, 50, 70, 90]),
        kpi("air", *AIR, latest=24, targets=[35, 25, 20, 15], dimension="2.1"),
        kpi("made-up", "EC: XX: 9Z", "itu_y4903", "%", "higher_is_better", 55, [30, 50, 70, 90]),
    ]
    loaded = read_pack(write_pack(tmp_path / "p", items, []))
    with pytest.raises(InputError) as caught:
        check_matrix_pack(
            loaded.pack, load_rule_pack(Y4904), load_kpi_catalogue(Y4904), manifest=loaded.source
        )
    assert {p.file for p in caught.value.problems} == {str(tmp_path / "p" / "pack.json")}
    found = {(p.path, p.message) for p in caught.value.problems}
    assert ("items[0].unit", "internet: EC: ICT: ICT: 1C is in %, not per 100") in found
    assert ("items[1].offered_for", "air: EN: EN: AQ: 1C counts for 2.2, not 2.1") in found
    assert any(path == "items[2].indicator.id" and "'EC: XX: 9Z' is not in" in m for path, m in found)


def test_matrix_command_prints_levels_and_dimensions(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    items = [kpi("internet", *INTERNET, latest=55, targets=[30, 50, 70, 90])]
    pack = write_pack(tmp_path / "p", items, ["internet"])
    assert run(["matrix", str(pack), "--as-of", AS_OF.isoformat(), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["kpis"][0]["level"] == 3
    assert report["kpis"][0]["next_target"] == {"level": 4, "value": 70}
    assert report["dimensions"] == {"2.1": 3, "2.2": 1, "2.3": 1}  # level 1 is the floor


def test_a_pack_for_another_model_is_one_problem_not_one_per_characteristic(tmp_path: Path) -> None:
    items = [kpi("internet", *INTERNET, latest=55, targets=[30, 50, 70, 90])]
    items[0]["offered_for"] = ["1.5.2"]  # an ISO 37107 characteristic, as an ISO pack would have
    folder = write_pack(tmp_path / "p", items, ["internet"])
    manifest = json.loads((folder / "pack.json").read_text(encoding="utf-8"))
    (folder / "pack.json").write_text(json.dumps({**manifest, "model": "iso37107-2019"}), encoding="utf-8")
    loaded = read_pack(folder)
    with pytest.raises(EvidencePackError) as caught:
        check_matrix_pack(
            loaded.pack, load_rule_pack(Y4904), load_kpi_catalogue(Y4904), manifest=loaded.source
        )
    assert [(p.file, p.path) for p in caught.value.problems] == [(str(folder / "pack.json"), "model")]
    assert caught.value.problems[0].message.startswith(
        "pack is for 'iso37107-2019', rule pack is 'itu-y4904'"
    )
