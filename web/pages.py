"""The public pages: the register, a certificate's page (what its QR code opens) and verifying
an uploaded certificate. Each calls the operations the public API calls (:mod:`api.public`)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any
from urllib.parse import urlencode

import anyio
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, PackageLoader, select_autoescape

from api.limits import public_limit
from api.services import services
from assay.services import Services
from certificates.errors import RegisterError
from certificates.register import EFFECTIVE_STATUSES, MAX_PER_PAGE, MAX_QUERY, Register
from certificates.verify import verification_json, verify_certificate
from web.charts import profile_svg
from web.words import LANGUAGES, WORDS

router = APIRouter(include_in_schema=False, dependencies=[Depends(public_limit)])
Found = Annotated[Services, Depends(services)]
LANGUAGE_COOKIE = "assay-lang"
CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
    "base-uri 'none'; frame-ancestors 'none'"
)
"""No script at all on these pages: they work, and are safe, with JavaScript off."""
_TEMPLATES = Environment(loader=PackageLoader("web", "templates"), autoescape=select_autoescape(["html"]))


def _language(request: Request) -> str:
    asked = request.query_params.get("lang") or request.cookies.get(LANGUAGE_COOKIE) or "en"
    return asked if asked in LANGUAGES else "en"


def render(
    request: Request, template: str, heading: str, status_code: int = 200, **values: Any
) -> HTMLResponse:
    """A page in the request's language, with the pages' security headers; a language chosen
    with ``?lang=`` is remembered in a cookie."""
    lang = _language(request)
    words = WORDS[lang]
    page = _TEMPLATES.get_template(template).render(
        lang=lang, w=words, heading=words.get(heading, heading), **values
    )
    response = HTMLResponse(page, status_code=status_code)
    response.headers["Content-Security-Policy"] = CSP
    if request.query_params.get("lang") in LANGUAGES:
        response.set_cookie(LANGUAGE_COOKIE, lang, max_age=365 * 86400, samesite="lax", secure=True)
    return response


def _today(found: Services) -> dt.date:
    return found.clock.now().date()


@router.get("/")
def register_page(
    request: Request,
    found: Found,
    community: Annotated[str | None, Query(max_length=MAX_QUERY)] = None,
    number: Annotated[str | None, Query(max_length=MAX_QUERY)] = None,
    status: Annotated[str | None, Query(max_length=32)] = None,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> HTMLResponse:
    """The public register: search by community and number, filter by status."""
    query = {"community": community or None, "number": number or None, "status": status or None}
    found_page = Register(found.store, found.clock).search(
        _today(found), **query, page=page, per_page=MAX_PER_PAGE // 4
    )

    def link(to: int) -> str:
        kept = {k: v for k, v in query.items() if v} | {"page": to, "lang": _language(request)}
        return "/?" + urlencode(kept)

    return render(
        request,
        "register.html",
        "register",
        page=found_page,
        query=query,
        statuses=EFFECTIVE_STATUSES,
        link=link,
    )


@router.get("/certificates/{number}")
def certificate_page(number: str, request: Request, found: Found) -> HTMLResponse:
    """A certificate's page: status and dates from the register, its profile as a chart."""
    try:
        entry = Register(found.store, found.clock).entry(number, _today(found))
    except RegisterError as exc:
        return render(request, "problem.html", "not_found", status_code=404, detail=str(exc))
    lang = _language(request)
    chart = profile_svg(entry.certificate, lang, WORDS[lang])
    return render(
        request, "certificate.html", number, entry=entry, certificate=entry.certificate, chart=chart
    )


@router.get("/verify")
def verify_page(request: Request) -> HTMLResponse:
    """The form to verify a certificate PDF."""
    return render(request, "verify.html", "verify", outcome=None)


@router.post("/verify")
async def verify_upload(request: Request, found: Found) -> HTMLResponse:
    """Verify the uploaded PDF as ``assay verify`` does; the verdict in words, each failed check
    named. The form is read with a cap on its size; nothing is stored."""
    settings = request.app.state.settings
    limit = settings.verify_limit
    async with request.form(max_files=1, max_fields=2, max_part_size=limit) as form:
        upload = form.get("pdf")
        data = await upload.read(limit + 1) if upload is not None and not isinstance(upload, str) else b""
    if not data or len(data) > limit or not settings.trust:
        detail = f"a certificate PDF of at most {limit} bytes" if data else "no PDF was given"
        outcome = {
            "valid": False,
            "reasons": [detail if settings.trust else "this server has no trust anchor"],
        }
        return render(request, "verify.html", "verify", status_code=422, outcome=outcome)
    register = Register(found.store, found.clock)
    verification = await anyio.to_thread.run_sync(
        lambda: verify_certificate(data, settings.trust, today=_today(found), register=register.lookup)
    )
    return render(request, "verify.html", "verify", outcome=verification_json(verification))
