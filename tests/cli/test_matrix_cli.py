"""``assay matrix`` on the bundled samples: KPI levels of the Y.4904 sample, one clear refusal of
a pack for another model, problems naming the manifest read, and a light import."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

import examples
from assay.cli import run
from evidence_schemas.reader import read_pack
from evidence_schemas.writer import write_manifest

AS_OF = examples.SAMPLE_AS_OF.isoformat()
SAMPLE = examples.sample_pack(examples.Y4904_SAMPLE)


def test_matrix_of_the_y4904_sample_gives_each_kpi_its_level(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["matrix", str(SAMPLE), "--as-of", AS_OF, "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    rows = {k["evidence_id"]: k for k in report["kpis"]}
    assert {k: (r["dimension"], r["indicator"], r["level"]) for k, r in rows.items()} == {
        "kpi-fixed-broadband": ("2.1", "EC: ICT: ICT: 2C", 3),
        "kpi-household-internet": ("2.1", "EC: ICT: ICT: 1C", 4),
        "kpi-air-pm25": ("2.2", "EN: EN: AQ: 1C", 2),
        "kpi-waste-recycled": ("2.2", "KF-EN-2", 3),
        "kpi-older-residents-online": ("2.3", "KF-SC-2", 3),
        "kpi-online-services": ("2.3", "KF-SC-1", 3),
    }
    internet = rows["kpi-household-internet"]
    assert internet["latest"] == {"date": "2025-12-31", "value": 91.2}
    assert internet["gain_from_baseline"] == 14.7  # rounded, not 14.700000000000003
    assert internet["next_target"] == {"level": 5, "value": 96.0}
    air = rows["kpi-air-pm25"]  # lower is better: 11.3 meets the level 2 target 12.5, not 11.0
    assert (air["gain_from_baseline"], air["next_target"]) == (2.5, {"level": 3, "value": 11.0})
    # The rule engine's level per KPI dimension is its weakest KPI's.
    assert report["dimensions"] == {"2.1": 3, "2.2": 2, "2.3": 3}


def test_matrix_table_names_kpis_and_dimension_levels(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "200")  # one row per KPI: no wrapped cells to match across
    assert run(["matrix", str(SAMPLE), "--as-of", AS_OF]) == 0
    out = capsys.readouterr().out
    assert "Performance matrix (ITU-T Y.4904 (12/2019)): Kestrelford, as of 2026-06-30" in out
    internet = next(line for line in out.splitlines() if "EC: ICT: ICT: 1C Household internet access" in line)
    assert re.split(r"\s{2,}", internet.strip()) == [
        "2.1", "EC: ICT: ICT: 1C Household internet access", "%", "76.5", "80", "85", "90", "96",
        "91.2 on 2025-12-31", "4", "+14.7",
    ]  # fmt: skip
    assert "2.2 KPI performance - environment: level 2 (inferred by the rule engine)" in out
    monkeypatch.setenv("COLUMNS", "80")  # narrow: names wrap, no number is cut
    assert run(["matrix", str(SAMPLE), "--as-of", AS_OF]) == 0
    narrow = capsys.readouterr().out
    assert "…" not in narrow
    assert max(len(line.rstrip()) for line in narrow.splitlines()) <= 80
    assert all(gain in narrow for gain in ("+6.7", "+14.7", "+2.5", "+9.4", "+11.9", "+21.7"))


@pytest.mark.parametrize("name", examples.SAMPLES)
def test_matrix_of_an_iso_37107_sample_is_one_problem_naming_the_model_and_the_manifest_read(
    name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    pack = examples.sample_pack(name)
    manifest = read_pack(pack).manifest
    assert run(["matrix", str(pack), "--as-of", AS_OF]) == 2
    err = capsys.readouterr().err
    assert err.splitlines() == [
        "assay: invalid evidence pack: 1 problem",
        f"  - {pack}/{manifest}: model: pack is for 'iso37107-2019', rule pack is 'itu-y4904': "
        "the performance matrix is read from packs prepared for ITU-T Y.4904 (12/2019)",
    ]


def test_problems_of_an_xml_pack_name_pack_xml_in_item_order(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "kestrelford"
    shutil.copytree(SAMPLE, folder)
    pack = read_pack(folder).pack
    # Offered for an ISO 37107 characteristic the Y.4904 rule pack does not have.
    items = [
        item.model_copy(update={"offered_for": [*item.offered_for, "1.5.2"]}) if i in (2, 10, 11) else item
        for i, item in enumerate(pack.items)
    ]
    write_manifest(folder, pack.model_copy(update={"items": items}), "xml")
    (folder / "pack.json").unlink()
    assert run(["matrix", str(folder), "--as-of", AS_OF]) == 2
    problems = capsys.readouterr().err.splitlines()[1:]
    assert [p.split(": ")[0:2] for p in problems] == [
        [f"  - {folder}/pack.xml", f"items[{i}].offered_for[{n}]"] for i, n in ((2, 1), (10, 1), (11, 2))
    ]
    assert all(p.endswith("is offered for unknown characteristic '1.5.2'") for p in problems)


def test_three_model_evaluation_of_the_sample_has_kpi_based_y4904_levels(tmp_path: Path) -> None:
    models = ["--model", "iso37107-2019", "--model", "pas181", "--model", "itu-y4904"]
    assert run(["evaluate", str(SAMPLE), "--as-of", AS_OF, *models, "--out", str(tmp_path / "out")]) == 0
    results = {
        m: json.loads((tmp_path / "out" / m / "result.json").read_text(encoding="utf-8"))
        for m in ("iso37107-2019", "pas181", "itu-y4904")
    }
    y4904 = {c["id"]: c["verified_level"] for c in results["itu-y4904"]["characteristics"]}
    assert {cid: y4904[cid] for cid in ("2.1", "2.2", "2.3")} == {"2.1": 3, "2.2": 2, "2.3": 3}
    assert min(y4904.values()) > 1
    assert results["iso37107-2019"]["pack"]["id"] == results["pas181"]["pack"]["id"] == "kestrelford-2026"
    crosswalk = json.loads((tmp_path / "out" / "crosswalk.json").read_text(encoding="utf-8"))
    benefits = next(r for r in crosswalk["sub_components"] if r["sub_component"] == "C")
    # 1.5 level 4: the auditor rated the KPI reviews partially held.
    assert benefits["models"]["itu-y4904"]["characteristics"] == {"1.5": 3, "2.1": 3, "2.2": 2, "2.3": 3}


def test_the_sample_validates_as_a_pack(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["pack", "validate", str(SAMPLE)]) == 0
    assert "valid: 18 items, 18 verifications, 12 judgements, 8 claims; pack.json" in capsys.readouterr().out
