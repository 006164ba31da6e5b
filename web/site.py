"""The web application mounted on the API's app: its routers, its static files, and error pages
in HTML where the API answers problem documents."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import Response
from fastapi.staticfiles import StaticFiles

from web import admin, audit, city, pages, review, session, work
from web.render import render
from web.session import SignInNeededError, to_sign_in


def error_page(
    request: Request, status: int, title: str, detail: str, problems: list[dict[str, Any]]
) -> Response:
    """An error as a page: the same title, sentence and problems the API would answer."""
    lines = [" · ".join(str(p[k]) for k in ("path", "message") if p.get(k)) for p in problems]
    return render(request, "problem.html", title, status, detail=detail, problems=lines)


def mount(app: FastAPI) -> None:
    """Add the pages to ``app`` (after the API's routers: the pages own no /v1 path)."""
    for router in (
        pages.router,
        session.router,
        work.router,
        city.router,
        audit.router,
        review.router,
        admin.router,
    ):
        app.include_router(router)
    app.add_exception_handler(SignInNeededError, to_sign_in)  # type: ignore[arg-type]
    app.mount("/static", StaticFiles(packages=[("web", "static")]), name="static")
