"""The OpenAPI document in docs/ is the one the server serves."""

from __future__ import annotations

import json

from api.openapi import DOCUMENT, text
from tests.api.conftest import Api


def test_the_committed_openapi_document_is_current() -> None:
    # Regenerate with: python -m api.openapi
    assert DOCUMENT.read_text(encoding="utf-8") == text(), (
        "docs/openapi.json is stale: run python -m api.openapi"
    )


def test_the_server_serves_the_same_document(api: Api) -> None:
    served = api.client().get("/openapi.json").json()
    assert served == json.loads(DOCUMENT.read_text(encoding="utf-8"))
    assert "/v1/engagements/{engagement}/versions" in served["paths"]
