"""Profiles beside the rules: realistic cities written from the standard alone, and how often the
rules agree with their auditor (issue 14 asks for 95 % per model)."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pytest

import rules as bundled_rules
from engine.errors import RulePackError
from engine.evaluation import Inference
from engine.profiles import ProfileFile, agreement, load_profiles, profile_pack, run_profiles
from engine.reference import ReferenceInference
from engine.rulepack import RulePack, load_rule_pack

PACKS = bundled_rules.packs()

PROFILE = """\
characteristic: "1.5.3"
profiles:
  - id: riverton
    city: Riverton, a river port of 90,000
    as_of: 2026-06-30
    expected: 2
    reason: Table A.1, 1.5.3, level 2; a written account of why.
    items:
      - kind: document
        id: vision
        title: Riverton 2040
        issuer: Riverton Council
        period: {start: 2025-01-01, end: 2040-12-31}
        collected: 2026-05-02
        submitted: 2026-05-10
        doc_type: vision_strategy
        publication: {status: published, url: "https://riverton.example/2040"}
        outcome_areas: [economic, social, environmental]
      - kind: document
        id: old-plan
        title: Riverton plan 2010
        issuer: Riverton Council
        period: {start: 2010-01-01, end: 2015-12-31}
        collected: 2026-05-02
        submitted: 2026-05-10
        doc_type: plan
        publication: {status: internal}
    rejected: [old-plan]
    readings:
      vision: READING
"""


def _folder(tmp_path: Path, text: str) -> Path:
    (tmp_path / "profiles").mkdir(parents=True, exist_ok=True)
    (tmp_path / "profiles" / "1.5.3.yaml").write_text(text, encoding="utf-8")
    return tmp_path


@cache
def _rules(name: str) -> RulePack:
    return load_rule_pack(bundled_rules.bundled(name))


@pytest.mark.parametrize(
    ("reading", "verified"), [("fully", 2), ("largely", 2), ("partially", 1), ("not", 1)]
)
def test_the_profiles_auditor_judges_by_its_readings(tmp_path: Path, reading: str, verified: int) -> None:
    files = load_profiles(_folder(tmp_path, PROFILE.replace("READING", reading)))
    (result,) = run_profiles(_rules(bundled_rules.DEFAULT_PACK), files, ReferenceInference())
    assert (result.expected, result.verified, result.agrees) == (2, verified, verified == 2)
    file, rules = files["1.5.3"], _rules(bundled_rules.DEFAULT_PACK)
    (judgement,) = [
        j for j in profile_pack(file, file.profiles[0], rules).judgements if "/2/" in j.requirement
    ]
    assert (judgement.rating, judgement.cites) == ({"largely": "largely"}.get(reading, reading), ["vision"])


def test_a_bad_profile_names_every_problem(tmp_path: Path) -> None:
    text = PROFILE.replace("READING", "mostly")
    with pytest.raises(RulePackError) as caught:
        load_profiles(_folder(tmp_path, text))
    assert {(p.line, p.path) for p in caught.value.problems} == {(30, "profiles[0].readings.vision")}
    assert "Input should be 'fully', 'largely', 'partially' or 'not'" in str(caught.value)
    text = PROFILE.replace("READING", "fully").replace("doc_type: plan", "doc_type: wishlist")
    text = text.replace("rejected: [old-plan]", "rejected: [old-plan, ghost]")
    with pytest.raises(RulePackError) as caught:
        load_profiles(_folder(tmp_path, text))
    assert [(p.line, p.path, p.message[:20]) for p in caught.value.problems] == [
        (26, "profiles[0].items[1].doc_type", "Input should be 'vis"),
        (28, "profiles[0].rejected", "'ghost' is not an it"),
        (28, "profiles[0].rejected", "'old-plan' is not an"),  # its item did not validate
    ]


PROFILED = [name for name in PACKS if (bundled_rules.bundled(name) / "profiles").is_dir()]
MIN_AGREEMENT = {"iso37107-2019": 0.95, "pas181": 0.95, "itu-y4904": 0.95}
"""Issue 14's target: the rules agree with the profiles' auditors in at least 95 % of cases per
model (measured: 94 of 96, 14 of 14, 16 of 16)."""


@pytest.mark.parametrize("name", PROFILED)
def test_bundled_profiles_run_the_same_on_both_engines(
    name: str, durable: Inference, reference: ReferenceInference
) -> None:
    files: dict[str, ProfileFile] = load_profiles(bundled_rules.bundled(name))
    on_durable = run_profiles(_rules(name), files, durable)
    on_reference = run_profiles(_rules(name), files, reference)
    assert on_durable == on_reference
    assert agreement(on_reference) >= MIN_AGREEMENT[name]
    # Every remaining difference is written down, with the reason the rules read it otherwise.
    assert [(r.characteristic, r.profile) for r in on_reference if not r.agrees and not r.difference] == []


def test_a_profile_file_is_named_after_its_characteristic(tmp_path: Path) -> None:
    folder = _folder(tmp_path, PROFILE.replace("READING", "fully"))
    (folder / "profiles" / "1.5.3.yaml").rename(folder / "profiles" / "1.5.2.yaml")
    with pytest.raises(RulePackError) as caught:
        load_profiles(folder)
    assert [(p.line, p.path, p.message) for p in caught.value.problems] == [
        (1, "characteristic", "file is named '1.5.2', must be '1.5.3'")
    ]
