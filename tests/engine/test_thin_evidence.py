"""Thin evidence cannot carry a level: the "Done when" of requirement judgements.

The generic pack: every evidence block of every case of a bundled rule pack (enough to meet every
machine condition at level 5 of every characteristic), each item accepted once ("Looked fine.")
and offered for every characteristic. Without judgements no characteristic gets above level 2;
with a rubber-stamp judgement on every requirement, each citing a single item, every credited
level is flagged in the result and in the decision view (the thinnest levels).
"""

from __future__ import annotations

import datetime as dt
from functools import cache
from typing import Any

import pytest
from pydantic import TypeAdapter

import rules as bundled_rules
from engine.basis import thinnest_levels
from engine.cases import block_item, load_cases
from engine.durable_engine import DurableInference
from engine.evaluation import Inference
from engine.judging import judge_every_requirement
from engine.reference import ReferenceInference
from engine.result import Result
from engine.rulepack import RulePack, load_rule_pack
from evidence_schemas.items import EvidenceItem
from evidence_schemas.pack import EvidencePack
from tests.helpers import run_evaluation

AS_OF = dt.date(2026, 6, 30)
PACKS = bundled_rules.packs()
_ITEM = TypeAdapter(EvidenceItem)


@cache
def _rules(name: str) -> RulePack:
    return load_rule_pack(bundled_rules.bundled(name))


@cache
def _generic(name: str) -> EvidencePack:
    everything = sorted(_rules(name).characteristics)
    items: list[dict[str, Any]] = []
    for cid, case in sorted(load_cases(bundled_rules.bundled(name)).items()):
        assert case.as_of == AS_OF, cid
        for block, fields in sorted(case.blocks.items()):
            item = block_item(case, block, fields)
            items.append({**item, "id": f"{cid}-{block}", "offered_for": everything})
    return EvidencePack.model_validate({
        "format": "assay-evidence-pack/1", "id": f"generic-{name}",
        "community": {"id": "g", "name": "Generic"},
        "model": _rules(name).model.id,
        "items": [_ITEM.validate_python(i, strict=True) for i in items],
        "verifications": [
            {"evidence_id": i["id"], "verdict": "accepted", "method": "document_review",
             "reason": "Looked fine.", "auditor": "stamp", "date": AS_OF - dt.timedelta(days=1)}
            for i in items
        ],
    })  # fmt: skip


def _rubber_stamped(name: str) -> EvidencePack:
    """Every judged requirement rated fully, citing the first item that may be cited."""
    pack = _generic(name)
    judgements = judge_every_requirement(
        _rules(name),
        pack,
        AS_OF,
        decide=lambda _, qualifying: ("fully", qualifying[:1]),
        auditor="stamp",
        reason="Looked fine.",
    )
    return pack.model_copy(update={"judgements": judgements})


def _levels(result: Result) -> dict[str, int]:
    return {c.id: c.verified_level or 0 for c in result.characteristics if c.status == "evaluated"}


@pytest.mark.parametrize("name", PACKS)
@pytest.mark.parametrize(
    "inference", [DurableInference(), ReferenceInference()], ids=["durable", "reference"]
)
def test_generic_items_without_judgements_reach_at_most_level_2(name: str, inference: Inference) -> None:
    levels = _levels(run_evaluation(_rules(name), _generic(name), inference, AS_OF).result)
    assert levels.keys() == _rules(name).characteristics.keys()
    assert {cid: level for cid, level in levels.items() if level > 2} == {}


@pytest.mark.parametrize("name", PACKS)
def test_the_cap_comes_from_the_missing_judgements(name: str) -> None:
    """Stamped, the same items go higher (up to 5 where one cited item per requirement and the
    conditions every item must meet allow it): what held them at 2 was the judgements alone."""
    rules, pack = _rules(name), _generic(name)
    bare = _levels(run_evaluation(rules, pack, ReferenceInference(), AS_OF).result)
    stamped = _levels(run_evaluation(rules, _rubber_stamped(name), ReferenceInference(), AS_OF).result)
    assert all(stamped[cid] >= bare[cid] for cid in bare)
    assert 5 in stamped.values()


@pytest.mark.parametrize("name", PACKS)
def test_rubber_stamped_judgements_get_every_level_flagged(name: str) -> None:
    result = run_evaluation(_rules(name), _rubber_stamped(name), ReferenceInference(), AS_OF).result
    credited = [(c.id, lv.level, lv.basis) for c in result.characteristics for lv in c.levels if lv.credited]
    assert credited
    unflagged = [(cid, level) for cid, level, basis in credited if basis is None or not basis.flags]
    assert unflagged == []
    for cid, level, basis in credited:
        assert basis is not None
        kinds = {f.kind for f in basis.flags}
        assert "no-attachment" in kinds, (cid, level, kinds)  # case blocks carry no attachment
    view = thinnest_levels(result)
    assert sorted((t.characteristic, t.level) for t in view) == sorted((c, lv) for c, lv, _ in credited)
    assert all(t.basis.flags for t in view)
