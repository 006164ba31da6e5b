"""``assay engagement oscal``: an evaluation as OSCAL Assessment Results, checked against NIST's
own JSON schema (tests/data/oscal), on SQLite and PostgreSQL. The document must say what the
evaluation found and rested on (levels, requirement outcomes, the items and how each was
verified, the auditors' judgements and who made them), exactly as it was when evaluated, and
the same store must always give the same bytes."""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
import json
import re
import uuid
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft7Validator  # type: ignore[import-untyped]
from sqlalchemy import select, update

from assay.cli import run
from audits.errors import RefusedError, StoreError
from audits.oscal import NAMESPACE, OSCAL_VERSION, PROPS_NS, assessment_results, oscal_json
from audits.schema import evaluations, judgements
from engine.canonical import parse_json
from engine.rulepack import RulePack
from tests.engagements.conftest import (
    ADMIN,
    AUDITOR,
    DAY,
    LEAD,
    REVIEWER,
    SUBMITTER,
    MovableClock,
    World,
    applied,
    evaluated,
    inference,
    make_world,
)
from tests.oscal_schema import load_schema, problems

JUDGED = "1.2.1/4/programme-management"
"""A judgement in the sample made by interview, rated partially (so not met)."""


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    return load_schema()


def dangling(document: dict[str, Any]) -> list[str]:
    """What the schema cannot check: uuids unique, and every reference to a uuid or role naming
    one defined in the document."""
    defined: list[str] = []
    references: list[tuple[str, str]] = []

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                if key == "uuid":
                    defined.append(item)
                elif key.endswith("-uuid") or (key == "href" and item.startswith("#")):
                    references.append((key, item.removeprefix("#")))
                elif key in ("party-uuids", "member-of-organizations"):
                    references.extend((key, u) for u in item)
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    walk(document)
    roles = {r["id"] for r in document["assessment-results"]["metadata"]["roles"]}
    used_roles = re.findall(r'"role-id": "([^"]+)"', json.dumps(document))
    return (
        [f"uuid {u} defined twice" for u in sorted({u for u in defined if defined.count(u) > 1})]
        + [f"{key} {u} names nothing" for key, u in references if u not in set(defined)]
        + [f"role {r} is not defined" for r in sorted(set(used_roles) - roles)]
    )


# Reading the document ---------------------------------------------------------------------------


def export(world: World, eid: str, number: int | None = None) -> dict[str, Any]:
    with world.store.read() as connection:
        return assessment_results(connection, eid, number)


def props(entry: dict[str, Any], name: str) -> list[str]:
    """The values of the entry's Assay properties called ``name``."""
    return [p["value"] for p in entry.get("props", []) if p["name"] == name and p["ns"] == PROPS_NS]


def prop(entry: dict[str, Any], name: str) -> str:
    (value,) = props(entry, name)
    return value


def party(document: dict[str, Any], person_id: str) -> dict[str, Any]:
    parties: list[dict[str, Any]] = document["assessment-results"]["metadata"]["parties"]
    (found,) = [p for p in parties if props(p, "person-id") == [person_id]]
    return found


def result_of(document: dict[str, Any]) -> dict[str, Any]:
    results: list[dict[str, Any]] = document["assessment-results"]["results"]
    (result,) = results
    return result


def by_prop(entries: list[dict[str, Any]], name: str) -> dict[str, dict[str, Any]]:
    return {prop(e, name): e for e in entries if props(e, name)}


