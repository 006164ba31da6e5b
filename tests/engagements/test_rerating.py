"""Re-rating every certificate in force under a newly installed rule pack, on SQLite and PostgreSQL:
what would change and why, with no certificate, evaluation or decision changed."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

import rules as bundled_rules
from assay.cli import run
from audits.decisions import Decisions
from audits.errors import RefusedError
from audits.integrity import check_integrity
from audits.jobs import LOCAL, PROCRASTINATE, Outcome, work
from audits.rerating import causes, read_reratings
from audits.rulepacks import Installed, RulePacks, rules_in_force
from audits.schema import certificates, decisions, evaluations, rule_packs
from certificates.awarding import Awarding
from certificates.keys import SigningKey
from certificates.scheme import Scheme
from engine.errors import RulePackError
from engine.rulepack import RulePack, load_rule_pack
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

CHANGED = "1.2.3"
"""The characteristic the corrected pack raises a requirement of (the sample is at level 2)."""
ADDED = "skills-plans-many"
ADDED_REQUIREMENT = f"""      - id: {ADDED}
        summary:
          en: Forty administration-wide or city-wide skills plans, assessments or frameworks
          zh: 四十份覆盖整个城市管理部门或全市范围的技能计划、评估或框架
        evidence:
          kind: document
          where:
            serves: {{contains_any: [plan, assessment, framework]}}
            scope: {{one_of: [administration_wide, city_wide]}}
          min_count: 40
"""
"""A level 2 requirement of 1.2.3 the sample cannot meet: forty such documents."""
SUMMARY = "Forty administration-wide or city-wide skills plans, assessments or frameworks"


def pack_copy(tmp_path: Path, name: str) -> Path:
    """A copy of the bundled ISO/TS 37107:2019 pack."""
    target = tmp_path / name
    shutil.copytree(bundled_rules.bundled(), target)
    return target


def corrected_pack(tmp_path: Path) -> Path:
    """The bundled pack with one more requirement at level 2 of 1.2.3."""
    folder = pack_copy(tmp_path, "corrected")
    path = folder / "characteristics" / f"{CHANGED}.yaml"
    text = path.read_text(encoding="utf-8")
    # The first requirements list of the file is level 2's.
    path.write_text(
        text.replace("    requirements:\n", "    requirements:\n" + ADDED_REQUIREMENT, 1), encoding="utf-8"
    )
    return folder


def certified(world: World, key: SigningKey, name: str = "cert.pdf") -> tuple[str, str]:
    """An engagement evaluated, decided and issued: (engagement, certificate number)."""
    eid = evaluated(world)
    world.decisions.decide(REVIEWER, eid, "certify", "evidence supports the profile")
    issued = world.awarding.issue(
        ADMIN, eid, key, body="Test Body", language="en", out=world.tmp / name, scheme=Scheme()
    )
    return eid, issued.certificate.number


def packs(world: World) -> RulePacks:
    """The rule-pack service on the world's store and clock."""
    return RulePacks(world.store, None, world.clock, world.decisions.rules)


def run_jobs(world: World) -> list[Outcome]:
    """Run what is queued until the queue is empty: the local pool on SQLite, a procrastinate
    worker (in this process) on PostgreSQL."""
    outcomes: list[Outcome] = []
    work(world.store, world.clock, once=True, report=outcomes.append)
    return outcomes


def certified_rows(world: World) -> list[list[tuple[Any, ...]]]:
    """Every certificate, evaluation and decision row, as stored."""
    with world.store.read() as connection:
        return [
            [tuple(row) for row in connection.execute(select(table).order_by(*table.primary_key.columns))]
            for table in (certificates, evaluations, decisions)
        ]


