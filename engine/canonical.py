"""Canonical JSON and digests: the one serialisation everything hashed goes through."""

from __future__ import annotations

import hashlib
import json
from typing import Any


def canonical_json(value: Any) -> bytes:
    """UTF-8 JSON with sorted keys and no insignificant whitespace (stable across runs)."""
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def digest(data: bytes) -> str:
    """``sha256:<hex>`` of some bytes."""
    return "sha256:" + hashlib.sha256(data).hexdigest()


def digest_of(value: Any) -> str:
    """Digest of a JSON-able value's canonical form."""
    return digest(canonical_json(value))


def pretty_json(value: Any) -> str:
    """Readable JSON for files people open (result.json); stable for identical values."""
    return json.dumps(value, indent=2, ensure_ascii=False, allow_nan=False) + "\n"
