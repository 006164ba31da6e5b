"""``assay plan`` and ``assay benchmark``: outputs, byte-identical files, anonymity, exit codes."""

from __future__ import annotations

import json
from pathlib import Path
from xml.etree import ElementTree

import pytest

import examples
from assay.cli import run
from engine.evaluation import result_json
from engine.reference import ReferenceInference
from engine.rulepack import RulePack
from evidence_schemas.reader import read_pack
from tests.helpers import run_evaluation

SVG = "{http://www.w3.org/2000/svg}"
AS_OF = examples.SAMPLE_AS_OF.isoformat()


@pytest.fixture(scope="module")
def result_files(
    rule_pack: RulePack, reference: ReferenceInference, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Path]:
    """``result.json`` of each sample community, as ``assay evaluate`` writes it."""
    folder = tmp_path_factory.mktemp("results")
    files = {}
    for name in examples.SAMPLES:
        result = run_evaluation(rule_pack, read_pack(examples.sample_pack(name)).pack, reference).result
        files[name] = folder / f"{name}.json"
        files[name].write_bytes(result_json(result))
    return files


def test_plan_prints_markdown_with_actions_standards_and_on_target(
    result_files: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(["plan", str(result_files["harbourton"]), "--target", "3"]) == 0
    text = capsys.readouterr().out
    assert text.startswith("# Improvement plan: Harbourton\n")
    assert "### 4.3 Resilience: level 2 -> goal 3 (the target and the community's claim)" in text
    assert "- [ ] `4.3/3/management-process` (not met): An approved resilience management procedure" in text
    assert (
        "Standards that help: Supporting standards (Annex B): ISO 37101, ISO 37104; "
        "ISO 18091:2019 local-government functions (Annex C): A.1.7 ICT and data management, " in text
    )
    assert (
        "Standards that help: Supporting standards (Annex B): ISO 37104, ISO 37106; "
        "ISO 37106 sub-component (Annex B): B2\n" in text
    )
    assert "- [ ] `1.2.3/3/skills-mechanisms` (not met): " in text
    assert "  - `1.2.3/3/skills-policy-approved`: " in text
    assert "In two years: projected level 3, on commitments: adopt-resilience-procedure (claimed 4)" in text
    assert (
        "### 1.1.1 An outcomes-focused city vision and strategy: level 4 -> goal 5 (the community's claim)"
        in text
    )
    on_target = text.split("## On target\n", 1)[1]
    assert (
        "| 2.2.2 Growing the market for re-use of city data | 3 | 3 (the target and the community's claim) |"
        in on_target
    )
    assert "### 2.2.2 " not in text
    assert "### 4.1 Attractiveness: level 1 -> goal 4 (the community's claim)" in text
    assert text.index("## Dimension 1 ") < text.index("### 1.1.1 ") < text.index("## Dimension 4 ")


def test_plan_files_are_byte_identical_across_runs(
    result_files: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = str(result_files["larkfield"])
    for run_dir in ("one", "two"):
        if run_dir == "two":  # reportlab would otherwise take its dates and /ID seed from here
            monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
        out = tmp_path / run_dir
        for lang in ("en", "zh"):
            args = ["--out", str(out / f"plan-{lang}.md"), "--pdf", str(out / f"plan-{lang}.pdf")]
            assert run(["plan", source, "--target", "4", "--lang", lang, *args]) == 0
    for name in ("plan-en.md", "plan-en.pdf", "plan-zh.md", "plan-zh.pdf"):
        first, second = (tmp_path / "one" / name).read_bytes(), (tmp_path / "two" / name).read_bytes()
        assert first == second, name
    pdf = (tmp_path / "one" / "plan-zh.pdf").read_bytes()
    assert pdf.startswith(b"%PDF-")
    assert b"/CreationDate (D:20260630000000Z)" in pdf
    assert pdf != (tmp_path / "one" / "plan-en.pdf").read_bytes()
    chinese = (tmp_path / "one" / "plan-zh.md").read_text(encoding="utf-8")
    assert chinese.startswith("# 改进计划: Larkfield\n")
    assert "### 4.3 韧性: 级别 1 -> 目标 4 (目标级别)" in chinese
    assert "可参考的标准: 支撑文件（附录 B）: ISO 37101, ISO 37104; ISO 18091:2019 地方政府职能" in chinese
    assert (
        "- [ ] `4.3/2/resilience-action-plan` (未满足): 经批准的韧性行动计划，经审核员评判其以风险评估为依据"
        in chinese
    )


@pytest.mark.parametrize(
    ("content", "field", "words"),
    [
        (b'{"hello": 1}', "format", "not an Assay result file: expected format 'assay-result/1'"),
        (b"not json at all", "", "not a JSON file"),
        (b'{"format": "assay-result/1", "as_of": "2026-06-30"}', "evaluation_id", "Field required"),
    ],
)
def test_plan_of_a_file_that_is_not_a_result_exits_2_naming_file_and_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: bytes, field: str, words: str
) -> None:
    bad = tmp_path / "bad.json"
    bad.write_bytes(content)
    assert run(["plan", str(bad), "--target", "3", "--out", str(tmp_path / "plan.md")]) == 2
    error = capsys.readouterr().err
    assert f"{bad}: {field + ': ' if field else ''}{words}" in error
    assert not (tmp_path / "plan.md").exists()


def test_plan_target_outside_one_to_five_exits_2(
    result_files: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(["plan", str(result_files["harbourton"]), "--target", "7"]) == 2
    assert "--target: the target must be a level from 1 to 5, not 7" in capsys.readouterr().err
    assert run(["plan", str(result_files["harbourton"]) + ".missing", "--target", "0"]) == 2
    error = capsys.readouterr().err
    assert "invalid input: 2 problems" in error
    assert ".missing: no such file or folder: give the folder 'assay evaluate --out' wrote" in error
    assert "--target: the target must be a level from 1 to 5, not 0" in error


@pytest.fixture(scope="module")
def evaluated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Folders as ``assay evaluate --out`` writes them: harbourton/, larkfield/, and kestrelford/
    holding a folder per model."""
    root = tmp_path_factory.mktemp("evaluated")
    for name in ("harbourton", "larkfield"):
        assert (
            run(["evaluate", str(examples.sample_pack(name)), "--as-of", AS_OF, "--out", str(root / name)])
            == 0
        )
    models = ["--model", "iso37107-2019", "--model", "itu-y4904"]
    kestrelford = examples.sample_pack(examples.Y4904_SAMPLE)
    assert (
        run(["evaluate", str(kestrelford), "--as-of", AS_OF, *models, "--out", str(root / "kestrelford")])
        == 0
    )
    return root


def test_plan_takes_the_folder_evaluate_wrote_or_its_result_json(
    evaluated: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = evaluated / "harbourton"
    assert run(["plan", str(folder), "--target", "3"]) == 0
    from_folder = capsys.readouterr().out
    assert run(["plan", str(folder / "result.json"), "--target", "3"]) == 0
    assert capsys.readouterr().out == from_folder
    assert from_folder.startswith("# Improvement plan: Harbourton\n")
    assert "### 4.3 Resilience: level 2 -> goal 3 (the target and the community's claim)" in from_folder


def test_plan_of_a_y4904_result_needs_no_rules_option(
    evaluated: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(["plan", str(evaluated / "kestrelford" / "itu-y4904"), "--target", "4"]) == 0
    text = capsys.readouterr().out
    assert "ITU-T Y.4904 (12/2019), assessed as of 2026-06-30; target level 4" in text
    assert "### 2.2 KPI performance - environment: level 2 -> goal 4 (the target)" in text
    assert "- [ ] `2.2/3/targets-met-3` (not met): " in text


GIVE = "give the folder 'assay evaluate --out' wrote, or its result.json"


@pytest.mark.parametrize(
    ("given", "words"),
    [
        ("nowhere", f"no such file or folder: {GIVE}"),
        ("", f"no result.json in this folder: {GIVE}"),  # "": an empty folder
        (
            "kestrelford",
            f"no result.json in this folder: {GIVE}; folders in it that have one: iso37107-2019, itu-y4904",
        ),
    ],
)
def test_plan_without_a_result_is_one_problem_naming_the_path(
    evaluated: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], given: str, words: str
) -> None:
    path = evaluated / given if given else tmp_path
    assert run(["plan", str(path), "--target", "3"]) == 2
    assert capsys.readouterr().err == f"assay: invalid input: 1 problem\n  - {path}: {words}\n"


def test_benchmark_takes_folders_and_names_each_bad_one(
    evaluated: Path, result_files: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    folders = [evaluated / "harbourton", evaluated / "larkfield"]
    assert run(["benchmark", *map(str, folders)]) == 0
    from_folders = capsys.readouterr().out
    assert run(["benchmark", *(str(f / "result.json") for f in folders)]) == 0
    assert capsys.readouterr().out == from_folders
    assert "| Harbourton | 2026-06-30 |" in from_folders
    assert run(["benchmark", str(evaluated / "harbourton"), str(evaluated / "gone"), str(evaluated)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("assay: invalid input: 2 problems\n")
    assert f"  - {evaluated}: no result.json in this folder" in err
    assert f"  - {evaluated / 'gone'}: no such file or folder" in err
    assert "Traceback" not in err


def _benchmark(files: list[Path], out: Path, *extra: str) -> int:
    return run(["benchmark", *map(str, files), "--out", str(out), *extra])


def test_benchmark_writes_identical_report_json_and_chart(
    result_files: dict[str, Path], tmp_path: Path
) -> None:
    files = list(result_files.values())
    assert _benchmark(files, tmp_path / "one") == 0
    assert _benchmark(list(reversed(files)), tmp_path / "two") == 0
    names = ["benchmark.json", "benchmark.md", "benchmark.svg"]
    assert sorted(p.name for p in (tmp_path / "one").iterdir()) == names
    for name in names:
        assert (tmp_path / "one" / name).read_bytes() == (tmp_path / "two" / name).read_bytes(), name
    data = json.loads((tmp_path / "one" / "benchmark.json").read_text(encoding="utf-8"))
    resilience = next(c for c in data["characteristics"] if c["id"] == "4.3")
    assert resilience["statistics"] == {
        "n": 3,
        "counts": [1, 1, 0, 1, 0],
        "p25": 1.5,
        "median": 2.0,
        "p75": 3.0,
    }
    report = (tmp_path / "one" / "benchmark.md").read_text(encoding="utf-8")
    assert (
        "| 4.3 Resilience | 1 | 1 | 0 | 1 | 0 | 1.50 | 2.00 | 3.00 | 2 (50.0) | 1 (16.7) | 4 (83.3) |"
        in report
    )
    svg = ElementTree.fromstring((tmp_path / "one" / "benchmark.svg").read_bytes())
    bars = [r for r in svg.iter(f"{SVG}rect") if r.find(f"{SVG}title") is not None]
    assert len(bars) == 4 * 3  # a bar per dimension and community
    tips = [t.text for b in bars if (t := b.find(f"{SVG}title")) is not None]
    assert "Harbourton: mean 2.83, level 2" in tips
    assert _benchmark(files, tmp_path / "one") == 5  # an occupied folder is left alone
    assert _benchmark(files, tmp_path / "one", "--force") == 0


def test_benchmark_anonymised_hides_names_in_every_file(
    result_files: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    files = list(result_files.values())
    assert _benchmark(files, tmp_path / "anon", "--anonymise") == 0
    for path in (tmp_path / "anon").iterdir():
        text = path.read_text(encoding="utf-8").casefold()
        for name in examples.SAMPLES:
            assert name not in text, path.name
        assert "community a" in text
        assert "community c" in text
    assert run(["benchmark", *map(str, reversed(files)), "--anonymise"]) == 0
    printed = capsys.readouterr().out
    assert printed == (tmp_path / "anon" / "benchmark.md").read_text(encoding="utf-8")


def test_benchmark_refusals_exit_2_with_the_reason(
    result_files: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    harbourton = result_files["harbourton"]
    assert run(["benchmark", str(harbourton)]) == 2
    assert "benchmarking needs two or more results, got 1" in capsys.readouterr().err
    assert run(["benchmark", str(harbourton), str(harbourton)]) == 2
    assert f"community 'Harbourton' is already given by {harbourton}" in capsys.readouterr().err
    data = json.loads(harbourton.read_text(encoding="utf-8"))
    data["rule_pack"]["digest"] = "sha256:" + "0" * 64
    older = tmp_path / "older.json"
    older.write_text(json.dumps(data), encoding="utf-8")
    assert _benchmark([result_files["larkfield"], older], tmp_path / "out") == 2
    assert f"{older}: rule_pack: evaluated with rule pack iso37107-2019" in capsys.readouterr().err
    not_result = tmp_path / "other.json"
    not_result.write_text("[]", encoding="utf-8")
    assert run(["benchmark", str(result_files["larkfield"]), str(not_result)]) == 2
    assert f"{not_result}: format: not an Assay result file" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
