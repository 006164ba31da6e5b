"""What anyone may read without signing in: the register, a certificate's status page data, its
PDF, and verification of an uploaded certificate. Rate-limited per address (:mod:`api.limits`)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

import anyio
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from api.answers import answer
from api.limits import public_limit
from api.problems import ProblemError
from api.services import services
from assay.services import Services
from certificates.public_csv import register_csv
from certificates.register import MAX_PER_PAGE, MAX_QUERY, Register, public_entry
from certificates.verify import verification_json, verify_certificate
from engine.canonical import canonical_json

router = APIRouter(prefix="/v1", tags=["public"], dependencies=[Depends(public_limit)])
Found = Annotated[Services, Depends(services)]


def _register(found: Services) -> Register:
    return Register(found.store, found.clock)


def _today(found: Services) -> dt.date:
    return found.clock.now().date()


@router.get("/health")
def health() -> dict[str, str]:
    """The server answers (no store access: the load benchmark's baseline)."""
    return {"status": "ok"}


@router.get("/register")
def search(
    found: Found,
    community: Annotated[str | None, Query(max_length=MAX_QUERY)] = None,
    number: Annotated[str | None, Query(max_length=MAX_QUERY)] = None,
    status: Annotated[str | None, Query(max_length=32)] = None,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    per_page: Annotated[int, Query(ge=1, le=MAX_PER_PAGE)] = 20,
) -> Response:
    """Search the public register by community, number prefix and status, one page at a time."""
    found_page = _register(found).search(
        _today(found), community=community, number=number, status=status, page=page, per_page=per_page
    )
    return answer(
        {
            "certificates": [public_entry(entry) for entry in found_page.entries],
            "total": found_page.total,
            "page": found_page.page,
            "per_page": found_page.per_page,
            "pages": found_page.pages,
        }
    )


@router.get("/register.json")
def export_json(found: Found) -> Response:
    """The whole public register as JSON (as ``assay cert export-register``)."""
    exported = _register(found).export_public(_today(found))
    return Response(canonical_json(exported), media_type="application/json")


@router.get("/register.csv")
def export_csv(found: Found) -> Response:
    """The whole public register as CSV, for spreadsheets."""
    exported = _register(found).export_public(_today(found))
    return Response(
        register_csv(exported),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="register.csv"'},
    )


@router.get("/certificates/{number}")
def certificate_status(number: str, found: Found) -> Response:
    """A certificate's public status: what its QR code points to."""
    page = _register(found).search(_today(found), number=number, per_page=1)
    entry = next((e for e in page.entries if e.number == number), None)
    if entry is None:
        raise ProblemError(404, "not-found", "Not found", f"certificate {number} is not in the register")
    return answer(public_entry(entry))


@router.get("/certificates/{number}/pdf")
def certificate_pdf(number: str, found: Found) -> Response:
    """The signed certificate PDF as issued (a download)."""
    pdf = _register(found).pdf(number)
    if pdf is None:
        raise ProblemError(404, "not-found", "Not found", f"no PDF is published for certificate {number}")
    return Response(
        pdf,
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'attachment; filename="{number}.pdf"',
            "X-Content-Type-Options": "nosniff",
        },
    )


@router.post(
    "/verify",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}},
        }
    },
)
async def verify(request: Request, found: Found) -> dict[str, Any]:
    """Verify an uploaded certificate PDF (the body of the request, ``application/pdf``) as
    ``assay verify`` does: signature against the body's trust anchor, embedded result, expiry,
    and the register's record of that number. The answer says valid or not, and every reason."""
    limit = request.app.state.settings.verify_limit
    trust = request.app.state.settings.trust
    if not trust:
        raise ProblemError(
            503,
            "no-trust-anchor",
            "No trust anchor",
            "this server has no trust anchor: start it with --trust",
        )
    received = bytearray()
    async for chunk in request.stream():
        received += chunk
        if len(received) > limit:
            raise ProblemError(
                413, "too-large", "Upload too large", f"a certificate PDF may have at most {limit} bytes"
            )
    register = _register(found)
    verification = await anyio.to_thread.run_sync(
        lambda: verify_certificate(bytes(received), trust, today=_today(found), register=register.lookup)
    )
    return verification_json(verification)