def test_a_corrected_pack_names_the_characteristic_its_levels_and_the_requirement_added(
    world: World, signing_key: SigningKey, tmp_path: Path
) -> None:
    eid, number = certified(world, signing_key)
    before = certified_rows(world)
    folder = corrected_pack(tmp_path)
    installed = packs(world).install(ADMIN, folder)
    assert installed == Installed(1, load_rule_pack(folder).digest, "iso37107-2019", installed.job)
    assert installed.job.name == "rerate"
    [outcome] = run_jobs(world)
    assert outcome.status == "done", outcome.error
    assert outcome.summary is not None
    assert outcome.summary["changed"] == [number]
    with world.store.read() as connection:
        [rerating] = read_reratings(connection)
    assert (rerating.run, rerating.certificate, rerating.engagement) == (1, number, eid)
    assert rerating.old_rule_pack_digest == world.decisions.rules.digest
    assert rerating.new_rule_pack_digest == installed.digest
    assert rerating.changes["status"] == "changed"
    assert rerating.changes["evaluation"] == 1
    assert rerating.changes["characteristics"] == [
        {
            "id": CHANGED,
            "old_level": 2,
            "new_level": 1,
            "causes": [
                {
                    "change": "requirement added",
                    "level": 2,
                    "requirement": f"{CHANGED}/2/{ADDED}",
                    "summary": SUMMARY,
                }
            ],
        }
    ]
    # Nothing the certificate rests on changed, and every row is bound to the trail.
    assert certified_rows(world) == before
    assert check_integrity(world.store).problems == []
    events = [e["event"] for e in world.trail_events()]
    assert events[-2:] == ["rule_pack.installed", "rule_pack.rerated"]
    # The pack in force is now the installed one: new evaluations run with it.
    assert rules_in_force(world.store).digest == installed.digest


def test_the_same_inputs_give_byte_identical_reratings(
    world: World, signing_key: SigningKey, tmp_path: Path
) -> None:
    certified(world, signing_key)
    folder = corrected_pack(tmp_path)
    for _ in range(2):
        packs(world).install(ADMIN, folder)
        assert [o.status for o in run_jobs(world)] == ["done"]
    with world.store.read() as connection:
        first, second = (read_reratings(connection, run) for run in (1, 2))
        stored = connection.execute(select(rule_packs.c.files).order_by(rule_packs.c.number)).scalars().all()
    assert [r.changes for r in first] == [r.changes for r in second]
    assert first[0].created_at == second[0].created_at == f"{DAY.isoformat()}T00:00:00Z"
    assert stored[0] == stored[1]
    # Run 2 compared the first certificate's pack (the bundled one) with the corrected one again:
    # the corrected pack, held in the store, is the new pack, not the old.
    assert first[0].old_rule_pack_digest == second[0].old_rule_pack_digest


def certified_under(world: World, key: SigningKey, rules: RulePack) -> str:
    """A certificate on an engagement evaluated, decided and issued under ``rules``."""
    args = (world.store, world.engagements.blobs, world.clock, rules)
    deciding, awarding = Decisions(*args), Awarding(*args)
    eid = applied(world)
    world.engagements.submit(SUBMITTER, eid, world.pack)
    world.engagements.verify(LEAD, eid, world.verdicts)
    world.engagements.judge(AUDITOR, eid, world.judged)
    deciding.evaluate(LEAD, eid, inference())
    deciding.decide(REVIEWER, eid, "certify", "evidence supports the profile")
    issued = awarding.issue(
        ADMIN, eid, key, body="Test Body", language="en", out=world.tmp / "cert.pdf", scheme=Scheme()
    )
    return issued.certificate.number


def test_the_pack_a_certificate_rests_on_is_loaded_from_the_store(
    world: World, signing_key: SigningKey, tmp_path: Path
) -> None:
    # The corrected pack is installed (nothing to re-rate yet), and a certificate issued under it.
    corrected = packs(world).install(ADMIN, corrected_pack(tmp_path))
    assert [o.summary["certificates"] for o in run_jobs(world) if o.summary] == [0]
    number = certified_under(world, signing_key, rules_in_force(world.store))
    # Going back to the bundled rules would raise 1.2.3 again: the cause is read from the
    # corrected pack as the store holds it.
    packs(world).install(ADMIN, pack_copy(tmp_path, "same"))
    assert [o.status for o in run_jobs(world)] == ["done"]
    with world.store.read() as connection:
        [rerating] = read_reratings(connection)
    assert (rerating.run, rerating.certificate) == (2, number)
    assert rerating.old_rule_pack_digest == corrected.digest
    assert rerating.changes["characteristics"] == [
        {
            "id": CHANGED,
            "old_level": 1,
            "new_level": 2,
            "causes": [
                {
                    "change": "requirement removed",
                    "level": 2,
                    "requirement": f"{CHANGED}/2/{ADDED}",
                    "summary": SUMMARY,
                }
            ],
        }
    ]


