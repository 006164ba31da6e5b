"""``assay engagement worksheet`` and ``judge``: export the worksheet, fill it in, import it,
evaluate; every bad cell or entry named, nothing recorded unless all are good."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from openpyxl import load_workbook

import examples
from assay.cli import run
from tests.engagements.conftest import ADMIN, AUDITOR, DAY, LEAD, REVIEWER, SUBMITTER
from tests.engagements.test_judging import CITED, KEY, judged_rule_pack

EID = f"ENG-{DAY.year}-0001"


@pytest.fixture
def engagement(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> list[str]:
    """A verified engagement under the judged rule pack; returns the options every command takes."""
    rules = judged_rule_pack(tmp_path / "rules")
    common = ["--data", str(tmp_path / "data"), "--date", DAY.isoformat()]
    pack = tmp_path / "submission"
    shutil.copytree(examples.sample_pack(), pack)
    manifest = json.loads((pack / "pack.json").read_text(encoding="utf-8"))
    verdicts = tmp_path / "verdicts.json"
    verdicts.write_text(json.dumps(manifest.pop("verifications")), encoding="utf-8")
    manifest.pop("judgements")  # the sample's auditor judged against the bundled rules
    (pack / "pack.json").write_text(json.dumps(manifest), encoding="utf-8")
    steps = [
        ["people", "import", str(examples.people_file()), "--data", common[1]],
        [
            "engagement",
            "create",
            "--community",
            "harbourton",
            "--name",
            "Harbourton",
            "--as",
            SUBMITTER,
            *common,
        ],
        ["engagement", "assign", EID, "--lead", LEAD, "--auditor", AUDITOR, "--reviewer", REVIEWER],
        ["engagement", "submit", EID, str(pack), "--as", SUBMITTER, *common],
        ["engagement", "verify", EID, "--from", str(verdicts), "--as", LEAD, *common],
    ]
    steps[2] += ["--as", ADMIN, *common]
    for argv in steps:
        assert run(argv) == 0, capsys.readouterr().err
    capsys.readouterr()
    return [*common, "--rules", str(rules)]


def _level(options: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    assert run(["engagement", "evaluate", EID, "--as", LEAD, "--engine", "reference", *options]) == 0
    levels = capsys.readouterr().out.split(": ", 1)[1]
    return next(part for part in levels.strip().split(", ") if part.startswith("1.2.2="))


def test_worksheet_round_trip(
    engagement: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "260")
    assert _level(engagement, capsys) == "1.2.2=1"  # awaiting the auditor's judgement
    assert run(["engagement", "worksheet", EID, *engagement]) == 0
    printed = capsys.readouterr().out
    assert KEY in printed
    assert "Is consultation an established process?" in printed
    assert f"{CITED[0]}: Harbourton: codesign mobility" in printed
    assert "c1-2-2-feedback: Harbourton: feedback (stale)" in printed
    assert "awaiting the auditor's judgement" not in printed  # the machine conditions alone
    workbook = tmp_path / "worksheet.xlsx"
    assert run(["engagement", "worksheet", EID, "--xlsx", str(workbook), "--lang", "zh", *engagement]) == 0
    assert capsys.readouterr().out == f"{EID}: 2 requirement(s) to judge written to {workbook}\n"
    book = load_workbook(workbook)
    sheet = book["判断"]
    assert [c.value for c in sheet[1]][:2] == ["要求", "问题"]
    rows = {sheet.cell(row, 1).value: row for row in range(2, sheet.max_row + 1)}
    assert set(rows) == {KEY, "1.2.2/3/feedback-mechanism"}
    row = rows[KEY]
    assert sheet.cell(row, 2).value == "咨询是否已成为既定流程"
    assert sheet.cell(row, 3).value == "met"
    assert str(sheet.cell(row, 4).value).splitlines() == [
        f"{CITED[0]}: Harbourton: codesign mobility (qualifies)",
        f"{CITED[1]}: Harbourton: consult strategy (qualifies)",
    ]
    other = rows["1.2.2/3/feedback-mechanism"]
    assert sheet.cell(other, 4).value == "c1-2-2-feedback: Harbourton: feedback (stale)"
    assert sheet.cell(row, 5).value == "-"  # it does not range over a set: no sample
    for column, value in zip(
        "FGIJ", ["fully", f"{CITED[0]}, {CITED[1]}", "interview", "Both reached"], strict=True
    ):
        sheet[f"{column}{row}"] = value
    sheet[f"F{other}"], sheet[f"I{other}"] = "mostly", "gut_feeling"
    book.save(workbook)
    judge = ["engagement", "judge", EID, "--from", str(workbook), "--as", AUDITOR, *engagement]
    assert run(judge) == 2
    err = capsys.readouterr().err
    assert f"判断!F{other}: rating 'mostly' is not one of fully, largely, partially, not" in err
    assert f"判断!G{other}: cites is missing" in err
    assert f"判断!I{other}: method 'gut_feeling' is not one of" in err
    assert f"判断!J{other}: reason is missing" in err
    assert _level(engagement, capsys) == "1.2.2=1"  # nothing was recorded
    for column, value in zip("FGIJ", ["fully", "c1-2-2-feedback", "interview", "Clear"], strict=True):
        sheet[f"{column}{other}"] = value
    book.save(workbook)
    assert run(judge) == 8  # the stale item cannot be cited: refused, nothing recorded
    err = capsys.readouterr().err
    assert f"判断!A{other}: 1.2.2/3/feedback-mechanism: cites c1-2-2-feedback, which is not current" in err
    for column in "FGHIJ":
        sheet[f"{column}{other}"] = None
    book.save(workbook)
    assert run(judge) == 0
    assert capsys.readouterr().out == f"{EID}: 1 judgement(s) recorded\n"
    assert _level(engagement, capsys) == "1.2.2=2"  # level 3 asks for a judgement on a stale item


def test_judge_one_on_the_command_line_and_a_json_list(
    engagement: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    one = ["engagement", "judge", EID, KEY, "--rating", "partially", "--method", "interview"]
    assert run([*one, "--reason", "Thin", "--as", AUDITOR, *engagement]) == 2
    assert "missing --cite (or give --from FILE)" in capsys.readouterr().err
    cite = ["--cite", CITED[0], "--cite", CITED[1], "--reason", "Thin"]
    assert run([*one, *cite, "--as", REVIEWER, *engagement]) == 8
    assert "only an auditor on the audit team may" in capsys.readouterr().err
    assert run([*one, *cite, "--as", AUDITOR, *engagement]) == 0
    assert capsys.readouterr().out == f"{EID}: 1 judgement(s) recorded\n"
    listing = tmp_path / "judgements.json"
    good = {
        "requirement": KEY,
        "rating": "largely",
        "cites": list(CITED),
        "method": "interview",
        "reason": "r",
    }
    listing.write_text(json.dumps([good, {**good, "rating": "", "colour": "red"}]), encoding="utf-8")
    from_file = ["engagement", "judge", EID, "--from", str(listing), "--as", AUDITOR, *engagement]
    assert run(from_file) == 2
    err = capsys.readouterr().err
    assert f"{listing}:1: [1]: unknown fields: colour" in err
    assert f"{listing}:1: [1].rating: rating is missing" in err
    # What the file holds is checked before it is used: a reason that is no text is named.
    listing.write_text(json.dumps([{**good, "reason": {}, "cites": [1]}]), encoding="utf-8")
    assert run(from_file) == 2
    err = capsys.readouterr().err
    assert f"{listing}:1: [0].reason: must be a text" in err
    assert f"{listing}:1: [0].cites: must be a list of item ids" in err
    assert "Traceback" not in err
    listing.write_text(json.dumps([{**good, "cites": ["gone"], "examined": ["elsewhere"]}]), encoding="utf-8")
    assert run(from_file) == 8
    err = capsys.readouterr().err
    assert f"{listing}[0]: {KEY}: cites gone, not an item of the latest evidence version" in err
    assert f"{listing}[0]: {KEY}: examined elsewhere, which the judgement does not cite" in err
    examined = ["engagement", "judge", EID, KEY, "--rating", "fully", "--method", "sample_examined"]
    assert run([*examined, *cite, "--examined", CITED[1], "--as", AUDITOR, *engagement]) == 0
    capsys.readouterr()


def test_a_worksheet_that_is_no_workbook_is_one_named_problem(
    engagement: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fake = tmp_path / "worksheet.xlsx"
    fake.write_text("rating,cites\nfully,x\n", encoding="utf-8")
    assert run(["engagement", "judge", EID, "--from", str(fake), "--as", AUDITOR, *engagement]) == 2
    error = capsys.readouterr().err
    assert f"  - {fake}: not an .xlsx workbook:" in error
    assert "Traceback" not in error
    folder = tmp_path / "folder.xlsx"
    folder.mkdir()
    assert run(["engagement", "judge", EID, "--from", str(folder), "--as", AUDITOR, *engagement]) == 2
    assert f"  - {folder}: not a file of at most 16777216 bytes" in capsys.readouterr().err
