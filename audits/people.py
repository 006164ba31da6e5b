"""People and the roles a certification body grants them, read from a people file.

A people file (YAML) lists everyone who may act through Assay: the body's staff with their body
roles (``auditor``, ``reviewer``, ``register_administrator``) and the communities' submitters,
who carry ``community`` instead. Importing it adds new people and updates changed ones; nobody
is ever deleted, so every past trail record still names a known person. Roles on one
engagement (lead auditor, auditor, reviewer) are assigned per engagement, from these people.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from sqlalchemy import insert, select, update
from sqlalchemy.engine import Connection

from audits.binding import check_rows
from audits.names import name_problem
from audits.schema import people as people_table
from engine.errors import InputError, Problem
from engine.sourcemap import SourceDoc, parse_yaml

BodyRole = Literal["auditor", "reviewer", "register_administrator"]


class PersonEntry(BaseModel):
    """One person in the people file."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9._-]{0,63}$", description="Id given with --as.")
    name: str = Field(min_length=1, max_length=200, description="Full name, as printed on certificates.")
    organisation: str = Field(min_length=1, max_length=200, description="Body or community they act for.")
    community: str | None = Field(
        default=None, max_length=64, description="For a community's submitters: the community id."
    )
    roles: list[BodyRole] = Field(default_factory=list, description="Body roles (staff only).")

    @field_validator("name", "organisation", "community")
    @classmethod
    def _one_script(cls, value: str | None) -> str | None:
        # Names are printed on certificates and trails: one that mixes scripts can pass for
        # someone else's (Unicode TR39, audits.names).
        problem = name_problem(value) if value is not None else None
        if problem is not None:
            raise ValueError(problem)
        return value

    @model_validator(mode="after")
    def _staff_or_community(self) -> PersonEntry:
        # A community's own people must never hold a body role: they could then verify or decide
        # on their own community's evidence.
        if self.community is not None and self.roles:
            raise ValueError("a community submitter cannot also hold body roles")
        if self.community is None and not self.roles:
            raise ValueError("give either community (a submitter) or roles (body staff)")
        return self


class PeopleFile(BaseModel):
    """The people file: ``people: [...]``."""

    model_config = ConfigDict(extra="forbid")

    people: list[PersonEntry] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique(self) -> PeopleFile:
        ids = [p.id for p in self.people]
        twice = sorted({i for i in ids if ids.count(i) > 1})
        if twice:
            raise ValueError(f"people listed twice: {', '.join(twice)}")
        return self


@dataclass(frozen=True)
class Person:
    """A person as stored."""

    id: str
    name: str
    organisation: str
    community: str | None
    roles: frozenset[str]


def load_people(path: Path) -> list[PersonEntry]:
    """Read and check a people file; one :class:`InputError` lists every problem with its line."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError([Problem(str(path), None, "", f"cannot read: {exc}")]) from None
    doc: SourceDoc = parse_yaml(text, str(path))
    if doc.data is None:
        raise InputError(doc.problems)
    try:
        parsed = PeopleFile.model_validate(doc.data)
    except ValidationError as exc:
        raise InputError(doc.validation_problems(exc)) from None
    return parsed.people


def upsert_people(connection: Connection, entries: list[PersonEntry]) -> dict[str, Any]:
    """Add new people and update changed ones; returns the ids ``added`` and ``changed``, and
    each change of roles or community (``role_changes``): who may do what is on the trail."""
    stored = {row.id: row for row in connection.execute(select(people_table))}
    added, changed, role_changes = [], [], []
    for entry in entries:
        row = _row(entry)
        old = stored.get(entry.id)
        if old is None:
            connection.execute(insert(people_table), row)
            added.append(entry.id)
        elif any(getattr(old, k) != v for k, v in row.items()):
            connection.execute(update(people_table).where(people_table.c.id == entry.id).values(row))
            changed.append(entry.id)
            if (old.roles, old.community) != (row["roles"], row["community"]):
                role_changes.append(
                    {
                        "person": entry.id,
                        "roles": {"from": json.loads(old.roles), "to": sorted(entry.roles)},
                        "community": {"from": old.community, "to": entry.community},
                    }
                )
    return {"added": added, "changed": changed, "role_changes": role_changes}


def find_person(connection: Connection, person_id: str, *, checked: bool = True) -> Person | None:
    """The stored person with ``person_id``, or None. ``checked`` (the default, for anything
    that grants authority) refuses a row changed outside Assay (:func:`audits.binding.check_rows`)."""
    row = connection.execute(select(people_table).where(people_table.c.id == person_id)).first()
    if row is None:
        return None
    if checked:
        check_rows(connection, people_table, [row])
    return Person(row.id, row.name, row.organisation, row.community, frozenset(json.loads(row.roles)))


def all_people(connection: Connection) -> list[Person]:
    """Everyone stored, by id (checked against the trail, like :func:`find_person`)."""
    rows = connection.execute(select(people_table).order_by(people_table.c.id)).all()
    check_rows(connection, people_table, rows)
    return [Person(r.id, r.name, r.organisation, r.community, frozenset(json.loads(r.roles))) for r in rows]


def _row(entry: PersonEntry) -> dict[str, str | None]:
    return {
        "id": entry.id,
        "name": entry.name,
        "organisation": entry.organisation,
        "community": entry.community,
        "roles": json.dumps(sorted(entry.roles)),
    }
