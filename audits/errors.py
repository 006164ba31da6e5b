"""Errors of the store, rooted in the project's one hierarchy so the CLI maps them in one place."""

from __future__ import annotations

from engine.errors import AssayError


class StoreError(AssayError):
    """The store cannot be used: a location that names no database, or one that is missing."""
