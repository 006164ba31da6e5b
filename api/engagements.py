"""Engagements over HTTP: apply, team, evidence, verdicts, judgements, findings, evaluations,
decisions, certificates and cases. Each handler calls one operation as the signed-in person."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from typing import Annotated, Any

import anyio
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import PlainTextResponse, Response, StreamingResponse

from api.answers import answer
from api.auth import Acting
from api.models import (
    Application,
    CaseIn,
    Closure,
    DecisionIn,
    EvaluationIn,
    FindingIn,
    IssueIn,
    JudgementIn,
    Reason,
    Resolution,
    Team,
    VerdictIn,
)
from api.problems import ProblemError, from_error
from api.services import services_in_force
from api.settings import Settings
from api.uploads import receive, upload_folder
from assay.services import Services
from audits.engagements import Verdict
from audits.judging import JudgementEntry
from audits.oscal import oscal_json
from audits.reading import Download
from certificates.issue import Issued
from certificates.model import Language
from certificates.scheme import Scheme
from engine.errors import InputError

router = APIRouter(prefix="/v1", tags=["engagements"])
Found = Annotated[Services, Depends(services_in_force)]
CHUNK = 1 << 20
FRAMED = "; frame-ancestors 'self'"
"""Added to an inline PDF's policy: only this origin's pages may frame it."""


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


@router.get("/engagements")
def list_engagements(acting: Acting, found: Found) -> list[dict[str, Any]]:
    """The engagements the signed-in person may read."""
    return found.reading.engagements(acting.id)


@router.post("/engagements", status_code=201)
def apply(body: Application, acting: Acting, found: Found) -> dict[str, str]:
    """Apply for certification (a submitter of the community)."""
    engagement = found.engagements.create(acting.id, body.community, body.name, body.scope)
    return {"engagement": engagement}


@router.get("/engagements/{engagement}")
def engagement_status(engagement: str, acting: Acting, found: Found) -> Response:
    """Where the engagement stands: step, team, evidence, findings, levels, certificate."""
    return answer(found.reading.status(acting.id, engagement))


@router.get("/engagements/{engagement}/history")
def engagement_history(engagement: str, acting: Acting, found: Found) -> list[dict[str, Any]]:
    """Levels at every evaluation, with what changed and why."""
    return [dataclasses.asdict(entry) for entry in found.reading.history(acting.id, engagement)]


@router.post("/engagements/{engagement}/team", status_code=204)
def assign(engagement: str, body: Team, acting: Acting, found: Found) -> None:
    """Assign the audit team and the reviewer (a register administrator)."""
    found.engagements.assign(
        acting.id, engagement, lead=body.lead, auditors=body.auditors, reviewer=body.reviewer
    )


UPLOAD_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/zip": {"schema": {"type": "string", "format": "binary"}},
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "description": "One file part per file of the pack, named by its path in the pack.",
                    "properties": {
                        "file": {"type": "array", "items": {"type": "string", "format": "binary"}}
                    },
                }
            },
        },
    }
}
"""The upload is read as a stream, not parsed by FastAPI, so its body is described here."""


@router.post("/engagements/{engagement}/versions", status_code=201, openapi_extra=UPLOAD_BODY)
async def submit(engagement: str, request: Request, acting: Acting, found: Found) -> Any:
    """Submit evidence as a new version (a submitter of the community): the pack as a zip
    (``application/zip``), or its manifest and attachments as ``multipart/form-data`` parts named
    by their paths in the pack. Streamed to disk under the upload cap, then read by the intake."""
    settings = _settings(request)
    with upload_folder(request.app.state.uploads) as folder:
        location = await receive(request, folder, settings.upload_limit)
        try:
            version = await anyio.to_thread.run_sync(
                found.engagements.submit, acting.id, engagement, location
            )
        except InputError as exc:
            return from_error(exc, strip=str(folder))
    return {"engagement": engagement, "version": version}


@router.get("/engagements/{engagement}/versions/{version}")
def evidence(engagement: str, version: int, acting: Acting, found: Found) -> dict[str, Any]:
    """An evidence version's pack, as stored (0: the latest)."""
    number, pack = found.reading.evidence(acting.id, engagement, version or None)
    return {"version": number, "pack": pack.model_dump(mode="json")}


@router.get("/engagements/{engagement}/attachments/{sha256}")
def attachment(engagement: str, sha256: str, acting: Acting, found: Found) -> StreamingResponse:
    """An attachment of the engagement's evidence, as a download: never shown inline from this
    origin (it is a city's file, and could be HTML), and sniffing is off."""
    return attachment_response(found.reading.attachment(acting.id, engagement, sha256))


