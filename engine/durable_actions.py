"""What durable_rules rules do when they fire: the actions, and the session they share.

Rules match; actions only record what matched and derive the next fact in the chain (checked
item, outcome, level, rating). Each action is a frozen dataclass: what it does depends only on
its fields, which also name it in the ruleset digest and in error messages.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Literal

from engine.durable_runtime import Session
from engine.errors import EngineError
from engine.outcomes import (
    ItemStatus,
    JudgementFacts,
    LevelOutcome,
    Outcome,
    Rating,
    combine,
    leaf_outcome,
    level_outcome,
    met_through,
    rate,
)
from engine.spec import EvidenceRule


class ShardSession(Session):
    """One characteristic's inference in progress."""

    def __init__(self, sid: str) -> None:
        super().__init__(sid)
        self.items: dict[int, str] = {}
        """Join key -> evidence id."""
        self.statuses: dict[str, dict[str, ItemStatus]] = {}
        """Predicate node -> evidence id -> status."""
        self.outcomes: dict[str, Outcome] = {}
        self.arrived: dict[str, dict[str, Outcome]] = {}
        """Composite node or level -> child node -> outcome received."""
        self.inherited: set[str] = set()
        """Levels whose inherited (as_at) level has settled."""
        self.levels: dict[int, LevelOutcome] = {}
        self.rating: Rating | None = None
        self.offered: list[JudgementFacts] = []
        """Judgements asserted as facts, by their fact's index ``n``."""
        self.judgements: dict[str, JudgementFacts] = {}
        """Predicate node -> the judgement its rule received."""
        self.own: dict[str, Outcome] = {}
        """Node with ``met_by`` -> its own outcome, until the requirements that can meet it settle."""

    def settle(self, closure: Any, node: str, up: str, outcome: Outcome) -> None:
        """Record a node's outcome and assert it as a fact for the rules above it."""
        if node in self.outcomes:
            raise EngineError(f"outcome of {node} derived twice")
        self.outcomes[node] = outcome
        closure.assert_fact(
            {"id": self.fact_id(), "t": "outcome", "node": node, "up": up, "s": outcome.status}
        )

    def defer(self, closure: Any, node: str, outcome: Outcome) -> None:
        """Keep the own outcome of a node with ``met_by`` and announce it to its MetThrough rule."""
        if node in self.own or node in self.outcomes:
            raise EngineError(f"own outcome of {node} derived twice")
        self.own[node] = outcome
        closure.assert_fact({"id": self.fact_id(), "t": "own", "node": node})

    def receive(self, node: str, child: str, status: str) -> dict[str, Outcome]:
        """Note a child's outcome for ``node``; returns what has arrived so far."""
        outcome = self.outcomes[child]
        if outcome.status != status:
            raise EngineError(f"fact for {child} says {status}, session says {outcome.status}")
        arrived = self.arrived.setdefault(node, {})
        if child in arrived:
            raise EngineError(f"outcome of {child} arrived twice at {node}")
        arrived[child] = outcome
        return arrived


class DurableAction:
    """Base of the actions rules run; subclasses are frozen dataclasses."""

    def describe(self) -> str:
        """Stable text naming the action and all it depends on (feeds the ruleset digest)."""
        return json.dumps([type(self).__name__, _plain(self)], sort_keys=True, default=str)

    def apply(self, session: ShardSession, closure: Any) -> None:
        raise NotImplementedError


def _plain(action: object) -> Any:
    values = {}
    for name, value in vars(action).items():
        values[name] = value.model_dump(mode="json") if hasattr(value, "model_dump") else value
    return values


@dataclass(frozen=True)
class CheckItem(DurableAction):
    """An item met its verdict (or, after phase 1, the lack of one): derive the checked item."""

    verdict: str

    def apply(self, session: ShardSession, closure: Any) -> None:
        item = dict(closure.i._d)
        del item["sid"]
        item.update(id=session.fact_id(), t="checked", verdict=self.verdict)
        closure.assert_fact(item)


@dataclass(frozen=True)
class ClassifyItem(DurableAction):
    """An item in scope of a predicate got its status.

    A classification compiles to one rule per alternative (one_of, contains_any, a negated
    ``every``), so an item can match several of them with the same status: that is one match.
    Two different statuses for one item would be a broken rule set.
    """

    node: str
    status: ItemStatus

    def apply(self, session: ShardSession, closure: Any) -> None:
        evidence_id = session.items[closure.i.k]
        statuses = session.statuses.setdefault(self.node, {})
        earlier = statuses.setdefault(evidence_id, self.status)
        if earlier != self.status:
            raise EngineError(f"{evidence_id} is both {earlier} and {self.status} for {self.node}")


