"""Auditors' judgements in an engagement: recorded all or none with a trail record each, refused
with a reason naming every problem, bound to the cited items as stored, and seen by evaluations.
On SQLite and PostgreSQL, with a copy of the bundled rule pack that asks for two judgements."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

import rules as bundled_rules
from audits.engagements import Verdict
from audits.errors import RefusedError
from audits.judging import JudgementEntry
from engine.evaluation import evaluate_on, result_json
from engine.rulepack import RulePack, load_rule_pack
from engine.trail import jsonl
from tests.engagements.conftest import AUDITOR, LEAD, REVIEWER, SUBMITTER, World, applied, inference

KEY = "1.2.2/2/stakeholder-consultation"
STALE_KEY = "1.2.2/3/feedback-mechanism"
CITED = ("c1-2-2-codesign-mobility", "c1-2-2-consult-strategy")
REASON = "Both exercises reached business and civil society and fed the mobility plan."


def judged_rule_pack(folder: Path) -> Path:
    """The bundled pack asking for exactly two judgements, both in 1.2.2: of level 2 and (on
    items at most a day old, so every sample item is too old) of level 3's feedback mechanism."""
    shutil.copytree(bundled_rules.bundled(), folder)
    for other in sorted((folder / "characteristics").glob("*.yaml")):
        data = yaml.safe_load(other.read_text(encoding="utf-8"))
        for level in data["levels"].values():
            for top in level["requirements"]:
                _drop_judgements(top)
        other.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    path = folder / "characteristics" / "1.2.2.yaml"
    spec = yaml.safe_load(path.read_text(encoding="utf-8"))
    question = {"en": "Is consultation an established process?", "zh": "咨询是否已成为既定流程"}
    spec["levels"][2]["requirements"][0]["evidence"]["judgement"] = {"question": question}
    feedback = spec["levels"][3]["requirements"][2]["evidence"]
    feedback |= {"judgement": {"question": {"en": "Is it clear?", "zh": "是否明确"}}, "max_age_days": 1}
    path.write_text(yaml.safe_dump(spec, allow_unicode=True), encoding="utf-8")
    return folder


def _drop_judgements(node: dict[str, Any]) -> None:
    node.get("evidence", {}).pop("judgement", None)
    for child in [*node.get("all", []), *node.get("any", []), *([node["not"]] if "not" in node else [])]:
        _drop_judgements(child)


@pytest.fixture(scope="module")
def rule_pack(tmp_path_factory: pytest.TempPathFactory) -> RulePack:
    """Overrides the bundled pack for this module's ``world``."""
    return load_rule_pack(judged_rule_pack(tmp_path_factory.mktemp("rules") / "iso37107-2019"))


def entry(rating: str = "fully", cites: tuple[str, ...] = CITED, **change: Any) -> JudgementEntry:
    values: dict[str, Any] = {"requirement": KEY, "rating": rating, "cites": cites}
    values |= {"method": "interview", "reason": REASON} | change
    return JudgementEntry(**values)


def verified(world: World) -> str:
    eid = applied(world)
    world.engagements.submit(SUBMITTER, eid, world.pack)
    world.engagements.verify(LEAD, eid, world.verdicts)
    return eid


def node(world: World, eid: str, key: str = KEY, as_of: dt.date | None = None) -> dict[str, Any]:
    record = world.decisions.evaluate(LEAD, eid, inference(), as_of=as_of)
    result = json.loads(record.result)
    cid, level, rid = key.split("/")
    characteristic = next(c for c in result["characteristics"] if c["id"] == cid)
    found = next(lv for lv in characteristic["levels"] if lv["level"] == int(level))
    outcome: dict[str, Any] = next(r for r in found["requirements"] if r["id"] == rid)
    return outcome | {"level": characteristic["verified_level"], "excluded": result["excluded_evidence"]}