def attachment_response(download: Download, *, frame_pdf: bool = False) -> StreamingResponse:
    """A stored attachment streamed as a sandboxed download. With ``frame_pdf`` (the web item
    page), a PDF (declared so and starting ``%PDF-``) is sent inline instead, for a frame that
    only this origin may embed, still sandboxed."""
    head = download.stream.read(5)
    inline = frame_pdf and download.media_type == "application/pdf" and head == b"%PDF-"

    def chunks() -> Iterator[bytes]:
        with download.stream as stream:
            yield head
            while chunk := stream.read(CHUNK):
                yield chunk

    safe = "".join(c if c.isalnum() or c in "._-" else "_" for c in download.filename) or "attachment"
    headers = {
        "Content-Disposition": f'{"inline" if inline else "attachment"}; filename="{safe}"',
        "Content-Length": str(download.size),
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "sandbox; default-src 'none'"
        + ("; frame-ancestors 'self'" if inline else ""),
    }
    if inline:
        headers["X-Frame-Options"] = "SAMEORIGIN"
    return StreamingResponse(chunks(), media_type=download.media_type, headers=headers)


@router.post("/engagements/{engagement}/verdicts", status_code=201)
def verify(engagement: str, body: list[VerdictIn], acting: Acting, found: Found) -> dict[str, Any]:
    """Record verdicts on items (an auditor on the team): all of them, or none."""
    verdicts = [Verdict(v.evidence_id, v.verdict, v.method, v.reason) for v in body]
    seqs = found.engagements.verify(acting.id, engagement, verdicts)
    return {"recorded": len(seqs), "seqs": seqs}


@router.get("/engagements/{engagement}/levels")
def levels(
    engagement: str,
    request: Request,
    acting: Acting,
    found: Found,
    item: Annotated[str | None, Query(max_length=200)] = None,
) -> dict[str, Any]:
    """The levels the latest evidence and verdicts give now (not stored): of the characteristics
    ``item`` is offered for, or of all in scope. Read it after recording a verdict."""
    inference = request.app.state.inference
    return {"levels": found.reading.levels(acting.id, engagement, inference, item=item)}


@router.post("/engagements/{engagement}/judgements", status_code=201)
def judge(engagement: str, body: list[JudgementIn], acting: Acting, found: Found) -> dict[str, Any]:
    """Record judgements of requirements (an auditor on the team): all of them, or none."""
    entries = [
        JudgementEntry(
            j.requirement, j.rating, tuple(j.cites), j.method, j.reason, f"entry {n}", tuple(j.examined)
        )
        for n, j in enumerate(body, 1)
    ]
    seqs = found.engagements.judge(acting.id, engagement, entries)
    return {"recorded": len(seqs), "seqs": seqs}


@router.get("/engagements/{engagement}/worksheet")
def worksheet(engagement: str, acting: Acting, found: Found, lang: str = "en") -> list[dict[str, Any]]:
    """Every requirement needing a judgement, with its question, machine outcome and candidates."""
    return [dataclasses.asdict(row) for row in found.reading.worksheet(acting.id, engagement, lang)]


@router.post("/engagements/{engagement}/findings", status_code=201)
def raise_finding(engagement: str, body: FindingIn, acting: Acting, found: Found) -> dict[str, int]:
    """Raise a nonconformity (an auditor on the team)."""
    number = found.casework.raise_finding(
        acting.id,
        engagement,
        severity=body.severity,
        statement=body.statement,
        due_on=body.due_on,
        characteristic=body.characteristic,
        evidence_id=body.evidence_id,
    )
    return {"finding": number}


@router.post("/engagements/{engagement}/findings/{number}/close", status_code=204)
def close_finding(engagement: str, number: int, body: Closure, acting: Acting, found: Found) -> None:
    """Close a finding on accepted closure evidence (an auditor on the team)."""
    found.casework.close_finding(acting.id, engagement, number, body.evidence, body.note)


@router.post("/engagements/{engagement}/evaluations", status_code=201)
def evaluate(
    engagement: str, body: EvaluationIn, request: Request, acting: Acting, found: Found
) -> dict[str, Any]:
    """Evaluate the latest evidence with its verdicts and judgements (the lead auditor)."""
    record = found.decisions.evaluate(
        acting.id,
        engagement,
        request.app.state.inference,
        as_of=body.as_of,
        surveillance=body.surveillance,
        max_characteristics_per_item=Scheme().max_characteristics_per_item,
    )
    return {
        "evaluation": record.number,
        "purpose": record.purpose,
        "as_of": record.as_of.isoformat(),
        "levels": record.levels,
        "lower_than_certified": {c: list(pair) for c, pair in record.lower_than_certified.items()},
    }


