"""Requirements that need the auditor's judgement: only cited items count, the rating decides,
no judgement is never met, and a judgement on items that changed since no longer counts.

Each case runs on durable_rules and on the reference evaluator (the property test in
test_equivalence.py generates judgements too)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

import rules as bundled_rules
from engine.canonical import digest_of
from engine.catalogue import load_catalogue
from engine.evaluation import Inference
from engine.evidence import normalise
from engine.explain import explain
from engine.outcomes import Outcome
from engine.rulepack import RulePack
from engine.spec import CharacteristicRules
from evidence_schemas.pack import EvidencePack, cited_digest
from tests.engine.test_rulepack import _pack_with, _problems

AS_OF = dt.date(2026, 6, 30)
CID = "1.2.2"
KEY = f"{CID}/2/effective-body"
MODEL = load_catalogue(bundled_rules.bundled() / "model.yaml")
QUESTION = {
    "en": "Do the body's recorded decisions show its members shaping the city's strategy?",
    "zh": "该机构的决策记录是否表明其成员在影响城市战略",
}
SPEC = CharacteristicRules.model_validate({
    "characteristic": CID,
    "levels": {2: {
        "cell": f"Table A.1, {CID}, level 2", "summary": {"en": "s", "zh": "s"},
        "requirements": [{
            "id": "effective-body", "summary": {"en": "An effective body", "zh": "有效的机构"},
            "evidence": {
                "kind": "governance", "where": {"authority": {"one_of": ["oversight", "decision_making"]}},
                "accepted": True, "judgement": {"question": QUESTION},
            },
        }],
    }},
})  # fmt: skip
RULES = RulePack(MODEL.id, MODEL, {CID: SPEC}, digest_of(SPEC.model_dump(mode="json")), ())


def _body(
    ident: str, authority: str = "oversight", *, collected: dt.date = dt.date(2026, 3, 1)
) -> dict[str, Any]:
    return {
        "kind": "governance", "id": ident, "title": "Board", "issuer": "City", "offered_for": [CID],
        "period": {"start": dt.date(2025, 1, 1)}, "collected": collected, "submitted": collected,
        "body": "Board", "mandate": "m", "accountable_role": "r", "authority": authority,
        "members": {"private": 2, "civil_society": 2},
    }  # fmt: skip


def _pack(items: list[dict[str, Any]], judgements: list[dict[str, Any]] | None = None) -> EvidencePack:
    verifications = [
        {"evidence_id": i["id"], "verdict": "accepted", "method": "document_review", "reason": "r",
         "auditor": "amira", "date": dt.date(2026, 5, 1)}
        for i in items
    ]  # fmt: skip
    return EvidencePack.model_validate({
        "format": "assay-evidence-pack/1", "id": "p", "community": {"id": "c", "name": "C"},
        "model": "iso37107-2019", "items": items, "verifications": verifications,
        "judgements": judgements or [],
    })  # fmt: skip


def _judgement(items: list[dict[str, Any]], rating: str, cites: list[str], **extra: Any) -> dict[str, Any]:
    bare = _pack(items, [])
    by_id = {i.id: i for i in bare.items}
    return {
        "requirement": KEY, "rating": rating, "cites": cites, "method": "interview",
        "reason": "Minutes show the board reshaping the mobility strategy.", "auditor": "amira",
        "date": dt.date(2026, 6, 1), "cited_digest": cited_digest(by_id[i] for i in cites), **extra,
    }  # fmt: skip


def _outcome(inference: Inference, pack: EvidencePack) -> tuple[Outcome, int]:
    result = inference.infer(RULES, normalise(pack, AS_OF))[CID]
    return result.nodes[KEY], result.rating.verified


def test_without_a_judgement_it_awaits_the_auditor_never_met(inference: Inference) -> None:
    outcome, level = _outcome(inference, _pack([_body("board")], []))
    assert (outcome.status, outcome.missing, level) == (
        "indeterminate",
        "awaiting the auditor's judgement",
        1,
    )


def test_with_nothing_to_judge_it_is_not_met(inference: Inference) -> None:
    outcome, _ = _outcome(inference, _pack([_body("board", "advisory")], []))
    assert outcome.status == "not_met"
    assert outcome.missing is not None
    assert outcome.missing.startswith("needs 1 governance item(s)")


@pytest.mark.parametrize("rating", ["fully", "largely"])
def test_fully_or_largely_on_a_qualifying_cited_item_is_met(inference: Inference, rating: str) -> None:
    items = [_body("board"), _body("forum")]
    outcome, level = _outcome(inference, _pack(items, [_judgement(items, rating, ["board"])]))
    assert (outcome.status, outcome.evidence, level) == ("met", ("board",), 2)  # forum is not cited


@pytest.mark.parametrize("rating", ["partially", "not"])
def test_partially_or_not_is_not_met_with_the_auditors_reason(inference: Inference, rating: str) -> None:
    items = [_body("board")]
    outcome, level = _outcome(inference, _pack(items, [_judgement(items, rating, ["board"])]))
    assert outcome.status == "not_met"
    assert outcome.missing == (
        f"judged {rating} implemented by amira on 2026-06-01 (interview): "
        "Minutes show the board reshaping the mobility strategy."
    )
    assert level == 1


def test_a_judgement_counts_only_the_items_it_cites_that_meet_the_conditions(inference: Inference) -> None:
    items = [_body("board"), _body("panel", "advisory")]
    outcome, _ = _outcome(inference, _pack(items, [_judgement(items, "fully", ["panel"])]))
    assert outcome.status == "not_met"
    assert outcome.missing is not None
    assert "cited but not in scope: panel (of the items the judgement cites)" in outcome.missing


def test_a_judgement_after_the_assessment_date_does_not_count(inference: Inference) -> None:
    items = [_body("board")]
    late = _judgement(items, "fully", ["board"], date=dt.date(2026, 7, 2))
    outcome, _ = _outcome(inference, _pack(items, [late]))
    assert outcome.status == "indeterminate"


def test_the_latest_judgement_counts(inference: Inference) -> None:
    items = [_body("board")]
    earlier = _judgement(items, "partially", ["board"], date=dt.date(2026, 5, 2))
    later = _judgement(items, "largely", ["board"], date=dt.date(2026, 6, 2))
    outcome, _ = _outcome(inference, _pack(items, [later, earlier]))
    assert outcome.status == "met"


def test_a_changed_item_voids_its_judgement(inference: Inference) -> None:
    judged = [_body("board")]
    judgement = _judgement(judged, "fully", ["board"])
    changed = [{**judged[0], "mandate": "a different mandate"}]
    pack = _pack(changed, [judgement])
    outcome, _ = _outcome(inference, pack)
    assert outcome.status == "indeterminate"
    excluded = normalise(pack, AS_OF).excluded
    assert [(e.id, e.reason) for e in excluded] == [
        (
            f"judgement {KEY}",
            "an item it cites changed after it was judged: the requirement needs judging again",
        )
    ]


def test_a_pack_refuses_judgements_citing_unknown_items_or_clashing() -> None:
    items = [_body("board")]
    good = _judgement(items, "fully", ["board"])
    with pytest.raises(ValueError, match="judgements cite items not in the pack: ghost"):
        _pack(items, [{**good, "cites": ["board", "ghost"]}])
    with pytest.raises(ValueError, match=f"conflicting judgements on one date: {KEY} on 2026-06-01"):
        _pack(items, [good, {**good, "rating": "not"}])


def test_explain_shows_the_question_in_both_languages() -> None:
    assert any(line.endswith(f"auditor's judgement: {QUESTION['en']}") for line in explain(MODEL, SPEC, "en"))
    assert any(line.endswith(f"审核员判断: {QUESTION['zh']}") for line in explain(MODEL, SPEC, "zh"))


JUDGED_RULE = """characteristic: "1.2.2"
levels:
  2:
    cell: "Table A.1, 1.2.2, level 2"
    summary: {en: Level 2, zh: 第 2 级}
    requirements:
      - id: effective-body
        summary: {en: An effective body, zh: 有效的机构}
        evidence:
          kind: governance
          where: {authority: {one_of: [oversight, decision_making]}}
          %s
