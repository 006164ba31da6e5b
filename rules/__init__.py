"""Rule packs shipped with Assay, one folder per model edition (data, not code)."""

from __future__ import annotations

from pathlib import Path

DEFAULT_PACK = "iso37107-2019"


def bundled(pack: str = DEFAULT_PACK) -> Path:
    """Folder of a rule pack shipped with Assay."""
    return Path(__file__).resolve().parent / pack
