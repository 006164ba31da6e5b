"""Canonical JSON and digests: the one serialisation everything hashed goes through.

orjson, not the standard library: every trail record, item and result is serialised and hashed,
and orjson does it several times faster (the engagement benchmark is dominated by it). Its
output matches ``json.dumps(sort_keys=True, separators=(",", ":"), ensure_ascii=False)``
except that very small or large floats are written in positional form (``0.00001``, not
``1e-05``), which durable_rules' parser also reads. Values hashed here are finite: evidence and
rule numbers refuse NaN and infinity at validation, and orjson would write them as ``null``.
"""

from __future__ import annotations

import hashlib
from typing import Any

import orjson


def canonical_json(value: Any) -> bytes:
    """UTF-8 JSON with sorted keys and no insignificant whitespace (stable across runs)."""
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)


def digest(data: bytes) -> str:
    """``sha256:<hex>`` of some bytes."""
    return "sha256:" + hashlib.sha256(data).hexdigest()


def digest_of(value: Any) -> str:
    """Digest of a JSON-able value's canonical form."""
    return digest(canonical_json(value))


def pretty_json(value: Any) -> str:
    """Readable JSON for files people open (result.json); stable for identical values."""
    return orjson.dumps(value, option=orjson.OPT_INDENT_2).decode("utf-8") + "\n"


def parse_json(data: bytes | str) -> Any:
    """JSON text the project wrote (trail lines, stored manifests and results) back to values."""
    return orjson.loads(data)