"""


def test_the_loader_refuses_a_judgement_without_its_question_or_on_unaccepted_items(tmp_path: Path) -> None:
    evidence = "levels[2].requirements[0].evidence"
    missing_question = JUDGED_RULE % "accepted: true\n          judgement: {}"
    assert _evidence_problems(_pack_with(tmp_path / "a", {"1.2.2.yaml": missing_question})) == [
        ("1.2.2.yaml", 13, f"{evidence}.judgement.question", "required field is missing")
    ]
    unaccepted = JUDGED_RULE % "judgement: {question: {en: Is it?, zh: 是吗}}"
    assert _evidence_problems(_pack_with(tmp_path / "b", {"1.2.2.yaml": unaccepted})) == [
        ("1.2.2.yaml", 9, f"{evidence}.accepted", "a judged requirement must set accepted: true")
    ]


def _evidence_problems(folder: Path) -> list[tuple[str, int | None, str, str]]:
    # The file encodes level 2 only; the loader's "levels missing" problem is not this test's.
    return [p for p in _problems(folder) if ".evidence" in p[2]]


def test_a_judgement_examines_only_items_it_cites() -> None:
    items = [_body("board"), _body("forum")]
    good = _judgement(items, "fully", ["board"])
    assert _pack(items, [{**good, "examined": ["board"]}]).judgements[0].examined == ["board"]
    with pytest.raises(ValueError, match="judgements examined items they do not cite: forum"):
        _pack(items, [{**good, "examined": ["forum"]}])


def test_coverage_counts_the_requirements_asking_for_a_judgement_not_those_merely_accepted() -> None:
    from engine.coverage import coverage

    data = SPEC.model_dump(by_alias=True, exclude_none=True)
    del data["levels"][2]["requirements"][0]["evidence"]["judgement"]
    verified_only = CharacteristicRules.model_validate(data)
    judged = next(r for r in coverage(RULES) if r.characteristic == CID)
    plain = RulePack(MODEL.id, MODEL, {CID: verified_only}, RULES.digest, ())
    accepted = next(r for r in coverage(plain) if r.characteristic == CID)
    assert [(c.level, c.predicates, c.judged) for c in judged.levels] == [(2, 1, 1)]
    assert [(c.level, c.predicates, c.judged) for c in accepted.levels] == [(2, 1, 0)]


def test_conditions_every_item_must_meet_still_range_over_items_not_cited(inference: Inference) -> None:
    data = SPEC.model_dump(by_alias=True, exclude_none=True)
    data["levels"][2]["requirements"][0]["evidence"]["every"] = {"authority": {"equals": "decision_making"}}
    spec = CharacteristicRules.model_validate(data)
    # Its own digest: the durable engine keeps compiled rule sets by digest.
    rules = RulePack(MODEL.id, MODEL, {CID: spec}, digest_of(spec.model_dump(mode="json")), ())
    items = [_body("board", "decision_making"), _body("forum", "oversight")]
    pack = _pack(items, [_judgement(items, "fully", ["board"])])
    outcome = inference.infer(rules, normalise(pack, AS_OF))[CID].nodes[KEY]
    assert (outcome.status, outcome.violations) == ("not_met", ("forum",))


def test_an_item_awaiting_verification_is_named_before_the_judgement(inference: Inference) -> None:
    pack = _pack([_body("board")], []).model_copy(update={"verifications": []})
    outcome = inference.infer(RULES, normalise(pack, AS_OF))[CID].nodes[KEY]
    assert outcome.status == "indeterminate"
    assert outcome.missing is not None
    assert outcome.missing.endswith(
        "(board: awaiting auditor acceptance); then awaiting the auditor's judgement"
    )


def test_kind_only_requirements_are_those_any_item_of_the_right_sort_meets() -> None:
    from engine.coverage import kind_only
    from engine.spec import EvidenceRule

    def rule(**fields: Any) -> EvidenceRule:
        return EvidenceRule.model_validate({"kind": "document", **fields})

    assert kind_only(rule(where={"doc_type": {"equals": "plan"}}, accepted=True))
    assert kind_only(rule())
    assert not kind_only(rule(where={"doc_type": {"equals": "plan"}, "approval": {"exists": True}}))
    assert not kind_only(rule(min_count=2))
    assert not kind_only(rule(max_age_days=400))
    assert not kind_only(rule(every={"publication.status": {"equals": "published"}}))
