"""The auditor's pages: the work queue, an item with its attachment and the verdict form, a
requirement with its question, machine outcome, candidates and sample and the rating form, and
findings. After each verdict or judgement the characteristic's level is read again, with why it
is not the next one; with htmx only that panel is redrawn."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response

from api.engagements import attachment_response
from api.services import services_in_force
from assay.services import Services
from audits.engagements import Verdict
from audits.errors import NotFoundError, RefusedError
from audits.judging import JudgementEntry
from engine.errors import InputError
from web.fieldwords import FIELD_WORDS
from web.render import language, render
from web.session import Form, Signed, Visitor
from web.work import engagement_context, next_steps

router = APIRouter(include_in_schema=False)
Found = Annotated[Services, Depends(services_in_force)]


@router.get("/work/{engagement}/queue")
def queue(engagement: str, request: Request, visitor: Signed, found: Found) -> Response:
    """Items awaiting a verdict, requirements awaiting a judgement, findings due."""
    context = engagement_context(found, visitor, engagement)
    waiting = found.reading.queue(visitor.person.id, engagement, language(request, visitor.person))
    return render(request, "queue.html", "work_queue", visitor=visitor, queue=waiting, **context)


def _item_page(
    request: Request,
    visitor: Visitor,
    found: Services,
    engagement: str,
    item_id: str,
    problem: str | None,
    status: int,
) -> Response:
    context = engagement_context(found, visitor, engagement)
    version, pack = found.reading.evidence(visitor.person.id, engagement, None)
    item = next((i for i in pack.items if i.id == item_id), None)
    if item is None:
        raise NotFoundError(f"no item {item_id} in the latest evidence of {engagement}")
    standing = found.reading.standing(
        visitor.person.id, engagement, request.app.state.inference, item=item_id
    )
    lang = language(request, visitor.person)
    fields = _facts(item.model_dump(mode="json", exclude={"attachments", "kind", "id", "title"}), lang)
    return render(
        request,
        "item.html",
        item.title,
        status,
        visitor=visitor,
        item=item,
        fields=fields,
        version=version,
        standing=standing,
        **next_steps(found, standing, language(request, visitor.person)),
        problem=problem,
        recorded=request.query_params.get("recorded") == "1",
        today=found.clock.now().date().isoformat(),
        **context,
    )


@router.get("/work/{engagement}/items/{item}")
def item_page(engagement: str, item: str, request: Request, visitor: Signed, found: Found) -> Response:
    """An item: its fields, its attachments (a PDF shown beside it), the verdict form and the
    levels of the characteristics it is offered for."""
    return _item_page(request, visitor, found, engagement, item, None, 200)


@router.post("/work/{engagement}/items/{item}/verdict")
def record_verdict(
    engagement: str, item: str, request: Request, visitor: Signed, form: Form, found: Found
) -> Response:
    """Record a verdict on the item; a refusal (not on the team, or separation of duties) is
    shown on the item's page with the reason the operation gave."""
    verdict = Verdict(
        item, str(form.get("verdict") or ""), str(form.get("method") or ""), str(form.get("reason") or "")
    )
    try:
        found.engagements.verify(visitor.person.id, engagement, [verdict])
    except (RefusedError, InputError) as exc:
        return _after(
            request,
            visitor,
            found,
            engagement,
            item,
            _message(exc),
            403 if isinstance(exc, RefusedError) else 422,
        )
    return _after(request, visitor, found, engagement, item, None, 200)


def _after(
    request: Request,
    visitor: Visitor,
    found: Services,
    engagement: str,
    item: str,
    problem: str | None,
    status: int,
) -> Response:
    """After a verdict: the levels panel alone for htmx, else the item page (a redirect when all
    went well, so reloading does not post again)."""
    if request.headers.get("hx-request"):
        standing = found.reading.standing(
            visitor.person.id, engagement, request.app.state.inference, item=item
        )
        return render(
            request,
            "levels.html",
            item,
            status,
            visitor=visitor,
            standing=standing,
            **next_steps(found, standing, language(request, visitor.person)),
            problem=problem,
            recorded=problem is None,
        )
    if problem is None:
        return RedirectResponse(f"/work/{engagement}/items/{item}?recorded=1", status_code=303)
    return _item_page(request, visitor, found, engagement, item, problem, status)


def _facts(fields: dict[str, Any], lang: str) -> list[tuple[str, str]]:
    """An item's fields as (label, text) in the page's language, empty ones left out."""
    words = FIELD_WORDS[lang]

    def text(value: Any) -> str:
        if isinstance(value, dict):
            return "; ".join(
                f"{words.get(k, k)}: {text(v)}" for k, v in value.items() if v not in (None, [], {})
            )
        if isinstance(value, list):
            return ", ".join(text(v) for v in value)
        if isinstance(value, bool):
            return "✓" if value else "✗"
        return words.get(value, str(value)) if isinstance(value, str) else str(value)

    return [
        (words.get(name, name), text(value)) for name, value in fields.items() if value not in (None, [], {})
    ]


