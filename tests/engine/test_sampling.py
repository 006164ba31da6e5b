"""Proposed samples: sized by the scheme's rule, reproducible, not movable by editing the set."""

from __future__ import annotations

import pytest

from engine.sampling import SampleRule, propose_sample


@pytest.mark.parametrize(
    ("population", "size"),
    [(0, 0), (1, 1), (3, 3), (4, 3), (9, 3), (10, 4), (16, 4), (17, 5), (400, 20), (10_000, 20)],
)
def test_the_default_size_is_the_square_root_held_between_3_and_20(population: int, size: int) -> None:
    assert SampleRule().size(population) == size


def test_a_sample_is_reproducible_and_drawn_from_the_set() -> None:
    items = [f"kpi-{n:03d}" for n in range(50)]
    seed, requirement = "sha256:pack|sha256:rules|2026-06-30", "1.5.2/3/every-kpi-baselined"
    sample = propose_sample(seed, requirement, items, SampleRule())
    assert len(sample) == 8
    assert set(sample) <= set(items)
    assert list(sample) == sorted(sample)
    assert sample == propose_sample(seed, requirement, reversed(items), SampleRule())


def test_another_seed_or_requirement_draws_another_sample() -> None:
    items = [f"d{n}" for n in range(100)]
    first = propose_sample("seed-a", "2.2.1/3/licensed", items, SampleRule())
    assert first != propose_sample("seed-b", "2.2.1/3/licensed", items, SampleRule())
    assert first != propose_sample("seed-a", "2.2.1/4/licensed", items, SampleRule())


def test_adding_items_does_not_reshuffle_those_already_ranked() -> None:
    # Each item's rank depends only on the seed, the requirement and its own id: a community that
    # adds items can push one into the sample only by making it rank high, which it cannot predict
    # without the seed's rule-pack digest and assessment date being fixed in advance.
    items = [f"d{n}" for n in range(30)]
    small = set(propose_sample("seed", "r", items, SampleRule(least=3, most=3)))
    grown = set(propose_sample("seed", "r", [*items, "extra-1", "extra-2"], SampleRule(least=3, most=3)))
    assert len(small & grown) >= 1


def test_the_rule_says_itself() -> None:
    assert SampleRule(least=5, most=10).describe() == "the square root of the set, at least 5 and at most 10"
