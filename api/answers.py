"""JSON answers serialised once, by orjson.

FastAPI passes a handler's plain return value through ``jsonable_encoder``, which walks every
nested value in Python: for a register page that was several times the cost of the search itself.
The operations already return JSON-able data, so the hot handlers answer with bytes directly."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi.responses import Response


def answer(body: Any, status_code: int = 200) -> Response:
    """``body`` (JSON-able data: dicts, lists, text, numbers, dates) as an ``application/json`` answer."""
    return Response(orjson.dumps(body), status_code=status_code, media_type="application/json")
