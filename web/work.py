"""The signed-in start: the engagements a person may read, and one engagement's overview with
the way to each role's pages and its level history. The lead auditor evaluates from here."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response

from api.services import services_in_force
from assay.services import Services
from audits.authority import REGISTER_ADMINISTRATOR, SUBMITTER
from certificates.scheme import Scheme
from engine.plan import next_actions
from engine.result import CharacteristicResult
from web.charts import history_svg
from web.render import language, render
from web.session import Form, Signed, Visitor
from web.words import chart_words

router = APIRouter(include_in_schema=False)
Found = Annotated[Services, Depends(services_in_force)]


def roles_on(visitor: Visitor, status: dict[str, Any], community: str) -> set[str]:
    """What the visitor is on this engagement: their team roles, ``submitter`` for their own
    community, ``register_administrator`` when they are one. Only chooses which links a page
    shows; every operation still checks for itself."""
    roles = set(status["team"].get(visitor.person.id, []))
    if visitor.person.community == community:
        roles.add(SUBMITTER)  # a community's own people are its submitters
    if visitor.has(REGISTER_ADMINISTRATOR):
        roles.add(REGISTER_ADMINISTRATOR)
    return roles


def engagement_context(found: Services, visitor: Visitor, engagement: str) -> dict[str, Any]:
    """The status every engagement page shows at its head, and the visitor's roles on it."""
    status, community = found.reading.status_and_community(visitor.person.id, engagement)
    return {"status": status, "roles": roles_on(visitor, status, community), "engagement": engagement}


def next_steps(found: Services, standing: Sequence[CharacteristicResult], lang: str) -> dict[str, Any]:
    """What the levels panel shows of each characteristic, in ``lang``: ``steps`` (its next
    level's summary and unmet requirements) and ``titles``."""
    rules = found.reading.rules
    return {
        "steps": {c.id: next_actions(c, rules, "zh" if lang == "zh" else "en") for c in standing},
        "titles": {c.id: getattr(c.title, lang) for c in rules.model.characteristics()},
    }


@router.get("/work")
def work(request: Request, visitor: Signed, found: Found) -> Response:
    """The engagements the signed-in person may read."""
    listed = found.reading.engagements(visitor.person.id)
    return render(request, "work.html", "my_work", visitor=visitor, engagements=listed)


@router.get("/work/{engagement}")
def overview(engagement: str, request: Request, visitor: Signed, found: Found) -> Response:
    """Where the engagement stands, what the visitor can do on it, and its level history."""
    context = engagement_context(found, visitor, engagement)
    history = found.reading.history(visitor.person.id, engagement)
    lang = language(request, visitor.person)
    dimensions = {d.id: getattr(d.title, lang) for d in found.reading.rules.model.dimensions}
    chart = history_svg(history, dimensions, chart_words(lang)) if history else None
    return render(
        request, "engagement.html", engagement, visitor=visitor, chart=chart, history=history, **context
    )


@router.post("/work/{engagement}/evaluate")
def evaluate(engagement: str, request: Request, visitor: Signed, form: Form, found: Found) -> Response:
    """Evaluate the latest evidence with its verdicts and judgements (the lead auditor)."""
    found.decisions.evaluate(
        visitor.person.id,
        engagement,
        request.app.state.inference,
        as_of=None,
        surveillance=form.get("purpose") == "surveillance",
        max_characteristics_per_item=Scheme().max_characteristics_per_item,
    )
    return RedirectResponse(f"/work/{engagement}", status_code=303)
