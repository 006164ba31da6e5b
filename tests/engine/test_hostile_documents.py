"""Hostile YAML and JSON end in one located problem, never a traceback or an exhausted machine
(issue 15, part 5: the parsers). Each document here crashed or ran out of memory before."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import rules as bundled_rules
from assay.engagement_cli import verdicts_from_json
from audits.people import load_people
from certificates.scheme import load_scheme
from engine.errors import AssayError, InputError, RulePackError
from engine.rulepack import load_rule_pack
from engine.sourcemap import MAX_DEPTH, MAX_VALUES, parse_json, parse_yaml
from evidence_schemas.common import Money
from evidence_schemas.reader import read_pack
from tests.helpers import address_space_growth

ALIAS_BOMB = "".join(
    f"{name}: &{name} [{', '.join([f'*{prev}'] * 10) if prev else ', '.join(['x'] * 10)}]\n"
    for prev, name in zip([None, *"abcdefgh"], "abcdefghi", strict=True)
)
"""Nine levels of ten: under 1 KB that expands to 10^9 values."""
MERGE_BOMB = "a: &a {x: 1, y: 2}\n" + "".join(
    f"k{i}: &k{i}\n  <<: [{', '.join([f'*k{i - 1}' if i else '*a'] * 10)}]\n" for i in range(8)
)

HOSTILE_YAML = {
    "alias bomb": (ALIAS_BOMB, f"the document expands to more than {MAX_VALUES:,} values"),
    "merge-key bomb": (MERGE_BOMB, "merge keys (<<) are not allowed: write the fields out"),
    "self-referring alias": ("a: &a [1, *a]\n", "an alias refers to a node that contains it"),
    "python tag": (
        'characteristic: !!python/name:os.system "1.1.1"\n',
        "the tag 'tag:yaml.org,2002:python/name:os.system' is not allowed",
    ),
    "object tag": ("a: !!python/object/apply:os.system [ls]\n", "is not allowed (plain YAML types only)"),
    "set tag": ("a: !!set {x, y}\n", "the tag 'tag:yaml.org,2002:set' is not allowed"),
    "deep nesting": ("a: " + "[" * (MAX_DEPTH + 5) + "]" * (MAX_DEPTH + 5) + "\n", "nested more than"),
    "20,000 brackets": ("a: " + "[" * 20_000 + "]" * 20_000 + "\n", "not valid YAML"),
    "a mapping as key": ("? {a: 1}\n: b\n", "a key must be plain text or a number"),
}


def _bounded(call: Callable[[], Any]) -> Any:
    """Run ``call`` with at most 2 GiB more address space, so an expanding document fails the
    test instead of the machine."""
    with address_space_growth(2 << 30):
        return call()


@pytest.mark.parametrize("name", sorted(HOSTILE_YAML))
def test_hostile_yaml_is_one_located_problem(name: str) -> None:
    text, fragment = HOSTILE_YAML[name]
    doc = _bounded(lambda: parse_yaml(text, "hostile.yaml"))
    assert doc.data is None
    (problem,) = doc.problems
    assert fragment in problem.message
    assert (problem.file, problem.line is not None) == ("hostile.yaml", True)


def test_an_anchor_used_again_is_still_fine() -> None:
    doc = parse_yaml("q: &q {en: Is it?, zh: 是吗}\nr: *q\n", "shared.yaml")
    assert (doc.problems, doc.data) == (
        [],
        {"q": {"en": "Is it?", "zh": "是吗"}, "r": {"en": "Is it?", "zh": "是吗"}},
    )


@pytest.mark.parametrize(
    ("reader", "name"),
    [
        ("rule pack", "characteristics/1.1.1.yaml"),
        ("people", "people.yaml"),
        ("scheme", "scheme.yaml"),
    ],
)
@pytest.mark.parametrize("case", ["alias bomb", "python tag", "self-referring alias"])
def test_every_yaml_reader_refuses_them(tmp_path: Path, reader: str, name: str, case: str) -> None:
    text, fragment = HOSTILE_YAML[case]
    if reader == "rule pack":
        shutil.copytree(bundled_rules.bundled(), tmp_path / "pack")
        target = tmp_path / "pack" / name
        load: Callable[[], Any] = lambda: load_rule_pack(tmp_path / "pack")  # noqa: E731
    else:
        target = tmp_path / name
        load = (lambda: load_people(target)) if reader == "people" else (lambda: load_scheme(target))
    target.write_text(text, encoding="utf-8")
    with pytest.raises(AssayError) as caught:
        _bounded(load)
    problems = caught.value.problems  # type: ignore[attr-defined]
    assert any(fragment in p.message and p.file.endswith(name) for p in problems), problems


# --- JSON ---------------------------------------------------------------------------------------


def test_json_nested_3000_deep_is_refused_with_its_line() -> None:
    text = '{"format":\n' + "[" * 3000 + "]" * 3000 + "}"
    (problem,) = parse_json(text, "pack.json").problems
    assert problem.line == 2
    assert problem.message.startswith("not valid JSON: nested 501 levels deep")


def test_a_number_of_5000_digits_is_refused_with_its_line() -> None:
    text = '{\n"items": [\n{"size": ' + "9" * 5000 + "}]}"
    (problem,) = parse_json(text, "pack.json").problems
    assert (problem.line, problem.message) == (3, "not valid JSON: a number of more than 4,300 digits")


def test_a_repeated_json_key_is_an_error_not_last_wins() -> None:
    text = '{"format": "a",\n "items": [{"id": "x",\n   "id": "y"}],\n "format": "b"}'
    problems = parse_json(text, "pack.json").problems
    assert [(p.line, p.path, p.message) for p in problems] == [
        (4, "format", "duplicate key: each key may appear once in an object"),
        (3, "id", "duplicate key: each key may appear once in an object"),
    ]


@pytest.mark.parametrize(
    ("manifest", "fragment"),
    [
        ('{"format": ' + "[" * 3000 + "]" * 3000 + "}", "nested 501 levels deep"),
        ('{"format": 1, "format": 2}', "format: duplicate key"),
        ('{"id": ' + "7" * 5000 + "}", "a number of more than 4,300 digits"),
    ],
)
def test_an_evidence_pack_with_them_is_refused(tmp_path: Path, manifest: str, fragment: str) -> None:
    (tmp_path / "pack.json").write_text(manifest, encoding="utf-8")
    with pytest.raises(InputError) as caught:
        read_pack(tmp_path)
    assert any(fragment in str(p) for p in caught.value.problems), caught.value.problems


def test_verdicts_from_a_file_are_checked_before_use(tmp_path: Path) -> None:
    listing = tmp_path / "verdicts.json"
    good = {"evidence_id": "plan", "verdict": "accepted", "method": "interview", "reason": "seen"}
    listing.write_text(
        json.dumps([good, {**good, "reason": {}}, {"verdict": "accepted"}, 7]), encoding="utf-8"
    )
    with pytest.raises(InputError) as caught:
        verdicts_from_json(listing)
    assert [(p.path, p.message) for p in caught.value.problems] == [
        ("[1].reason", "must be a non-empty text"),
        ("[2]", "evidence_id is missing"),
        ("[2]", "method is missing"),
        ("[2]", "reason is missing"),
        ("[3]", "not an object"),
    ]
    listing.write_text("[" * 3000 + "]" * 3000, encoding="utf-8")
    with pytest.raises(InputError, match="nested 501 levels deep"):
        verdicts_from_json(listing)
    listing.write_text(json.dumps([good]), encoding="utf-8")
    assert [v.reason for v in verdicts_from_json(listing)] == ["seen"]


def test_a_negative_budget_is_refused_as_the_xsd_says() -> None:
    with pytest.raises(ValueError, match="greater than or equal to 0"):
        Money.model_validate({"amount": -5.0, "currency": "EUR"})


def test_a_60_mib_title_under_the_manifest_cap_is_one_problem_in_bounded_memory(tmp_path: Path) -> None:
    """Finding the line of a problem once took one regex backtracking frame per character of a
    string: 7.8 GB for a 60 MiB title."""
    pack = json.loads((Path(__file__).parents[2] / "examples" / "harbourton" / "pack.json").read_text())
    pack["items"][0]["title"] = "t" * (60 << 20)
    (tmp_path / "pack.json").write_text(json.dumps(pack), encoding="utf-8")
    with pytest.raises(InputError) as caught:
        _bounded(lambda: read_pack(tmp_path))
    titled = [p for p in caught.value.problems if p.path == "items[0].title"]
    assert [(p.line, p.message) for p in titled] == [(1, "String should have at most 300 characters")]


@pytest.mark.parametrize("kind", ["fifo", "link to /dev/zero", "too large"])
def test_a_rule_folder_entry_that_is_no_bounded_file_is_named(tmp_path: Path, kind: str) -> None:
    """A FIFO once hung the loader and a link to /dev/zero filled memory, before any check ran
    (the digest that finds a pack already checked read every file whole)."""
    import os

    from engine.packcache import CheckedPacks

    folder = tmp_path / "pack"
    shutil.copytree(bundled_rules.bundled(), folder)
    odd = folder / "characteristics" / "9.9.yaml"
    if kind == "fifo":
        os.mkfifo(odd)
    elif kind == "link to /dev/zero":
        odd.symlink_to("/dev/zero")
    else:
        odd.write_bytes(b"#" * ((4 << 20) + 1))
    expected = (
        "is larger than the limit of 4,194,304 bytes" if kind == "too large" else "is not a regular file"
    )
    for checked in (None, CheckedPacks(tmp_path / "cache")):
        with pytest.raises(RulePackError) as caught:
            _bounded(lambda: load_rule_pack(folder, checked=checked))  # noqa: B023
        (problem,) = caught.value.problems
        assert (Path(problem.file).name, problem.message) == ("9.9.yaml", f"cannot read: 9.9.yaml {expected}")


def test_a_rule_pack_text_is_capped(tmp_path: Path) -> None:
    """Rule packs come from outside and their texts reach results, trails and certificates."""
    from engine.catalogue import MAX_TEXT

    folder = tmp_path / "pack"
    shutil.copytree(bundled_rules.bundled(), folder)
    rule_file = folder / "characteristics" / "1.1.1.yaml"
    text = rule_file.read_text(encoding="utf-8")
    rule_file.write_text(text.replace("cell: ", f"cell: {'x' * 300}", 1), encoding="utf-8")
    (folder / "characteristics" / "1.1.2.yaml").write_text(
        (folder / "characteristics" / "1.1.2.yaml")
        .read_text(encoding="utf-8")
        .replace(
            "    summary:\n      en: >-\n",
            f"    summary:\n      en: {'y' * (MAX_TEXT + 1)}\n      x: >-\n",
            1,
        ),
        encoding="utf-8",
    )
    with pytest.raises(RulePackError) as caught:
        load_rule_pack(folder)
    messages = [(Path(p.file).name, p.message) for p in caught.value.problems]
    assert ("1.1.1.yaml", "String should have at most 200 characters") in messages
    assert ("1.1.2.yaml", f"String should have at most {MAX_TEXT} characters") in messages
