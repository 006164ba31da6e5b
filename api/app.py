"""The application: the routers, the error handling, and the services every request shares."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from api import accounts, engagements, problems, public, rulepacks
from api.headers import SecurityHeaders
from api.inference import SharedInference
from api.limits import RateLimit
from api.services import InForce
from api.settings import Settings
from api.uploads import sweep
from assay.services import services_for
from assay.stores import attachment_folder
from web.site import error_page, mount

TITLE = "Assay"
VERSION = "1"


def create_app(settings: Settings) -> FastAPI:
    """An app serving ``settings.data``. The store is opened (and migrated) here, once; uploads a
    killed server left are swept, as the command line sweeps on every command."""
    app = FastAPI(
        title=TITLE,
        version=VERSION,
        summary="Evidence-based maturity audits and certification over HTTP.",
        description=(
            "Every operation of the `assay` command line, as the signed-in person. Errors are "
            "RFC 9457 problem documents (`application/problem+json`) listing every problem found. "
            "Sign in with `POST /v1/sign-in` (a session cookie and a CSRF token to send as "
            "`X-CSRF-Token` on every change) or send `Authorization: Bearer <API token>`."
        ),
        docs_url=None,
        redoc_url=None,
    )
    found = services_for(settings.data, settings.attachments, None, settings.rules_dir, clock=settings.clock)
    app.state.settings = settings
    app.state.services = found
    app.state.in_force = InForce(found, fixed=settings.rules_dir is not None)
    app.state.public_limit = RateLimit(settings.public_rate)
    app.state.inference = SharedInference()
    folder = attachment_folder(found.store, settings.data, settings.attachments)
    root = folder.parent if folder is not None else None
    app.state.uploads = (root / "uploads") if root is not None else Path(settings.data + ".uploads")
    sweep(app.state.uploads)
    # Drafts of the next evidence version (web pages): beside the uploads, kept across restarts.
    app.state.drafts = (root / "drafts") if root is not None else Path(settings.data + ".drafts")
    app.state.certificates = settings.certificates or ((root / "certificates") if root is not None else None)
    if app.state.certificates is not None:
        app.state.certificates.mkdir(parents=True, exist_ok=True)
    app.add_middleware(SecurityHeaders)
    problems.install(app, page_error=error_page)
    for router in (accounts.router, engagements.router, rulepacks.router, public.router):
        app.include_router(router)
    mount(app)
    return app
