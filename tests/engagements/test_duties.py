"""Duties stay separate over time, and nobody certifies outside the process (issue 15, part 4).

Roles held now can be changed by a people import; what somebody did on a community's
engagements cannot. Each test changes roles the way an import would and checks that the deed
still stands in the way, that the refusal names it, and that the refusal is on the trail.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from assay.cli import run
from audits.errors import RefusedError
from audits.people import PersonEntry
from certificates.keys import SigningKey
from certificates.scheme import Scheme
from tests.engagements.conftest import ADMIN, AUDITOR, LEAD, REVIEWER, SUBMITTER, World, applied, evaluated


def _as(world: World, *entries: PersonEntry) -> None:
    world.engagements.import_people(list(entries), ADMIN)


def _last(world: World) -> dict[str, object]:
    return world.trail_events()[-1]


def test_a_submitter_made_auditor_never_audits_her_community(world: World) -> None:
    eid = world.engagements.create(SUBMITTER, "harbourton", "Harbourton", [])
    world.engagements.submit(SUBMITTER, eid, world.pack)
    _as(world, PersonEntry(id=SUBMITTER, name="Mei Tanaka", organisation="Body", roles=["auditor"]))
    change = _last(world)
    assert change["event"] == "people.imported"
    assert change["payload"]["role_changes"] == [  # type: ignore[index]
        {
            "person": SUBMITTER,
            "roles": {"from": [], "to": ["auditor"]},
            "community": {"from": "harbourton", "to": None},
        }
    ]
    with pytest.raises(RefusedError) as refused:
        world.engagements.assign(ADMIN, eid, lead=SUBMITTER, auditors=[], reviewer=REVIEWER)
    assert str(refused.value) == (
        f"cannot assign {eid}: {SUBMITTER}: they applied and submitted for harbourton, "
        "and may never audit, decide on or issue its certificates"
    )
    assert _last(world)["event"] == "engagement.refused"


def test_a_lead_auditor_made_submitter_never_submits_for_her_engagement(world: World) -> None:
    eid = applied(world)
    world.engagements.submit(SUBMITTER, eid, world.pack)
    world.engagements.verify(LEAD, eid, world.verdicts[:1])
    _as(world, PersonEntry(id=LEAD, name="R. Okafor", organisation="Harbourton", community="harbourton"))
    variant = world.variant("v2", lambda m: m["items"][0].update(title="Renamed"))
    with pytest.raises(RefusedError) as refused:
        world.engagements.submit(LEAD, eid, variant)
    assert str(refused.value) == (
        f"{LEAD} may not submit evidence: they were its lead auditor on harbourton's "
        "engagements, and may never submit for it (separation of duties)"
    )
    refusal = _last(world)
    assert refusal["event"] == "engagement.refused"
    assert refusal["payload"]["operation"] == "submit evidence"  # type: ignore[index]
    # Nor apply for the community afresh.
    with pytest.raises(RefusedError, match="may never submit for it"):
        world.engagements.create(LEAD, "harbourton", "Harbourton", [])


def test_an_auditor_who_administers_the_register_never_issues_what_she_audited(
    world: World, signing_key: SigningKey
) -> None:
    eid = evaluated(world)
    world.decisions.decide(REVIEWER, eid, "certify", "Meets the scheme.")
    _as(
        world,
        PersonEntry(
            id=AUDITOR, name="Amira Haddad", organisation="Body", roles=["auditor", "register_administrator"]
        ),
    )
    with pytest.raises(RefusedError) as refused:
        world.awarding.issue(
            AUDITOR, eid, signing_key, body="Body", language="en", out=world.tmp / "c.pdf", scheme=Scheme()
        )
    assert str(refused.value) == (
        f"{AUDITOR} may not issue a certificate on {eid}: they were on its audit team on "
        f"{eid}, and a decision or certificate must come from someone who did not audit it "
        "(separation of duties)"
    )
    refusal = _last(world)
    assert (refusal["event"], refusal["payload"]["operation"]) == (  # type: ignore[index]
        "engagement.refused",
        "issue a certificate",
    )
    assert world.counts()["certificates"] == 0
    world.awarding.issue(
        ADMIN, eid, signing_key, body="Body", language="en", out=world.tmp / "c.pdf", scheme=Scheme()
    )


def test_a_reviewer_who_audited_never_decides(world: World) -> None:
    """Jonas verified as an auditor on one engagement, then is made reviewer of it."""
    eid = applied(world)
    world.engagements.submit(SUBMITTER, eid, world.pack)
    _as(world, PersonEntry(id="noor", name="Noor", organisation="Body", roles=["auditor", "reviewer"]))
    world.engagements.assign(ADMIN, eid, lead=None, auditors=["noor"], reviewer=None)
    world.engagements.verify("noor", eid, world.verdicts[:1])
    with pytest.raises(RefusedError, match="noor cannot both audit and decide"):
        world.engagements.assign(ADMIN, eid, lead=None, auditors=[], reviewer="noor")


def test_a_refused_people_import_is_on_the_trail(world: World) -> None:
    before = len(world.trail_events())
    with pytest.raises(
        RefusedError, match=f"{LEAD} may not import people: only a register administrator may"
    ):
        world.engagements.import_people(
            [PersonEntry(id="x", name="X", organisation="Y", roles=["auditor"])], LEAD
        )
    events = world.trail_events()
    assert len(events) == before + 1
    assert (events[-1]["event"], events[-1]["payload"]["operation"]) == (
        "engagement.refused",
        "import people",
    )


def test_cert_issue_outside_an_engagement_needs_test_and_is_refused_on_the_trail(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The refusal comes before the key is even read: nothing outside an engagement is certified."""
    import examples

    data = tmp_path / "data"
    assert run(["people", "import", str(examples.people_file()), "--data", str(data)]) == 0
    capsys.readouterr()
    code = run(
        [
            "cert", "issue", str(tmp_path / "evaluation"), "--key", str(tmp_path / "none.p12"),
            "--body", "B", "--lead-auditor", "A", "--decision-maker", "a", "--data", str(data), "--as", ADMIN,
        ]
    )  # fmt: skip
    assert code == 7
    err = capsys.readouterr().err
    assert "cert issue certifies no recorded decision" in err
    assert "give --test for a demo certificate, marked TEST" in err
    assert "Traceback" not in err
    assert run(["trail", "verify", "--store", str(data)]) == 0
    assert "intact: 2 records" in capsys.readouterr().out  # the import and the refusal