@router.get("/engagements/{engagement}/evaluations/{number}")
def evaluation(engagement: str, number: int, acting: Acting, found: Found) -> dict[str, Any]:
    """A stored evaluation: levels and the engine's result (0: the latest)."""
    view = found.reading.evaluation(acting.id, engagement, number or None)
    fields = dataclasses.asdict(view)
    fields.pop("trail")
    fields["result"] = json.loads(view.result)
    return fields


@router.get("/engagements/{engagement}/evaluations/{number}/trail", response_class=PlainTextResponse)
def evaluation_trail(engagement: str, number: int, acting: Acting, found: Found) -> Response:
    """The evaluation's hash-chained trail, one JSON record a line (``assay trail verify`` reads it)."""
    view = found.reading.evaluation(acting.id, engagement, number or None)
    return Response(view.trail, media_type="application/jsonl")


@router.get("/engagements/{engagement}/evaluations/{number}/oscal")
def oscal(engagement: str, number: int, acting: Acting, found: Found) -> Response:
    """The evaluation (0: the latest) as OSCAL 1.1.3 assessment results: findings per
    characteristic and requirement, observations citing the evidence, the auditors' judgements."""
    document = found.reading.oscal(acting.id, engagement, number or None)
    return Response(oscal_json(document), media_type="application/json")


@router.get("/engagements/{engagement}/evaluations/{number}/plan")
def plan(
    engagement: str,
    number: int,
    acting: Acting,
    found: Found,
    target: Annotated[int, Query(ge=1, le=5)],
    lang: Annotated[str, Query(pattern="^(en|zh)$")] = "en",
) -> dict[str, Any]:
    """The improvement plan towards ``target`` from an evaluation (0: the latest), as ``assay plan``."""
    return found.reading.plan(acting.id, engagement, number or None, target, lang).model_dump(mode="json")


@router.post("/engagements/{engagement}/decisions", status_code=201)
def decide(engagement: str, body: DecisionIn, acting: Acting, found: Found) -> dict[str, int]:
    """Decide on the latest evaluation (the assigned reviewer, never on the audit team)."""
    return {"decision": found.decisions.decide(acting.id, engagement, body.outcome, body.reason)}


@router.post("/engagements/{engagement}/certificates", status_code=201)
def issue(engagement: str, body: IssueIn, request: Request, acting: Acting, found: Found) -> dict[str, Any]:
    """Issue the certificate the latest positive decision calls for (a register administrator),
    signed with the server's key."""
    issued = issue_with_server_key(request, found, acting.id, engagement, body.language)
    return {"number": issued.certificate.number, "pdf_sha256": issued.pdf_sha256}


def issue_with_server_key(
    request: Request, found: Services, person_id: str, engagement: str, language: Language
) -> Issued:
    """Issue as ``person_id``, signed with the server's key into its certificates folder (the
    API and the administration page); 503 when the server was started without a key."""
    settings = _settings(request)
    if settings.key is None or request.app.state.certificates is None:
        raise ProblemError(
            503, "no-signing-key", "No signing key", "this server has no signing key: start it with --key"
        )
    return found.awarding.issue(
        person_id,
        engagement,
        settings.key,
        body=settings.body,
        language=language,
        out=None,
        folder=request.app.state.certificates,
        scheme=Scheme(),
    )


@router.post("/engagements/{engagement}/cases", status_code=201)
def record_case(engagement: str, body: CaseIn, acting: Acting, found: Found) -> dict[str, int]:
    """Record a complaint, or an appeal against a decision (a register administrator)."""
    number = found.casework.record_case(
        acting.id, engagement, body.kind, body.party, body.subject, body.decision
    )
    return {"case": number}


@router.post("/engagements/{engagement}/cases/{number}/resolve", status_code=204)
def resolve_case(engagement: str, number: int, body: Resolution, acting: Acting, found: Found) -> None:
    """Resolve a case (someone independent of the decision it concerns)."""
    found.casework.resolve_case(acting.id, engagement, number, body.resolution)


@router.post("/certificates/{number}/{operation}", status_code=204)
def change_certificate(number: str, operation: str, body: Reason, acting: Acting, found: Found) -> None:
    """Suspend, reinstate or withdraw a certificate (a register administrator), with the reason."""
    if operation not in ("suspend", "reinstate", "withdraw"):
        raise ProblemError(
            404, "not-found", "Not found", f"no operation {operation}: suspend, reinstate or withdraw"
        )
    found.awarding.change(acting.id, number, operation, body.reason)
