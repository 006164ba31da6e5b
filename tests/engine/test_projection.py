"""The level in two years: approved, funded commitments due within 24 months count."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

import rules as bundled_rules
from engine.cases import case_pack, load_cases
from engine.durable_engine import DurableInference
from engine.evaluation import Inference
from engine.evidence import normalise
from engine.projection import judge_promised, project
from engine.reference import ReferenceInference
from engine.result import CharacteristicResult, Result
from engine.rulepack import RulePack, load_rule_pack
from evidence_schemas.pack import EvidencePack
from tests.helpers import run_evaluation

AS_OF = dt.date(2026, 6, 30)
CASES = load_cases(bundled_rules.bundled())
RULES = load_rule_pack(bundled_rules.bundled())


def _promises(due: dt.date) -> list[dict[str, Any]]:
    """What a resilience commitment promises: the level-5 evidence of 4.3."""
    common = {"issuer": "Case City Council", "period": {"start": due - dt.timedelta(days=90), "end": due},
              "collected": due, "submitted": due, "offered_for": ["4.3"]}  # fmt: skip
    return [
        {**common, "kind": "kpi", "id": "promised-dashboard", "title": "Live resilience dashboard",
         "indicator": {"id": "RES-L2", "catalogue": "local", "name": "Assets monitored in real time"},
         "unit": "%", "direction": "higher_is_better", "signal": "leading",
         "baseline": {"value": 10.0, "date": dt.date(2024, 6, 30), "method": "asset register"},
         "observations": [{"date": due - dt.timedelta(days=10), "value": 60.0}],
         "dashboard": {"url": "https://case.example/live", "public": True, "refresh_minutes": 5,
                       "near_real_time": True}},
        {**common, "kind": "document", "id": "promised-evaluation", "title": "Evaluation of the plan",
         "doc_type": "evaluation", "publication": {"status": "published", "url": "https://case.example/eval"}},
        {**common, "kind": "engagement", "id": "promised-network", "title": "Network peer review",
         "engagement_type": "network_exchange"},
    ]  # fmt: skip


def _pack(**commitment: Any) -> EvidencePack:
    """4.3 at level 4 now, plus one commitment promising the level-5 evidence."""
    base = case_pack(CASES["4.3"], CASES["4.3"].levels[4].reach, RULES)
    due = commitment.pop("due", AS_OF + dt.timedelta(days=365))
    verdict = commitment.pop("verdict", "accepted")
    item = {
        "kind": "commitment", "id": "plan-l5", "title": "Resilience level 5 plan",
        "issuer": "Case City Council",
        "period": {"start": AS_OF, "end": due}, "collected": AS_OF - dt.timedelta(days=5),
        "submitted": AS_OF - dt.timedelta(days=4), "offered_for": ["4.3"],
        "commitment": "Live dashboard, evaluation and peer review", "due": due,
        "approval_status": "approved", "funding_status": "funded", "promises": _promises(due), **commitment,
    }  # fmt: skip
    data = base.model_dump()
    data["items"].append(item)
    if verdict is not None:
        data["verifications"].append({
            "evidence_id": "plan-l5", "verdict": verdict, "method": "document_review",
            "reason": "budget line and council minute checked", "auditor": "Case Auditor", "date": AS_OF,
        })  # fmt: skip
    data["claims"] = [{"characteristic": "4.3", "now": 4, "in_two_years": 5}]
    return EvidencePack.model_validate(data)


def _resilience(result: Result) -> CharacteristicResult:
    return next(c for c in result.characteristics if c.id == "4.3")


def test_an_approved_funded_commitment_lifts_the_projection(
    rule_pack: RulePack, inference: Inference
) -> None:
    result = run_evaluation(rule_pack, _pack(), inference, AS_OF).result
    resilience = _resilience(result)
    assert resilience.verified_level == 4
    assert resilience.projected is not None
    assert (resilience.projected.level, resilience.projected.commitments) == (5, ["plan-l5"])
    assert resilience.claim is not None
    assert (resilience.claim.verdict, resilience.claim.in_two_years_verdict) == ("confirmed", "confirmed")
    assert result.commitments_left_out == []
    assert result.projection_until == dt.date(2028, 6, 30)
    for other in result.characteristics:
        if other.id != "4.3" and other.projected is not None:
            assert other.projected.level == other.verified_level
            assert other.projected.commitments == []


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"approval_status": "proposed"}, "not approved"),
        ({"funding_status": "partly_funded"}, "not funded (partly funded)"),
        (
            {"due": dt.date(2028, 7, 1)},
            "due 2028-07-01, more than 24 months after the assessment date",
        ),
        ({"due": AS_OF}, "due 2026-06-30, not after the assessment date"),
        ({"verdict": "rejected"}, "rejected by the auditor"),
    ],
)
def test_commitments_that_do_not_count(
    rule_pack: RulePack, inference: Inference, change: dict[str, Any], reason: str
) -> None:
    result = run_evaluation(rule_pack, _pack(**change), inference, AS_OF).result
    resilience = _resilience(result)
    assert resilience.projected is not None
    assert (resilience.projected.level, resilience.projected.commitments) == (4, [])
    assert [(e.id, e.reason) for e in result.commitments_left_out] == [("plan-l5", reason)]
    assert resilience.claim is not None
    assert resilience.claim.in_two_years_verdict == "over-claimed"


def test_promised_evidence_carries_the_commitments_verdict(rule_pack: RulePack, inference: Inference) -> None:
    result = run_evaluation(rule_pack, _pack(verdict=None), inference, AS_OF).result
    resilience = _resilience(result)
    assert resilience.projected is not None
    assert resilience.projected.level == 4  # level 5 needs accepted evidence: still awaiting the auditor
    assert resilience.projected.commitments == ["plan-l5"]


def test_the_projection_is_in_the_trail_and_identical_across_engines(rule_pack: RulePack) -> None:
    durable = run_evaluation(rule_pack, _pack(), DurableInference(), AS_OF)
    reference = run_evaluation(rule_pack, _pack(), ReferenceInference(), AS_OF)
    assert durable.result.model_dump_json() == reference.result.model_dump_json()
    assert [r.line() for r in durable.trail] == [r.line() for r in reference.trail]
    (record,) = [r for r in durable.trail if r.event == "projection.inferred"]
    assert record.payload["characteristic"] == "4.3"
    assert record.payload["projected_level"] == 5
    assert record.payload["commitments"] == ["plan-l5"]


def test_promised_evidence_stands_as_judged_on_delivery_naming_the_commitment() -> None:
    """Promised items cannot be judged before they exist: where a requirement needs a judgement,
    the projection counts them as judged largely, says whose promise it is, and keeps what the
    auditor already judged; the current evidence keeps only the auditor's own judgements."""
    pack = _pack()
    current = normalise(pack, AS_OF)
    projected = judge_promised(project(pack, current), RULES)
    promised = {k: j for k, j in projected.judgements.items() if j.auditor == "projection"}
    assert sorted(promised) == [
        "4.3/5/learning-shared",
        "4.3/5/near-real-time-dashboard",
        "4.3/5/policy-evaluation",
    ]
    evaluation = promised["4.3/5/policy-evaluation"]
    assert (evaluation.rating, evaluation.cites, evaluation.reason) == (
        "largely",
        ("promised-evaluation",),
        "promised by plan-l5; to be judged on delivery",
    )
    assert not any(j.auditor == "projection" for j in current.judgements.values())
    kept = {k: j for k, j in projected.judgements.items() if j.auditor != "projection"}
    assert kept == {k: j for k, j in current.judgements.items() if k not in promised}
