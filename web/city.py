"""The city's pages: the dashboard of levels its evidence supports, and the draft of its next
evidence version (items from forms generated from the evidence schemas, attachments, claims),
submitted through the same intake as an upload (:class:`audits.drafts.Drafts`)."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Annotated, Any

import anyio
from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import UploadFile

from api.problems import ProblemError
from api.services import services_in_force
from assay.services import Services
from audits.drafts import Draft, Drafts
from audits.errors import NotFoundError
from engine.errors import InputError
from evidence_schemas.pack import Claim
from evidence_schemas.workbook import read_claims
from web.charts import matrix_svg
from web.forms import KINDS, form_values, item_form, item_values, parse_item
from web.render import language, render
from web.session import Form, Signed, Visitor
from web.words import chart_words
from web.work import engagement_context, next_steps

router = APIRouter(include_in_schema=False)
WORKBOOK_LIMIT = 16 << 20
"""Bytes a self-assessment workbook may have (the filled template is a few tens of KB)."""
Found = Annotated[Services, Depends(services_in_force)]


def _drafts(request: Request, found: Services) -> Drafts:
    return Drafts.under(found.engagements, request.app.state.drafts)


def _problems(exc: InputError) -> list[str]:
    """An input error's problems as lines a person reads (file and field named)."""
    return [" · ".join(str(part) for part in (p.path, p.message) if part) for p in exc.problems]


@router.get("/work/{engagement}/dashboard")
def dashboard(engagement: str, request: Request, visitor: Signed, found: Found) -> Response:
    """Every characteristic in scope: the level the current evidence supports, the levels
    claimed now and in two years, and what the next level is missing."""
    context = engagement_context(found, visitor, engagement)
    standing, matrix = [], []
    if context["status"]["evidence_versions"]:
        standing = found.reading.standing(visitor.person.id, engagement, request.app.state.inference)
        matrix = found.reading.matrix(visitor.person.id, engagement)
    lang = language(request, visitor.person)
    chart = matrix_svg(matrix, chart_words(lang)) if matrix else None

    return render(
        request,
        "dashboard.html",
        "dashboard",
        visitor=visitor,
        standing=standing,
        matrix=matrix,
        chart=chart,
        **next_steps(found, standing, lang),
        **context,
    )


@router.get("/work/{engagement}/draft")
def draft_page(engagement: str, request: Request, visitor: Signed, found: Found) -> Response:
    """The draft of the next evidence version: its items, claims, and the way to submit it."""
    draft = _drafts(request, found).open(visitor.person.id, engagement)
    return _draft(request, visitor, found, engagement, draft, [], 200)


def _draft(
    request: Request,
    visitor: Visitor,
    found: Services,
    engagement: str,
    draft: Draft,
    problems: list[str],
    status: int,
) -> Response:
    context = engagement_context(found, visitor, engagement)
    return render(
        request,
        "draft.html",
        "draft",
        status,
        visitor=visitor,
        draft=draft,
        kinds=KINDS,
        problems=problems,
        **context,
    )


@router.get("/work/{engagement}/draft/new")
def new_item(engagement: str, kind: str, request: Request, visitor: Signed, found: Found) -> Response:
    """An empty form for a new item of ``kind``."""
    if kind not in KINDS:
        raise NotFoundError(f"no evidence kind {kind}: one of {', '.join(KINDS)}")
    _drafts(request, found).open(visitor.person.id, engagement)  # only a submitter gets the form
    return _item_page(request, visitor, found, engagement, kind, None, None, {}, 200)


def _item_page(
    request: Request,
    visitor: Visitor,
    found: Services,
    engagement: str,
    kind: str,
    item_id: str | None,
    values: dict[str, Any] | None,
    errors: dict[str, list[str]],
    status: int,
    attachments: list[dict[str, Any]] | None = None,
) -> Response:
    lang = language(request, visitor.person)
    return render(
        request,
        "draft_item.html",
        item_id or "new_item",
        status,
        visitor=visitor,
        engagement=engagement,
        kind=kind,
        item_id=item_id,
        form_fields=item_form(kind, values, errors, lang),
        whole=errors.get("", []),
        attachments=attachments or [],
    )


@router.get("/work/{engagement}/draft/items/{item}")
def edit_item(engagement: str, item: str, request: Request, visitor: Signed, found: Found) -> Response:
    """The form of an item in the draft, filled in, with its attachments."""
    draft = _drafts(request, found).open(visitor.person.id, engagement)
    stored = draft.item(item)
    if stored is None:
        raise NotFoundError(f"no item {item} in the draft of {engagement}")
    return _item_page(
        request,
        visitor,
        found,
        engagement,
        stored["kind"],
        item,
        item_values(stored),
        {},
        200,
        stored.get("attachments", []),
    )


