"""Signing in and out in the browser, and who is signed in on a page.

The same sessions as the API (:mod:`api.auth`): the ``__Host-assay-session`` cookie, the same
store rows, the same throttling. A page's forms post ``application/x-www-form-urlencoded`` or
``multipart/form-data``, so the CSRF token travels as the form field ``csrf`` (htmx sends the
form's fields too); it is the same HMAC of the session secret the API takes as a header.

The sign-in form itself has no session yet: it carries a one-time value that is also set as a
cookie (a cross-site form can set neither), and the browser must say the form came from this
server (``Sec-Fetch-Site``, else ``Origin``).
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated
from urllib.parse import quote, urlsplit

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import FormData

from api.accounts import end_session_cookie, start_session_cookie
from api.auth import COOKIE
from api.problems import ProblemError
from api.services import services
from assay.services import Services
from audits.accounts import csrf_token
from audits.errors import RefusedError
from audits.people import Person
from web.render import render

router = APIRouter(include_in_schema=False)
Found = Annotated[Services, Depends(services)]
SIGN_IN_COOKIE = "assay-sign-in"
FORM_FIELDS = 400
"""Fields a page's form may have (the longest, an item with many series rows, has about 200)."""
FORM_PART = 1 << 20
"""Bytes one text field may have (a file part is streamed by the upload handler instead)."""


@dataclass(frozen=True)
class Visitor:
    """The person signed in on a page, with the CSRF token their forms carry."""

    person: Person
    csrf: str

    def has(self, role: str) -> bool:
        """Whether the person holds ``role`` (as the store says today)."""
        return role in self.person.roles


class SignInNeededError(Exception):
    """No valid session: the page answers with the sign-in form, coming back to ``after``."""

    def __init__(self, after: str) -> None:
        super().__init__(after)
        self.after = after


def visitor(request: Request, found: Found) -> Visitor:
    """The signed-in person, or :class:`SignInNeededError`."""
    secret = request.cookies.get(COOKIE)
    after = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    if not secret:
        raise SignInNeededError(after)
    try:
        person = found.accounts.session(secret)
    except RefusedError:
        raise SignInNeededError(after) from None
    return Visitor(person, csrf_token(secret))


Signed = Annotated[Visitor, Depends(visitor)]


async def checked_form(request: Request, visitor: Signed) -> AsyncIterator[FormData]:
    """The posted form, once its CSRF field matches the session (403 otherwise); an uploaded
    file's temporary copy is closed when the request is done."""
    async with request.form(max_fields=FORM_FIELDS, max_files=1, max_part_size=FORM_PART) as form:
        given = form.get("csrf")
        if not isinstance(given, str) or not hmac.compare_digest(given.encode(), visitor.csrf.encode()):
            raise ProblemError(
                403,
                "csrf",
                "CSRF token missing or wrong",
                "the form is stale or came from elsewhere: reload the page",
            )
        yield form


Form = Annotated[FormData, Depends(checked_form)]


def _local(target: str | None) -> str:
    """``target`` when it is a path on this server, else the work page (no open redirect)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/work"
    parts = urlsplit(target)
    return target if not parts.scheme and not parts.netloc else "/work"


def _same_origin(request: Request) -> bool:
    """Whether the browser says the form came from this server. ``Sec-Fetch-Site`` first: with
    ``Referrer-Policy: no-referrer`` browsers send ``Origin: null`` even for a same-origin form."""
    site = request.headers.get("sec-fetch-site")
    if site is not None:
        return site in ("same-origin", "none")
    origin = request.headers.get("origin")
    if origin is None or origin == "null":
        return True  # an older browser: the one-time value (a SameSite=Strict cookie) still guards
    return urlsplit(origin).netloc == request.headers.get("host", "")


@router.get("/sign-in")
def sign_in_page(request: Request, after: str | None = None) -> Response:
    """The sign-in form."""
    return _form(request, _local(after), None, 200)


def _form(request: Request, after: str, problem: str | None, status: int) -> Response:
    nonce = secrets.token_urlsafe(24)
    response = render(request, "sign_in.html", "sign_in", status, after=after, nonce=nonce, problem=problem)
    response.set_cookie(
        SIGN_IN_COOKIE, nonce, max_age=1800, path="/sign-in", secure=True, httponly=True, samesite="strict"
    )
    return response


@router.post("/sign-in")
async def sign_in(request: Request, found: Found) -> Response:
    """Sign in with the form: a new session, then back where the person was going."""
    form = await request.form(max_fields=8, max_files=0, max_part_size=4096)
    after = _local(str(form.get("after") or ""))
    nonce = request.cookies.get(SIGN_IN_COOKIE, "")
    given = str(form.get("nonce") or "")
    if not nonce or not hmac.compare_digest(nonce.encode(), given.encode()) or not _same_origin(request):
        return _form(request, after, "sign_in_stale", 403)
    address = request.client.host if request.client else "unknown"
    try:
        session = found.accounts.sign_in(
            str(form.get("person") or ""),
            str(form.get("password") or ""),
            address,
            ending=request.cookies.get(COOKIE),
        )
    except RefusedError as exc:
        return _form(request, after, str(exc), 401)
    response = RedirectResponse(after, status_code=303)
    start_session_cookie(response, session.secret)
    response.delete_cookie(SIGN_IN_COOKIE, path="/sign-in", secure=True, httponly=True, samesite="strict")
    return response


@router.post("/sign-out")
async def sign_out(request: Request, form: Form, found: Found) -> Response:
    """End the session and go to the public register."""
    secret = request.cookies.get(COOKIE)
    if secret:
        found.accounts.sign_out(secret)
    response = RedirectResponse("/", status_code=303)
    end_session_cookie(response)
    return response


def to_sign_in(request: Request, exc: SignInNeededError) -> Response:
    """Where a page without a session sends the browser."""
    return RedirectResponse(f"/sign-in?after={quote(exc.after, safe='')}", status_code=303)
