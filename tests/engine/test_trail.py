"""The audit trail: intact chains verify; every kind of tampering names the first bad record."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from engine.canonical import canonical_json, digest, digest_of
from engine.errors import TrailError
from engine.evaluation import Evaluation
from engine.reference import ReferenceInference
from engine.rulepack import RulePack
from engine.sources import FixedClock
from engine.trail import GENESIS, Trail, verify_file, verify_lines, write_trail
from evidence_schemas.pack import EvidencePack
from tests.helpers import run_evaluation


@pytest.fixture
def evaluation(rule_pack: RulePack, sample_pack: EvidencePack, reference: ReferenceInference) -> Evaluation:
    return run_evaluation(rule_pack, sample_pack, reference)


@pytest.fixture
def lines(evaluation: Evaluation) -> list[str]:
    return [record.line() for record in evaluation.trail]


def _edit(line: str, change: dict[str, object]) -> str:
    record = json.loads(line)
    record.update(change)
    return json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def test_an_intact_trail_verifies(evaluation: Evaluation, lines: list[str], tmp_path: Path) -> None:
    checked = verify_lines(lines)
    assert checked.records == len(lines)
    assert checked.head == evaluation.head
    write_trail(tmp_path / "trail.jsonl", evaluation.trail)
    assert verify_file(tmp_path / "trail.jsonl", head=evaluation.head).records == len(lines)
    first = json.loads(lines[0])
    assert first["prev"] == GENESIS
    assert first["event"] == "evaluation.started"
    events = [json.loads(line)["event"] for line in lines]
    assert events[1:3] == ["pack.received", "rulepack.loaded"]
    assert events.count("level.inferred") == 32
    assert events[-1] == "evaluation.completed"


def test_the_trail_records_every_requirement_outcome(evaluation: Evaluation, rule_pack: RulePack) -> None:
    outcomes = {
        r.payload["requirement"]: r.payload for r in evaluation.trail if r.event == "requirement.evaluated"
    }
    expected = {
        spec.node_key(n, node.id)
        for spec in rule_pack.characteristics.values()
        for n, level in spec.levels.items()
        for top in level.requirements
        for node in top.walk()
    }
    assert set(outcomes) == expected
    assert outcomes["4.3/3/management-process"]["rejected"] == ["resilience-procedure"]
    assert outcomes["4.3/2/resilience-action-plan"]["evidence"] == ["resilience-plan"]
    received = next(r for r in evaluation.trail if r.event == "pack.received")
    assert received.payload["digest"] == evaluation.result.pack.digest
    # 102 until issue 14 removed six whose cited items are no longer in the requirement's scope
    assert received.payload["judgements"] == 96
    # A judged requirement's record names the judgement it rests on; a machine one has none.
    plan = outcomes["4.3/2/resilience-action-plan"]["judgement"]
    assert (plan["rating"], plan["cites"]) == ("fully", ["resilience-plan"])
    assert plan["auditor"] == "A. Haddad (auditor)"
    assert "judgement" not in outcomes["1.5.2/4/kpis-tracked"]
    sampled = next(r for r in evaluation.trail if r.event == "samples.proposed").payload
    assert sampled["rule"] == "the square root of the set, at least 3 and at most 20"
    assert evaluation.result.sampling is not None
    assert sampled == evaluation.result.sampling.model_dump(mode="json")
    kpis = next(s for s in sampled["samples"] if s["requirement"] == "1.5.2/3/every-kpi-baselined")
    assert (kpis["population"], len(kpis["items"])) == (4, 3)


def _fails(lines: list[str], record: int, fragment: str) -> None:
    with pytest.raises(TrailError) as caught:
        verify_lines(lines)
    assert caught.value.record == record
    assert fragment in str(caught.value)


def test_an_edited_payload_is_named(lines: list[str]) -> None:
    edited = json.loads(lines[9])
    edited["payload"]["outcome"] = "met" if edited["payload"].get("outcome") != "met" else "not_met"
    lines[9] = json.dumps(edited, sort_keys=True, separators=(",", ":"))
    _fails(lines, 10, "payload does not match payload_digest")


def test_an_edit_with_a_recomputed_digest_breaks_the_hash(lines: list[str]) -> None:
    edited = json.loads(lines[9])
    edited["payload"]["outcome"] = "forged"
    edited["payload_digest"] = digest_of(edited["payload"])
    lines[9] = json.dumps(edited)
    _fails(lines, 10, "hash does not match the record")


def test_a_fully_rehashed_edit_breaks_the_next_link(lines: list[str]) -> None:
    edited = json.loads(lines[9])
    edited["actor"] = "someone else"
    edited["payload_digest"] = digest_of(edited["payload"])
    edited["hash"] = digest(canonical_json({k: v for k, v in edited.items() if k != "hash"}))
    lines[9] = json.dumps(edited)
    _fails(lines, 11, "prev does not match the hash of record 10")


def test_deleted_inserted_and_reordered_records_are_named(lines: list[str]) -> None:
    _fails([*lines[:4], *lines[5:]], 5, "expected seq 5")
    _fails([*lines[:4], lines[4], *lines[4:]], 6, "expected seq 6")
    swapped = lines[:]
    swapped[3], swapped[4] = swapped[4], swapped[3]
    _fails(swapped, 4, "expected seq 4")
    _fails(lines[1:], 1, "expected seq 1")


def test_records_removed_from_the_end_are_noticed(lines: list[str]) -> None:
    _fails(lines[:-1], len(lines) - 1, "records were removed from the end")
    _fails(lines[:-3], len(lines) - 3, "records were removed from the end")
    with pytest.raises(TrailError, match="empty"):
        verify_lines([])


def test_a_wrong_head_anchor_and_garbage_are_named(lines: list[str]) -> None:
    with pytest.raises(TrailError, match="is not the expected sha256:beef"):
        verify_lines(lines, head="sha256:beef")
    _fails([*lines[:2], "{not json", *lines[3:]], 3, "record 3: not valid JSON")
    _fails([_edit(lines[0], {"extra": 1}), *lines[1:]], 1, "fields must be exactly")


def _open_chain(records: int) -> tuple[list[str], str]:
    """An open-ended chain (no closing record), as the certificate register keeps."""
    trail = Trail(FixedClock(dt.datetime(2026, 7, 1, 9, 30, tzinfo=dt.UTC)))
    for n in range(1, records + 1):
        trail.append("registrar", "certificate.issued", {"number": f"ASSAY-2026-{n:06d}"})
    return [record.line() for record in trail.records], trail.head


def test_an_open_chain_verifies_only_when_declared_open(tmp_path: Path) -> None:
    lines, head = _open_chain(3)
    with pytest.raises(TrailError, match=r"record 3 is not the closing evaluation\.completed record"):
        verify_lines(lines)
    checked = verify_lines(lines, head=head, closed=False)
    assert (checked.records, checked.head) == (3, head)
    path = tmp_path / "register.jsonl"
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    assert verify_file(path, head=head, closed=False).records == 3


def test_an_open_chain_continued_from_its_head_still_verifies() -> None:
    lines, head = _open_chain(2)
    more = Trail(FixedClock(dt.datetime(2026, 7, 2, tzinfo=dt.UTC)), prev=head, next_seq=3)
    more.append("registrar", "certificate.suspended", {"number": "ASSAY-2026-000001", "reason": "audit"})
    checked = verify_lines([*lines, more.records[0].line()], closed=False)
    assert (checked.records, checked.head) == (3, more.head)


def test_closed_false_skips_only_the_closing_check(lines: list[str], evaluation: Evaluation) -> None:
    assert verify_lines(lines, closed=False).head == evaluation.head
    # Removed from the end: an open chain cannot tell by itself, only against its anchor.
    assert verify_lines(lines[:-1], closed=False).records == len(lines) - 1
    with pytest.raises(TrailError, match=f"is not the expected {evaluation.head}"):
        verify_lines(lines[:-1], head=evaluation.head, closed=False)
    edited = json.loads(lines[9])
    edited["payload"]["forged"] = True
    with pytest.raises(TrailError, match="payload does not match payload_digest") as caught:
        verify_lines([*lines[:9], json.dumps(edited), *lines[10:]], closed=False)
    assert caught.value.record == 10
    with pytest.raises(TrailError, match="expected seq 2"):
        verify_lines([*lines[:1], *lines[2:]], closed=False)
    with pytest.raises(TrailError, match="empty"):
        verify_lines([], closed=False)
