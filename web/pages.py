"""The public pages: the register, a certificate's page (what its QR code opens) and verifying
an uploaded certificate. Each calls the operations the public API calls (:mod:`api.public`)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated
from urllib.parse import urlencode

import anyio
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse

from api.limits import public_limit
from api.services import services, services_in_force
from assay.services import Services
from certificates.errors import RegisterError
from certificates.register import EFFECTIVE_STATUSES, MAX_PER_PAGE, MAX_QUERY, Register
from certificates.verify import verification_json, verify_certificate
from engine.benchmark import build_benchmark
from web.charts import benchmark_svg_for_web, profile_svg
from web.render import language, render
from web.words import WORDS, chart_words

router = APIRouter(include_in_schema=False, dependencies=[Depends(public_limit)])
Found = Annotated[Services, Depends(services)]
InForce = Annotated[Services, Depends(services_in_force)]


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
        kept = {k: v for k, v in query.items() if v} | {"page": to, "lang": language(request)}
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
        return render(request, "problem.html", "not_found", status_code=404, detail=str(exc), problems=[])
    lang = language(request)
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


@router.get("/benchmark")
def benchmark_page(request: Request, found: InForce) -> HTMLResponse:
    """The communities certified now compared, dimension by dimension (from the results their
    certificates rest on; public, as their profiles are)."""
    entries = found.reading.benchmark()
    lang = language(request)
    rules = found.reading.rules
    titles = {d.id: getattr(d.title, lang) for d in rules.model.dimensions}
    if len(entries) < 2:
        return render(request, "benchmark.html", "benchmark", chart=None, benchmark=None, titles=titles)
    compared = build_benchmark(entries, rules, anonymise=False)
    chart = benchmark_svg_for_web(compared, titles, chart_words(lang))
    return render(request, "benchmark.html", "benchmark", chart=chart, benchmark=compared, titles=titles)