def test_a_certificate_resting_on_a_pack_the_store_does_not_hold_says_so(
    world: World, signing_key: SigningKey, tmp_path: Path
) -> None:
    # Evaluated with a pack given with --rules, never installed.
    elsewhere = load_rule_pack(corrected_pack(tmp_path))
    number = certified_under(world, signing_key, elsewhere)
    packs(world).install(ADMIN, pack_copy(tmp_path, "same"))
    assert [o.status for o in run_jobs(world)] == ["done"]
    with world.store.read() as connection:
        [rerating] = read_reratings(connection)
    assert rerating.certificate == number
    [characteristic] = rerating.changes["characteristics"]
    assert (characteristic["id"], characteristic["old_level"], characteristic["new_level"]) == (CHANGED, 1, 2)
    [cause] = characteristic["causes"]
    assert cause["change"] == "old rule pack not held"
    assert elsewhere.digest in cause["detail"]


def test_an_unchanged_pack_changes_nothing_for_every_certificate(
    world: World, signing_key: SigningKey, tmp_path: Path
) -> None:
    numbers = [certified(world, signing_key, f"cert-{n}.pdf")[1] for n in range(2)]
    before = certified_rows(world)
    packs(world).install(ADMIN, pack_copy(tmp_path, "same"))
    assert [o.status for o in run_jobs(world)] == ["done"]
    with world.store.read() as connection:
        found = read_reratings(connection)
    assert [r.certificate for r in found] == sorted(numbers)
    assert [r.changes["status"] for r in found] == ["no change", "no change"]
    assert all(r.changes["characteristics"] == [] for r in found)
    assert all(r.old_rule_pack_digest == r.new_rule_pack_digest for r in found)
    assert certified_rows(world) == before
    assert check_integrity(world.store).problems == []


def test_only_a_register_administrator_may_install(world: World, tmp_path: Path) -> None:
    folder = pack_copy(tmp_path, "same")
    before = world.counts()
    for person in (LEAD, REVIEWER, "nobody"):
        with pytest.raises(RefusedError, match=f"{person} may not install a rule pack"):
            packs(world).install(person, folder)
    after = world.counts()
    assert after["trail"] == before["trail"] + 3
    assert {name: n for name, n in after.items() if name != "trail"} == {
        name: n for name, n in before.items() if name != "trail"
    }
    refused = [e for e in world.trail_events() if e["event"] == "engagement.refused"][-3:]
    assert [e["payload"]["person"] for e in refused] == [LEAD, REVIEWER, "nobody"]
    assert all(e["payload"]["operation"] == "install a rule pack" for e in refused)


@pytest.mark.parametrize("ending", ["suspend", "withdraw", "expire"])
def test_a_certificate_not_in_force_is_not_rerated(
    world: World, signing_key: SigningKey, tmp_path: Path, ending: str
) -> None:
    _, number = certified(world, signing_key)
    if ending == "expire":
        with world.store.read() as connection:
            expires = connection.execute(
                select(certificates.c.expires_on).where(certificates.c.number == number)
            ).scalar_one()
        world.at(expires + dt.timedelta(days=1))
    else:
        world.awarding.change(ADMIN, number, ending, "the body's reasons")
    packs(world).install(ADMIN, corrected_pack(tmp_path))
    [outcome] = run_jobs(world)
    assert outcome.status == "done", outcome.error
    assert outcome.summary is not None
    assert outcome.summary["certificates"] == 0
    with world.store.read() as connection:
        assert read_reratings(connection) == []
    rerated = [e for e in world.trail_events() if e["event"] == "rule_pack.rerated"]
    assert [e["payload"]["certificates"] for e in rerated] == [{}]
    assert check_integrity(world.store).problems == []


