"""A rate limit on the public endpoints, per client address.

The one thing a server process keeps in memory: counts of recent requests per address, in a
fixed one-minute window. Several processes each count their own, so behind a load balancer an
address gets up to N times the limit; a body that needs one global limit sets it at its proxy.
Memory is bounded: at most ``MAX_ADDRESSES`` addresses are tracked, the window's counts are
dropped when it turns over.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from fastapi import Request

from api.problems import ProblemError

MAX_ADDRESSES = 100_000


class RateLimit:
    """At most ``per_minute`` requests from one address in each minute (0: no limit)."""

    def __init__(self, per_minute: int, now: Callable[[], float] = time.monotonic) -> None:
        self.per_minute = per_minute
        self._now = now
        self._lock = threading.Lock()
        self._window = -1
        self._counts: dict[str, int] = {}

    def __call__(self, request: Request) -> None:
        """Count the request; refuse it (429, with Retry-After) past the limit."""
        if self.per_minute <= 0:
            return
        address = request.client.host if request.client else "unknown"
        moment = self._now()
        with self._lock:
            window = int(moment // 60)
            if window != self._window or len(self._counts) >= MAX_ADDRESSES:
                self._window, self._counts = window, {}
            count = self._counts.get(address, 0) + 1
            self._counts[address] = count
        if count > self.per_minute:
            retry = max(1, int(60 - moment % 60))
            raise ProblemError(
                429,
                "rate-limited",
                "Too many requests",
                f"at most {self.per_minute} requests a minute from one address; retry in {retry} s",
                retry_after=retry,
            )


def public_limit(request: Request) -> None:
    """The server's public rate limit, as a dependency."""
    limit: RateLimit = request.app.state.public_limit
    limit(request)
