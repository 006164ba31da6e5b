"""Rule packs shipped with Assay, one folder per model edition (data, not code)."""

from __future__ import annotations

from pathlib import Path

DEFAULT_PACK = "iso37107-2019"
_MODEL_FILE = "model.yaml"  # what makes a folder a pack (engine.rulepack.MODEL_FILE)


def bundled(pack: str = DEFAULT_PACK) -> Path:
    """Folder of a rule pack shipped with Assay."""
    return Path(__file__).resolve().parent / pack


def packs() -> list[str]:
    """Names of the bundled pack folders (those holding a ``model.yaml``), sorted."""
    root = Path(__file__).resolve().parent
    return sorted(p.name for p in root.iterdir() if (p / _MODEL_FILE).is_file())
