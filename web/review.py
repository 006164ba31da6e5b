"""The reviewer's decision page: the verified profile against the claims, the evidence basis of
each credited level with the thinnest first, the flags, the open findings, the evaluation's trail
head checked here and now, and the decision form."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response

from api.services import services_in_force
from assay.services import Services
from audits.errors import RefusedError
from engine.basis import thinnest_levels
from engine.errors import AssayError, InputError
from engine.result import Result
from engine.trail import verify_lines
from web.charts import ProfileBar, profile_bars_svg
from web.render import language, render
from web.session import Form, Signed, Visitor
from web.words import chart_words
from web.work import engagement_context

router = APIRouter(include_in_schema=False)
Found = Annotated[Services, Depends(services_in_force)]


def _page(
    request: Request, visitor: Visitor, found: Services, engagement: str, problem: str | None, status: int
) -> Response:
    context = engagement_context(found, visitor, engagement)
    view = found.reading.evaluation(visitor.person.id, engagement, None)
    result = Result.model_validate_json(view.result)
    try:
        checked = verify_lines(view.trail.splitlines(), view.trail_head)
        trail = {"ok": True, "records": checked.records, "detail": ""}
    except AssayError as exc:
        trail = {"ok": False, "records": 0, "detail": str(exc)}
    lang = language(request, visitor.person)
    dimensions = {d.id: getattr(d.title, lang) for d in found.reading.rules.model.dimensions}
    titles = {c.id: getattr(c.title, lang) for c in found.reading.rules.model.characteristics()}
    bars = [
        ProfileBar(
            c.id,
            c.id.split(".")[0],
            titles.get(c.id, c.title),
            c.verified_level,
            c.claim.now if c.claim is not None else None,
        )
        for c in result.characteristics
        if c.status == "evaluated"
    ]
    chart = profile_bars_svg(bars, dimensions, chart_words(lang))
    return render(
        request,
        "decision.html",
        "decision",
        status,
        visitor=visitor,
        view=view,
        result=result,
        thin=thinnest_levels(result),
        flags=result.basis.flags if result.basis is not None else [],
        titles=titles,
        trail=trail,
        chart=chart,
        problem=problem,
        **context,
    )


@router.get("/work/{engagement}/decision")
def decision_page(engagement: str, request: Request, visitor: Signed, found: Found) -> Response:
    """What the reviewer decides on, and the form."""
    return _page(request, visitor, found, engagement, None, 200)


@router.post("/work/{engagement}/decision")
def decide(engagement: str, request: Request, visitor: Signed, form: Form, found: Found) -> Response:
    """Record the decision (the assigned reviewer, never on the audit team)."""
    try:
        found.decisions.decide(
            visitor.person.id, engagement, str(form.get("outcome") or ""), str(form.get("reason") or "")
        )
    except (RefusedError, InputError) as exc:
        return _page(
            request, visitor, found, engagement, str(exc), 403 if isinstance(exc, RefusedError) else 422
        )
    return RedirectResponse(f"/work/{engagement}", status_code=303)