def item_observations(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return by_prop(result_of(document)["observations"], "evidence-id")


def judgement_observations(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return by_prop(result_of(document)["observations"], "requirement")


def findings_of(document: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    """Characteristic findings by id (``characteristic``) or requirement findings by key."""
    found = result_of(document)["findings"]
    if kind == "characteristic":
        return {prop(f, "characteristic"): f for f in found if props(f, "status")}
    return by_prop(found, "requirement")


def used_by(result: dict[str, Any], trail_text: str) -> set[str]:
    """What the evaluation's outcomes name, and what the judgements it counted cite."""
    used: set[str] = set()

    def walk(node: dict[str, Any]) -> None:
        used.update(
            node["evidence"], node["rejected"], node["violations"], (p["id"] for p in node["pending"])
        )
        for child in node["children"]:
            walk(child)

    for characteristic in result["characteristics"]:
        for level in characteristic["levels"]:
            for top in level["requirements"]:
                walk(top)
    for line in trail_text.splitlines():
        payload = parse_json(line)["payload"]
        used.update(payload.get("judgement", {}).get("cites", []))
    return used


def stored(world: World, eid: str, column: str, number: int = 1) -> str:
    """A column of the stored evaluation (its result.json, its trail)."""
    with world.store.read() as connection:
        text: str = connection.execute(
            select(evaluations.c[column]).where(
                evaluations.c.engagement_id == eid, evaluations.c.number == number
            )
        ).scalar_one()
    return text


# Tests -----------------------------------------------------------------------------------------


def test_the_export_is_valid_oscal_and_a_broken_copy_is_not(world: World, schema: dict[str, Any]) -> None:
    assert schema["$schema"] == Draft7Validator.META_SCHEMA["$schema"]
    document = export(world, evaluated(world))
    assert problems(schema, document) == []
    metadata = document["assessment-results"]["metadata"]
    assert metadata["oscal-version"] == OSCAL_VERSION == "1.1.3"
    assert metadata["last-modified"] == f"{DAY.isoformat()}T00:00:00Z"
    assert (
        metadata["title"]
        == f"Assessment results of ENG-{DAY.year}-0001: Harbourton against ISO/TS 37107:2019, evaluation 1"
    )
    assert result_of(document)["start"] == f"{DAY.isoformat()}T00:00:00Z"

    assert dangling(document) == []

    # Broken copies, each of a shorter but valid document (a full validation takes seconds).
    short = copy.deepcopy(document)
    for entries in (result_of(short)["findings"], result_of(short)["observations"]):
        del entries[3:]
    assert problems(schema, short) == []

    missing = copy.deepcopy(short)
    del missing["assessment-results"]["metadata"]["oscal-version"]
    assert problems(schema, missing) == [
        "assessment-results/metadata: 'oscal-version' is a required property"
    ]

    state = copy.deepcopy(short)
    result_of(state)["findings"][0]["target"]["status"]["state"] = "partly"
    (problem,) = problems(schema, state)
    assert problem.startswith("assessment-results/results/0/findings/0/target/status/state: 'partly'")

    # A token must start with a letter: checked with \p{L}, which only the regex module knows.
    token = copy.deepcopy(short)
    result_of(token)["findings"][0]["target"]["target-id"] = "1.1.1"
    assert problems(schema, token) == [
        "assessment-results/results/0/findings/0/target/target-id: "
        "'1.1.1' does not match '^(\\\\p{L}|_)(\\\\p{L}|\\\\p{N}|[.\\\\-_])*$'"
    ]

    # Formats too: an href with spaces is no URI reference (the schema gives it no pattern).
    href = copy.deepcopy(short)
    href["assessment-results"]["import-ap"]["href"] = "the audit plan"
    assert problems(schema, href) == [
        "assessment-results/import-ap/href: 'the audit plan' is not a 'uri-reference'"
    ]

    dated = copy.deepcopy(short)
    result_of(dated)["start"] = "2026-06-30 00:00"
    assert [p.split(":")[0] for p in problems(schema, dated)] == ["assessment-results/results/0/start"] * 2


def test_a_finding_per_characteristic_in_scope_with_its_verified_level(world: World) -> None:
    eid = world.engagements.create(SUBMITTER, "harbourton", "Harbourton", ["1.1.1", "1.2.1", "4.6"])
    world.engagements.assign(ADMIN, eid, lead=LEAD, auditors=[AUDITOR], reviewer=REVIEWER)
    world.engagements.submit(SUBMITTER, eid, world.pack)
    world.engagements.verify(LEAD, eid, world.verdicts)
    scope = ("1.1.1/", "1.2.1/", "4.6/")
    world.engagements.judge(AUDITOR, eid, [j for j in world.judged if j.requirement.startswith(scope)])
    record = world.decisions.evaluate(LEAD, eid, inference())
    document = export(world, eid)

    found = findings_of(document, "characteristic")
    assert sorted(found) == ["1.1.1", "1.2.1", "4.6"]
    assert {c: int(prop(f, "verified-level")) for c, f in found.items()} == record.levels
    assert record.levels["1.1.1"] == 4
    claims = {c["id"]: c["claim"] for c in json.loads(record.result)["characteristics"]}
    for cid, finding in found.items():
        status = finding["target"]["status"]
        assert finding["target"]["target-id"] == f"characteristic_{cid}"
        reached = record.levels[cid] >= claims[cid]["now"]
        assert status["state"] == ("satisfied" if reached else "not-satisfied"), cid
        assert prop(finding, "claim-verdict") == claims[cid]["verdict"]
    # 1.1.1 claims 5 and reaches 4: the level reached is stated where a reader looks first.
    assert (
        found["1.1.1"]["title"]
        == "1.1.1 An outcomes-focused city vision and strategy: verified level 4 (Improving)"
    )
    assert found["1.1.1"]["target"]["status"] == {
        "state": "not-satisfied",
        "reason": "fail",
        "remarks": "Verified level 4 (Improving); level 5 claimed: over-claimed.",
    }
    controls = result_of(document)["reviewed-controls"]["control-selections"][0]["include-controls"]
    assert [c["control-id"] for c in controls] == [
        "characteristic_1.1.1",
        "characteristic_1.2.1",
        "characteristic_4.6",
    ]
    requirements = findings_of(document, "requirement")
    assert {key.split("/")[0] for key in requirements} == {"1.1.1", "1.2.1", "4.6"}
    assert prop(requirements["1.1.1/3/outcome-objectives"], "outcome") == "met"
    assert requirements["1.1.1/3/outcome-objectives"]["target"]["status"]["state"] == "satisfied"
    assert prop(requirements[JUDGED], "outcome") == "not_met"
    assert requirements[JUDGED]["target"]["status"]["state"] == "not-satisfied"


def test_observations_cite_the_items_the_evaluation_used(world: World) -> None:
    eid = evaluated(world)
    document = export(world, eid)
    observed = item_observations(document)
    used = used_by(json.loads(stored(world, eid, "result")), stored(world, eid, "trail"))
    assert set(observed) == used
    assert "vision-2035" in used
    assert "resilience-evaluation" not in observed  # collected after the assessment date
    # Each cites its item: a back-matter resource with the attachments' SHA-256.
    resources = {r["uuid"]: r for r in document["assessment-results"]["back-matter"]["resources"]}
    manifest = json.loads((world.pack / "pack.json").read_text(encoding="utf-8"))
    vision = next(i for i in manifest["items"] if i["id"] == "vision-2035")
    (evidence,) = observed["vision-2035"]["relevant-evidence"]
    resource = resources[evidence["href"].removeprefix("#")]
    assert prop(resource, "evidence-id") == "vision-2035"
    assert resource["title"] == vision["title"]
    (attachment,) = vision["attachments"]
    assert resource["rlinks"] == [
        {
            "href": attachment["path"],
            "media-type": attachment["media_type"],
            "hashes": [{"algorithm": "SHA-256", "value": attachment["sha256"]}],
        }
    ]
    assert props(evidence, "attachment-sha256") == [attachment["sha256"]]
    # How each was verified, by whom, and when.
    verdicts = {v.evidence_id: v for v in world.verdicts}
    lead = party(document, LEAD)
    methods = {"document_review": "EXAMINE", "interview": "INTERVIEW", "observation": "EXAMINE"}
    methods["system_demonstration"] = "TEST"
    for evidence_id, observation in observed.items():
        verdict = verdicts.get(evidence_id)
        if verdict is None:  # pending: the engine read its record, no auditor has verified it
            assert evidence_id == "have-your-say"
            assert prop(observation, "verdict") == "unverified"
            assert observation["methods"] == ["EXAMINE"]
            assert observation["origins"][0]["actors"][0]["type"] == "tool"
            continue
        assert observation["methods"] == [methods[verdict.method]], evidence_id
        assert prop(observation, "verdict") == verdict.verdict
        assert prop(observation, "verification-method") == verdict.method
        assert observation["origins"] == [
            {"actors": [{"type": "party", "actor-uuid": lead["uuid"], "role-id": "lead-auditor"}]}
        ]
        assert observation["collected"] == f"{DAY.isoformat()}T00:00:00Z"
    assert observed["kpi-blue-jobs"]["methods"] == ["TEST"]  # system demonstration
    assert observed["vision-2035"]["methods"] == ["EXAMINE"]  # document review
    assert observed["resilience-procedure"]["description"].startswith(
        f"R. Okafor ({LEAD}) rejected resilience-procedure on {DAY.isoformat()}"
    )
    # A requirement's finding points at the observations of the items it rests on.
    finding = findings_of(document, "requirement")["1.1.1/3/outcome-objectives"]
    related = {r["observation-uuid"] for r in finding["related-observations"]}
    assert observed["vision-2035"]["uuid"] in related


def test_a_judgement_appears_with_its_outcome_reason_and_auditor(world: World) -> None:
    eid = evaluated(world)
    document = export(world, eid)
    entry = next(j for j in world.judged if j.requirement == JUDGED)
    assert (entry.rating, entry.method, entry.cites) == ("partially", "interview", ("c1-2-1-pm-procedure",))
    judged = judgement_observations(document)
    counted = {
        payload["requirement"]
        for payload in (parse_json(line)["payload"] for line in stored(world, eid, "trail").splitlines())
        if "judgement" in payload
    }
    assert JUDGED in counted
    assert set(judged) == counted
    observation = judged[JUDGED]
    assert observation["title"] == f"Judgement of {JUDGED}: partially implemented"
    assert observation["description"] == (
        f"Amira Haddad ({AUDITOR}) judged {JUDGED} partially implemented on {DAY.isoformat()} after "
        f"interview, citing c1-2-1-pm-procedure: {entry.reason}"
    )
    assert prop(observation, "rating") == "partially"
    assert prop(observation, "outcome") == "not_met"
    assert prop(observation, "judged-on") == DAY.isoformat()
    assert props(observation, "cites") == ["c1-2-1-pm-procedure"]
    assert observation["methods"] == ["INTERVIEW"]
    assert observation["collected"] == f"{DAY.isoformat()}T00:00:00Z"
    amira = party(document, AUDITOR)
    assert amira["uuid"] == str(uuid.uuid5(NAMESPACE, f"party/person/{AUDITOR}"))
    assert (amira["type"], amira["name"]) == ("person", "Amira Haddad")
    actor = {"type": "party", "actor-uuid": amira["uuid"], "role-id": "auditor"}
    assert observation["origins"] == [{"actors": [actor]}]
    # The requirement's finding: not met, resting on the judgement, with the auditor among its origins.
    finding = findings_of(document, "requirement")[JUDGED]
    assert finding["target"]["status"]["state"] == "not-satisfied"
    assert actor in finding["origins"][0]["actors"]
    related = {r["observation-uuid"] for r in finding["related-observations"]}
    assert related == {observation["uuid"], item_observations(document)["c1-2-1-pm-procedure"]["uuid"]}
    metadata = document["assessment-results"]["metadata"]
    roles = {r["role-id"]: r["party-uuids"] for r in metadata["responsible-parties"]}
    assert roles == {
        "applicant": [party(document, SUBMITTER)["uuid"]],
        "lead-auditor": [party(document, LEAD)["uuid"]],
        "auditor": [amira["uuid"]],
        "reviewer": [party(document, REVIEWER)["uuid"]],
    }


def test_the_export_shows_the_evaluation_as_it_was(world: World) -> None:
    eid = evaluated(world)
    first = oscal_json(export(world, eid))
    later = DAY + dt.timedelta(days=1)
    world.at(later)
    entry = next(j for j in world.judged if j.requirement == JUDGED)
    reason = "Progress reports and a risk log made under the procedure were shown on a second visit."
    world.engagements.judge(AUDITOR, eid, [dataclasses.replace(entry, rating="largely", reason=reason)])
    number = world.casework.raise_finding(
        AUDITOR,
        eid,
        severity="minor",
        statement="The programme procedure is not yet used for every project.",
        due_on=later + dt.timedelta(days=90),
        characteristic="1.2.1",
        evidence_id="c1-2-1-pm-procedure",
    )
    # Recorded after evaluation 1: none of it shows in its export.
    assert oscal_json(export(world, eid)) == first
    world.decisions.evaluate(LEAD, eid, inference())
    assert oscal_json(export(world, eid, 1)) == first
    second = export(world, eid)
    assert second["assessment-results"]["metadata"]["version"] == "2"
    assert result_of(second)["start"] == f"{later.isoformat()}T00:00:00Z"
    judged = judgement_observations(second)[JUDGED]
    assert (prop(judged, "rating"), prop(judged, "outcome")) == ("largely", "met")
    assert judged["description"].endswith(f"after interview, citing c1-2-1-pm-procedure: {reason}")
    assert prop(judgement_observations(export(world, eid, 1))[JUDGED], "rating") == "partially"
    (nonconformity,) = by_prop(result_of(second)["findings"], "nonconformity").values()
    assert prop(nonconformity, "nonconformity") == str(number)
    assert (prop(nonconformity, "severity"), prop(nonconformity, "state")) == ("minor", "open")
    assert nonconformity["description"] == "The programme procedure is not yet used for every project."
    assert nonconformity["target"]["target-id"] == "characteristic_1.2.1"
    assert nonconformity["target"]["status"]["state"] == "not-satisfied"
    assert nonconformity["origins"][0]["actors"][0]["actor-uuid"] == party(second, AUDITOR)["uuid"]
    item = item_observations(second)["c1-2-1-pm-procedure"]
    assert nonconformity["related-observations"] == [{"observation-uuid": item["uuid"]}]


def test_the_same_store_contents_give_the_same_bytes(tmp_path: Path, rule_pack: RulePack) -> None:
    exports = []
    for name in ("one", "two"):
        folder = tmp_path / name
        folder.mkdir()
        with make_world(str(folder / "data"), folder, rule_pack, MovableClock(DAY)) as world:
            eid = evaluated(world)
            exports += [oscal_json(export(world, eid)), oscal_json(export(world, eid, 1))]
    assert len(set(exports)) == 1  # twice from one store, and from another store built alike
    # Every uuid is derived (uuid5), never drawn at random.
    found = re.findall(rb'"[a-z-]*uuid[s]?": "([0-9a-f-]{36})"', exports[0])
    assert len(found) > 1000
    assert {uuid.UUID(u.decode()).version for u in found} == {5}


def test_an_unknown_engagement_or_evaluation_is_refused(world: World) -> None:
    eid = applied(world)
    before = world.counts()
    with world.store.read() as connection:
        with pytest.raises(RefusedError) as refused:
            assessment_results(connection, eid)
        assert str(refused.value) == f"cannot export {eid}: it has no evaluation yet"
        with pytest.raises(RefusedError) as refused:
            assessment_results(connection, "ENG-2026-0099")
        assert str(refused.value) == "cannot export ENG-2026-0099: no such engagement"
    world.engagements.submit(SUBMITTER, eid, world.pack)
    world.engagements.verify(LEAD, eid, world.verdicts)
    world.decisions.evaluate(LEAD, eid, inference())
    with world.store.read() as connection:
        with pytest.raises(RefusedError) as refused:
            assessment_results(connection, eid, 2)
        assert str(refused.value) == f"cannot export {eid}: no evaluation 2"
        assert assessment_results(connection, eid, 1) == assessment_results(connection, eid)
    assert world.counts()["trail"] > before["trail"]  # the evaluation's steps, not the exports


def test_a_judgement_edited_outside_assay_stops_the_export(world: World) -> None:
    eid = evaluated(world)
    with world.store.write() as connection:
        connection.execute(
            update(judgements)
            .where(judgements.c.engagement_id == eid, judgements.c.requirement == JUDGED)
            .values(reason="Edited.")
        )
    with pytest.raises(StoreError) as damaged:
        export(world, eid)
    # The rebuild checks each row against the trail record that bound it, so it names the row.
    assert str(damaged.value).startswith(f"the store was changed outside Assay: judgements {eid}/")


def test_the_cli_writes_the_same_document(
    world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    eid = evaluated(world)
    expected = oscal_json(export(world, eid))
    # As an operator names the store and its anchor (the only way for PostgreSQL).
    monkeypatch.setenv("ASSAY_ANCHOR", str(world.store.anchor))
    location = world.store.url.render_as_string(hide_password=False)
    assert run(["engagement", "oscal", eid, "--data", location]) == 0
    printed = capsys.readouterr()
    assert (printed.out, printed.err) == (expected.decode("utf-8"), "")
    target = tmp_path / "assessment-results.json"
    assert (
        run(["engagement", "oscal", eid, "--evaluation", "1", "--out", str(target), "--data", location]) == 0
    )
    assert target.read_bytes() == expected
    assert capsys.readouterr().out == f"{eid}: evaluation 1 as OSCAL assessment results written to {target}\n"
    assert run(["engagement", "oscal", eid, "--evaluation", "3", "--data", location]) == 8
    assert capsys.readouterr().err == f"assay: cannot export {eid}: no evaluation 3\n"
    assert run(["engagement", "oscal", "ENG-2026-0099", "--data", location]) == 8
    assert capsys.readouterr().err == "assay: cannot export ENG-2026-0099: no such engagement\n"
