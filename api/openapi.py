"""Write the OpenAPI document to ``docs/openapi.json`` (a test fails when it is stale).

python -m api.openapi
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path
from typing import Any

DOCUMENT = Path(__file__).resolve().parent.parent / "docs" / "openapi.json"


def document() -> dict[str, Any]:
    """The API's OpenAPI document, from an app over a throwaway store (it depends on no data)."""
    from api.app import create_app
    from api.settings import Settings

    with tempfile.TemporaryDirectory() as folder:
        app = create_app(Settings(data=folder))
        found: dict[str, Any] = app.openapi()
        app.state.services.store.close()
    return found


def text() -> str:
    """The document as it is written: indented, keys in the order FastAPI gives them."""
    return json.dumps(document(), indent=2, ensure_ascii=False) + "\n"


if __name__ == "__main__":
    DOCUMENT.write_text(text(), encoding="utf-8")
    sys.stdout.write(f"wrote {DOCUMENT}\n")
