"""The engagement lifecycle end to end, on SQLite and PostgreSQL: application to certificate,
evidence versions, verdicts tied to the item they judged, findings, surveillance, history."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest

from audits.errors import RefusedError
from audits.judging import worksheet
from audits.versions import assemble
from audits.views import history, status
from certificates.keys import SigningKey
from certificates.scheme import Scheme
from certificates.verify import verify_certificate
from engine.evaluation import evaluate_on, result_json
from engine.result import Result
from engine.trail import jsonl
from evidence_schemas.reader import pack_digest
from tests.engagements.conftest import (
    ADMIN,
    AUDITOR,
    DAY,
    LEAD,
    REVIEWER,
    SUBMITTER,
    World,
    applied,
    evaluated,
    inference,
)


def issue(world: World, eid: str, key: SigningKey, name: str = "cert.pdf") -> str:
    issued = world.awarding.issue(
        ADMIN, eid, key, body="Test Body", language="en", out=world.tmp / name, scheme=Scheme()
    )
    return issued.certificate.number


def test_application_to_signed_certificate(world: World, signing_key: SigningKey, trust_roots: Any) -> None:
    eid = evaluated(world)
    world.decisions.decide(REVIEWER, eid, "certify", "evidence supports the profile")
    number = issue(world, eid, signing_key)
    assert number == f"ASSAY-{DAY.year}-000001"
    pdf = (world.tmp / "cert.pdf").read_bytes()
    verification = verify_certificate(pdf, trust_roots, today=DAY, register=None)
    assert verification.ok, verification.reasons
    with world.store.read() as connection:
        state = status(connection, eid, DAY)
    assert state["certificate"]["number"] == number
    assert state["certificate"]["surveillance_due"] == ["2027-06-30", "2028-06-30"]
    assert state["latest_decision"] == {"number": 1, "outcome": "certify", "certificate": number}
    assert state["next_step"] == "surveillance when due"
    events = world.trail_events()
    one_per_item = ("evidence.verified", "requirement.judged")
    assert [e["event"] for e in events if e["event"] not in one_per_item] == [
        "people.imported",
        "engagement.applied",
        "engagement.assigned",
        "evidence.submitted",
        "engagement.evaluated",
        "engagement.decided",
        "certificate.number_reserved",
        "certificate.issued",
        "engagement.certified",
        "certificate.published",
    ]
    # Identity and role in every record after the first import.
    roles = {e["event"]: e["actor"] for e in events}
    assert roles["engagement.applied"] == f"{SUBMITTER} (submitter)"
    assert roles["evidence.verified"] == f"{LEAD} (lead_auditor)"
    assert roles["requirement.judged"] == f"{AUDITOR} (auditor)"
    assert sum(e["event"] == "requirement.judged" for e in events) == len(world.judged)
    assert roles["engagement.decided"] == f"{REVIEWER} (reviewer)"
    assert roles["certificate.issued"] == f"{ADMIN} (register_administrator)"
    assert world.awarding.store is world.store
    with world.store.read() as connection:
        from audits.store import verify_trail

        assert verify_trail(connection).records == len(events)


def test_evaluation_is_pinned_to_the_version_and_rule_pack(world: World) -> None:
    eid = evaluated(world)
    with world.store.read() as connection:
        assembled = assemble(connection, eid)
        entry = history(connection, eid)[0]
    assert assembled is not None
    record = next(e for e in world.trail_events() if e["event"] == "engagement.evaluated")["payload"]
    assert record["version"] == 1
    assert record["pack_digest"] == assembled.digest
    assert record["rule_pack_digest"] == world.decisions.rules.digest
    assert (entry.version, entry.purpose) == (1, "initial")


def test_assembled_pack_is_the_canonical_pack_with_its_verdicts(world: World) -> None:
    eid = applied(world)
    world.engagements.submit(SUBMITTER, eid, world.pack)
    world.engagements.verify(LEAD, eid, world.verdicts)
    with world.store.read() as connection:
        assembled = assemble(connection, eid)
    assert assembled is not None
    # Built from the stored JSON without pydantic: must equal the model's canonical digest.
    assert assembled.digest == pack_digest(assembled.pack)
    assert [v.evidence_id for v in assembled.pack.verifications] == sorted(
        v.evidence_id for v in world.verdicts
    )
    assert assembled.last_verdict == len(world.verdicts)


def test_a_result_is_recorded_only_while_its_pack_is_current(world: World) -> None:
    eid = applied(world)
    world.engagements.submit(SUBMITTER, eid, world.pack)
    world.engagements.verify(LEAD, eid, world.verdicts[:-1])
    snapshot = world.decisions.pending_evaluation(LEAD, eid)
    evaluation = evaluate_on(world.decisions.rules, snapshot.pack, snapshot.digest, DAY, inference())
    result, trail = result_json(evaluation.result), jsonl(evaluation.trail)
    world.engagements.verify(LEAD, eid, world.verdicts[-1:])  # an auditor adds a verdict meanwhile
    with pytest.raises(
        RefusedError, match="since the pack was assembled, 1 verdict\\(s\\) were recorded; evaluate again"
    ):
        world.decisions.record_evaluation(LEAD, eid, snapshot, result, trail)
    fresh = world.decisions.pending_evaluation(LEAD, eid)
    with pytest.raises(RefusedError, match=f"the result is of pack {snapshot.digest}, not of {fresh.digest}"):
        world.decisions.record_evaluation(LEAD, eid, fresh, result, trail)
    assert world.counts()["evaluations"] == 0
    refusals = [e for e in world.trail_events() if e["event"] == "engagement.refused"]
    assert len(refusals) == 2


def test_resubmission_is_a_new_version_and_nothing_is_overwritten(world: World) -> None:
    eid = applied(world)
    assert world.engagements.submit(SUBMITTER, eid, world.pack) == 1
    with pytest.raises(RefusedError, match="identical to version 1"):
        world.engagements.submit(SUBMITTER, eid, world.pack)

    def retitle(manifest: dict[str, Any]) -> None:
        manifest["items"][0]["title"] = "Retitled strategy"

    assert world.engagements.submit(SUBMITTER, eid, world.variant("v2", retitle)) == 2
    submitted = [e["payload"] for e in world.trail_events() if e["event"] == "evidence.submitted"]
    assert submitted[1]["changes"]["changed"] == [submitted[1]["changes"]["changed"][0]]
    from audits.versions import version_pack

    with world.store.read() as connection:
        first, second = version_pack(connection, eid, 1), version_pack(connection, eid, 2)
    assert (first.items[0].title == "Retitled strategy", second.items[0].title) == (
        False,
        "Retitled strategy",
    )


def test_a_changed_item_needs_verifying_again(world: World) -> None:
    eid = applied(world)
    world.engagements.submit(SUBMITTER, eid, world.pack)
    world.engagements.verify(LEAD, eid, world.verdicts)
    changed_id = world.verdicts[0].evidence_id

    def retitle(manifest: dict[str, Any]) -> None:
        for item in manifest["items"]:
            if item["id"] == changed_id:
                item["title"] = "Changed after verification"

    world.engagements.submit(SUBMITTER, eid, world.variant("v2", retitle))
    with world.store.read() as connection:
        assembled = assemble(connection, eid)
    assert assembled is not None
    assert assembled.version == 2
    assert changed_id not in assembled.verdicts
    assert len(assembled.verdicts) == len(world.verdicts) - 1


def test_open_major_finding_blocks_certification_until_closed_on_accepted_evidence(world: World) -> None:
    eid = evaluated(world)
    due = DAY + dt.timedelta(days=60)
    number = world.casework.raise_finding(AUDITOR, eid, severity="major", statement="no baseline", due_on=due)
    with pytest.raises(RefusedError, match="major nonconformities are open: 1"):
        world.decisions.decide(REVIEWER, eid, "certify", "ok")
    rejected = next(v.evidence_id for v in world.verdicts if v.verdict == "rejected")
    with pytest.raises(RefusedError, match=f"not accepted by an auditor.*{rejected}"):
        world.casework.close_finding(LEAD, eid, number, [rejected], "fixed")
    with pytest.raises(RefusedError, match="only the lead auditor"):
        world.casework.close_finding(AUDITOR, eid, number, [world.verdicts[0].evidence_id], "fixed")
    world.casework.close_finding(LEAD, eid, number, [world.verdicts[0].evidence_id], "baseline published")
    assert world.decisions.decide(REVIEWER, eid, "certify", "finding closed") == 1


def test_surveillance_explains_a_level_that_went_down(world: World, signing_key: SigningKey) -> None:
    eid = evaluated(world)
    world.decisions.decide(REVIEWER, eid, "certify", "ok")
    issue(world, eid, signing_key)
    certified = world.decisions.evaluate
    with world.store.read() as connection:
        levels = history(connection, eid)[0].levels
    target = next(cid for cid, level in levels.items() if level is not None and level >= 3)
    removed: list[dict[str, Any]] = []

    def drop(manifest: dict[str, Any]) -> None:
        # Withdraw every item offered for the characteristic: its level must fall.
        removed.extend(i for i in manifest["items"] if target in i.get("offered_for", []))
        manifest["items"] = [i for i in manifest["items"] if target not in i.get("offered_for", [])]

    world.at(DAY + dt.timedelta(days=300))
    world.engagements.submit(SUBMITTER, eid, world.variant("v2", drop))
    record = certified(LEAD, eid, inference(), surveillance=True)
    assert record.purpose == "surveillance"
    assert target in record.lower_than_certified
    with pytest.raises(RefusedError, match=rf"levels went down \(.*{re.escape(target)}"):
        world.decisions.decide(REVIEWER, eid, "maintain", "looks fine")
    with world.store.read() as connection:
        second = history(connection, eid)[1]
    change = next(c for c in second.level_changes if c.characteristic == target)
    assert change.before is not None
    assert (change.after or 0) < change.before
    removed_ids = {i["id"] for i in removed}
    assert any(
        cause.startswith("evidence removed: ") and cause.split(": ")[1] in removed_ids
        for cause in change.causes
    )


def test_appeal_is_resolved_by_someone_not_involved(world: World) -> None:
    eid = evaluated(world)
    decision = world.decisions.decide(REVIEWER, eid, "refuse", "insufficient evidence")
    case = world.casework.record_case(ADMIN, eid, "appeal", "Harbourton City Council", "refusal", decision)
    with pytest.raises(RefusedError, match="only a register administrator"):
        world.casework.resolve_case(REVIEWER, eid, case, "upheld")
    world.casework.resolve_case(ADMIN, eid, case, "refusal upheld after review")
    with pytest.raises(RefusedError, match="was resolved on"):
        world.casework.resolve_case(ADMIN, eid, case, "again")
    with pytest.raises(RefusedError, match="99 is not one"):
        world.casework.record_case(ADMIN, eid, "appeal", "X", "Y", 99)
    events = [e["event"] for e in world.trail_events()]
    assert {"appeal.received", "appeal.resolved"} <= set(events)


def test_the_worksheet_proposes_the_sample_the_evaluation_reports(world: World) -> None:
    """Judging after the evaluation does not move the sample: the seed is the evidence's items,
    the rules and the day, never the auditor's verdicts or judgements."""
    eid = applied(world)
    world.engagements.submit(SUBMITTER, eid, world.pack)
    world.engagements.verify(LEAD, eid, world.verdicts)
    record = world.decisions.evaluate(LEAD, eid, inference())
    world.engagements.judge(AUDITOR, eid, world.judged)
    sampling = Result.model_validate_json(record.result).sampling
    assert sampling is not None
    reported = {s.requirement: s.items for s in sampling.samples}
    with world.store.read() as connection:
        rows = worksheet(connection, world.decisions.rules, eid, world.clock.day, "en")
    proposed = {r.candidates.requirement.key: list(r.sample) for r in rows if r.sample}
    # The judged requirements that range over a set (the sample itself depends on the rules' digest).
    assert sorted(proposed) == [
        "1.5.2/3/every-kpi-baselined", "4.4/3/success-trajectories", "4.6/3/success-trajectories"
    ]  # fmt: skip
    assert len(proposed["1.5.2/3/every-kpi-baselined"]) == 3  # of Harbourton's four KPIs
    assert all(reported[key] == items for key, items in proposed.items())
