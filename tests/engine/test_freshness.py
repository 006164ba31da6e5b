"""Freshness on the assessment date: nothing dated after it is current, an ongoing period is.

- a record whose period ends after the assessment date describes days not yet lived: not
  current, whatever ``max_age_days`` says (it used to pass, its age being negative);
- a period without an end is ongoing (the schema's meaning): current for ``age_of: period.end``;
- an item approved, baselined or starting after the assessment date described a state that did
  not exist on it: excluded with the reason, like one collected after it;
- meetings and decisions after the assessment date are not counted.

Each case runs on durable_rules and on the reference evaluator.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

import rules as bundled_rules
from engine.canonical import digest_of
from engine.catalogue import load_catalogue
from engine.evaluation import Inference
from engine.evidence import normalise
from engine.outcomes import Outcome
from engine.rulepack import RulePack
from engine.spec import CharacteristicRules
from evidence_schemas.pack import EvidencePack
from tests.helpers import pack_of

AS_OF = dt.date(2026, 6, 30)
CID = "1.5.3"
MODEL = load_catalogue(bundled_rules.bundled() / "model.yaml")


def _rules(evidence: dict[str, Any]) -> RulePack:
    spec = CharacteristicRules.model_validate({
        "characteristic": CID,
        "levels": {2: {
            "cell": f"Table A.1, {CID}, level 2", "summary": {"en": "s", "zh": "s"},
            "requirements": [{"id": "fresh", "summary": {"en": "s", "zh": "s"}, "evidence": evidence}],
        }},
    })  # fmt: skip
    return RulePack(MODEL.id, MODEL, {CID: spec}, digest_of(spec.model_dump(mode="json")), ())


EVALUATED = _rules({"kind": "document", "where": {"doc_type": {"equals": "evaluation"}},
                    "max_age_days": 730, "age_of": "period.end"})  # fmt: skip
ACTIVE_BODY = _rules({"kind": "governance", "where": {"meetings.count": {"gte": 2}},
                      "max_age_days": 400, "age_of": "period.end"})  # fmt: skip


def _item(ident: str, kind: str, period: dict[str, dt.date], **extra: Any) -> dict[str, Any]:
    return {"kind": kind, "id": ident, "title": ident, "issuer": "City", "offered_for": [CID],
            "period": period, "collected": dt.date(2026, 6, 1), "submitted": dt.date(2026, 6, 2),
            **extra}  # fmt: skip


def _evaluation(ident: str, end: dt.date | None, **extra: Any) -> dict[str, Any]:
    period = {"start": dt.date(2023, 1, 1)} | ({"end": end} if end else {})
    return _item(
        ident, "document", period, doc_type="evaluation", publication={"status": "internal"}, **extra
    )


def _body(ident: str, meetings: list[dt.date], end: dt.date | None = None) -> dict[str, Any]:
    period = {"start": dt.date(2025, 1, 1)} | ({"end": end} if end else {})
    return _item(ident, "governance", period, body="Board", mandate="m", accountable_role="r",
                 authority="oversight", members={"local_government": 3}, meetings=meetings)  # fmt: skip


def _pack(items: list[dict[str, Any]]) -> EvidencePack:
    return pack_of(items, MODEL.id)


def _outcome(inference: Inference, rules: RulePack, items: list[dict[str, Any]]) -> Outcome:
    return inference.infer(rules, normalise(_pack(items), AS_OF))[CID].nodes[f"{CID}/2/fresh"]


def test_a_period_ending_after_the_assessment_date_is_not_current(inference: Inference) -> None:
    outcome = _outcome(inference, EVALUATED, [_evaluation("eval-2099", dt.date(2099, 12, 31))])
    assert outcome.status == "indeterminate"
    assert outcome.missing is not None
    assert outcome.missing.endswith("0 qualify, 1 pending (eval-2099: not current)")


def test_a_period_that_ended_within_the_limit_is_current_and_one_before_it_is_not(
    inference: Inference,
) -> None:
    met = _outcome(inference, EVALUATED, [_evaluation("eval-2025", dt.date(2025, 12, 31))])
    assert (met.status, met.evidence) == ("met", ("eval-2025",))
    old = _outcome(inference, EVALUATED, [_evaluation("eval-2023", dt.date(2023, 12, 31))])
    assert old.status == "indeterminate"
    assert [(p.id, p.reason) for p in old.pending] == [("eval-2023", "not current")]


def test_an_ongoing_period_is_current(inference: Inference) -> None:
    outcome = _outcome(inference, ACTIVE_BODY, [_body("board", [dt.date(2026, 2, 1), dt.date(2026, 5, 1)])])
    assert (outcome.status, outcome.evidence) == ("met", ("board",))


def test_meetings_after_the_assessment_date_are_not_counted(inference: Inference) -> None:
    planned = _body("board", [dt.date(2026, 5, 1), dt.date(2026, 9, 1), dt.date(2026, 12, 1)])
    outcome = _outcome(inference, ACTIVE_BODY, [planned])
    assert outcome.status == "not_met"  # one meeting held so far: out of scope


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"collected": dt.date(2026, 7, 1), "submitted": dt.date(2026, 7, 2)}, "collected 2026-07-01"),
        ({"period": {"start": dt.date(2026, 9, 1)}}, "its period starts 2026-09-01"),
        ({"approval": {"by": "Council", "date": dt.date(2026, 8, 1)}}, "approved 2026-08-01"),
    ],
    ids=["collected", "period", "approval"],
)
def test_an_item_describing_a_later_state_is_excluded_with_the_reason(
    change: dict[str, Any], reason: str
) -> None:
    evidence = normalise(_pack([_evaluation("eval", None) | change]), AS_OF)
    assert [(e.id, e.reason) for e in evidence.excluded] == [("eval", f"{reason}, after the assessment date")]
    assert evidence.for_characteristic(CID) == ()


def test_a_baseline_dated_after_the_assessment_date_excludes_the_kpi() -> None:
    kpi = _item(
        "kpi", "kpi", {"start": dt.date(2025, 1, 1)},
        indicator={"id": "X", "catalogue": "local", "name": "X"}, unit="%", direction="higher_is_better",
        signal="lagging", baseline={"value": 1.0, "date": dt.date(2026, 12, 31), "method": "survey"},
    )  # fmt: skip
    evidence = normalise(_pack([kpi]), AS_OF)
    assert [(e.id, e.reason) for e in evidence.excluded] == [
        ("kpi", "its baseline is dated 2026-12-31, after the assessment date")
    ]
