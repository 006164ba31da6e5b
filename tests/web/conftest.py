"""The page tests' servers and browser: a live server with one issued certificate (built on the
API tests' harness), the store ``assay demo --serve`` builds, and Debian's chromium."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography import x509
from playwright.sync_api import Browser, sync_playwright

from assay.demo_serve import Served, prepare, served_app
from assay.options import load_rules
from certificates.keys import SigningKey
from tests.api.conftest import ADMIN, AUDITOR, LEAD, REVIEWER, SUBMITTER, Api, LiveServer, certify, make_api
from tests.tools import require_tool


@pytest.fixture(scope="module")
def site(
    tmp_path_factory: pytest.TempPathFactory, signing_key: SigningKey, trust_roots: list[x509.Certificate]
) -> Iterator[tuple[Api, str, bytes]]:
    """A server whose register holds Harbourton's certificate: (server, number, its PDF)."""
    made = make_api(Path(tmp_path_factory.mktemp("site")), signing_key, trust_roots)
    try:
        people = {p: made.client(p) for p in (SUBMITTER, ADMIN, LEAD, AUDITOR, REVIEWER)}
        _, number = certify(people, made.pack_zip(), made.verdicts, made.judgements)
        pdf = made.client().get(f"/v1/certificates/{number}/pdf").content
        yield made, number, pdf
    finally:
        made.close()


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Served]]:
    """A server over the store ``assay demo --serve`` prepares: (its URL, what was prepared)."""
    served = prepare(tmp_path_factory.mktemp("demo") / "demo", load_rules(None))
    app = served_app(served)
    server = LiveServer(app)
    try:
        yield server.url, served
    finally:
        server.stop()
        app.state.services.store.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Debian's chromium (.ci/run installs it): Playwright's own browser download is not reachable."""
    chromium = require_tool("chromium")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture(scope="module")
def artefacts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where screenshots go: ``$ASSAY_ARTIFACTS/screenshots`` (kept by CI), else a temporary folder."""
    named = os.environ.get("ASSAY_ARTIFACTS")
    folder = Path(named) / "screenshots" if named else tmp_path_factory.mktemp("screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder
