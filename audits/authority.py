"""Who may do what on an engagement: roles and separation of duties, checked on every operation.

The rules, as ISO/IEC 17065 and 17021-1 ask of a certification body:
- a community's submitters apply and submit evidence for their own community, and do nothing else;
- auditors (and the lead auditor) on the engagement's team verify items and raise findings; the
  lead auditor closes findings and runs evaluations;
- the reviewer assigned to the engagement decides, and may never have been on its audit team;
- only a register administrator assigns teams, issues, suspends, reinstates or withdraws, and
  records complaints and appeals; an appeal is resolved by someone not involved in the decision.

Roles held now are not enough: a people import can turn a submitter into an auditor, or the
other way round. So duties are also checked against what each person *did* (:func:`deeds`):
whoever ever applied or submitted for a community never audits, decides on or issues any of its
engagements; whoever was ever on the team of one of its engagements (and so could verify, judge,
evaluate or decide) never submits for it; whoever audited or submitted never decides or issues.

A check returns the :class:`Acting` identity that goes into every trail record, or raises
:class:`RefusedError` saying who was refused what and why.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, literal, select, union_all
from sqlalchemy.engine import Connection

from audits.binding import check_rows
from audits.errors import NotFoundError, RefusedError
from audits.people import Person, find_person
from audits.schema import (
    engagement_roles,
    engagements,
    pack_versions,
)

SUBMITTER = "submitter"
"""The role of a community's own people on its engagements."""
REGISTER_ADMINISTRATOR = "register_administrator"


@dataclass(frozen=True)
class Acting:
    """A person acting in one role; ``actor`` is how trail records name them."""

    person: Person
    role: str

    @property
    def actor(self) -> str:
        """``person-id (role)``: identity and role, as every trail record carries them."""
        return f"{self.person.id} ({self.role})"


def described(person_id: str, person: Person | None) -> str:
    """How a refused person is named in the trail: id and whatever roles they hold."""
    if person is None:
        return f"{person_id} (unknown person)"
    if person.community is not None:
        return f"{person_id} ({SUBMITTER} of {person.community})"
    return f"{person_id} ({', '.join(sorted(person.roles))})"


def person_or_refuse(connection: Connection, person_id: str, operation: str) -> Person:
    """The stored person, or a refusal naming an unknown id."""
    person = find_person(connection, person_id)
    if person is None:
        raise RefusedError(f"{person_id} may not {operation}: no such person in the people table")
    return person


def team_roles(connection: Connection, engagement_id: str, person_id: str) -> set[str]:
    """The roles ``person_id`` holds on the engagement."""
    rows = connection.execute(
        select(engagement_roles).where(
            engagement_roles.c.engagement_id == engagement_id, engagement_roles.c.person_id == person_id
        )
    ).all()
    check_rows(connection, engagement_roles, rows)  # a role inserted behind Assay's back grants nothing
    return {row.role for row in rows}


def audit_team(connection: Connection, engagement_id: str) -> dict[str, set[str]]:
    """Person id -> roles on the engagement, for everyone assigned."""
    team: dict[str, set[str]] = {}
    rows = connection.execute(
        select(engagement_roles).where(engagement_roles.c.engagement_id == engagement_id)
    ).all()
    check_rows(connection, engagement_roles, rows)
    for row in rows:
        team.setdefault(row.person_id, set()).add(row.role)
    return team


SUBMITTED = frozenset({"applied", "submitted"})
"""Deeds of a community's side."""
AUDITED = frozenset({"lead_auditor", "auditor"})
"""Roles of the audit team's side (verifying, judging, raising findings, evaluating)."""


def deeds(connection: Connection, community_id: str, person_id: str) -> dict[str, set[str]]:
    """Engagement id -> what ``person_id`` did on each engagement of ``community_id``: applied,
    submitted, or a role on its team (lead_auditor, auditor, reviewer).

    Team roles stand for the audit side's deeds: only a team member can verify, judge, raise a
    finding, evaluate (the lead) or decide (the reviewer), and roles are never taken back, so a
    role held once is a deed done, whatever the people table says now.
    """
    found: dict[str, set[str]] = {}
    for engagement_id, what in connection.execute(_DEEDS, {"community": community_id, "person": person_id}):
        found.setdefault(engagement_id, set()).add(what)
    return found


def _deeds_query() -> Any:
    """One query (built once: every operation asks it) over the applications, the submissions and
    the team roles of a community's engagements."""
    community: Any = bindparam("community")
    person: Any = bindparam("person")
    mine = select(engagements.c.id).where(engagements.c.community_id == community).scalar_subquery()
    return union_all(
        select(engagements.c.id, _deed("applied")).where(
            engagements.c.community_id == community, engagements.c.applicant == person
        ),
        select(pack_versions.c.engagement_id, _deed("submitted")).where(
            pack_versions.c.engagement_id.in_(mine), pack_versions.c.submitted_by == person
        ),
        select(engagement_roles.c.engagement_id, engagement_roles.c.role).where(
            engagement_roles.c.engagement_id.in_(mine), engagement_roles.c.person_id == person
        ),
    )


def _deed(what: str) -> Any:
    return literal(what).label("deed")


_DEEDS = _deeds_query()


