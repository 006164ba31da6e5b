"""Who may do what on an engagement: roles and separation of duties, checked on every operation.

The rules, as ISO/IEC 17065 and 17021-1 ask of a certification body:
- a community's submitters apply and submit evidence for their own community, and do nothing else;
- auditors (and the lead auditor) on the engagement's team verify items and raise findings; the
  lead auditor closes findings and runs evaluations;
- the reviewer assigned to the engagement decides, and may never have been on its audit team;
- only a register administrator assigns teams, issues, suspends, reinstates or withdraws, and
  records complaints and appeals; an appeal is resolved by someone not involved in the decision.

A check returns the :class:`Acting` identity that goes into every trail record, or raises
:class:`RefusedError` saying who was refused what and why.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.engine import Connection

from audits.errors import RefusedError
from audits.people import Person, find_person
from audits.schema import engagement_roles

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
        select(engagement_roles.c.role).where(
            engagement_roles.c.engagement_id == engagement_id, engagement_roles.c.person_id == person_id
        )
    )
    return {row.role for row in rows}


def audit_team(connection: Connection, engagement_id: str) -> dict[str, set[str]]:
    """Person id -> roles on the engagement, for everyone assigned."""
    team: dict[str, set[str]] = {}
    rows = connection.execute(
        select(engagement_roles).where(engagement_roles.c.engagement_id == engagement_id)
    )
    for row in rows:
        team.setdefault(row.person_id, set()).add(row.role)
    return team


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
    return Acting(person, "reviewer")
