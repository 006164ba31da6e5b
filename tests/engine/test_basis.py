"""The evidence basis: what each level rests on, the requirements each item carries, and the
flags on thin spots (an item in many characteristics, a credited level on one item, judgements
on items without attachments).

Results are built from inference, so each case runs on durable_rules and on the reference
evaluator, and the two results must be byte-identical."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

import rules as bundled_rules
from assay.report import summary_markdown
from engine.basis import credited_basis, thinnest_levels
from engine.canonical import digest_of
from engine.catalogue import load_catalogue
from engine.durable_engine import DurableInference
from engine.evaluation import Inference, evaluate_on, result_json
from engine.reference import ReferenceInference
from engine.result import LevelResult, Result
from engine.rulepack import RulePack
from engine.spec import CharacteristicRules
from evidence_schemas.pack import EvidencePack, cited_digest
from evidence_schemas.reader import pack_digest
from tests.engine.test_judgements import _pack

AS_OF = dt.date(2026, 6, 30)
MODEL = load_catalogue(bundled_rules.bundled() / "model.yaml")
CIDS = [c.id for c in MODEL.characteristics()][:5]
"""Five characteristics, each asking for a governance body at level 2 and two decision-making
bodies at level 3 (as at level 2)."""
JUDGED = "1.2.2"
JUDGED_KEY = f"{JUDGED}/2/effective-body"
ATTACHMENT = {"path": "minutes.pdf", "media_type": "application/pdf", "size": 10, "sha256": "0" * 64}


def _text(en: str) -> dict[str, str]:
    return {"en": en, "zh": en}


def _spec(cid: str) -> CharacteristicRules:
    return CharacteristicRules.model_validate({
        "characteristic": cid,
        "levels": {
            2: {"cell": f"Table A.1, {cid}, level 2", "summary": _text("s"), "requirements": [{
                "id": "body", "summary": _text("A body"),
                "evidence": {"kind": "governance",
                             "where": {"authority": {"one_of": ["oversight", "decision_making"]}}},
            }]},
            3: {"cell": f"Table A.1, {cid}, level 3", "summary": _text("s"), "as_at": 2, "requirements": [{
                "id": "two-bodies", "summary": _text("Two deciding bodies"),
                "evidence": {"kind": "governance", "min_count": 2,
                             "where": {"authority": {"equals": "decision_making"}}},
            }]},
        },
    })  # fmt: skip


JUDGED_SPEC = CharacteristicRules.model_validate({
    "characteristic": JUDGED,
    "levels": {2: {
        "cell": f"Table A.1, {JUDGED}, level 2", "summary": _text("s"),
        "requirements": [{
            "id": "effective-body", "summary": _text("An effective body"),
            "evidence": {"kind": "governance", "where": {"authority": {"equals": "oversight"}},
                         "accepted": True, "judgement": {"question": _text("Is the body effective?")}},
        }],
    }},
})  # fmt: skip


def _rules(specs: list[CharacteristicRules]) -> RulePack:
    by_id = {s.characteristic: s for s in specs}
    return RulePack(MODEL.id, MODEL, by_id, digest_of([s.model_dump(mode="json") for s in specs]), ())


MACHINE = _rules([_spec(cid) for cid in CIDS])
JUDGING = _rules([JUDGED_SPEC])


def _body(ident: str, offered_for: list[str], authority: str = "oversight", **extra: Any) -> dict[str, Any]:
    day = dt.date(2026, 3, 1)
    return {
        "kind": "governance", "id": ident, "title": "Board", "issuer": "City", "offered_for": offered_for,
        "period": {"start": dt.date(2025, 1, 1)}, "collected": day, "submitted": day,
        "body": "Board", "mandate": "m", "accountable_role": "r", "authority": authority,
        "members": {"private": 2, "civil_society": 2}, **extra,
    }  # fmt: skip


def _judged_pack(items: list[dict[str, Any]], cites: list[str], method: str = "interview") -> EvidencePack:
    by_id = {i.id: i for i in _pack(items).items}
    judgement = {
        "requirement": JUDGED_KEY, "rating": "fully", "cites": cites, "method": method,
        "reason": "Minutes show the board reshaping the strategy.", "auditor": "amira",
        "date": dt.date(2026, 6, 1), "cited_digest": cited_digest(by_id[i] for i in cites),
    }  # fmt: skip
    return _pack(items, [judgement])


GENERIC = _pack([
    _body("generic", CIDS),  # offered for every characteristic: carries a requirement in each
    _body("local", CIDS[:3], attachments=[ATTACHMENT]),  # exactly at the threshold: not flagged
    _body("council-a", CIDS[:1], "decision_making"),
    _body("council-b", CIDS[:1], "decision_making"),
])  # fmt: skip

DURABLE = DurableInference()
ENGINES: dict[str, Inference] = {"durable": DURABLE, "reference": ReferenceInference()}


def _result(rules: RulePack, pack: EvidencePack, inference: Inference, **options: int) -> Result:
    return evaluate_on(rules, pack, pack_digest(pack), AS_OF, inference, **options).result


def _level(result: Result, cid: str, number: int) -> LevelResult:
    (char,) = [c for c in result.characteristics if c.id == cid]
    (level,) = [lv for lv in char.levels if lv.level == number]
    return level


def _flags(level: LevelResult) -> list[tuple[str, list[str], str]]:
    assert level.basis is not None
    return [(f.kind, f.items, f.reason) for f in level.basis.flags]


def test_an_item_offered_for_every_characteristic_is_flagged_with_its_count(inference: Inference) -> None:
    result = _result(MACHINE, GENERIC, inference)
    assert result.basis is not None
    assert result.basis.max_characteristics_per_item == 3
    reason = "generic carries 5 requirements in 5 characteristics, more than 3"
    assert [(f.kind, f.items, f.reason) for f in result.basis.flags] == [
        ("item-in-many-characteristics", ["generic"], reason)
    ]
    carried = {i.id: i.requirements for i in result.basis.items}
    assert carried["generic"] == [f"{cid}/2/body" for cid in CIDS]
    assert carried["local"] == [f"{cid}/2/body" for cid in CIDS[:3]]
    assert carried["council-a"] == [f"{CIDS[0]}/2/body", f"{CIDS[0]}/3/two-bodies"]
    # Every credited level resting on it says so; the item's count is named.
    many = ("item-in-many-characteristics", ["generic"],
            "rests on items carrying requirements in more than 3 characteristics: generic (5)")  # fmt: skip
    assert _flags(_level(result, CIDS[1], 2)) == [many]


def test_the_threshold_is_a_parameter_of_evaluation(inference: Inference) -> None:
    result = _result(MACHINE, GENERIC, inference, max_characteristics_per_item=5)
    assert result.basis is not None
    assert (result.basis.max_characteristics_per_item, result.basis.flags) == (5, [])
    assert _flags(_level(result, CIDS[1], 2)) == []


def test_a_level_counts_its_own_and_inherited_predicates_and_the_items_behind_them(
    inference: Inference,
) -> None:
    level3 = _level(_result(MACHINE, GENERIC, inference), CIDS[0], 3)
    assert level3.credited
    assert level3.basis is not None
    assert (level3.basis.machine, level3.basis.judged, level3.basis.awaiting_judgement) == (2, [], 0)
    assert level3.basis.items == ["council-a", "council-b", "generic", "local"]


def test_a_credited_level_on_a_single_item_is_flagged_and_one_on_two_is_not(inference: Inference) -> None:
    result = _result(MACHINE, GENERIC, inference, max_characteristics_per_item=5)
    single = _level(result, CIDS[3], 2)
    assert single.credited
    assert _flags(single) == [
        ("single-item", ["generic"], "credited on a single item, generic"),
        ("no-attachment", ["generic"], "no item behind it has an attachment: generic"),
    ]
    assert _flags(_level(result, CIDS[1], 2)) == []  # generic and local, which has an attachment


def test_a_level_not_credited_carries_no_flags(inference: Inference) -> None:
    level3 = _level(_result(MACHINE, _pack([_body("generic", CIDS)]), inference), CIDS[0], 3)
    assert not level3.credited
    assert level3.basis is not None
    assert (level3.basis.items, level3.basis.flags) == (["generic"], [])  # the inherited body holds


def test_a_judged_level_whose_cited_item_has_no_attachment_is_flagged(inference: Inference) -> None:
    items = [_body("board", [JUDGED]), _body("forum", [JUDGED])]
    level = _level(_result(JUDGING, _judged_pack(items, ["board", "forum"]), inference), JUDGED, 2)
    assert level.credited
    assert level.basis is not None
    assert [(j.requirement, j.method) for j in level.basis.judged] == [(JUDGED_KEY, "interview")]
    assert (level.basis.machine, level.basis.items) == (0, ["board", "forum"])
    # Nothing behind the level has an attachment: that says it all.
    assert _flags(level) == [
        ("no-attachment", ["board", "forum"], "no item behind it has an attachment: board, forum"),
    ]
    # Beside an attached item, the judgement's bare one is what gets flagged.
    spec = JUDGED_SPEC.model_dump(by_alias=True, exclude_none=True)
    spec["levels"][2]["requirements"].append({
        "id": "deciding-body", "summary": _text("A deciding body"),
        "evidence": {"kind": "governance", "where": {"authority": {"equals": "decision_making"}}},
    })  # fmt: skip
    mixed_rules = _rules([CharacteristicRules.model_validate(spec)])
    attached = _body("council", [JUDGED], "decision_making", attachments=[ATTACHMENT])
    level = _level(_result(mixed_rules, _judged_pack([*items, attached], ["board"]), inference), JUDGED, 2)
    reason = f"rests on judgements ({JUDGED_KEY}) whose items have no attachment: board"
    assert _flags(level) == [("judged-without-attachment", ["board"], reason)]


def test_a_judgement_on_attached_items_is_not_flagged_and_one_awaited_is_counted(
    inference: Inference,
) -> None:
    items = [_body("board", [JUDGED], attachments=[ATTACHMENT]), _body("forum", [JUDGED])]
    level = _level(_result(JUDGING, _judged_pack(items, ["board"]), inference), JUDGED, 2)
    assert _flags(level) == [("single-item", ["board"], "credited on a single item, board")]
    awaiting = _level(_result(JUDGING, _pack(items), inference), JUDGED, 2)
    assert awaiting.basis is not None
    assert (awaiting.credited, awaiting.basis.judged, awaiting.basis.awaiting_judgement) == (False, [], 1)


@pytest.mark.parametrize(
    ("rules", "pack"),
    [(MACHINE, GENERIC), (JUDGING, _judged_pack([_body("board", [JUDGED])], ["board"]))],
    ids=["machine", "judged"],
)
def test_both_engines_give_identical_results(rules: RulePack, pack: EvidencePack) -> None:
    durable, reference = (_result(rules, pack, ENGINES[name]) for name in ("durable", "reference"))
    assert result_json(durable) == result_json(reference)


def test_thinnest_levels_flagged_first_then_fewest_items() -> None:
    result = _result(MACHINE, GENERIC, ENGINES["reference"], max_characteristics_per_item=5)
    order = [(t.characteristic, t.level, len(t.basis.items)) for t in thinnest_levels(result)]
    assert order == [
        (CIDS[3], 2, 1), (CIDS[4], 2, 1),  # flagged: a single item each
        (CIDS[1], 2, 2), (CIDS[2], 2, 2),
        (CIDS[0], 2, 4), (CIDS[0], 3, 4),
    ]  # fmt: skip
    assert [t.characteristic for t in thinnest_levels(result, 1)] == [CIDS[3]]


def test_the_summary_lists_the_thinnest_levels_with_their_flags() -> None:
    result = _result(MACHINE, GENERIC, ENGINES["reference"])
    section = summary_markdown(result, "sha256:head").split("## Evidence basis", 1)[1]
    rows = [line for line in section.splitlines() if line.startswith("| 1.")]
    assert rows[0].startswith(f"| {CIDS[3]} L2 ")
    assert rows[0].endswith(
        "| 1 | 1 | 0 | credited on a single item, generic; no item behind it has an attachment: generic; "
        "rests on items carrying requirements in more than 3 characteristics: generic (5) |"
    )
    assert "- `generic`: generic carries 5 requirements in 5 characteristics, more than 3" in section


def test_the_certificate_basis_counts_the_credited_levels_together() -> None:
    machine = _result(MACHINE, GENERIC, ENGINES["reference"])
    by_id = {c.id: c for c in machine.characteristics}
    assert credited_basis(by_id[CIDS[0]]) == (4, 0)
    assert credited_basis(by_id[CIDS[3]]) == (1, 0)
    assert credited_basis(by_id["1.3.1"]) is None  # not encoded
    judged = _result(JUDGING, _judged_pack([_body("board", [JUDGED])], ["board"]), ENGINES["reference"])
    assert credited_basis({c.id: c for c in judged.characteristics}[JUDGED]) == (1, 1)