def conflict(
    connection: Connection, community_id: str, person_id: str, engagement_id: str, side: str
) -> str | None:
    """Why ``person_id`` may not act on ``side`` ("audit", "submit", "decide" or "issue") of an
    engagement, given what they did before; None when nothing they did stands in the way."""
    done = deeds(connection, community_id, person_id)
    everywhere = set().union(*done.values()) if done else set()
    here = done.get(engagement_id, set())
    submitted, audited = everywhere & SUBMITTED, everywhere & (AUDITED | {"reviewer"})
    if side in ("audit", "decide", "issue") and submitted:
        return (
            f"they {_listed(submitted)} for {community_id}, "
            "and may never audit, decide on or issue its certificates"
        )
    if side == "submit" and audited:
        return f"they {_listed(audited)} on {community_id}'s engagements, and may never submit for it"
    if side in ("decide", "issue") and here & AUDITED:
        return (
            f"they {_listed(here & AUDITED)} on {engagement_id}, "
            "and a decision or certificate must come from someone who did not audit it"
        )
    if side == "issue" and "reviewer" in here:
        return f"they were its reviewer on {engagement_id}; the certificate is issued by someone else"
    return None


def _listed(done: set[str]) -> str:
    words = {
        "lead_auditor": "were its lead auditor",
        "auditor": "were on its audit team",
        "reviewer": "were its reviewer",
    }
    return " and ".join(words.get(d, d) for d in sorted(done))


def as_register_administrator(connection: Connection, person_id: str, operation: str) -> Acting:
    """Only a register administrator may ``operation``."""
    person = person_or_refuse(connection, person_id, operation)
    if REGISTER_ADMINISTRATOR not in person.roles:
        raise RefusedError(f"{person_id} may not {operation}: only a register administrator may")
    return Acting(person, REGISTER_ADMINISTRATOR)


def as_submitter(connection: Connection, person_id: str, community: str, operation: str) -> Acting:
    """Only the community's own submitters may apply and submit its evidence."""
    person = person_or_refuse(connection, person_id, operation)
    if person.community != community:
        raise RefusedError(f"{person_id} may not {operation}: only a submitter of {community} may")
    why = conflict(connection, community, person_id, "", "submit")
    if why is not None:
        raise RefusedError(f"{person_id} may not {operation}: {why} (separation of duties)")
    return Acting(person, SUBMITTER)


def as_auditor(
    connection: Connection, person_id: str, engagement_id: str, operation: str, *, lead: bool = False
) -> Acting:
    """An auditor on the engagement's team (the lead auditor when ``lead``)."""
    person = person_or_refuse(connection, person_id, operation)
    if person.community is not None:
        raise RefusedError(
            f"{person_id} may not {operation}: a community never verifies or audits its own evidence"
        )
    roles = team_roles(connection, engagement_id, person_id)
    wanted = {"lead_auditor"} if lead else {"lead_auditor", "auditor"}
    held = sorted(roles & wanted)
    if not held:
        who = "the lead auditor" if lead else "an auditor on the audit team"
        raise RefusedError(f"{person_id} may not {operation} on {engagement_id}: only {who} may")
    _refuse_conflict(connection, person_id, engagement_id, "audit", operation)
    return Acting(person, held[0])


def as_decision_maker(connection: Connection, person_id: str, engagement_id: str, operation: str) -> Acting:
    """The engagement's assigned reviewer, who was never on its audit team."""
    person = person_or_refuse(connection, person_id, operation)
    roles = team_roles(connection, engagement_id, person_id)
    if roles & {"lead_auditor", "auditor"}:
        raise RefusedError(
            f"{person_id} may not {operation} on {engagement_id}: they audited it, "
            "and a decision must be made by someone who was not on the audit team"
        )
    if "reviewer" not in roles:
        raise RefusedError(
            f"{person_id} may not {operation} on {engagement_id}: only its assigned reviewer may"
        )
    _refuse_conflict(connection, person_id, engagement_id, "decide", operation)
    return Acting(person, "reviewer")


def as_reader(connection: Connection, person_id: str, engagement_id: str) -> Acting:
    """Who may read an engagement: its community's submitters, its team and reviewer, and the
    register administrators who run it. To anyone else it does not exist (:class:`NotFoundError`,
    the same answer as for an id nobody has), so ids cannot be probed."""
    person = find_person(connection, person_id)
    community = community_of(connection, engagement_id)
    if person is not None and community:
        if person.community == community:
            return Acting(person, SUBMITTER)
        roles = sorted(team_roles(connection, engagement_id, person_id))
        if roles:
            return Acting(person, roles[0])
        if REGISTER_ADMINISTRATOR in person.roles:
            return Acting(person, REGISTER_ADMINISTRATOR)
    raise NotFoundError(f"no engagement {engagement_id}")


def community_of(connection: Connection, engagement_id: str) -> str:
    """The community an engagement is about ('' when there is no such engagement)."""
    found = connection.execute(
        select(engagements.c.community_id).where(engagements.c.id == engagement_id)
    ).scalar()
    return found or ""


def _refuse_conflict(
    connection: Connection, person_id: str, engagement_id: str, side: str, operation: str
) -> None:
    why = conflict(connection, community_of(connection, engagement_id), person_id, engagement_id, side)
    if why is not None:
        raise RefusedError(
            f"{person_id} may not {operation} on {engagement_id}: {why} (separation of duties)"
        )


def refuse_issuer_conflict(
    connection: Connection, person_id: str, engagement_id: str, operation: str
) -> None:
    """Refuse a register administrator who took part in the engagement (see :func:`conflict`)."""
    _refuse_conflict(connection, person_id, engagement_id, "issue", operation)
