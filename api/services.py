"""The operations a server acts with, shared by its requests, following the rule pack in force.

A rule pack installed through any server (or ``assay rules install``) is in force for every
server at once: each request asks the store which install is the latest (one indexed query) and
the services are rebuilt with its pack when it changed. The install number is read from the
store, never remembered as truth, so servers hold no state that could disagree.
"""

from __future__ import annotations

import threading

from fastapi import Request
from sqlalchemy import func, select

from assay.services import Services, services_over
from audits.rulepacks import rules_in_force
from audits.schema import rule_packs


class InForce:
    """A server's services, rebuilt when the store's latest rule pack install changes."""

    def __init__(self, services: Services, *, fixed: bool) -> None:
        self._services = services
        self._fixed = fixed
        """Started with ``--rules``: that pack, whatever is installed."""
        self._install = self._latest(services)
        self._lock = threading.Lock()

    @staticmethod
    def _latest(services: Services) -> int | None:
        with services.store.read() as connection:
            found = connection.execute(select(func.max(rule_packs.c.number))).scalar()
        return None if found is None else int(found)

    @property
    def services(self) -> Services:
        """The services as they stand (no check against the store)."""
        return self._services

    def current(self) -> Services:
        """The services with the pack in force now."""
        if self._fixed:
            return self._services
        latest = self._latest(self._services)
        if latest != self._install:
            with self._lock:
                if latest != self._install:
                    old = self._services
                    pack = rules_in_force(old.store)
                    self._services = services_over(old.store, old.engagements.blobs, old.clock, pack)
                    self._install = latest
        return self._services


def services(request: Request) -> Services:
    """The server's services, for handlers that use no rule pack (sign-in, the public register):
    they skip asking the store which pack is in force."""
    found: InForce = request.app.state.in_force
    return found.services


def services_in_force(request: Request) -> Services:
    """The server's services with the rule pack in force now (engagement and rule-pack handlers)."""
    found: InForce = request.app.state.in_force
    return found.current()