def test_awaiting_then_judged_fully_met_then_partially_not_met_with_the_reason(world: World) -> None:
    eid = verified(world)
    awaiting = node(world, eid)
    assert (awaiting["outcome"], awaiting["missing"], awaiting["level"]) == (
        "indeterminate",
        "awaiting the auditor's judgement",
        1,
    )
    assert world.engagements.judge(AUDITOR, eid, [entry()]) == [1]
    met = node(world, eid)
    assert (met["outcome"], met["evidence"], met["missing"]) == ("met", list(CITED), None)
    assert met["level"] >= 2
    world.at(world.clock.day + dt.timedelta(days=1))
    assert world.engagements.judge(LEAD, eid, [entry("partially", reason="Only one reached business.")]) == [
        2
    ]
    # Assessed as at the first day, the judgement still reads fully (steps are recorded in the
    # order they happen, so the evaluation is today's, its assessment date the first day).
    assert node(world, eid, as_of=world.clock.day - dt.timedelta(days=1))["outcome"] == "met"
    not_met = node(world, eid)
    assert not_met["outcome"] == "not_met"
    assert not_met["missing"] == (
        f"judged partially implemented by {LEAD} on {world.clock.day} (interview): Only one reached business."
    )
    assert not_met["level"] == 1
    judged = [e for e in world.trail_events() if e["event"] == "requirement.judged"]
    assert [(e["actor"], e["payload"]["rating"], e["payload"]["seq"]) for e in judged] == [
        (f"{AUDITOR} (auditor)", "fully", 1),
        (f"{LEAD} (lead_auditor)", "partially", 2),
    ]
    assert judged[0]["payload"]["cites"] == list(CITED)
    assert judged[0]["payload"]["cited_digest"].startswith("sha256:")


def test_the_items_examined_in_depth_are_stored_and_reach_the_evaluation(world: World) -> None:
    eid = verified(world)
    world.engagements.judge(AUDITOR, eid, [entry(method="sample_examined", examined=(CITED[1], CITED[1]))])
    (stored,) = world.decisions.pending_evaluation(LEAD, eid).pack.judgements
    assert (stored.method, stored.examined) == ("sample_examined", [CITED[1]])
    (event,) = [e for e in world.trail_events() if e["event"] == "requirement.judged"]
    assert event["payload"]["examined"] == [CITED[1]]


def test_a_later_version_changing_a_cited_item_voids_the_judgement(world: World) -> None:
    eid = verified(world)
    world.engagements.judge(AUDITOR, eid, [entry()])

    def retitle(manifest: dict[str, Any]) -> None:
        item = next(i for i in manifest["items"] if i["id"] == CITED[0])
        item["title"] = "Harbourton: mobility co-design, revised"

    world.engagements.submit(SUBMITTER, eid, world.variant("v2", retitle))
    world.engagements.verify(AUDITOR, eid, [v for v in world.verdicts if v.evidence_id == CITED[0]])
    voided = node(world, eid)
    assert (voided["outcome"], voided["missing"]) == ("indeterminate", "awaiting the auditor's judgement")
    assert {
        "id": f"judgement {KEY}",
        "reason": "an item it cites changed after it was judged: the requirement needs judging again",
    } in voided["excluded"]
    world.engagements.judge(AUDITOR, eid, [entry("largely")])
    assert node(world, eid)["outcome"] == "met"


def _reject(world: World, eid: str) -> None:
    world.engagements.verify(AUDITOR, eid, [Verdict(CITED[0], "rejected", "document_review", "forged")])


def _change_unverified(world: World, eid: str) -> None:
    def retitle(manifest: dict[str, Any]) -> None:
        next(i for i in manifest["items"] if i["id"] == CITED[1])["title"] = "changed"

    world.engagements.submit(SUBMITTER, eid, world.variant("v2", retitle))


