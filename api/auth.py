"""Who is acting: the signed-in person, from a session cookie or a personal API token.

- A browser signs in and holds ``__Host-assay-session``: Secure, HttpOnly, SameSite=Strict,
  host-only. Every state-changing request on a session must carry ``X-CSRF-Token``, the HMAC of
  the session's secret (:func:`audits.accounts.csrf_token`) that sign-in and ``GET /v1/me`` give.
  SameSite already keeps other sites' requests from carrying the cookie; the token also stops a
  same-site page (another app on a sibling host) that could.
- A machine client sends ``Authorization: Bearer assay_<id>_<secret>``. A read token may only
  read. A header is never ambient, so token requests need no CSRF token.

There is no parameter naming the acting person: it is always the one authenticated here.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from api.problems import ProblemError
from api.services import services
from assay.services import Services
from audits.accounts import csrf_token
from audits.errors import RefusedError
from audits.people import Person

COOKIE = "__Host-assay-session"
CSRF_HEADER = "X-CSRF-Token"
SAFE = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(frozen=True)
class Principal:
    """The person a request acts as, and how they proved it."""

    person: Person
    via: str
    """``session`` or ``token``."""
    scope: str
    """``write`` for sessions; a token's own scope."""

    @property
    def id(self) -> str:
        """The person's id, as every operation takes it."""
        return self.person.id


def _unauthenticated(detail: str) -> ProblemError:
    return ProblemError(401, "unauthenticated", "Sign-in required", detail)


def signed_in(request: Request, found: Annotated[Services, Depends(services)]) -> Principal:
    """The acting person; 401 without valid credentials, 403 for a missing CSRF token or a read
    token on a write."""
    header = request.headers.get("authorization")
    if header is not None:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise _unauthenticated("the Authorization header must be 'Bearer <API token>'")
        try:
            person, scope = found.accounts.authenticate(token.strip())
        except RefusedError as exc:
            raise _unauthenticated(str(exc)) from None
        if request.method not in SAFE and scope != "write":
            raise ProblemError(403, "read-only-token", "Read-only token", "this API token may only read")
        return Principal(person, "token", scope)
    secret = request.cookies.get(COOKIE)
    if not secret:
        raise _unauthenticated("sign in (POST /v1/sign-in) or send an API token")
    try:
        person = found.accounts.session(secret)
    except RefusedError as exc:
        raise _unauthenticated(str(exc)) from None
    if request.method not in SAFE:
        given = request.headers.get(CSRF_HEADER, "")
        if not hmac.compare_digest(given.encode(), csrf_token(secret).encode()):
            raise ProblemError(
                403,
                "csrf",
                "CSRF token missing or wrong",
                f"a state-changing request on a session must carry the {CSRF_HEADER} header "
                "given at sign-in (GET /v1/me gives it again)",
            )
    return Principal(person, "session", "write")


Acting = Annotated[Principal, Depends(signed_in)]
"""A handler parameter: the signed-in person the request acts as."""
