"""Rendering a page: its template, its language and its security headers.

The language is the one asked for with ``?lang=``, else the one the signed-in person last chose
(kept in the store, so it follows them to another browser), else the browser's cookie, else
English. Choosing one with ``?lang=`` remembers it in both places.
"""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from audits.people import Person
from web.words import LANGUAGES, WORDS

LANGUAGE_COOKIE = "assay-lang"
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; frame-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
"""Scripts only from this server's own files (htmx and the pages' one script), no inline script
or style, no other origin; the public pages load no script at all."""
TEMPLATES = Environment(
    loader=PackageLoader("web", "templates"),
    autoescape=select_autoescape(["html"]),
    undefined=StrictUndefined,  # a misspelt name fails the page's test instead of rendering blank
)


def language(request: Request, person: Person | None = None) -> str:
    """The language to answer ``request`` in (see the module's note)."""
    asked = request.query_params.get("lang")
    if asked in LANGUAGES:
        return asked
    if person is not None:
        stored = request.app.state.in_force.services.accounts.language(person.id)
        if stored in LANGUAGES:
            return str(stored)
    kept = request.cookies.get(LANGUAGE_COOKIE)
    return kept if kept in LANGUAGES else "en"


def render(
    request: Request,
    template: str,
    heading: str,
    status_code: int = 200,
    *,
    visitor: Any = None,
    **values: Any,
) -> HTMLResponse:
    """A page in the request's language, with the pages' security headers. ``visitor`` (a
    :class:`web.session.Visitor`) is the signed-in person, whose pages carry the CSRF token."""
    person = visitor.person if visitor is not None else None
    lang = language(request, person)
    words = WORDS[lang]
    page = TEMPLATES.get_template(template).render(
        lang=lang,
        w=words,
        heading=words.get(heading, heading),
        visitor=visitor,
        path=request.url.path,
        **values,
    )
    response = HTMLResponse(page, status_code=status_code)
    response.headers["Content-Security-Policy"] = CSP
    asked = request.query_params.get("lang")
    if asked in LANGUAGES:
        response.set_cookie(LANGUAGE_COOKIE, asked, max_age=365 * 86400, samesite="lax", secure=True)
        if person is not None and request.app.state.in_force.services.accounts.language(person.id) != asked:
            request.app.state.in_force.services.accounts.set_language(person.id, asked)
    return response
