"""The certified community is the applicant, never the pack (issue 15, part 3): a pack naming
another community is refused at submission, and names that can pass for others (Unicode TR39)
are refused when a community applies or a person is imported."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from audits.errors import RefusedError
from audits.names import confusable_with, name_problem, skeleton
from audits.people import load_people
from engine.errors import InputError
from tests.engagements.conftest import ADMIN, SUBMITTER, World, applied

GREEK_NU = "\N{GREEK CAPITAL LETTER NU}"
CYRILLIC = {"H": "\N{CYRILLIC CAPITAL LETTER EN}", "a": "\N{CYRILLIC SMALL LETTER A}"}


def test_a_pack_naming_another_community_is_refused_and_recorded(world: World) -> None:
    eid = applied(world)
    disguised = f"{GREEK_NU}orbridge"

    def rename(manifest: dict[str, Any]) -> None:
        manifest["community"]["name"] = disguised

    before = world.counts()
    with pytest.raises(RefusedError) as caught:
        world.engagements.submit(SUBMITTER, eid, world.variant("disguised", rename))
    assert str(caught.value).endswith(
        f"the pack names the community {disguised!r}, the application 'Harbourton'"
    )
    assert {k: v for k, v in world.counts().items() if k != "trail"} == {
        k: v for k, v in before.items() if k != "trail"
    }
    refused = world.trail_events()[-1]
    assert (refused["event"], refused["payload"]["operation"]) == ("engagement.refused", "submit evidence")
    assert disguised in refused["payload"]["reason"]
    assert world.engagements.submit(SUBMITTER, eid, world.pack) == 1  # the applicant's own name


@pytest.mark.parametrize(
    ("community_id", "name", "reason"),
    [
        ("harbourton", f"{GREEK_NU}orbridge", "mixes the scripts Greek, Latin"),
        ("harbourton", f"{CYRILLIC['H']}arbourton", "mixes the scripts Cyrillic, Latin"),
    ],
)
def test_a_community_name_mixing_scripts_is_refused(
    world: World, community_id: str, name: str, reason: str
) -> None:
    with pytest.raises(RefusedError, match=reason):
        world.engagements.create(SUBMITTER, community_id, name, [])
    assert world.trail_events()[-1]["event"] == "engagement.refused"


def test_a_community_that_looks_like_another_is_refused(world: World) -> None:
    applied(world)  # Harbourton
    world.engagements.import_people(
        load_people(_people(world.tmp, "mei.twin", "Mei Twin", "harb0urton")), ADMIN
    )
    with pytest.raises(RefusedError) as caught:
        world.engagements.create("mei.twin", "harb0urton", "HARB0URTON", [])
    message = str(caught.value)
    assert "the community id 'harb0urton' looks like 'harbourton', another community's" in message
    assert "the community name 'HARB0URTON' looks like 'Harbourton', another community's" in message


def test_a_person_whose_name_mixes_scripts_is_refused_with_the_line(tmp_path: Path) -> None:
    path = _people(tmp_path, "amir.a", f"{CYRILLIC['a']}mira Haddad", "harbourton")
    with pytest.raises(InputError) as caught:
        load_people(path)
    (problem,) = caught.value.problems
    assert (problem.line, problem.path) == (4, "people[0].name")
    assert "mixes the scripts Cyrillic, Latin" in problem.message


def test_the_tr39_checks_allow_real_names() -> None:
    for name in ("Harbourton", "Harbourton 港城", "Νορβριτζ", "Zürich", "東京都", "São Paulo", "Kraków-2"):
        assert name_problem(name) is None, name
    assert skeleton("HARB0URTON") == skeleton("Harbourton")
    assert confusable_with("Harbourton", ["Harbourton", "Larkfield"]) is None


def _people(folder: Path, pid: str, name: str, community: str) -> Path:
    path = folder / "people.yaml"
    path.write_text(
        f"people:\n  - id: {pid}\n    organisation: City\n    name: {name}\n    community: {community}\n",
        encoding="utf-8",
    )
    return path


def test_an_operation_dated_before_the_engagements_last_step_is_refused(world: World) -> None:
    """Issue 15, part 4: `decide --date 1999-01-01` after steps of 2026 was accepted."""
    import datetime as dt

    from tests.engagements.conftest import DAY

    eid = applied(world)
    world.engagements.submit(SUBMITTER, eid, world.pack)
    world.at(dt.date(1999, 1, 1))
    before = world.counts()
    with pytest.raises(RefusedError) as caught:
        world.engagements.submit(SUBMITTER, eid, world.variant("again", lambda m: m.update(id="again")))
    assert str(caught.value) == (
        f"cannot submit evidence {eid}: the date 1999-01-01 is before {DAY}, the engagement's last "
        "recorded step: its steps are recorded in the order they happen"
    )
    assert {k: v for k, v in world.counts().items() if k != "trail"} == {
        k: v for k, v in before.items() if k != "trail"
    }
    assert world.trail_events()[-1]["event"] == "engagement.refused"
    world.at(DAY)
    assert (
        world.engagements.submit(SUBMITTER, eid, world.variant("same-day", lambda m: m.update(id="same")))
        == 2
    )
