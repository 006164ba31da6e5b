"""The authorization matrix: every endpoint, every role, allowed or denied.

The engagement is walked through its lifecycle; at each step every role that may not take it
tries first and must be refused (401 signed out, 403 refused, 404 where the engagement must not
even be seen) with nothing stored changing, then each role that may takes it and succeeds. Reads
are tried by every role at the end, public endpoints by everybody including the signed-out.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select

from audits.schema import bindings, metadata, trail
from tests.api.conftest import ADMIN, AUDITOR, LEAD, OTHER_CITY, OUTSIDER, REVIEWER, SUBMITTER, Api, Client

ROLES: dict[str, str | None] = {
    "community submitter": SUBMITTER,
    "lead auditor": LEAD,
    "auditor on the team": AUDITOR,
    "auditor not on it": OUTSIDER,
    "reviewer": REVIEWER,
    "register administrator": ADMIN,
    "another community's submitter": OTHER_CITY,
    "signed out": None,
}
READERS = {"community submitter", "lead auditor", "auditor on the team", "reviewer", "register administrator"}
TEAM_AUDITORS = {"lead auditor", "auditor on the team"}


@dataclass(frozen=True)
class Step:
    """One request, and which roles may make it."""

    name: str
    method: str
    path: str
    allowed: frozenset[str]
    json: Any = None
    content: bytes | None = None
    headers: dict[str, str] | None = None


def _counts(api: Api) -> dict[str, int]:
    """Rows per table but the trail and its index (a refusal is itself recorded)."""
    with api.services.store.read() as connection:
        return {
            name: connection.execute(select(func.count()).select_from(table)).scalar_one()
            for name, table in metadata.tables.items()
            if table not in (trail, bindings)
        }


def _send(client: Client, step: Step, values: dict[str, str]) -> Any:
    path = step.path.format(**values)
    kwargs: dict[str, Any] = {"headers": step.headers or {}}
    if step.content is not None:
        kwargs["content"] = step.content
    elif step.json is not None:
        kwargs["json"] = step.json
    return client.request(step.method, path, **kwargs)


def _run(api: Api, clients: dict[str, Client], step: Step, values: dict[str, str]) -> list[Any]:
    """Every denied role is refused and changes nothing; every allowed role succeeds."""
    outcomes = []
    for role in ROLES:
        if role in step.allowed:
            continue
        before = _counts(api)
        response = _send(clients[role], step, values)
        expected = {401} if ROLES[role] is None else {403, 404}
        assert response.status_code in expected, (
            f"{step.name} as {role}: {response.status_code} {response.text}"
        )
        assert response.headers["content-type"] == "application/problem+json", step.name
        assert _counts(api) == before, f"{step.name} as {role} changed the store"
    for role in sorted(step.allowed):
        response = _send(clients[role], step, values)
        assert response.status_code < 300, f"{step.name} as {role}: {response.status_code} {response.text}"
        outcomes.append(response)
    return outcomes


def test_every_endpoint_allows_exactly_its_roles(api: Api) -> None:
    clients = {role: api.client(person) for role, person in ROLES.items()}
    only = frozenset
    values: dict[str, str] = {}
    applied = _run(
        api,
        clients,
        Step(
            "apply",
            "POST",
            "/v1/engagements",
            only({"community submitter"}),
            {"community": "harbourton", "name": "Harbourton"},
        ),
        values,
    )
    values["e"] = applied[0].json()["engagement"]
    team = {"lead": LEAD, "auditors": [AUDITOR], "reviewer": REVIEWER}
    lifecycle = [
        Step("assign the team", "POST", "/v1/engagements/{e}/team", only({"register administrator"}), team),
        Step(
            "submit evidence",
            "POST",
            "/v1/engagements/{e}/versions",
            only({"community submitter"}),
            content=api.pack_zip(),
            headers={"Content-Type": "application/zip"},
        ),
        Step("record verdicts", "POST", "/v1/engagements/{e}/verdicts", only(TEAM_AUDITORS), api.verdicts),
        Step(
            "record judgements", "POST", "/v1/engagements/{e}/judgements", only(TEAM_AUDITORS), api.judgements
        ),
        Step("evaluate", "POST", "/v1/engagements/{e}/evaluations", only({"lead auditor"}), {}),
        Step(
            "decide",
            "POST",
            "/v1/engagements/{e}/decisions",
            only({"reviewer"}),
            {"outcome": "certify", "reason": "As evaluated."},
        ),
    ]
    for step in lifecycle:
        _run(api, clients, step, values)
    issued = _run(
        api,
        clients,
        Step("issue", "POST", "/v1/engagements/{e}/certificates", only({"register administrator"}), {}),
        values,
    )
    values["n"] = issued[0].json()["number"]
    later = [
        Step(
            "suspend",
            "POST",
            "/v1/certificates/{n}/suspend",
            only({"register administrator"}),
            {"reason": "Overdue."},
        ),
        Step(
            "reinstate",
            "POST",
            "/v1/certificates/{n}/reinstate",
            only({"register administrator"}),
            {"reason": "Done."},
        ),
        Step(
            "raise a finding",
            "POST",
            "/v1/engagements/{e}/findings",
            only(TEAM_AUDITORS),
            {"severity": "minor", "statement": "Baseline undated.", "due_on": str(dt.date(2026, 9, 30))},
        ),
        Step(
            "record a complaint",
            "POST",
            "/v1/engagements/{e}/cases",
            only({"register administrator"}),
            {"kind": "complaint", "party": "A resident", "subject": "Scope too narrow."},
        ),
        Step("invite", "POST", "/v1/invitations", only({"register administrator"}), {"person": OUTSIDER}),
        Step(
            "import people",
            "POST",
            "/v1/people",
            only({"register administrator"}),
            [
                {
                    "id": "kai",
                    "name": "Kai Berg",
                    "organisation": "Assay Demo Certification Body",
                    "roles": ["auditor"],
                }
            ],
        ),
        Step("make a token", "POST", "/v1/tokens", only(set(ROLES) - {"signed out"}), {"scope": "read"}),
    ]
    for step in later:
        _run(api, clients, step, values)
    sha = api.services.reading.evidence(SUBMITTER, values["e"], None)[1].items[0].attachments[0].sha256
    reads = [
        "/v1/engagements/{e}",
        "/v1/engagements/{e}/history",
        "/v1/engagements/{e}/versions/1",
        "/v1/engagements/{e}/worksheet",
        "/v1/engagements/{e}/evaluations/1",
        "/v1/engagements/{e}/evaluations/1/trail",
        "/v1/engagements/{e}/evaluations/1/plan?target=3",
        "/v1/engagements/{e}/evaluations/1/oscal",
        "/v1/engagements/{e}/levels",
        "/v1/engagements/{e}/attachments/" + sha,
    ]
    for path in reads:
        _run(api, clients, Step(f"read {path}", "GET", path, only(READERS)), values)
    for path in (
        "/v1/health",
        "/v1/register",
        "/v1/register.json",
        "/v1/register.csv",
        "/v1/certificates/{n}",
    ):
        _run(api, clients, Step(f"read {path}", "GET", path, only(ROLES)), values)
    for path in ("/v1/me", "/v1/people"):
        _run(api, clients, Step(path, "GET", path, only(set(ROLES) - {"signed out"})), values)


def test_each_person_lists_only_the_engagements_they_may_read(api: Api) -> None:
    city, other, admin, outsider = (api.client(p) for p in (SUBMITTER, OTHER_CITY, ADMIN, OUTSIDER))
    eid = city.post("/v1/engagements", json={"community": "harbourton", "name": "Harbourton"}).json()[
        "engagement"
    ]
    theirs = other.post("/v1/engagements", json={"community": "eastvale", "name": "Eastvale"}).json()[
        "engagement"
    ]
    assert [e["id"] for e in city.get("/v1/engagements").json()] == [eid]
    assert [e["id"] for e in other.get("/v1/engagements").json()] == [theirs]
    assert [e["id"] for e in admin.get("/v1/engagements").json()] == sorted([eid, theirs])
    assert outsider.get("/v1/engagements").json() == []
    # Guessing another engagement's id answers exactly as an id nobody has.
    guessed, absent = city.get(f"/v1/engagements/{theirs}"), city.get("/v1/engagements/ENG-2099-9999")
    assert guessed.status_code == absent.status_code == 404
    assert guessed.json()["detail"] == f"no engagement {theirs}"
    assert absent.json()["detail"] == "no engagement ENG-2099-9999"


def test_people_are_listed_to_those_on_their_side(api: Api) -> None:
    city, admin, lead = api.client(SUBMITTER), api.client(ADMIN), api.client(LEAD)
    assert [p["id"] for p in city.get("/v1/people").json()] == [SUBMITTER]
    staff = {p["id"] for p in lead.get("/v1/people").json()}
    assert LEAD in staff
    assert SUBMITTER not in staff
    assert OTHER_CITY in {p["id"] for p in admin.get("/v1/people").json()}
    bad = admin.post("/v1/people", json=[{"id": "Bad Id", "name": "X", "organisation": "Y"}])
    assert bad.status_code == 422
    assert {p["path"] for p in bad.json()["problems"]} >= {"body.0.id"}