def test_a_bad_rule_pack_is_refused_with_its_problems_and_nothing_is_installed(
    world: World, tmp_path: Path
) -> None:
    folder = pack_copy(tmp_path, "bad")
    (folder / "characteristics" / "1.1.1.yaml").write_text(
        "characteristic: '1.1.1'\nlevels: 7\n", encoding="utf-8"
    )
    rules_file = folder / "characteristics" / "1.2.3.yaml"
    rules_file.write_text(rules_file.read_text(encoding="utf-8").replace("kind: document", "kind: rumour", 1))
    before = world.counts()
    with pytest.raises(RulePackError) as caught:
        packs(world).install(ADMIN, folder)
    named = {Path(p.file).name for p in caught.value.problems}
    assert {"1.1.1.yaml", "1.2.3.yaml"} <= named
    assert "rumour" in str(caught.value)
    assert world.counts() == before


@pytest.mark.parametrize("database", ["sqlite"], indirect=True)
def test_the_command_line_installs_rerates_and_lists(
    world: World,
    signing_key: SigningKey,
    tmp_path: Path,
    database: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _, number = certified(world, signing_key)
    monkeypatch.setenv("ASSAY_ANCHOR", str(tmp_path / "store.head"))
    folder = corrected_pack(tmp_path)
    day = DAY.isoformat()
    capsys.readouterr()
    assert run(["rules", "install", str(folder), "--as", ADMIN, "--data", database, "--date", day]) == 0
    printed = capsys.readouterr().out
    digest = load_rule_pack(folder).digest
    assert f"installed iso37107-2019 as rule pack 1: {digest}" in printed
    # On SQLite the re-rating ran before the command ended.
    assert f"rerate job {LOCAL}:1: re-rated 1 certificate(s) in force" in printed
    assert f"1 would change ({number})" in printed
    assert run(["rules", "reratings", "--data", database]) == 0
    listing = capsys.readouterr().out
    assert (
        f"{number} (ENG-{DAY.year}-0001, evaluation 1 as of {day}): 1 characteristic(s) would change"
        in listing
    )
    assert f"  {CHANGED}: level 2 -> 1" in listing
    assert f"    - requirement added: {CHANGED}/2/{ADDED} (Forty" in listing
    assert run(["rules", "reratings", "--data", database, "--json"]) == 0
    [entry] = json.loads(capsys.readouterr().out)
    assert entry["certificate"] == number
    assert entry["changes"]["status"] == "changed"
    assert run(["trail", "verify", "--store", database]) == 0
    # Someone else may not install, and is told so (exit 8).
    assert run(["rules", "install", str(folder), "--as", REVIEWER, "--data", database]) == 8
    assert "may not install a rule pack" in capsys.readouterr().err


def test_the_queue_an_install_uses_is_the_databases(world: World, tmp_path: Path, database: str) -> None:
    installed = packs(world).install(ADMIN, pack_copy(tmp_path, "same"))
    assert installed.job.queue == (PROCRASTINATE if "://" in database else LOCAL)
    assert [o.status for o in run_jobs(world)] == ["done"]


def test_causes_name_each_difference_of_a_characteristics_rules(rule_pack: RulePack, tmp_path: Path) -> None:
    folder = pack_copy(tmp_path, "edited")
    path = folder / "characteristics" / "1.2.2.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace('        met_by: ["4/cross-sector-governance"]\n', "", 1), encoding="utf-8")
    path = folder / "characteristics" / f"{CHANGED}.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(
        text.replace("accepted: true\n", "accepted: true\n          min_count: 2\n", 1), encoding="utf-8"
    )
    edited = load_rule_pack(folder)
    [met_by] = causes(rule_pack, edited, "1.2.2", rule_pack.digest)
    assert met_by["change"] == "met_by removed"
    assert met_by["met_by"] == "4/cross-sector-governance"
    assert met_by["requirement"].startswith("1.2.2/")
    assert causes(rule_pack, edited, CHANGED, rule_pack.digest) == [
        {
            "change": "rule changed",
            "level": 2,
            "requirement": f"{CHANGED}/2/leadership-skills-defined",
            "fields": {"min_count": {"old": 1, "new": 2}},
        }
    ]
    # Rules alike in both packs: the level changed for another reason, and the cause says so.
    [same] = causes(rule_pack, edited, "1.1.1", rule_pack.digest)
    assert same["change"] == "no rule difference"
