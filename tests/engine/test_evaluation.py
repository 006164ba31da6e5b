"""Evaluations: the sample community's verdicts, claims, summaries, determinism, bad fits."""

from __future__ import annotations

import datetime as dt

import pytest

import examples
import rules as bundled_rules
from engine.durable_engine import DurableInference
from engine.errors import EvidencePackError
from engine.evaluation import evaluate
from engine.reference import ReferenceInference
from engine.result import AGGREGATION_RULE, CharacteristicResult, Result
from engine.rulepack import RulePack, load_rule_pack
from engine.sources import DigestIds, FixedClock
from evidence_schemas.pack import EvidencePack
from evidence_schemas.reader import read_pack
from tests.helpers import AS_OF, run_evaluation


@pytest.fixture
def result(rule_pack: RulePack, sample_pack: EvidencePack, reference: ReferenceInference) -> Result:
    return run_evaluation(rule_pack, sample_pack, reference).result


def _char(result: Result, cid: str) -> CharacteristicResult:
    return next(c for c in result.characteristics if c.id == cid)


def test_sample_levels_and_reasons(result: Result) -> None:
    vision, tracking, resilience = (_char(result, c) for c in ("1.1.1", "1.5.2", "4.3"))
    assert (vision.verified_level, tracking.verified_level, resilience.verified_level) == (4, 4, 2)
    blockers = {b.requirement: b for b in vision.blockers}
    # One published progress report of a recurring series meets "regular public reporting".
    assert set(blockers) == {"1.1.1/5/latest-report-recent", "1.1.1/5/feedback-process"}
    assert blockers["1.1.1/5/feedback-process"].outcome == "indeterminate"
    assert blockers["1.1.1/5/feedback-process"].missing.endswith(
        "(have-your-say: awaiting auditor acceptance); then awaiting the auditor's judgement"
    )
    assert blockers["1.1.1/5/latest-report-recent"].missing.startswith(
        "judged partially implemented by A. Haddad (auditor) on 2026-06-22 (document review): "
    )
    (blocker,) = resilience.blockers
    assert blocker.requirement == "4.3/3/management-process"
    assert blocker.missing.endswith("rejected by the auditor: resilience-procedure")
    level_2 = resilience.levels[0]
    assert level_2.credited
    assert [r.evidence for r in level_2.requirements] == [["resilience-plan"], ["risk-assessment-2024"]]


def test_claims_are_compared_with_the_verified_level(result: Result) -> None:
    verdicts = {c.id: c.claim.verdict for c in result.characteristics if c.claim is not None}
    assert len(verdicts) == 32
    assert {k: verdicts[k] for k in ("1.1.1", "1.5.2", "4.3")} == {
        "1.1.1": "over-claimed",
        "1.5.2": "under-claimed",
        "4.3": "over-claimed",
    }
    for char in result.characteristics:
        assert char.claim is not None
        if char.claim.now == char.verified_level:
            assert char.claim.verdict == "confirmed"
    claim = _char(result, "1.1.1").claim
    assert claim is not None
    assert (claim.now, claim.in_two_years) == (5, 5)
    resilience = _char(result, "4.3")
    assert resilience.projected is not None
    assert (resilience.projected.level, resilience.projected.commitments) == (
        3,
        ["adopt-resilience-procedure"],
    )
    assert resilience.claim is not None
    assert (resilience.claim.in_two_years, resilience.claim.in_two_years_verdict) == (4, "over-claimed")


def test_characteristics_the_pack_does_not_encode_are_listed_not_skipped(
    rule_pack: RulePack, sample_pack: EvidencePack
) -> None:
    only = {"4.3": rule_pack.characteristics["4.3"]}
    partial = RulePack(rule_pack.id, rule_pack.model, only, rule_pack.digest, rule_pack.files)
    result = run_evaluation(partial, sample_pack, ReferenceInference()).result
    assert len(result.characteristics) == 32
    not_encoded = [c for c in result.characteristics if c.status == "not_encoded"]
    assert len(not_encoded) == 31
    assert all(c.verified_level is None and not c.levels and c.projected is None for c in not_encoded)
    claim = _char(result, "1.1.1").claim
    assert claim is not None
    assert (claim.verdict, claim.in_two_years_verdict) == ("not-assessed", "not-assessed")
    groups = {g.id: g for g in result.summaries.groups}
    assert (groups["4"].evaluated, groups["4"].not_encoded, groups["1"].level) == (1, 5, None)


def test_summaries_name_their_aggregation_rule(result: Result) -> None:
    assert result.summaries.rule == AGGREGATION_RULE
    levels = {c.id: c.verified_level for c in result.characteristics}
    for group in result.summaries.groups:
        members = [
            level for cid, level in levels.items() if cid.startswith(group.id + ".") and level is not None
        ]
        assert group.level == min(members)
        assert group.mean == round(sum(members) / len(members), 2)
        assert (group.evaluated, group.not_encoded) == (len(members), 0)
    ids = [g.id for g in result.summaries.groups]
    assert ids == [
        "1.1",
        "1.2",
        "1.3",
        "1.4",
        "1.5",
        "2.1",
        "2.2",
        "2.3",
        "2.4",
        "3.1",
        "3.2",
        "1",
        "2",
        "3",
        "4",
    ]


