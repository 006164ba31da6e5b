"""``met_by``: a lower-level requirement that a later stage of the same practice stands in for.

Validated at load (a higher level of the same characteristic; pointing only upwards, no cycle),
honoured identically by durable_rules and the reference evaluator (the property test in
test_equivalence.py generates met_by too), shown in the result, the trail and ``rules explain``.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

import rules as bundled_rules
from engine.canonical import digest_of
from engine.catalogue import load_catalogue
from engine.evaluation import Inference, evaluate_on
from engine.explain import explain
from engine.reference import ReferenceInference
from engine.result import CharacteristicResult
from engine.rulepack import RulePack
from engine.spec import CharacteristicRules
from evidence_schemas.pack import EvidencePack
from evidence_schemas.reader import pack_digest
from tests.engine.test_rulepack import _pack_with, _problems
from tests.helpers import pack_of

AS_OF = dt.date(2026, 6, 30)
CID = "1.2.2"
MODEL = load_catalogue(bundled_rules.bundled() / "model.yaml")


def _level(n: int, requirements: list[dict[str, Any]], as_at: int | None = None) -> dict[str, Any]:
    return {"cell": f"Table A.1, {CID}, level {n}", "summary": {"en": "s", "zh": "s"}, "as_at": as_at,
            "requirements": requirements}  # fmt: skip


def _req(rid: str, kind: str, where: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"id": rid, "summary": {"en": rid, "zh": rid}, "evidence": {"kind": kind, "where": where}, **extra}


SPEC = CharacteristicRules.model_validate({
    "characteristic": CID,
    "levels": {
        # Level 2 asks for a consultation; level 4's open governance with outside members is the
        # same practice of engaging interested parties, further on.
        2: _level(2, [_req("consultation", "engagement", {"engagement_type": {"equals": "consultation"}},
                           met_by=["4/open-governance"])]),
        3: _level(3, [_req("published-programme", "document", {"doc_type": {"equals": "plan"}})], as_at=2),
        4: _level(4, [_req("open-governance", "governance", {"members.private": {"gte": 1}})], as_at=3),
        5: _level(5, [_req("network", "engagement", {"engagement_type": {"equals": "network_exchange"}})],
                  as_at=4),
    },
})  # fmt: skip
RULES = RulePack(MODEL.id, MODEL, {CID: SPEC}, digest_of(SPEC.model_dump(mode="json")), ())


def _item(ident: str, kind: str, **fields: Any) -> dict[str, Any]:
    day = dt.date(2026, 3, 1)
    return {"kind": kind, "id": ident, "title": ident, "issuer": "City", "offered_for": [CID],
            "period": {"start": dt.date(2025, 1, 1)}, "collected": day, "submitted": day,
            **fields}  # fmt: skip


BOARD = _item("board", "governance", body="Board", mandate="m", accountable_role="r", authority="oversight",
              members={"local_government": 4, "private": 2})  # fmt: skip
PLAN = _item(
    "plan", "document", doc_type="plan", publication={"status": "published", "url": "https://c.example/p"}
)


def _pack(items: list[dict[str, Any]]) -> EvidencePack:
    return pack_of(items, MODEL.id)


def _result(inference: Inference, items: list[dict[str, Any]]) -> CharacteristicResult:
    pack = _pack(items)
    evaluation = evaluate_on(RULES, pack, pack_digest(pack), AS_OF, inference)
    return next(c for c in evaluation.result.characteristics if c.id == CID)


def test_a_later_stage_of_the_practice_meets_the_earlier_requirement(inference: Inference) -> None:
    result = _result(inference, [BOARD, PLAN])  # no consultation of its own
    consultation = result.levels[0].requirements[0]
    assert (consultation.outcome, consultation.evidence, consultation.through) == (
        "met",
        ["board"],
        f"{CID}/4/open-governance",
    )
    assert result.verified_level == 4


def test_a_middle_level_nothing_above_covers_still_caps(inference: Inference) -> None:
    result = _result(inference, [BOARD])  # level 3's published programme has no stand-in
    assert result.verified_level == 2
    assert result.capped == [4]
    level4 = next(lv for lv in result.levels if lv.level == 4)
    assert level4.note == "level 4 requirements met, capped at 2 by level 3"


def test_without_the_later_stage_the_requirement_stands_on_its_own(inference: Inference) -> None:
    result = _result(inference, [PLAN])
    consultation = result.levels[0].requirements[0]
    assert (consultation.outcome, consultation.through) == ("not_met", None)
    assert consultation.missing is not None
    assert consultation.missing.startswith("needs 1 engagement item(s) with engagement_type = consultation")
    assert result.verified_level == 1


def test_the_trail_and_explain_name_the_stand_in() -> None:
    pack = _pack([BOARD, PLAN])
    evaluation = evaluate_on(RULES, pack, pack_digest(pack), AS_OF, ReferenceInference())
    record = next(r for r in evaluation.trail if r.payload.get("requirement") == f"{CID}/2/consultation")
    assert record.payload["through"] == f"{CID}/4/open-governance"
    lines = explain(MODEL, SPEC, "en")
    assert "      also met by (a later stage of the same practice): 4/open-governance" in lines


@pytest.mark.parametrize(
    ("met_by", "message"),
    [
        ("[2/plan-b]", "met_by '2/plan-b': level 2 is not above 2"),
        ("[1/plan-b]", "met_by '1/plan-b': level 1 is not above 2"),
        ("[4/no-such]", "met_by '4/no-such': level 4 has no 'no-such'"),
        ("[3/board-4]", "met_by '3/board-4': level 3 has no 'board-4'"),
        ("[board-4]", "met_by 'board-4' must read LEVEL/REQUIREMENT-ID"),
    ],
)
def test_the_loader_names_a_met_by_that_does_not_point_to_a_higher_requirement(
    tmp_path: Path, met_by: str, message: str
) -> None:
    folder = _pack_with(tmp_path, {f"{CID}.yaml": _file(met_by)})
    assert _problems(folder) == [(f"{CID}.yaml", 9, "levels[2].requirements[0].met_by[0]", message)]


def _file(met_by: str) -> str:
    levels = []
    for n in (2, 3, 4, 5):
        extra = f"\n        met_by: {met_by}" if n == 2 else ""
        levels.append(
            f"""  {n}:
    cell: "Table A.1, {CID}, level {n}"
    summary: {{en: s, zh: s}}
    requirements:
      - id: {"plan-b" if n == 2 else f"board-{n}"}
        summary: {{en: s, zh: s}}{extra}
        evidence: {{kind: governance, where: {{authority: {{equals: oversight}}}}}}"""
        )
    return f'characteristic: "{CID}"\nlevels:\n' + "\n".join(levels) + "\n"