def _message(exc: Exception) -> str:
    if isinstance(exc, InputError):
        return "; ".join(f"{p.path}: {p.message}" if p.path else p.message for p in exc.problems)
    return str(exc)


@router.get("/work/{engagement}/attachments/{sha256}")
def attachment(engagement: str, sha256: str, request: Request, visitor: Signed, found: Found) -> Response:
    """An attachment: a PDF shown in the item page's frame, anything else a download (the
    API's own sandboxed answer)."""
    return attachment_response(
        found.reading.attachment(visitor.person.id, engagement, sha256), frame_pdf=True
    )


def _requirement_page(
    request: Request,
    visitor: Visitor,
    found: Services,
    engagement: str,
    key: str,
    problem: str | None,
    status: int,
) -> Response:
    context = engagement_context(found, visitor, engagement)
    rows = found.reading.worksheet(visitor.person.id, engagement, language(request, visitor.person))
    row = next((r for r in rows if r.candidates.requirement.key == key), None)
    if row is None:
        raise NotFoundError(f"no requirement {key} needing a judgement in {engagement}")
    characteristic = row.candidates.requirement.characteristic
    standing = found.reading.standing(
        visitor.person.id, engagement, request.app.state.inference, only=[characteristic]
    )
    return render(
        request,
        "requirement.html",
        key,
        status,
        visitor=visitor,
        row=row,
        key=key,
        standing=standing,
        **next_steps(found, standing, language(request, visitor.person)),
        problem=problem,
        recorded=request.query_params.get("recorded") == "1",
        **context,
    )


@router.get("/work/{engagement}/requirement")
def requirement_page(engagement: str, key: str, request: Request, visitor: Signed, found: Found) -> Response:
    """A requirement to judge: the question, what the machine sees, the candidates and the
    proposed sample, and the rating form."""
    return _requirement_page(request, visitor, found, engagement, key, None, 200)


@router.post("/work/{engagement}/requirement")
def record_judgement(
    engagement: str, request: Request, visitor: Signed, form: Form, found: Found
) -> Response:
    """Record a judgement; refusals and problems are shown on the requirement's page."""
    key = str(form.get("key") or "")
    entry = JudgementEntry(
        key,
        str(form.get("rating") or ""),
        tuple(str(v) for v in form.getlist("cites")),
        str(form.get("method") or ""),
        str(form.get("reason") or ""),
        "the form",
        tuple(str(v) for v in form.getlist("examined")),
    )
    try:
        found.engagements.judge(visitor.person.id, engagement, [entry])
    except (RefusedError, InputError) as exc:
        status = 403 if isinstance(exc, RefusedError) else 422
        return _requirement_page(request, visitor, found, engagement, key, _message(exc), status)
    return RedirectResponse(
        f"/work/{engagement}/requirement?key={quote(key, safe='/')}&recorded=1", status_code=303
    )


@router.post("/work/{engagement}/findings")
def raise_finding(engagement: str, request: Request, visitor: Signed, form: Form, found: Found) -> Response:
    """Raise a nonconformity on an item (an auditor on the team)."""
    item = str(form.get("evidence_id") or "") or None
    try:
        due = dt.date.fromisoformat(str(form.get("due_on") or ""))
    except ValueError:
        return _item_page(
            request, visitor, found, engagement, item or "", "due_on: a date is needed (YYYY-MM-DD)", 422
        )
    try:
        found.casework.raise_finding(
            visitor.person.id,
            engagement,
            severity=str(form.get("severity") or ""),
            statement=str(form.get("statement") or ""),
            due_on=due,
            characteristic=str(form.get("characteristic") or "") or None,
            evidence_id=item,
        )
    except (RefusedError, InputError) as exc:
        if item is None:
            raise
        return _item_page(request, visitor, found, engagement, item, _message(exc), 422)
    return RedirectResponse(f"/work/{engagement}/queue", status_code=303)


@router.post("/work/{engagement}/findings/{number}/close")
def close_finding(
    engagement: str, number: int, request: Request, visitor: Signed, form: Form, found: Found
) -> Response:
    """Close a finding on accepted closure evidence (the lead auditor)."""
    evidence = [line.strip() for line in str(form.get("evidence") or "").splitlines() if line.strip()]
    found.casework.close_finding(visitor.person.id, engagement, number, evidence, str(form.get("note") or ""))
    return RedirectResponse(f"/work/{engagement}/queue", status_code=303)
