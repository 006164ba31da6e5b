"""Errors of the store, rooted in the project's one hierarchy so the CLI maps them in one place."""

from __future__ import annotations

from engine.errors import AssayError


class StoreError(AssayError):
    """The store cannot be used: a location that names no database, or one that is missing."""


class RefusedError(AssayError):
    """An engagement operation was refused: the acting person lacks the role, separation of duties
    forbids it, or the engagement is not at that step. Nothing was changed; the refusal itself
    is recorded in the store's trail."""


class NotFoundError(RefusedError):
    """What was asked for is not there for this person: it does not exist, or they may not see it.
    One answer for both, so guessing ids tells nobody which engagements exist."""
