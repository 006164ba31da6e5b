"""Errors as RFC 9457 problem documents (``application/problem+json``).

Every error an operation raises maps to one status here and nowhere else, as the command line
maps them to exit codes in one place (:mod:`assay.cli`). The ``detail`` is the same sentence the
command line prints; an input error also lists every problem it found under ``problems`` (file,
line, field path, message), so a client can show them all at once. Nothing else leaves: an
unexpected exception is logged and answered with a bare 500, never a traceback.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from audits.errors import NotFoundError, RefusedError, StoreError
from certificates.errors import RegisterError, SigningError, VerificationError
from engine.errors import AssayError, InputError, OutputError

MEDIA_TYPE = "application/problem+json"
_LOG = logging.getLogger("assay.api")

# (error class, status, type, title); the first match wins, so subclasses come first.
_KINDS: list[tuple[type[AssayError], int, str, str]] = [
    (NotFoundError, 404, "not-found", "Not found"),
    (RefusedError, 403, "refused", "Operation refused"),
    (InputError, 422, "invalid-input", "Invalid input"),
    (RegisterError, 409, "register-refused", "The register refused"),
    (VerificationError, 422, "not-verified", "The certificate does not verify"),
    (OutputError, 409, "output-refused", "Output refused"),
    (SigningError, 503, "signing-failed", "Signing failed"),
    (StoreError, 500, "store-error", "The store cannot be used"),
]


class ProblemError(Exception):
    """A problem a handler answers with directly (authentication, limits, upload framing)."""

    def __init__(self, status: int, kind: str, title: str, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.status, self.kind, self.title, self.detail, self.extra = status, kind, title, detail, extra


def problem(status: int, kind: str, title: str, detail: str, **extra: Any) -> JSONResponse:
    """A problem document; ``kind`` names its type under ``/problems/``."""
    body = {"type": f"/problems/{kind}", "title": title, "status": status, "detail": detail, **extra}
    headers = {"WWW-Authenticate": 'Bearer realm="assay"'} if status == 401 else {}
    if "retry_after" in extra:
        headers["Retry-After"] = str(extra["retry_after"])
    return JSONResponse(body, status_code=status, media_type=MEDIA_TYPE, headers=headers)


def problems_of(error: InputError, strip: str = "") -> list[dict[str, Any]]:
    """An input error's problems as JSON; ``strip`` removes a server-side folder from file names
    (an upload's temporary folder means nothing to the client)."""
    return [
        {
            "file": p.file.removeprefix(strip).lstrip("/") if strip else p.file,
            "line": p.line,
            "path": p.path,
            "message": p.message,
        }
        for p in error.problems
    ]


def from_error(error: AssayError, strip: str = "") -> JSONResponse:
    """The problem document of an operation's error."""
    for kind, status, name, title in _KINDS:
        if isinstance(error, kind):
            if isinstance(error, InputError):
                problems = problems_of(error, strip)
                detail = f"invalid {error.what}: {len(problems)} problem(s)"
                return problem(status, name, title, detail, problems=problems)
            detail = str(error).replace(strip, "") if strip else str(error)
            if isinstance(error, VerificationError):
                return problem(status, name, title, detail, reasons=error.reasons)
            return problem(status, name, title, detail)
    return problem(500, "error", "Error", str(error))


PageError = Callable[[Request, int, str, str, list[dict[str, Any]]], Response]
"""How the web pages show an error: (request, status, title, detail, problems) -> an HTML page."""


def install(app: FastAPI, page_error: PageError | None = None) -> None:
    """Answer every error of ``app`` with a problem document; on a web page (any path outside
    the API's), with ``page_error``'s page saying the same."""

    def answer(request: Request, found: JSONResponse) -> Response:
        if page_error is None or request.url.path.startswith(("/v1/", "/openapi", "/static/")):
            return found
        body = json.loads(bytes(found.body))
        shown = page_error(
            request, found.status_code, body["title"], body["detail"], body.get("problems", [])
        )
        for name in ("www-authenticate", "retry-after"):
            if name in found.headers:
                shown.headers[name] = found.headers[name]
        return shown

    @app.exception_handler(AssayError)
    async def _assay(request: Request, exc: AssayError) -> Response:
        return answer(request, from_error(exc))

    @app.exception_handler(ProblemError)
    async def _problem(request: Request, exc: ProblemError) -> Response:
        return answer(request, problem(exc.status, exc.kind, exc.title, exc.detail, **exc.extra))

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        found = [
            {
                "file": "request",
                "line": None,
                "path": ".".join(str(part) for part in error["loc"]),
                "message": error["msg"],
            }
            for error in exc.errors()
        ]
        detail = f"invalid request: {len(found)} problem(s)"
        return answer(request, problem(422, "invalid-input", "Invalid input", detail, problems=found))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        return answer(request, problem(exc.status_code, "http", str(exc.detail), str(exc.detail)))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        _LOG.exception("unexpected error on %s %s", request.method, request.url.path)
        failed = problem(500, "internal", "Internal error", "the server failed; the error is in its log")
        return answer(request, failed)