@dataclass(frozen=True)
class RecordJudgement(DurableAction):
    """The auditor's judgement of a predicate that needs one arrived: keep it for closing.

    One rule per characteristic receives them all (a rule per judged predicate made every item
    fact cost more to match, for nothing: the node is in the fact)."""

    nodes: tuple[str, ...]
    """The characteristic's predicates that need a judgement."""

    def apply(self, session: ShardSession, closure: Any) -> None:
        judgement = session.offered[closure.j.n]
        node = judgement.requirement
        if node not in self.nodes or node in session.judgements:
            raise EngineError(f"judgement of {node} arrived twice or for no judged predicate")
        session.judgements[node] = judgement


@dataclass(frozen=True)
class ClosePredicate(DurableAction):
    """Phase 2: count the classified items of a predicate and settle its outcome."""

    node: str
    up: str
    rule: EvidenceRule
    deferred: bool = False
    """The node has ``met_by``: its MetThrough rule settles it."""

    def apply(self, session: ShardSession, closure: Any) -> None:
        judgement = session.judgements.get(self.node)
        outcome = leaf_outcome(self.rule, session.statuses.get(self.node, {}), judgement)
        if self.deferred:
            session.defer(closure, self.node, outcome)
        else:
            session.settle(closure, self.node, self.up, outcome)


@dataclass(frozen=True)
class Compose(DurableAction):
    """all / any / not: settle once every child's outcome has arrived."""

    node: str
    up: str
    form: Literal["all", "any", "not"]
    children: tuple[tuple[str, str], ...]
    """(child node key, label) in spec order."""
    deferred: bool = False
    """The node has ``met_by``: its MetThrough rule settles it."""

    def apply(self, session: ShardSession, closure: Any) -> None:
        arrived = session.receive(self.node, closure.o.node, closure.o.s)
        if len(arrived) == len(self.children):
            parts = [(label, arrived[key]) for key, label in self.children]
            if self.deferred:
                session.defer(closure, self.node, combine(self.form, parts))
            else:
                session.settle(closure, self.node, self.up, combine(self.form, parts))


@dataclass(frozen=True)
class MetThrough(DurableAction):
    """A node with ``met_by``: once its own outcome and those of the higher-level requirements it
    lists have settled, settle it (see :func:`engine.outcomes.met_through`)."""

    node: str
    up: str
    alternatives: tuple[str, ...]
    """Node keys of the higher-level requirements, in the order listed."""

    def apply(self, session: ShardSession, closure: Any) -> None:
        own = session.own.pop(self.node, None)
        if own is None:
            raise EngineError(f"met_by of {self.node} fired without its own outcome")
        outcome = met_through(own, [(key, session.outcomes[key]) for key in self.alternatives])
        session.settle(closure, self.node, self.up, outcome)


@dataclass(frozen=True)
class SettleLevel(DurableAction):
    """A level: settle once its own requirements and any inherited level have arrived."""

    key: str
    level: int
    own: tuple[tuple[str, str], ...]
    as_at: int | None

    def apply(self, session: ShardSession, closure: Any) -> None:
        if closure.l is not None:  # the inherited level has settled
            if self.key in session.inherited:
                raise EngineError(f"level {self.as_at} arrived twice at {self.key}")
            session.inherited.add(self.key)
            arrived = session.arrived.get(self.key, {})
        else:
            arrived = session.receive(self.key, closure.o.node, closure.o.s)
        waiting = self.as_at is not None and self.key not in session.inherited
        if len(arrived) < len(self.own) or waiting:
            return
        inherited = None
        if self.as_at is not None:
            inherited = (self.as_at, session.levels[self.as_at].criteria)
        outcome = level_outcome(self.level, [(label, arrived[key]) for key, label in self.own], inherited)
        if self.level in session.levels:
            raise EngineError(f"level {self.level} settled twice")
        session.levels[self.level] = outcome
        closure.assert_fact(
            {
                "id": session.fact_id(),
                "t": "level",
                "level": self.level,
                "own": outcome.own.status,
                "s": outcome.criteria.status,
            }
        )


@dataclass(frozen=True)
class Rate(DurableAction):
    """Once every level has settled, derive the verified level."""

    levels: tuple[int, ...]

    def apply(self, session: ShardSession, closure: Any) -> None:
        if len(session.levels) < len(self.levels) or session.rating is not None:
            return
        session.rating = rate(session.levels)
        closure.assert_fact({"id": session.fact_id(), "t": "rating", "verified": session.rating.verified})


@dataclass(frozen=True)
class Ignore(DurableAction):
    """Sink rules never fire (their second pattern never matches); they keep facts stored."""

    what: str

    def apply(self, session: ShardSession, closure: Any) -> None:
        raise EngineError(f"sink rule for {self.what} fired")