@router.post("/work/{engagement}/draft/items")
def save_item(engagement: str, request: Request, visitor: Signed, form: Form, found: Found) -> Response:
    """Check the posted item against its schema and put it in the draft (``replacing`` an item
    being edited); on a problem the form comes back with each message beside its field."""
    kind = str(form.get("kind") or "")
    if kind not in KINDS:
        raise NotFoundError(f"no evidence kind {kind}: one of {', '.join(KINDS)}")
    replacing = str(form.get("replacing") or "") or None
    pairs = [
        (k, v) for k, v in form.multi_items() if isinstance(v, str) and k not in ("csrf", "kind", "replacing")
    ]
    drafts = _drafts(request, found)
    kept: list[dict[str, Any]] = []
    if replacing is not None:
        stored = drafts.open(visitor.person.id, engagement).item(replacing)
        kept = stored.get("attachments", []) if stored else []
    item, errors = parse_item(kind, pairs, kept, language(request, visitor.person))
    if item is None:
        return _item_page(
            request, visitor, found, engagement, kind, replacing, form_values(pairs), errors, 422, kept
        )
    try:
        drafts.put_item(visitor.person.id, engagement, item, replacing)
    except InputError as exc:
        return _item_page(
            request,
            visitor,
            found,
            engagement,
            kind,
            replacing,
            item_values(item),
            {"id": _problems(exc)},
            422,
            kept,
        )
    return RedirectResponse(f"/work/{engagement}/draft/items/{item['id']}", status_code=303)


@router.post("/work/{engagement}/draft/items/{item}/remove")
def remove_item(
    engagement: str, item: str, request: Request, visitor: Signed, form: Form, found: Found
) -> Response:
    """Take an item out of the draft."""
    _drafts(request, found).remove_item(visitor.person.id, engagement, item)
    return RedirectResponse(f"/work/{engagement}/draft", status_code=303)


@router.post("/work/{engagement}/draft/items/{item}/attachments")
async def attach(
    engagement: str, item: str, request: Request, visitor: Signed, form: Form, found: Found
) -> Response:
    """Upload a file for an item: streamed to the draft and hashed; the page shows the hash the
    intake will check. The request's size is checked before its body is read."""
    upload = form.get("file")
    limit = request.app.state.settings.upload_limit
    drafts = _drafts(request, found)
    problem, attached = None, None
    if not isinstance(upload, UploadFile) or not upload.filename:
        problem = "choose a file to upload"
    else:
        chosen = upload
        try:
            attached = await anyio.to_thread.run_sync(
                lambda: drafts.attach(
                    visitor.person.id,
                    engagement,
                    item,
                    chosen.filename or "file",
                    chosen.content_type or "",
                    chosen.file,
                    limit,
                )
            )
        except InputError as exc:
            problem = "; ".join(_problems(exc))
    if not request.headers.get("hx-request"):
        if problem is not None:
            raise ProblemError(422, "invalid-input", "Invalid input", problem)
        return RedirectResponse(f"/work/{engagement}/draft/items/{item}", status_code=303)
    stored = drafts.open(visitor.person.id, engagement).item(item) or {}
    return render(
        request,
        "attachments.html",
        item,
        422 if problem else 200,
        visitor=visitor,
        engagement=engagement,
        item_id=item,
        attachments=stored.get("attachments", []),
        added=attached,
        problem=problem,
    )


@router.get("/work/{engagement}/draft/claims")
def claims_page(engagement: str, request: Request, visitor: Signed, found: Found) -> Response:
    """The self-assessment: a level claimed now and in two years for each characteristic in scope."""
    draft = _drafts(request, found).open(visitor.person.id, engagement)
    values = {c["characteristic"]: c for c in draft.pack.get("claims", [])}
    return _claims(request, visitor, found, engagement, values, {}, 200)


def _claims(
    request: Request,
    visitor: Visitor,
    found: Services,
    engagement: str,
    values: dict[str, dict[str, Any]],
    errors: dict[str, str],
    status: int,
) -> Response:
    context = engagement_context(found, visitor, engagement)
    lang = language(request, visitor.person)
    scope = context["status"]["scope"]
    rows = [
        {
            "id": c.id,
            "title": getattr(c.title, lang),
            "claim": values.get(c.id, {}),
            "error": errors.get(c.id),
        }
        for c in found.reading.rules.model.characteristics()
        if not scope or c.id in scope
    ]
    return render(
        request,
        "claims.html",
        "claims",
        status,
        visitor=visitor,
        rows=rows,
        workbook_problem=errors.get(""),
        **context,
    )


