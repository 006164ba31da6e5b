"""Installing a corrected rule pack, and what it would change on each certificate in force."""

from __future__ import annotations

from typing import Annotated, Any

import anyio
from fastapi import APIRouter, BackgroundTasks, Depends, Query, Request

from api.auth import Acting
from api.problems import ProblemError
from api.services import services_in_force
from api.uploads import receive, unpack_rule_pack, upload_folder
from assay.services import Services
from audits.jobs import run_local

router = APIRouter(prefix="/v1", tags=["rule packs"])
Found = Annotated[Services, Depends(services_in_force)]
RULE_PACK_LIMIT = 64 << 20
"""Bytes a rule pack may have, zipped or unpacked (the bundled pack has well under one MiB)."""
ZIP_BODY = {
    "requestBody": {
        "required": True,
        "content": {"application/zip": {"schema": {"type": "string", "format": "binary"}}},
    }
}


@router.post("/rule-packs", status_code=202, openapi_extra=ZIP_BODY)
async def install(
    request: Request, acting: Acting, found: Found, background: BackgroundTasks
) -> dict[str, Any]:
    """Install a rule pack (a register administrator): its folder as a zip. It is in force for new
    evaluations at once, on every server, and re-rating every certificate in force under it is
    queued in the same transaction: on PostgreSQL for ``assay worker``, on SQLite in this server's
    local pool. No certificate changes until a reviewer decides."""
    if request.headers.get("content-type", "").split(";")[0].strip() != "application/zip":
        raise ProblemError(
            415, "unsupported-media-type", "Unsupported media type", "send the pack as application/zip"
        )
    with upload_folder(request.app.state.uploads) as folder:
        archive = await receive(request, folder, RULE_PACK_LIMIT)
        unpacked = folder / "pack"
        unpacked.mkdir()
        location = unpack_rule_pack(archive, unpacked, RULE_PACK_LIMIT)
        installed = await anyio.to_thread.run_sync(found.rule_packs.install, acting.id, location)
    if found.store.url.get_backend_name() == "sqlite":
        background.add_task(run_local, found.store, found.clock)
    return {
        "rule_pack": installed.number,
        "digest": installed.digest,
        "model": installed.pack_id,
        "job": str(installed.job),
    }


@router.get("/reratings")
def reratings(
    acting: Acting, found: Found, run: Annotated[int | None, Query(ge=1)] = None
) -> list[dict[str, Any]]:
    """Per certificate in force, the characteristics whose level the install ``run`` (default the
    latest re-rated) would change, and why (rule changed, requirement added, met_by added, ...)."""
    return [rerating.as_dict() for rerating in found.reading.reratings(acting.id, run)]
