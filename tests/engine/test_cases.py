"""The cases beside the rules: every level reached by its minimal set, missed one short of it.

One parametrised test picks up every case file of every bundled rule pack and runs each case on
both engines (test ids start with the pack's folder name); a meta-test per pack fails any
encoded level without both cases.
"""

from __future__ import annotations

import datetime as dt
from functools import cache
from typing import Literal

import pytest

import rules as bundled_rules
from engine.cases import case_pack, evaluate_run, load_cases, run_case, run_cases
from engine.durable_engine import DurableInference
from engine.evaluation import Inference
from engine.judging import judged_requirements
from engine.reference import ReferenceInference
from engine.result import CharacteristicResult, RequirementResult
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


JUDGED = [
    pytest.param(pack, requirement.key, id=f"{pack}-{requirement.key}")
    for pack in PACKS
    for requirement in judged_requirements(_rule_pack(pack))
]


@pytest.mark.parametrize(("pack", "key"), JUDGED)
def test_every_judged_requirement_rated_partially_is_not_met_with_the_reason(
    reference: ReferenceInference, pack: str, key: str
) -> None:
    """The satisfied auditor of the level's reach case, turned: rating the requirement partially
    leaves it unmet with the auditor's words, and (unless it is one branch of an ``any``) the
    level is lost."""
    cid, level, node_id = key.split("/")
    case, rules = CASES[pack][cid], _rule_pack(pack)
    reach = case.levels[int(level)].reach
    if key not in {j.requirement for j in case_pack(case, reach, rules).judgements}:
        # Nothing in the reach case meets its conditions: only an untaken alternative may be so.
        assert _under_any(rules.characteristics[cid], int(level), node_id), f"{key} is never judged"
        return
    turned = reach.model_copy(update={"ratings": {node_id: "partially"}})
    evaluation = evaluate_run(rules.only(cid), case, turned, reference)
    result = next(c for c in evaluation.result.characteristics if c.id == cid)
    node = _node(result, int(level), node_id)
    if node.through is not None:
        # A later stage of the same practice (met_by), judged satisfactory in the same case,
        # stands in for it: that is what met_by means.
        assert node.outcome == "met"
        assert node.through in [
            f"{cid}/{target}" for target in _met_by(rules.characteristics[cid], int(level), node_id)
        ]
        return
    assert (node.outcome, node.missing) == (
        "not_met",
        "judged partially implemented by Case Auditor on "
        f"{case.as_of - dt.timedelta(days=1)} (document review): case run",
    )
    if not _under_any(rules.characteristics[cid], int(level), node_id):
        assert (result.verified_level or 0) < int(level)


def _met_by(spec: CharacteristicRules, level: int, node_id: str) -> list[str]:
    node = next(n for top in spec.levels[level].requirements for n in top.walk() if n.id == node_id)
    return node.met_by


def test_a_run_leaves_a_requirement_unjudged_and_it_awaits_the_auditor(reference: ReferenceInference) -> None:
    rules, case = _rule_pack(ISO), CASES[ISO]["1.5.3"]
    judged = [r.requirement.id for r in judged_requirements(rules.only("1.5.3")) if r.level == 3]
    run = case.levels[3].reach.model_copy(update={"unjudged": judged})
    evaluation = evaluate_run(rules.only("1.5.3"), case, run, reference)
    result = next(c for c in evaluation.result.characteristics if c.id == "1.5.3")
    assert judged
    assert result.verified_level == 2
    awaiting = _node(result, 3, judged[0])
    assert (awaiting.outcome, awaiting.missing) == ("indeterminate", "awaiting the auditor's judgement")


def test_a_run_rating_an_unknown_requirement_is_a_failure(reference: ReferenceInference) -> None:
    rules, case = _rule_pack(ISO), CASES[ISO]["1.5.3"]
    run = case.levels[2].reach.model_copy(
        update={"ratings": {"no-such-thing": "fully"}, "unjudged": ["nor-this"]}
    )
    levels = {**case.levels, 2: case.levels[2].model_copy(update={"reach": run})}
    result = run_case(rules, case.model_copy(update={"levels": levels}), 2, "reach", reference)
    assert result.failures == (
        "no-such-thing is not a requirement needing judgement in 1.5.3",
        "nor-this is not a requirement needing judgement in 1.5.3",
    )


def _node(result: CharacteristicResult, level: int, node_id: str) -> RequirementResult:
    """One requirement's result, searched through the level's tree."""
    todo = list(next(lv for lv in result.levels if lv.level == level).requirements)
    while todo:
        node = todo.pop()
        if node.id == node_id:
            return node
        todo += node.children
    raise AssertionError(f"{node_id} not in level {level}")


def _under_any(spec: CharacteristicRules, level: int, node_id: str) -> bool:
    """Whether the node sits below an ``any`` in the level's own requirements."""
    return any(
        node.any is not None and any(n.id == node_id for child in node.any for n in child.walk())
        for node in _nodes(spec, level)
    )


@pytest.mark.parametrize("pack", PACKS)
def test_freshness_is_measured_from_what_the_evidence_describes(pack: str) -> None:
    """``collected`` and ``submitted`` say when a file was gathered, not how current its content
    is: no bundled requirement measures freshness from them."""
    rules = _rule_pack(pack)
    gathered = [
        spec.node_key(number, node.id)
        for spec in rules.characteristics.values()
        for number in spec.levels
        for node in _nodes(spec, number)
        if node.evidence is not None
        and node.evidence.max_age_days is not None
        and node.evidence.age_of in ("collected", "submitted")
    ]
    assert gathered == []
