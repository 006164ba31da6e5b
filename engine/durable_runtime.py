"""A small, safe interface to durable_rules 2.0.28.

durable_rules is the matching engine; this module keeps the project clear of its known
hazards (see shared/notes/durable-rules.md):

- its ``Host`` starts dispatcher and timer threads that crash after ``delete_state``; the host
  here starts none (inference is synchronous: ``assert_fact`` runs actions to a fixpoint);
- fact ids, session ids and join values are looked up by a 32-bit FNV-1a hash, never compared
  in full, so every id handed to it is checked for a hash collision first;
- exceptions inside actions are swallowed into the session state: every action is wrapped,
  errors are recorded, and the session state is checked, so a failing action fails the run;
- ruleset names are process-wide and cannot be redefined: they are named by content digest
  and registered once per runtime;
- at most 1,024 live sessions per ruleset: every session is deleted in a ``finally``.
"""

from __future__ import annotations

import itertools
import threading
import types
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, Protocol

import durable_rules_engine
import orjson
from durable import engine as durable

from engine.errors import EngineError
from engine.patterns import MAX_RULES

RuleDefinition = dict[str, Any]


def fnv1a32(text: str) -> int:
    """The hash durable_rules identifies ids by (its ``fnv1Hash32``)."""
    value = 0x811C9DC5
    for byte in text.encode("utf-8"):
        value = ((value ^ byte) * 16777619) & 0xFFFFFFFF
    return value


def _fast_json() -> types.SimpleNamespace:
    """What durable_rules' engine module uses as ``json``, on orjson.

    durable_rules passes every fact, action message and session state between Python and its C
    core as JSON text, several times per rule firing: with the standard library this is about a
    sixth of an evaluation. orjson reads and writes the same JSON; evaluations are byte-identical
    (the engine tests compare durable_rules with the reference evaluator). Only ``dumps`` and
    ``loads`` are used there, always with ``ensure_ascii=False``, which is orjson's only mode.
    """

    def dumps(value: Any, ensure_ascii: bool = False) -> str:
        return orjson.dumps(value).decode("utf-8")

    return types.SimpleNamespace(dumps=dumps, loads=orjson.loads)


durable.json = _fast_json()


class _QuietHost(durable.Host):  # type: ignore[misc]
    """A durable_rules host that starts no background threads.

    Overrides the private ``_run``: tests check that no thread is started.
    """

    def _run(self) -> None:
        return None


class Session:
    """State of one evaluation of one ruleset, shared by the actions that fire in it."""

    def __init__(self, sid: str) -> None:
        self.sid = sid
        self.errors: list[str] = []
        self.started = False
        """Whether durable_rules holds state for this session (it does after a first fact)."""
        self._used: set[int] = set()
        self._counter = itertools.count(1)
        self._keys = itertools.count(1)
        self._key_hashes: set[int] = set()

    def fact_id(self) -> str:
        """A fact id whose hash no other fact in this session has."""
        while True:
            candidate = f"f{next(self._counter)}"
            hashed = fnv1a32(f"{self.sid}!{candidate}")
            if hashed not in self._used:
                self._used.add(hashed)
                return candidate

    def join_key(self) -> int:
        """An integer join value whose hash no other join value in this session has."""
        while True:
            candidate = next(self._keys)
            hashed = fnv1a32(str(candidate))
            if hashed not in self._key_hashes:
                self._key_hashes.add(hashed)
                return candidate


class Action(Protocol):
    """What a rule does when it fires; ``describe`` names it for errors and digests."""

    def describe(self) -> str: ...

    def apply(self, session: Any, closure: Any) -> None: ...


class DurableRuntime:
    """One durable_rules host and the sessions running on it."""

    def __init__(self) -> None:
        self._host = _QuietHost()
        self._registered: set[str] = set()
        self._sessions: dict[str, Session] = {}
        self._live_sid_hashes: dict[str, set[int]] = {}
        self._sid_counter = itertools.count(1)
        self._lock = threading.Lock()

    def register(self, name: str, rules: Mapping[str, tuple[list[RuleDefinition], Action]]) -> None:
        """Register a ruleset once; ``rules`` maps rule name -> (patterns, action)."""
        with self._lock:
            if name in self._registered:
                return
            if len(rules) > MAX_RULES:
                raise EngineError(f"ruleset {name} has {len(rules)} rules; the limit is {MAX_RULES}")
            definition = {
                rule_name: {"all": patterns, "run": self._bind(action)}
                for rule_name, (patterns, action) in rules.items()
            }
            self._host.register_rulesets({name: definition})
            self._registered.add(name)

    def _bind(self, action: Action) -> Callable[[Any], None]:
        # One parameter only: durable_rules runs two-parameter actions asynchronously.
        def run(closure: Any) -> None:
            session = self._sessions.get(closure.s.sid)
            if session is None:
                raise EngineError(f"no session {closure.s.sid!r} for {action.describe()}")
            try:
                action.apply(session, closure)
            except BaseException as exc:  # durable_rules would swallow it: record, fail later
                session.errors.append(f"{action.describe()}: {type(exc).__name__}: {exc}")

        return run

    @contextmanager
    def session(self, name: str, factory: Callable[[str], Session]) -> Iterator[Session]:
        """A fresh, isolated session on ruleset ``name``, deleted on exit whatever happens."""
        with self._lock:
            live = self._live_sid_hashes.setdefault(name, set())
            while True:
                sid = f"s{next(self._sid_counter)}"
                hashed = fnv1a32(sid)
                if hashed not in live:
                    break
            live.add(hashed)
            session = factory(sid)
            self._sessions[sid] = session
        try:
            yield session
        finally:
            with self._lock:
                try:
                    if session.started:
                        self._host.delete_state(name, sid)
                finally:
                    del self._sessions[sid]
                    live.discard(hashed)

    def assert_facts(self, name: str, session: Session, facts: list[dict[str, Any]]) -> None:
        """Assert facts (running every action they trigger) and fail on any swallowed error."""
        if not facts:
            return
        for fact in facts:
            fact["sid"] = session.sid
        try:
            with self._lock:
                session.started = True
                if len(facts) == 1:
                    self._host.assert_fact(name, facts[0])
                else:
                    self._host.assert_facts(name, facts)
                state = self._host.get_state(name, session.sid)
        except (durable.MessageNotHandledException, durable.MessageObservedException) as exc:
            raise EngineError(f"durable_rules refused a fact in {name}: {exc.message}") from None
        except durable_rules_engine.error as exc:
            raise EngineError(f"durable_rules failed in {name}: {exc}") from None
        if session.errors:
            raise EngineError("rule action failed: " + "; ".join(session.errors))
        if "exception" in state:
            raise EngineError(f"rule action failed inside durable_rules: {state['exception']}")

    def facts(self, name: str, session: Session) -> list[dict[str, Any]]:
        """All facts the session holds (base and derived)."""
        with self._lock:
            result: list[dict[str, Any]] = self._host.get_facts(name, session.sid)
        return result

    def live_sessions(self) -> int:
        """Sessions not yet deleted (zero between evaluations)."""
        return len(self._sessions)
