"""Signing in and out, invitations and passwords, personal API tokens."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response

from api.auth import COOKIE, Acting
from api.models import Invite, NewToken, SetPassword, SignIn
from api.problems import ProblemError
from api.services import services
from assay.services import Services
from audits.accounts import SESSION_HOURS, csrf_token
from audits.people import Person, PersonEntry

router = APIRouter(prefix="/v1", tags=["accounts"])
Found = Annotated[Services, Depends(services)]


def start_session_cookie(response: Response, secret: str) -> None:
    """Set the session cookie (the API's sign-in and the web page's set the same one)."""
    response.set_cookie(
        COOKIE, secret, max_age=SESSION_HOURS * 3600, path="/", secure=True, httponly=True, samesite="strict"
    )


def end_session_cookie(response: Response) -> None:
    """Remove the session cookie from the browser."""
    response.delete_cookie(COOKIE, path="/", secure=True, httponly=True, samesite="strict")


def _person(acting: Acting) -> dict[str, Any]:
    return _described(acting.person)


def _described(person: Person) -> dict[str, Any]:
    return {
        "id": person.id,
        "name": person.name,
        "organisation": person.organisation,
        "community": person.community,
        "roles": sorted(person.roles),
    }


@router.post("/sign-in")
def sign_in(body: SignIn, request: Request, response: Response, found: Found) -> dict[str, Any]:
    """Sign in with id and password: sets the session cookie and returns the CSRF token.

    A JSON body only, so a cross-site form cannot sign a browser in as somebody else. The
    session the request came with (if any) ends: the session signed in is always a new one."""
    address = request.client.host if request.client else "unknown"
    session = found.accounts.sign_in(body.person, body.password, address, ending=request.cookies.get(COOKIE))
    start_session_cookie(response, session.secret)
    return {
        "person": session.person.id,
        "csrf_token": csrf_token(session.secret),
        "expires_at": session.expires_at,
    }


@router.post("/sign-out", status_code=204)
def sign_out(acting: Acting, request: Request, response: Response, found: Found) -> None:
    """End this session (its cookie stops working at once)."""
    secret = request.cookies.get(COOKIE)
    if acting.via != "session" or not secret:
        raise ProblemError(
            400, "not-a-session", "Not a session", "only a session signs out; revoke a token instead"
        )
    found.accounts.sign_out(secret)
    end_session_cookie(response)


@router.get("/me")
def me(acting: Acting, request: Request) -> dict[str, Any]:
    """The signed-in person (and, on a session, its CSRF token again)."""
    secret = request.cookies.get(COOKIE)
    extra = {"csrf_token": csrf_token(secret)} if acting.via == "session" and secret else {}
    return {**_person(acting), "via": acting.via, "scope": acting.scope, **extra}


@router.get("/people")
def people(acting: Acting, found: Found) -> list[dict[str, Any]]:
    """The people the signed-in person may see (a register administrator: everyone)."""
    return [_described(person) for person in found.reading.people(acting.id)]


@router.post("/people", status_code=200)
def import_people(body: list[PersonEntry], acting: Acting, found: Found) -> dict[str, list[str]]:
    """Add and update people (a register administrator), as ``assay people import``; nobody is
    ever removed, so every trail record keeps naming a known person."""
    return found.engagements.import_people(body, acting.id)


@router.post("/invitations", status_code=201)
def invite(body: Invite, acting: Acting, found: Found) -> dict[str, Any]:
    """Invite a person to set a password (a register administrator): the one-time token, shown once."""
    token = found.accounts.invite(acting.id, body.person, body.days)
    return {"person": body.person, "token": token}


@router.post("/password", status_code=204)
def set_password(body: SetPassword, found: Found) -> None:
    """Set a password with an invitation's one-time token (no sign-in: the token is the proof)."""
    found.accounts.set_password(body.token, body.password)


@router.post("/tokens", status_code=201)
def create_token(body: NewToken, acting: Acting, found: Found) -> dict[str, Any]:
    """A personal API token, shown once (only from a session: a token never makes tokens)."""
    if acting.via != "session":
        raise ProblemError(
            403, "session-required", "Session required", "API tokens are made from a signed-in session"
        )
    token = found.accounts.create_token(acting.id, body.scope, body.days)
    return {"id": token.id, "token": str(token), "scope": token.scope, "expires_at": token.expires_at}


@router.delete("/tokens/{token_id}", status_code=204)
def revoke_token(token_id: str, acting: Acting, found: Found) -> None:
    """Revoke a token (its owner, or a register administrator)."""
    found.accounts.revoke_token(acting.id, token_id)
