"""Outcomes and how they combine: the semantics both evaluators share.

Matching evidence to requirements is done twice, independently: by durable_rules
(:mod:`engine.durable_engine`) and by plain Python (:mod:`engine.reference`). What happens
after matching - counting items, three-valued composition, level criteria, cumulative rating -
is the small, pure logic in this module, called by both.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Literal

from engine.explain import describe_conditions, describe_scope
from engine.spec import EvidenceRule

Status = Literal["met", "not_met", "indeterminate"]
ItemStatus = Literal["qualifies", "unverified", "stale", "violates", "rejected"]
ITEM_STATUSES: tuple[ItemStatus, ...] = ("qualifies", "unverified", "stale", "violates", "rejected")
# Stale: older than the requirement allows, or dated after the assessment date (never current).
_PENDING_REASON = {"unverified": "awaiting auditor acceptance", "stale": "not current"}


@dataclass(frozen=True)
class Pending:
    """An item that would count if it were verified or current."""

    id: str
    """Evidence id."""
    reason: str
    """Why it does not count yet."""


@dataclass(frozen=True)
class Outcome:
    """The outcome of one requirement node (or of a level's criteria)."""

    status: Status
    """met, not_met or indeterminate."""
    evidence: tuple[str, ...] = ()
    """Ids of the items behind a met outcome, sorted."""
    pending: tuple[Pending, ...] = ()
    """Items that await verification or are stale, sorted by id."""
    violations: tuple[str, ...] = ()
    """Items in scope that fail conditions every item must meet, sorted."""
    rejected: tuple[str, ...] = ()
    """Items in scope an auditor rejected (they never count), sorted."""
    missing: str | None = None
    """What is missing, when not met."""
    through: str | None = None
    """Met through a higher-level requirement it lists in ``met_by`` (its node key), if so."""


def met_through(own: Outcome, alternatives: Sequence[tuple[str, Outcome]]) -> Outcome:
    """A requirement that higher-level requirements of the same practice can stand in for
    (``met_by``): met when its own outcome is, else when one of them is (the first, in the order
    listed), and then it rests on that one's items. Otherwise its own outcome stands, undecided
    rather than unmet while a higher one is undecided."""
    if own.status == "met":
        return own
    for key, outcome in alternatives:
        if outcome.status == "met":
            return Outcome("met", outcome.evidence, through=key)
    if own.status == "not_met" and any(o.status == "indeterminate" for _, o in alternatives):
        return replace(own, status="indeterminate")
    return own


@dataclass(frozen=True)
class LevelOutcome:
    """Outcome of one level of one characteristic."""

    level: int
    own: Outcome
    """The level's own requirements."""
    criteria: Outcome
    """Own requirements plus those inherited through ``as_at``."""


@dataclass(frozen=True)
class Rating:
    """The verified level and what lies above it."""

    verified: int
    """Highest level whose criteria, and those of every level below, are met (1 at least)."""
    capped: tuple[int, ...]
    """Levels above the first unmet one whose own requirements are met but are not credited."""


@dataclass(frozen=True)
class CharacteristicInference:
    """Everything inference derived for one characteristic."""

    characteristic: str
    nodes: Mapping[str, Outcome]
    """Requirement node key -> outcome."""
    levels: Mapping[int, LevelOutcome]
    rating: Rating


@dataclass(frozen=True)
class JudgementFacts:
    """The auditor's judgement of one requirement, as inference sees it."""

    requirement: str
    """Requirement node key, ``<characteristic>/<level>/<id>``."""
    rating: Literal["fully", "largely", "partially", "not"]
    cites: tuple[str, ...]
    """The items it rests on, sorted."""
    method: str
    reason: str
    auditor: str
    date: str
    """ISO date."""

    @property
    def satisfied(self) -> bool:
        """Fully or largely implemented: the requirement can be met."""
        return self.rating in ("fully", "largely")


def leaf_outcome(
    rule: EvidenceRule, statuses: Mapping[str, ItemStatus], judgement: JudgementFacts | None = None
) -> Outcome:
    """Outcome of an evidence predicate from the status of each item in its scope.

    A requirement that needs the auditor's judgement (``rule.judgement``) counts only the items
    the judgement cites, and is met only when those meet its conditions and the judgement says
    fully or largely implemented; partially or not implemented is not met, with the auditor's
    reason as what is missing. Conditions every item must meet (``every``) still apply to all
    items in scope, cited or not. Without a judgement it is never met: indeterminate while items in
    scope could be judged ("awaiting the auditor's judgement"), not met when none could.
    """
    if rule.judgement is None:
        return _machine_outcome(rule, statuses)
    if judgement is None:
        machine = _machine_outcome(rule, statuses)
        if machine.status == "not_met":
            return machine
        # Items still awaiting verification or not current come first: until they are settled
        # there is nothing to judge.
        missing = _AWAITING if machine.status == "met" else f"{machine.missing}; then {_AWAITING}"
        return Outcome("indeterminate", (), machine.pending, (), machine.rejected, missing)
    # Conditions every item in scope must meet still range over the whole scope: a judgement
    # cannot cite its way around an item that breaks them.
    cited = {i: s for i, s in statuses.items() if i in judgement.cites or s == "violates"}
    outside = [i for i in judgement.cites if i not in statuses]
    machine = _machine_outcome(rule, cited)
    said = (
        f"judged {judgement.rating} implemented by "
        f"{judgement.auditor} on {judgement.date} ({judgement.method.replace('_', ' ')}): {judgement.reason}"
    )
    if not judgement.satisfied:
        return Outcome("not_met", (), machine.pending, machine.violations, machine.rejected, said)
    if machine.status == "met":
        return machine
    outside_text = f"; cited but not in scope: {', '.join(outside)}" if outside else ""
    missing = f"{machine.missing}{outside_text} (of the items the judgement cites)"
    return Outcome(
        machine.status, machine.evidence, machine.pending, machine.violations, machine.rejected, missing
    )


_AWAITING = "awaiting the auditor's judgement"


def _machine_outcome(rule: EvidenceRule, statuses: Mapping[str, ItemStatus]) -> Outcome:
    """The predicate's outcome from its conditions alone."""
    by_status: dict[ItemStatus, list[str]] = {s: [] for s in ITEM_STATUSES}
    for evidence_id, item_status in statuses.items():
        by_status[item_status].append(evidence_id)
    qualifying = tuple(sorted(by_status["qualifies"]))
    violations = tuple(sorted(by_status["violates"]))
    rejected = tuple(sorted(by_status["rejected"]))
    refused = f"; rejected by the auditor: {', '.join(rejected)}" if rejected else ""
    pending = tuple(
        sorted(
            (Pending(i, _PENDING_REASON[s]) for s in ("unverified", "stale") for i in by_status[s]),
            key=lambda p: p.id,
        )
    )
    need = rule.min_count
    if violations:
        rule_text = describe_conditions(rule.every)
        message = f"every {rule.kind} item must have {rule_text}; {', '.join(violations)} do(es) not"
        return Outcome("not_met", qualifying, pending, violations, rejected, message + refused)
    if len(qualifying) >= need:
        return Outcome("met", qualifying, pending, (), rejected)
    found = f"{len(qualifying)} qualify"
    if pending:
        found += f", {len(pending)} pending ({', '.join(f'{p.id}: {p.reason}' for p in pending)})"
    missing = f"needs {need} {describe_scope(rule)}; {found}{refused}"
    status: Status = "indeterminate" if len(qualifying) + len(pending) >= need else "not_met"
    return Outcome(status, qualifying, pending, (), rejected, missing)


def combine(form: Literal["all", "any", "not"], children: Sequence[tuple[str, Outcome]]) -> Outcome:
    """Three-valued (Kleene) composition of child outcomes, given as ``(label, outcome)``."""
    statuses = [o.status for _, o in children]
    pending = tuple(sorted({p for _, o in children for p in o.pending}, key=lambda p: (p.id, p.reason)))
    violations = tuple(sorted({v for _, o in children for v in o.violations}))
    rejected = tuple(sorted({r for _, o in children for r in o.rejected}))
    if form == "not":
        ((label, child),) = children
        if child.status == "met":
            holding = ", ".join(child.evidence) or "no items"
            return Outcome(
                "not_met",
                (),
                pending,
                violations,
                rejected,
                f"{label} must not hold, but does ({holding})",
            )
        status: Status = "met" if child.status == "not_met" else "indeterminate"
        return Outcome(
            status,
            (),
            pending,
            violations,
            rejected,
            None if status == "met" else f"{label} is undecided",
        )
    met_evidence = tuple(sorted({e for _, o in children if o.status == "met" for e in o.evidence}))
    unmet = "; ".join(f"{label}: {o.missing}" for label, o in children if o.status != "met")
    if form == "all":
        if "not_met" in statuses:
            status = "not_met"
        elif "indeterminate" in statuses:
            status = "indeterminate"
        else:
            status = "met"
    elif "met" in statuses:
        status = "met"
    else:
        status = "indeterminate" if "indeterminate" in statuses else "not_met"
    if status == "met":
        return Outcome("met", met_evidence, pending, violations, rejected)
    missing = unmet if form == "all" else f"none of the alternatives holds: {unmet}"
    return Outcome(status, met_evidence, pending, violations, rejected, missing)


def level_outcome(
    level: int, own: Sequence[tuple[str, Outcome]], inherited: tuple[int, Outcome] | None
) -> LevelOutcome:
    """A level's own outcome and its criteria outcome (own plus inherited level's criteria)."""
    own_outcome = combine("all", own)
    if inherited is None:
        return LevelOutcome(level, own_outcome, own_outcome)
    source, criteria = inherited
    parts = [("own requirements", own_outcome), (f"as at level {source}", criteria)]
    return LevelOutcome(level, own_outcome, combine("all", parts))


def rate(levels: Mapping[int, LevelOutcome]) -> Rating:
    """Cumulative rating: a level counts only if every lower level is met too."""
    verified = 1
    for number in sorted(levels):
        if number != verified + 1 or levels[number].criteria.status != "met":
            break
        verified = number
    capped = tuple(n for n in sorted(levels) if n > verified + 1 and levels[n].own.status == "met")
    return Rating(verified, capped)
