"""Time and identifiers, injected: the engine never reads a wall clock or draws a random id.

Evaluations take a :class:`Clock` and an :class:`IdSource`. The defaults for a one-off
evaluation make output reproducible: the clock stands still at the assessment date, and ids are
derived from the inputs' digests.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
from typing import Protocol


class Clock(Protocol):
    """Tells the time trail records are stamped with."""

    def now(self) -> dt.datetime:
        """Current instant, timezone-aware (UTC)."""
        ...


class IdSource(Protocol):
    """Hands out identifiers."""

    def new_id(self, kind: str) -> str:
        """A fresh id for a thing of ``kind`` (e.g. ``evaluation``)."""
        ...


class FixedClock:
    """A clock that always tells the same instant."""

    def __init__(self, instant: dt.datetime) -> None:
        if instant.tzinfo is None:
            raise ValueError("the instant must be timezone-aware")
        self._instant = instant.astimezone(dt.UTC)

    @classmethod
    def at_date(cls, day: dt.date) -> FixedClock:
        """Midnight UTC at the start of ``day`` (the assessment instant of a date)."""
        return cls(dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC))

    def now(self) -> dt.datetime:
        return self._instant


class SystemClock:
    """The real clock, for records of real events (never used inside inference)."""

    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC).replace(microsecond=0)


class DigestIds:
    """Deterministic ids: ``<kind>-<16 hex>`` from a seed and a counter."""

    def __init__(self, seed: str) -> None:
        self._seed = seed
        self._counter = itertools.count(1)

    def new_id(self, kind: str) -> str:
        text = f"{self._seed}|{kind}|{next(self._counter)}"
        return f"{kind}-{hashlib.sha256(text.encode('utf-8')).hexdigest()[:16]}"
