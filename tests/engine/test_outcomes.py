"""The shared semantics: counting items, three-valued composition, levels, cumulative rating."""

from __future__ import annotations

import itertools

import pytest

from engine.outcomes import (
    LevelOutcome,
    Outcome,
    Pending,
    Status,
    combine,
    leaf_outcome,
    level_outcome,
    rate,
)
from engine.spec import EvidenceRule

MET, NOT, UND = Outcome("met", ("a",)), Outcome("not_met", missing="x"), Outcome("indeterminate", missing="y")


def rule(**fields: object) -> EvidenceRule:
    return EvidenceRule.model_validate({"kind": "kpi", **fields})


def test_met_when_enough_items_qualify() -> None:
    outcome = leaf_outcome(rule(min_count=2), {"k2": "qualifies", "k1": "qualifies", "k3": "unverified"})
    assert outcome.status == "met"
    assert outcome.evidence == ("k1", "k2")
    assert outcome.pending == (Pending("k3", "awaiting auditor acceptance"),)
    assert outcome.missing is None


def test_indeterminate_when_pending_items_could_make_up_the_count() -> None:
    outcome = leaf_outcome(
        rule(min_count=3, accepted=True), {"a": "qualifies", "b": "unverified", "c": "stale"}
    )
    assert outcome.status == "indeterminate"
    assert outcome.missing == (
        "needs 3 kpi item(s), accepted by an auditor; 1 qualify, "
        "2 pending (b: awaiting auditor acceptance, c: not current)"
    )


def test_not_met_names_what_is_missing_and_what_was_rejected() -> None:
    outcome = leaf_outcome(rule(min_count=2, where={"signal": {"equals": "leading"}}), {"r": "rejected"})
    assert outcome.status == "not_met"
    assert outcome.rejected == ("r",)
    assert (
        outcome.missing == "needs 2 kpi item(s) with signal = leading; 0 qualify; rejected by the auditor: r"
    )


def test_a_violation_of_every_fails_even_with_enough_qualifying_items() -> None:
    statuses = {"a": "qualifies", "b": "qualifies", "c": "violates"}
    outcome = leaf_outcome(rule(every={"baseline": {"exists": True}}), statuses)  # type: ignore[arg-type]
    assert outcome.status == "not_met"
    assert outcome.violations == ("c",)
    assert outcome.missing == "every kpi item must have baseline exists; c do(es) not"


@pytest.mark.parametrize(
    ("statuses", "expected"),
    [
        (("met", "met"), ("met", "met", "not_met")),
        (("met", "not_met"), ("not_met", "met", "not_met")),
        (("met", "indeterminate"), ("indeterminate", "met", "not_met")),
        (("not_met", "indeterminate"), ("not_met", "indeterminate", "met")),
        (("indeterminate", "indeterminate"), ("indeterminate", "indeterminate", "indeterminate")),
        (("not_met", "not_met"), ("not_met", "not_met", "met")),
    ],
)
def test_kleene_composition(statuses: tuple[Status, Status], expected: tuple[Status, Status, Status]) -> None:
    by = {"met": MET, "not_met": NOT, "indeterminate": UND}
    children = [("first", by[statuses[0]]), ("second", by[statuses[1]])]
    assert combine("all", children).status == expected[0]
    assert combine("any", children).status == expected[1]
    assert combine("not", children[:1]).status == expected[2]


def test_composition_keeps_evidence_of_met_children_and_explains_the_rest() -> None:
    all_of = combine("all", [("a", MET), ("b", NOT)])
    assert all_of.evidence == ("a",)
    assert all_of.missing == "b: x"
    any_of = combine("any", [("a", NOT), ("b", UND)])
    assert any_of.missing == "none of the alternatives holds: a: x; b: y"
    negated = combine("not", [("a", MET)])
    assert negated.missing == "a must not hold, but does (a)"


def _levels(own: dict[int, Status], as_at: dict[int, int]) -> dict[int, LevelOutcome]:
    levels: dict[int, LevelOutcome] = {}
    for n in sorted(own):
        inherited = (as_at[n], levels[as_at[n]].criteria) if n in as_at else None
        levels[n] = level_outcome(
            n, [("r", Outcome(own[n], missing=None if own[n] == "met" else "m"))], inherited
        )
    return levels


def test_rating_is_cumulative_and_reports_capped_levels() -> None:
    restating = _levels({2: "met", 3: "not_met", 4: "met", 5: "met"}, {})
    rating = rate(restating)
    assert rating.verified == 2
    assert rating.capped == (4, 5)
    inheriting = _levels({2: "met", 3: "not_met", 4: "met", 5: "met"}, {3: 2, 4: 3, 5: 4})
    assert inheriting[4].own.status == "met"
    assert inheriting[4].criteria.status == "not_met"
    assert rate(inheriting).verified == 2
    assert rate(inheriting).capped == (4, 5)


def test_level_one_is_the_floor_and_indeterminate_does_not_count() -> None:
    assert rate(_levels({2: "not_met", 3: "met", 4: "met", 5: "met"}, {})).verified == 1
    assert rate(_levels({2: "indeterminate", 3: "met", 4: "met", 5: "met"}, {})).verified == 1
    assert rate(_levels({2: "met", 3: "met", 4: "met", 5: "met"}, {3: 2, 4: 3, 5: 4})).verified == 5


@pytest.mark.parametrize("own", list(itertools.product(["met", "not_met", "indeterminate"], repeat=4)))
def test_verified_is_the_top_of_the_run_of_met_levels(own: tuple[Status, ...]) -> None:
    levels = _levels(dict(zip((2, 3, 4, 5), own, strict=True)), {3: 2, 4: 3, 5: 4})
    run = list(itertools.takewhile(lambda s: s == "met", own))
    assert rate(levels).verified == 1 + len(run)
