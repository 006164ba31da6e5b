"""The cases beside the rules: every level reached by its minimal set, missed one short of it.

One parametrised test picks up every case file of every bundled rule pack and runs each case on
both engines (test ids start with the pack's folder name); a meta-test per pack fails any
encoded level without both cases.
"""

from __future__ import annotations

from functools import cache
from typing import Literal

import pytest

import rules as bundled_rules
from engine.cases import load_cases, run_case, run_cases
from engine.durable_engine import DurableInference
from engine.evaluation import Inference
from engine.reference import ReferenceInference
from engine.rulepack import RulePack, load_rule_pack
from engine.spec import CharacteristicRules, Requirement

PACKS = bundled_rules.packs()
CASES = {name: load_cases(bundled_rules.bundled(name)) for name in PACKS}
ISO = bundled_rules.DEFAULT_PACK
RUNS = [
    pytest.param(pack, cid, level, name, id=f"{pack}-{cid}-L{level}-{name}")
    for pack in PACKS
    for cid, case in sorted(CASES[pack].items())
    for level in sorted(case.levels)
    for name in ("reach", "miss")
]


@cache
def _rule_pack(name: str) -> RulePack:
    """A bundled pack, loaded once per test session (a broken pack fails only its own tests)."""
    return load_rule_pack(bundled_rules.bundled(name))


@pytest.fixture(scope="module", params=["durable", "reference"])
def inference(
    request: pytest.FixtureRequest, durable: DurableInference, reference: ReferenceInference
) -> Inference:
    return durable if request.param == "durable" else reference


@pytest.mark.parametrize(("pack", "cid", "level", "name"), RUNS)
def test_case(inference: Inference, pack: str, cid: str, level: int, name: Literal["reach", "miss"]) -> None:
    result = run_case(_rule_pack(pack), CASES[pack][cid], level, name, inference)
    assert result.ok, result.failures
    assert result.verified == (level if name == "reach" else level - 1)


def test_every_bundled_pack_is_found() -> None:
    assert {ISO, "pas181"} <= set(PACKS)
    assert sorted(PACKS) == PACKS
    assert all((bundled_rules.bundled(name) / "model.yaml").is_file() for name in PACKS)


@pytest.mark.parametrize("pack", PACKS)
def test_every_encoded_level_has_both_cases(pack: str) -> None:
    cases = CASES[pack]
    for cid, spec in _rule_pack(pack).characteristics.items():
        assert cid in cases, f"{pack} {cid} has no case file"
        assert sorted(cases[cid].levels) == sorted(spec.levels), f"{pack} {cid}"
        for level in spec.levels:
            runs = cases[cid].levels[level]
            where = f"{pack} {cid} level {level}"
            assert runs.reach.items, f"{where}: the reach case has no evidence"
            assert runs.miss.unmet, f"{where}: the miss case names no unmet requirement"
            leaves = {node.id for node in _nodes(spec, level)}
            assert runs.miss.unmet in leaves, f"{where}: {runs.miss.unmet} is not a requirement"


@pytest.mark.parametrize("pack", PACKS)
def test_every_level_has_a_summary_in_both_languages(pack: str) -> None:
    for spec in _rule_pack(pack).characteristics.values():
        for level in spec.levels.values():
            assert level.summary.en.strip()
            assert level.summary.zh.strip()
            for requirement in level.requirements:
                for node in requirement.walk():
                    assert node.summary.en.strip()
                    assert node.summary.zh.strip()


@pytest.mark.parametrize("pack", PACKS)
def test_bundled_pack_loads_fresh(pack: str) -> None:
    folder = bundled_rules.bundled(pack)
    assert load_rule_pack(folder).characteristics.keys() == CASES[pack].keys()


def test_a_case_that_does_not_hold_is_reported(reference: ReferenceInference) -> None:
    rule_pack, case = _rule_pack(ISO), CASES[ISO]["4.3"]
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


def test_missing_case_file_is_a_failure(reference: ReferenceInference) -> None:
    results = run_cases(_rule_pack(ISO).only("1.5.2"), {}, reference)
    assert [r.failures for r in results] == [("1.5.2 has no case file",)]


def _nodes(spec: CharacteristicRules, level: int) -> list[Requirement]:
    """Every requirement node of a level."""
    return [node for top in spec.levels[level].requirements for node in top.walk()]