@router.post("/work/{engagement}/draft/claims")
def save_claims(engagement: str, request: Request, visitor: Signed, form: Form, found: Found) -> Response:
    """Check and keep the claims; a row left blank claims nothing."""
    claims: list[dict[str, Any]] = []
    values: dict[str, dict[str, Any]] = {}
    errors: dict[str, str] = {}
    for characteristic in found.reading.rules.model.characteristics():
        now = str(form.get(f"now.{characteristic.id}") or "").strip()
        later = str(form.get(f"later.{characteristic.id}") or "").strip()
        values[characteristic.id] = {"now": now, "in_two_years": later}
        if not now and not later:
            continue
        if not now:
            errors[characteristic.id] = "a level claimed in two years needs a level claimed now"
            continue
        try:
            claim = Claim.model_validate_json(_claim_json(characteristic.id, now, later))
        except ValueError:
            errors[characteristic.id] = "levels are whole numbers from 1 to 5"
            continue
        claims.append(claim.model_dump(mode="json", exclude_none=True))
    if errors:
        return _claims(request, visitor, found, engagement, values, errors, 422)
    _drafts(request, found).set_claims(visitor.person.id, engagement, claims)
    return RedirectResponse(f"/work/{engagement}/draft", status_code=303)


@router.post("/work/{engagement}/draft/claims/workbook")
async def claims_workbook(
    engagement: str, request: Request, visitor: Signed, form: Form, found: Found
) -> Response:
    """Take the claims from a filled self-assessment workbook (``assay pack template``), as
    ``assay pack import-claims`` does; every bad cell is named on the claims page."""
    upload = form.get("workbook")
    drafts = _drafts(request, found)
    if not isinstance(upload, UploadFile) or not upload.filename:
        raise ProblemError(
            422, "invalid-input", "Invalid input", "choose a filled workbook (.xlsx) to upload"
        )
    uploads: Path = request.app.state.uploads
    uploads.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=uploads) as scratch:
        path = Path(scratch) / "claims.xlsx"
        with path.open("wb") as out:
            while chunk := await upload.read(1 << 20):
                out.write(chunk)
                if out.tell() > WORKBOOK_LIMIT:
                    raise ProblemError(
                        422, "invalid-input", "Invalid input", f"a workbook of at most {WORKBOOK_LIMIT} bytes"
                    )
        try:
            claims = await anyio.to_thread.run_sync(read_claims, path, found.reading.rules.model)
        except InputError as exc:
            named = [f"{upload.filename}: {line}" for line in _problems(exc)]
            problems = {"": "; ".join(named).replace(str(path), upload.filename)}
            return _claims(request, visitor, found, engagement, {}, problems, 422)
    drafts.set_claims(
        visitor.person.id, engagement, [c.model_dump(mode="json", exclude_none=True) for c in claims]
    )
    return RedirectResponse(f"/work/{engagement}/draft/claims", status_code=303)


def _claim_json(characteristic: str, now: str, later: str) -> str:
    def level(text: str) -> int | str:
        return int(text) if text.isdigit() and len(text) < 3 else text

    claim: dict[str, Any] = {"characteristic": characteristic, "now": level(now)}
    if later:
        claim["in_two_years"] = level(later)
    return json.dumps(claim)


@router.post("/work/{engagement}/draft/submit")
async def submit(engagement: str, request: Request, visitor: Signed, form: Form, found: Found) -> Response:
    """Submit the draft as the next evidence version; the intake's problems, all of them, come
    back on the draft page, and the draft is kept."""
    drafts = _drafts(request, found)
    uploads: Path = request.app.state.uploads
    uploads.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=uploads) as scratch:
        try:
            version = await anyio.to_thread.run_sync(
                drafts.submit, visitor.person.id, engagement, Path(scratch)
            )
        except InputError as exc:
            draft = drafts.open(visitor.person.id, engagement)
            return _draft(request, visitor, found, engagement, draft, _problems(exc), 422)
    return RedirectResponse(f"/work/{engagement}/dashboard?submitted={version}", status_code=303)


@router.post("/work/{engagement}/draft/discard")
def discard(engagement: str, request: Request, visitor: Signed, form: Form, found: Found) -> Response:
    """Throw the draft away."""
    _drafts(request, found).discard(visitor.person.id, engagement)
    return RedirectResponse(f"/work/{engagement}/draft", status_code=303)
