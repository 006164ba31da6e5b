"""Rule packs: the bundled pack loads; broken packs fail whole, listing every problem."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest

import rules as bundled_rules
from engine.errors import RulePackError
from engine.rulepack import RulePack, load_rule_pack

GOOD_LEVEL = """
    cell: "Table A.1, {cid}, level {n}"
    summary: {{en: Level {n}, zh: 第 {n} 级}}
"""


def _pack_with(tmp_path: Path, files: dict[str, str]) -> Path:
    """A copy of the bundled pack's catalogue with the given characteristic files."""
    folder = tmp_path / "pack"
    (folder / "characteristics").mkdir(parents=True)
    shutil.copy(bundled_rules.bundled() / "model.yaml", folder / "model.yaml")
    for name, text in files.items():
        (folder / "characteristics" / name).write_text(text, encoding="utf-8")
    return folder


def _problems(folder: Path) -> list[tuple[str, int | None, str, str]]:
    with pytest.raises(RulePackError) as caught:
        load_rule_pack(folder)
    return [(Path(p.file).name, p.line, p.path, p.message) for p in caught.value.problems]


def test_bundled_pack_encodes_every_cell(rule_pack) -> None:  # type: ignore[no-untyped-def]
    assert rule_pack.id == "iso37107-2019"
    assert list(rule_pack.characteristics) == [c.id for c in rule_pack.model.characteristics()]
    for spec in rule_pack.characteristics.values():
        assert sorted(spec.levels) == [2, 3, 4, 5]
        assert spec.levels[2].as_at is None
    as_at = {
        cid: [spec.levels[n].as_at for n in (3, 4, 5)] for cid, spec in rule_pack.characteristics.items()
    }
    # Cells that restate rather than inherit ("as at level N" absent in the 2019 edition).
    assert as_at["2.1.2"][:2] == [None, None]
    assert as_at["3.1.2"][2] is None
    assert as_at["3.2.1"][1] is None
    assert as_at["3.2.2"][1] is None
    assert as_at["1.1.1"] == [None, 3, 4]
    assert as_at["1.5.2"] == [2, 3, 4]
    assert as_at["1.2.3"][2] == 3  # the 2019 cell says "as at level 3" where the draft says 4


def test_digest_is_reproducible_with_sha256sum(rule_pack) -> None:  # type: ignore[no-untyped-def]
    folder = bundled_rules.bundled()
    lines = sorted(f"{hashlib.sha256((folder / f).read_bytes()).hexdigest()}  {f}\n" for f in rule_pack.files)
    assert rule_pack.digest == "sha256:" + hashlib.sha256("".join(lines).encode()).hexdigest()
    assert "cases/1.1.1.yaml" not in rule_pack.files  # cases test the rules; they are not rules


def test_digest_changes_with_any_rule_file(tmp_path: Path, rule_pack) -> None:  # type: ignore[no-untyped-def]
    copy = tmp_path / "copy"
    shutil.copytree(bundled_rules.bundled(), copy)
    path = copy / "characteristics" / "4.3.yaml"
    path.write_text(path.read_text(encoding="utf-8") + "\n# a comment\n", encoding="utf-8")
    assert load_rule_pack(copy).digest != rule_pack.digest


BROKEN = """characteristic: "1.1.1"
levels:
  2:
    cell: "Table A.1, 1.1.1, level 2"
    summary: {en: Two, zh: 二}
    requirements:
      - id: dup
        summary: {en: a, zh: 甲}
        evidence:
          kind: document
          where:
            doc_type: {equals: vison_strategy}
            publication.status: {greater_than: published}
  3:
    as_at: 7
    cell: "Table A.1, 1.1.1, level 3"
    summary: {en: Three, zh: 三}
    requirements:
      - id: dup
        summary: {en: b, zh: 乙}
        evidence:
          kind: photograph
  4:
    as_at: 5
    cell: "Table A.1, 1.1.2, level 4"
    summary: {en: Four, zh: 四}
    requirements:
      - id: kpi-check
        summary: {en: c, zh: 丙}
        evidence:
          kind: kpi
          where:
            colour: {equals: red}
            baseline.value: {gte: "99"}
            latest: {better_than: baseline}
  5:
    as_at: 4
    cell: "Table A.1, 1.1.1, level 5"
    summary: {en: Five, zh: 五}
    requirements:
      - id: either
        summary: {en: d, zh: 丁}
        any:
          - id: nested
            summary: {en: e, zh: 戊}
            evidence:
              kind: governance
              where:
                members.private: {contains_all: [2]}
              age_of: title
"""


