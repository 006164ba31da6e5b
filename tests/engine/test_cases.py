"""The cases beside the rules: every level reached by its minimal set, missed one short of it.

One parametrised test picks up every case file of every bundled rule pack and runs each case on
both engines; a meta-test fails any encoded level without both cases.
"""

from __future__ import annotations

from typing import Literal

import pytest

import rules as bundled_rules
from engine.cases import load_cases, run_case, run_cases
from engine.durable_engine import DurableInference
from engine.evaluation import Inference
from engine.reference import ReferenceInference
from engine.rulepack import RulePack, load_rule_pack
from engine.spec import CharacteristicRules, Requirement

PACK = bundled_rules.bundled()
CASES = load_cases(PACK)
RUNS = [
    pytest.param(cid, level, name, id=f"{cid}-L{level}-{name}")
    for cid, case in sorted(CASES.items())
    for level in sorted(case.levels)
    for name in ("reach", "miss")
]


@pytest.fixture(scope="module", params=["durable", "reference"])
def inference(
    request: pytest.FixtureRequest, durable: DurableInference, reference: ReferenceInference
) -> Inference:
    return durable if request.param == "durable" else reference


@pytest.mark.parametrize(("cid", "level", "name"), RUNS)
def test_case(
    rule_pack: RulePack, inference: Inference, cid: str, level: int, name: Literal["reach", "miss"]
) -> None:
    result = run_case(rule_pack, CASES[cid], level, name, inference)
    assert result.ok, result.failures
    assert result.verified == (level if name == "reach" else level - 1)


def test_every_encoded_level_has_both_cases(rule_pack: RulePack) -> None:
    for cid, spec in rule_pack.characteristics.items():
        assert cid in CASES, f"{cid} has no case file"
        assert sorted(CASES[cid].levels) == sorted(spec.levels), cid
        for level in spec.levels:
            runs = CASES[cid].levels[level]
            assert runs.reach.items, f"{cid} level {level}: the reach case has no evidence"
            assert runs.miss.unmet, f"{cid} level {level}: the miss case names no unmet requirement"
            leaves = {node.id for node in _nodes(spec, level)}
            assert runs.miss.unmet in leaves, f"{cid} level {level}: {runs.miss.unmet} is not a requirement"


def test_every_level_has_a_summary_in_both_languages(rule_pack: RulePack) -> None:
    for spec in rule_pack.characteristics.values():
        for level in spec.levels.values():
            assert level.summary.en.strip()
            assert level.summary.zh.strip()
            for requirement in level.requirements:
                for node in requirement.walk():
                    assert node.summary.en.strip()
                    assert node.summary.zh.strip()


def test_a_case_that_does_not_hold_is_reported(rule_pack: RulePack, reference: ReferenceInference) -> None:
    case = CASES["4.3"]
    wrong_miss = case.levels[3].miss.model_copy(update={"unmet": "holistic-risk-assessment"})
    levels = {**case.levels, 3: case.levels[3].model_copy(update={"miss": wrong_miss})}
    result = run_case(rule_pack, case.model_copy(update={"levels": levels}), 3, "miss", reference)
    assert not result.ok
    assert result.failures == (
        "holistic-risk-assessment does not block level 3 (blockers: ['4.3/3/lagging-indicator-monitored'])",
    )
    too_high = run_case(rule_pack, case, 4, "reach", reference)
    assert too_high.ok
    wrong_level = run_case(
        rule_pack, case.model_copy(update={"levels": {4: case.levels[3]}}), 4, "reach", reference
    )
    assert wrong_level.failures == ("expected level 4, verified 3",)


def test_missing_case_file_is_a_failure(rule_pack: RulePack, reference: ReferenceInference) -> None:
    results = run_cases(rule_pack.only("1.5.2"), {}, reference)
    assert [r.failures for r in results] == [("1.5.2 has no case file",)]


def _nodes(spec: CharacteristicRules, level: int) -> list[Requirement]:
    """Every requirement node of a level."""
    return [node for top in spec.levels[level].requirements for node in top.walk()]


def test_bundled_pack_loads_fresh() -> None:
    assert load_rule_pack(PACK).characteristics.keys() == CASES.keys()
