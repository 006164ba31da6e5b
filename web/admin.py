"""The register administrator's pages: the team, issuing the certificate, suspending,
reinstating and withdrawing it, complaints and appeals, and the re-rating report after a new
rule pack. Each form calls the operation the API calls; the operation decides who may."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response

from api.engagements import issue_with_server_key
from api.services import services_in_force
from assay.services import Services
from audits.errors import RefusedError
from certificates.errors import RegisterError, SigningError
from certificates.model import Language
from engine.errors import InputError
from web.render import render
from web.session import Form, Signed, Visitor
from web.work import engagement_context

router = APIRouter(include_in_schema=False)
Found = Annotated[Services, Depends(services_in_force)]
OPERATIONS = ("suspend", "reinstate", "withdraw")


def _page(
    request: Request,
    visitor: Visitor,
    found: Services,
    engagement: str,
    problem: str | None,
    status: int,
    issued: str | None = None,
) -> Response:
    context = engagement_context(found, visitor, engagement)
    people = found.reading.people(visitor.person.id)
    return render(
        request,
        "admin.html",
        "administration",
        status,
        visitor=visitor,
        people=people,
        cases=found.reading.cases(visitor.person.id, engagement),
        problem=problem,
        issued=issued,
        operations=OPERATIONS,
        **context,
    )


@router.get("/work/{engagement}/admin")
def admin_page(engagement: str, request: Request, visitor: Signed, found: Found) -> Response:
    """The engagement's administration: team, certificate, cases."""
    return _page(request, visitor, found, engagement, None, 200, request.query_params.get("issued"))


def _refused(
    request: Request, visitor: Visitor, found: Services, engagement: str, exc: Exception
) -> Response:
    status = 403 if isinstance(exc, RefusedError) else 409 if isinstance(exc, RegisterError) else 422
    return _page(request, visitor, found, engagement, str(exc), status)


@router.post("/work/{engagement}/team")
def assign(engagement: str, request: Request, visitor: Signed, form: Form, found: Found) -> Response:
    """Assign the lead auditor, the auditors and the reviewer."""
    try:
        found.engagements.assign(
            visitor.person.id,
            engagement,
            lead=str(form.get("lead") or "") or None,
            auditors=[str(a) for a in form.getlist("auditors") if a],
            reviewer=str(form.get("reviewer") or "") or None,
        )
    except (RefusedError, InputError) as exc:
        return _refused(request, visitor, found, engagement, exc)
    return RedirectResponse(f"/work/{engagement}/admin", status_code=303)


@router.post("/work/{engagement}/issue")
def issue(engagement: str, request: Request, visitor: Signed, form: Form, found: Found) -> Response:
    """Issue and sign the certificate the latest positive decision calls for."""
    language: Language = "en+zh" if form.get("language") == "en+zh" else "en"
    try:
        issued = issue_with_server_key(request, found, visitor.person.id, engagement, language)
    except (RefusedError, InputError, RegisterError, SigningError) as exc:
        return _refused(request, visitor, found, engagement, exc)
    return RedirectResponse(f"/work/{engagement}/admin?issued={issued.certificate.number}", status_code=303)


@router.post("/work/{engagement}/certificate")
def change_certificate(
    engagement: str, request: Request, visitor: Signed, form: Form, found: Found
) -> Response:
    """Suspend, reinstate or withdraw the engagement's certificate, with the reason."""
    operation = str(form.get("operation") or "")
    if operation not in OPERATIONS:
        return _page(
            request,
            visitor,
            found,
            engagement,
            f"no operation {operation!r}: suspend, reinstate or withdraw",
            422,
        )
    try:
        found.awarding.change(
            visitor.person.id, str(form.get("number") or ""), operation, str(form.get("reason") or "")
        )
    except (RefusedError, RegisterError, InputError) as exc:
        return _refused(request, visitor, found, engagement, exc)
    return RedirectResponse(f"/work/{engagement}/admin", status_code=303)


@router.post("/work/{engagement}/cases")
def record_case(engagement: str, request: Request, visitor: Signed, form: Form, found: Found) -> Response:
    """Record a complaint, or an appeal against a decision."""
    decision = str(form.get("decision") or "").strip()
    try:
        found.casework.record_case(
            visitor.person.id,
            engagement,
            str(form.get("kind") or ""),
            str(form.get("party") or ""),
            str(form.get("subject") or ""),
            int(decision) if decision.isdigit() and len(decision) < 9 else None,
        )
    except (RefusedError, InputError) as exc:
        return _refused(request, visitor, found, engagement, exc)
    return RedirectResponse(f"/work/{engagement}/admin", status_code=303)


@router.post("/work/{engagement}/cases/{number}/resolve")
def resolve_case(
    engagement: str, number: int, request: Request, visitor: Signed, form: Form, found: Found
) -> Response:
    """Resolve a case (someone independent of the decision it concerns)."""
    try:
        found.casework.resolve_case(visitor.person.id, engagement, number, str(form.get("resolution") or ""))
    except (RefusedError, InputError) as exc:
        return _refused(request, visitor, found, engagement, exc)
    return RedirectResponse(f"/work/{engagement}/admin", status_code=303)


@router.get("/reratings")
def reratings(request: Request, visitor: Signed, found: Found) -> Response:
    """The re-rating report of the latest rule pack install: per certificate, what would change."""
    listed = found.reading.reratings(visitor.person.id, None)
    return render(request, "reratings.html", "reratings", visitor=visitor, reratings=listed)