def test_broken_pack_lists_every_problem_with_file_line_and_path(tmp_path: Path) -> None:
    folder = _pack_with(tmp_path, {"1.1.1.yaml": BROKEN})
    problems = _problems(folder)
    expected = [
        ("levels[2].requirements[0].evidence.where.doc_type.equals",
         "'vison_strategy' is not a value of 'doc_type'"),
        ("levels[2].requirements[0].evidence.where.publication.status", "unknown operator 'greater_than'"),
        ("levels[3].as_at", "as_at 7: there is no level 7"),
        ("levels[3].requirements[0].id", "duplicate requirement id 'dup' (first at line 7)"),
        ("levels[3].requirements[0].evidence.kind", "unknown evidence kind 'photograph'"),
        ("levels[4].as_at", "as_at 5 is not below level 4"),
        ("levels[4].cell", "cites 'Table A.1, 1.1.2, level 4' but encodes 1.1.1 level 4"),
        ("levels[4].requirements[0].evidence.where.colour", "unknown attribute 'colour' of kpi evidence"),
        ("levels[4].requirements[0].evidence.where.baseline.value.gte", "'99' is not a number"),
        ("levels[5].requirements[0].any[0].evidence.where.members.private.contains_all",
         "operator 'contains_all' does not apply to number attribute 'members.private'"),
        ("levels[5].requirements[0].any[0].evidence.age_of", "'title' is not a date of governance evidence"),
        ("levels[4].as_at", "inheritance cycle 4 -> 5 -> 4"),
    ]  # fmt: skip
    for path, fragment in expected:
        assert any(p[2] == path and fragment in p[3] for p in problems), (path, fragment, problems)
    assert all(p[0] == "1.1.1.yaml" and p[1] is not None for p in problems)
    assert len(problems) == len(expected)


def test_schema_problems_are_all_reported_at_once(tmp_path: Path) -> None:
    text = """characteristic: "1.5.2"
levels:
  2:
    cell: "Table A.1, 1.5.2, level 2"
    summary: {en: Two}
    colour: blue
    requirements:
      - id: x
        summary: {en: a, zh: 甲}
        evidence: {kind: kpi}
        all: []
  3: {cell: "Table A.1, 1.5.2, level 3", summary: {en: a, zh: b}, requirements: []}
"""
    problems = _problems(_pack_with(tmp_path, {"1.5.2.yaml": text}))
    paths = {p[2]: p[3] for p in problems}
    assert paths["levels[2].summary.zh"] == "required field is missing"
    assert paths["levels[2].colour"] == "unknown field"
    assert "List should have at least 1 item" in paths["levels[3].requirements"]
    assert any(k.startswith("levels[2].requirements[0]") for k in paths)
    assert {p[1] for p in problems if p[2] == "levels[2].colour"} == {6}


def test_unknown_characteristic_duplicate_yaml_key_and_bad_file_name(tmp_path: Path) -> None:
    levels = "".join(
        f"  {n}:{GOOD_LEVEL.format(cid='9.9', n=n)}    requirements:\n"
        "      - {id: r, summary: {en: a, zh: 甲}, evidence: {kind: document}}\n"
        for n in (2, 3, 4, 5)
    )
    unknown = 'characteristic: "9.9"\nlevels:\n' + levels
    duplicate = 'characteristic: "1.5.2"\ncharacteristic: "1.5.2"\nlevels: {}\n'
    problems = _problems(_pack_with(tmp_path, {"9.9.yaml": unknown, "1.5.3.yaml": duplicate}))
    assert ("9.9.yaml", 1, "characteristic", "unknown characteristic '9.9'") in problems
    assert (
        "1.5.3.yaml",
        2,
        "characteristic",
        "duplicate key: each key may appear once",
    ) in problems


def test_missing_levels_and_unquoted_id(tmp_path: Path) -> None:
    text = (
        "characteristic: 4.3\nlevels:\n  2:"
        + GOOD_LEVEL.format(cid="4.3", n=2)
        + ("    requirements:\n      - {id: r, summary: {en: a, zh: 甲}, evidence: {kind: document}}\n")
    )
    problems = _problems(_pack_with(tmp_path, {"4.3.yaml": text}))
    assert ("4.3.yaml", 1, "characteristic", "Input should be a valid string") in problems
    fixed = text.replace("characteristic: 4.3", 'characteristic: "4.3"')
    problems = _problems(_pack_with(tmp_path / "again", {"4.3.yaml": fixed}))
    assert (
        "4.3.yaml",
        2,
        "levels",
        "levels missing: [3, 4, 5] (levels 2-5 are needed)",
    ) in problems


def test_nothing_is_loaded_when_one_file_is_broken(tmp_path: Path) -> None:
    folder = tmp_path / "copy"
    shutil.copytree(bundled_rules.bundled(), folder)
    path = folder / "characteristics" / "4.3.yaml"
    path.write_text(
        path.read_text(encoding="utf-8").replace("kind: governance", "kind: gov"), encoding="utf-8"
    )
    problems = _problems(folder)
    assert len(problems) == 1
    assert problems[0][0] == "4.3.yaml"
    assert "unknown evidence kind 'gov'" in problems[0][3]


def test_a_part_of_the_pack_leaves_out_characteristics_it_does_not_encode(rule_pack: RulePack) -> None:
    """An engagement's scope can name a characteristic a later rule pack dropped: the part
    leaves it out (the result reports it as not encoded) instead of failing."""
    part = rule_pack.only("1.1.1", "9.9.9")
    assert list(part.characteristics) == ["1.1.1"]
    assert part.digest == rule_pack.digest