Prepare = Callable[[World, str], None] | None
REFUSALS: list[tuple[str, str, list[JudgementEntry], Prepare, str]] = [
    ("the city", SUBMITTER, [entry()], None, "a community never verifies or audits its own evidence"),
    ("the reviewer", REVIEWER, [entry()], None, "only an auditor on the audit team may"),
    ("unknown person", "nobody", [entry()], None, "no such person in the people table"),
    ("nothing given", AUDITOR, [], None, "no judgements given"),
    (
        "not a requirement",
        AUDITOR,
        [entry(requirement="9.9.9/2/nothing")],
        None,
        "9.9.9/2/nothing: not a requirement of rule pack iso37107-2019 in the engagement's scope",
    ),
    (
        "needs no judgement",
        AUDITOR,
        [entry(requirement="1.2.2/3/programme-documents-published", cites=("c1-2-2-programme-plan",))],
        None,
        "1.2.2/3/programme-documents-published: needs no judgement (its rule asks for none)",
    ),
    (
        "not in the latest version",
        AUDITOR,
        [entry(cites=("nope",))],
        None,
        f"{KEY}: cites nope, not an item of the latest evidence version",
    ),
    (
        "rejected",
        AUDITOR,
        [entry()],
        _reject,
        f"{KEY}: cites {CITED[0]}, which was rejected by an auditor",
    ),
    (
        "not accepted (changed since verified)",
        AUDITOR,
        [entry()],
        _change_unverified,
        f"{KEY}: cites {CITED[1]}, which is not accepted by an auditor",
    ),
    (
        "out of scope",
        AUDITOR,
        [entry(cites=("c1-2-2-feedback",))],
        None,
        f"{KEY}: cites c1-2-2-feedback, which is out of the requirement's scope (engagement)",
    ),
    (
        "not offered for the characteristic",
        AUDITOR,
        [entry(cites=("c1-2-1-change-board",))],
        None,
        f"{KEY}: cites c1-2-1-change-board, which is not offered for 1.2.2",
    ),
    (
        "stale",
        AUDITOR,
        [entry(requirement=STALE_KEY, cites=("c1-2-2-feedback",))],
        None,
        f"{STALE_KEY}: cites c1-2-2-feedback, which is not current for the requirement",
    ),
    (
        "bad rating, method and reason, no cites",
        AUDITOR,
        [entry("mostly", cites=(), method="gut_feeling", reason=" ")],
        None,
        f"{KEY}: rating must be one of fully, largely, partially, not, not 'mostly'; "
        f"{KEY}: method must be one of document_review, interview, observation, system_demonstration, "
        f"sample_examined, not 'gut_feeling'; {KEY}: a reason is required; "
        f"{KEY}: cites no items: a judgement rests on accepted items",
    ),
    (
        "one good, one bad, and the same requirement twice",
        AUDITOR,
        [entry(), entry("largely", where="Judgements!A3")],
        None,
        f"{KEY}: judged more than once in this batch; Judgements!A3: {KEY}: judged more than once",
    ),
    (
        "examined an item it does not cite",
        AUDITOR,
        [entry(cites=CITED[:1], examined=CITED)],
        None,
        f"{KEY}: examined {CITED[1]}, which the judgement does not cite",
    ),
]


@pytest.mark.parametrize(
    ("case", "person", "entries", "prepare", "message"), REFUSALS, ids=[c[0] for c in REFUSALS]
)
def test_refused_judgements_name_the_problem_change_nothing_and_are_recorded(
    world: World, case: str, person: str, entries: list[JudgementEntry], prepare: Prepare, message: str
) -> None:
    eid = verified(world)
    if prepare is not None:
        prepare(world, eid)
    before = world.counts()
    with pytest.raises(RefusedError) as refused:
        world.engagements.judge(person, eid, entries)
    assert message in str(refused.value)
    after = world.counts()
    assert after.pop("trail") == before.pop("trail") + 1
    assert after == before
    last = world.trail_events()[-1]
    assert last["event"] == "engagement.refused"
    assert message in last["payload"]["reason"]


def test_before_any_evidence_a_judgement_is_refused(world: World) -> None:
    eid = applied(world)
    with pytest.raises(RefusedError, match="no evidence has been submitted"):
        world.engagements.judge(AUDITOR, eid, [entry()])


def test_a_community_cannot_submit_judgements(world: World) -> None:
    eid = verified(world)

    def judged(manifest: dict[str, Any]) -> None:
        manifest["items"][0]["title"] = "changed so the version differs"
        cites = [manifest["items"][0]["id"]]
        manifest["judgements"] = [
            {"requirement": KEY, "rating": "fully", "cites": cites, "cited_digest": "sha256:" + "0" * 64}
            | {"method": "interview", "reason": "r", "auditor": "mei", "date": "2026-06-01"}
        ]

    with pytest.raises(RefusedError, match="the pack carries 1 judgements: a community never judges"):
        world.engagements.submit(SUBMITTER, eid, world.variant("judged", judged))


def test_an_evaluation_assembled_before_a_judgement_is_not_recorded(world: World) -> None:
    eid = verified(world)
    assembled = world.decisions.pending_evaluation(LEAD, eid)
    world.engagements.judge(AUDITOR, eid, [entry()])
    assert world.decisions.pending_evaluation(LEAD, eid).digest != assembled.digest
    rules = world.decisions.rules
    evaluation = evaluate_on(rules, assembled.pack, assembled.digest, world.clock.day, inference())
    with pytest.raises(
        RefusedError, match="since the pack was assembled, 1 judgement\\(s\\) were recorded; evaluate again"
    ):
        world.decisions.record_evaluation(
            LEAD, eid, assembled, result_json(evaluation.result), jsonl(evaluation.trail)
        )
