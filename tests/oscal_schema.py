"""OSCAL documents checked against NIST's own JSON schema (vendored in tests/data/oscal)."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jsonschema  # type: ignore[import-untyped]
import regex  # type: ignore[import-untyped]
from jsonschema import Draft7Validator, FormatChecker, ValidationError

SCHEMA_PATH = Path(__file__).parent / "data" / "oscal" / "oscal_assessment-results_schema.json"
SCHEMA_SHA256 = "d9e34757f0c12aff61f52b821f0b8f83ba0ba75b3a149a202b08ba82f82bc4c3"
"""NIST's release asset of OSCAL v1.1.3, as tests/data/oscal/README.md records it."""

# Validation against the official schema --------------------------------------------------------


def _pattern(validator: Any, pattern: str, instance: Any, schema: Any) -> Iterator[ValidationError]:
    """``pattern`` with the ``regex`` module: the schema's tokens use ``\\p{L}`` and ``\\p{N}``,
    which Python's ``re`` rejects."""
    if validator.is_type(instance, "string") and regex.search(pattern, instance) is None:
        yield ValidationError(f"{instance!r} does not match {pattern!r}")


OscalValidator = jsonschema.validators.extend(Draft7Validator, {"pattern": _pattern})

FORMATS = FormatChecker(formats=())
"""The formats the schema uses, checked here: jsonschema checks them only with optional packages
this project does not install."""


def _date_time(value: object) -> bool:
    return not isinstance(value, str) or dt.datetime.fromisoformat(value).tzinfo is not None


def _uri(value: object) -> bool:
    return not isinstance(value, str) or (bool(urlsplit(value).scheme) and _no_space(value))


def _uri_reference(value: object) -> bool:
    return not isinstance(value, str) or (urlsplit(value) is not None and _no_space(value))


def _no_space(value: str) -> bool:
    return not any(c.isspace() or ord(c) < 0x20 for c in value)


FORMATS.checks("date-time", raises=ValueError)(_date_time)
FORMATS.checks("uri", raises=ValueError)(_uri)
FORMATS.checks("uri-reference", raises=ValueError)(_uri_reference)


def load_schema() -> dict[str, Any]:
    """The vendored schema, checked to be the file NIST published."""
    data = SCHEMA_PATH.read_bytes()
    assert hashlib.sha256(data).hexdigest() == SCHEMA_SHA256, "the vendored schema was changed"
    loaded: dict[str, Any] = json.loads(data)
    return loaded


def problems(schema: dict[str, Any], document: dict[str, Any]) -> list[str]:
    """Every schema violation, each as ``path: message``."""
    validator = OscalValidator(schema, format_checker=FORMATS)
    found = sorted(validator.iter_errors(document), key=lambda e: list(map(str, e.absolute_path)))
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in found]