def test_items_collected_after_the_assessment_date_are_left_out(result: Result) -> None:
    assert [(e.id, e.reason) for e in result.excluded_evidence] == [
        ("resilience-evaluation", "collected 2026-07-15, after the assessment date")
    ]
    later = run_evaluation_at(dt.date(2026, 7, 31))
    assert later.excluded_evidence == []


def run_evaluation_at(day: dt.date) -> Result:
    pack = read_pack(examples.sample_pack()).pack
    return run_evaluation(load_rule_pack(bundled_rules.bundled()), pack, ReferenceInference(), day).result


def test_verifications_after_the_assessment_date_do_not_count(
    sample_pack: EvidencePack, rule_pack: RulePack
) -> None:
    later = [v.model_copy(update={"date": AS_OF + dt.timedelta(days=1)}) for v in sample_pack.verifications]
    result = run_evaluation(
        rule_pack, sample_pack.model_copy(update={"verifications": later}), ReferenceInference()
    ).result
    resilience = _char(result, "4.3")
    assert resilience.verified_level == 1
    assert resilience.levels[0].criteria == "indeterminate"


def test_results_and_trails_are_byte_identical_for_identical_inputs(
    rule_pack: RulePack, sample_pack: EvidencePack, durable: DurableInference
) -> None:
    first = run_evaluation(rule_pack, sample_pack, durable)
    second = run_evaluation(rule_pack, sample_pack, durable)
    reference = run_evaluation(rule_pack, sample_pack, ReferenceInference())
    assert (
        first.result.model_dump_json()
        == second.result.model_dump_json()
        == reference.result.model_dump_json()
    )
    assert (
        [r.line() for r in first.trail]
        == [r.line() for r in second.trail]
        == [r.line() for r in reference.trail]
    )
    other_day = run_evaluation(rule_pack, sample_pack, ReferenceInference(), AS_OF + dt.timedelta(days=1))
    assert other_day.result.evaluation_id != first.result.evaluation_id


def test_the_clock_and_ids_are_injected(rule_pack: RulePack, sample_pack: EvidencePack) -> None:
    class Ids:
        def new_id(self, kind: str) -> str:
            return f"{kind}-fixed"

    instant = dt.datetime(2030, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
    evaluation = evaluate(
        rule_pack, sample_pack, "sha256:x", as_of=AS_OF, clock=FixedClock(instant), ids=Ids(),
        inference=ReferenceInference(), actor="auditor:r.okafor",
    )  # fmt: skip
    assert evaluation.result.evaluation_id == "evaluation-fixed"
    assert {r.time for r in evaluation.trail} == {"2030-01-02T03:04:05Z"}
    assert {r.actor for r in evaluation.trail} == {"auditor:r.okafor"}


def _refusal(rules: RulePack, pack: EvidencePack) -> list[tuple[str, str]]:
    with pytest.raises(EvidencePackError) as caught:
        evaluate(rules, pack, "sha256:x", as_of=AS_OF, clock=FixedClock.at_date(AS_OF),
                 ids=DigestIds("x"), inference=ReferenceInference())  # fmt: skip
    return [(p.path, p.message) for p in caught.value.problems]


def test_a_pack_for_another_model_is_refused_with_that_one_problem(
    rule_pack: RulePack, sample_pack: EvidencePack
) -> None:
    item = sample_pack.items[0].model_copy(update={"offered_for": ["1.1.1", "9.9"]})
    wrong = sample_pack.model_copy(update={"model": "pas181", "items": [item, *sample_pack.items[1:]]})
    # Not also "9.9 is unknown": every characteristic of another model is, which follows from this.
    assert _refusal(rule_pack, wrong) == [
        ("model", "pack is for 'pas181', rule pack is 'iso37107-2019' (ISO/TS 37107:2019)")
    ]


def test_unknown_characteristics_are_refused_each_by_name(
    rule_pack: RulePack, sample_pack: EvidencePack
) -> None:
    item = sample_pack.items[0].model_copy(update={"offered_for": ["1.1.1", "9.9"]})
    claims = [*sample_pack.claims, sample_pack.claims[0].model_copy(update={"characteristic": "7.7"})]
    wrong = sample_pack.model_copy(update={"items": [item, *sample_pack.items[1:]], "claims": claims})
    assert _refusal(rule_pack, wrong) == [  # ordered by path
        (f"claims[{len(claims) - 1}].characteristic", "claim for unknown characteristic '7.7'"),
        ("items[0].offered_for[1]", "vision-2035 is offered for unknown characteristic '9.9'"),
    ]


@pytest.mark.parametrize(
    ("name", "levels"),
    [("larkfield", (2, 1, 1)), ("harbourton", (4, 4, 2)), ("norbridge", (5, 5, 4))],
)
def test_the_three_sample_communities_stand_at_different_levels(
    rule_pack: RulePack, durable: DurableInference, name: str, levels: tuple[int, int, int]
) -> None:
    pack = read_pack(examples.sample_pack(name)).pack
    result = run_evaluation(rule_pack, pack, durable).result
    assert tuple(_char(result, c).verified_level for c in ("1.1.1", "1.5.2", "4.3")) == levels
