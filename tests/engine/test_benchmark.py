"""Cross-city benchmarking: percentile arithmetic, three sample communities, anonymity, refusals."""

from __future__ import annotations

from fractions import Fraction

import pytest

import examples
from engine.benchmark import (
    Benchmark,
    CharacteristicBenchmark,
    anonymous_label,
    build_benchmark,
    percentile,
    percentile_rank,
    rounded,
)
from engine.canonical import canonical_json
from engine.errors import InputError
from engine.reference import ReferenceInference
from engine.result import Reference, Result
from engine.rulepack import RulePack
from evidence_schemas.reader import read_pack
from tests.helpers import run_evaluation


@pytest.fixture(scope="module")
def results(rule_pack: RulePack, reference: ReferenceInference) -> dict[str, Result]:
    """The three sample communities, evaluated in-process with the reference evaluator."""
    return {
        name: run_evaluation(rule_pack, read_pack(examples.sample_pack(name)).pack, reference).result
        for name in examples.SAMPLES
    }


def _entries(results: dict[str, Result]) -> list[tuple[str, Result]]:
    return [(f"{name}/result.json", result) for name, result in results.items()]


def _char(benchmark: Benchmark, cid: str) -> CharacteristicBenchmark:
    return next(c for c in benchmark.characteristics if c.id == cid)


def _f(values: list[int]) -> list[Fraction]:
    return [Fraction(v) for v in values]


def test_percentiles_interpolate_between_closest_ranks() -> None:
    values = _f([4, 1, 3, 2])
    assert [percentile(values, Fraction(p, 4)) for p in range(5)] == [
        1,
        Fraction(7, 4),
        Fraction(5, 2),
        Fraction(13, 4),
        4,
    ]
    assert percentile(_f([2, 4, 5]), Fraction(1, 4)) == 3
    assert percentile(_f([2, 4, 5]), Fraction(3, 4)) == Fraction(9, 2)
    assert percentile(_f([3]), Fraction(1, 4)) == 3
    with pytest.raises(ValueError, match="no values"):
        percentile([], Fraction(1, 2))


def test_percentile_rank_is_the_mid_rank_and_ties_stand_equal() -> None:
    distinct = _f([2, 4, 5])
    assert [rounded(percentile_rank(distinct, v), 1) for v in distinct] == [16.7, 50.0, 83.3]
    tied = _f([2, 2, 5])
    assert [rounded(percentile_rank(tied, v), 1) for v in tied] == [33.3, 33.3, 83.3]
    assert percentile_rank(_f([3, 3]), Fraction(3)) == 50


def test_rounding_is_half_up_not_bankers() -> None:
    assert rounded(Fraction(1, 8), 2) == 0.13
    assert rounded(Fraction(25, 8), 2) == 3.13
    assert rounded(Fraction(5, 2), 0) == 3.0


def test_anonymous_labels_run_past_z() -> None:
    assert [anonymous_label(i) for i in (0, 1, 25, 26, 27, 701, 702)] == [
        "Community A",
        "Community B",
        "Community Z",
        "Community AA",
        "Community AB",
        "Community ZZ",
        "Community AAA",
    ]


def test_three_communities_per_characteristic(results: dict[str, Result], rule_pack: RulePack) -> None:
    benchmark = build_benchmark(_entries(results), rule_pack, anonymise=False)
    assert [p.label for p in benchmark.participants] == ["Harbourton", "Larkfield", "Norbridge"]
    resilience = _char(benchmark, "4.3")  # Harbourton 2, Larkfield 1, Norbridge 4
    assert resilience.statistics is not None
    assert resilience.statistics.counts == [1, 1, 0, 1, 0]
    stats = resilience.statistics
    assert (stats.n, stats.p25, stats.median, stats.p75) == (3, 1.5, 2.0, 3.0)
    assert [(s.label, s.level, s.percentile_rank) for s in resilience.standings] == [
        ("Harbourton", 2, 50.0),
        ("Larkfield", 1, 16.7),
        ("Norbridge", 4, 83.3),
    ]
    skills = _char(benchmark, "1.3.2")  # Harbourton 2, Larkfield 2, Norbridge 4: a tie
    assert skills.statistics is not None
    assert skills.statistics.counts == [0, 2, 0, 1, 0]
    assert (skills.statistics.p25, skills.statistics.median, skills.statistics.p75) == (2.0, 2.0, 3.0)
    assert [s.percentile_rank for s in skills.standings] == [33.3, 33.3, 83.3]
    order = ["harbourton", "larkfield", "norbridge"]
    for char in benchmark.characteristics:
        levels = [
            next(c.verified_level for c in results[n].characteristics if c.id == char.id) for n in order
        ]
        assert [s.level for s in char.standings] == levels
        assert char.statistics is not None
        assert char.statistics.counts == [levels.count(level) for level in range(1, 6)]


def test_three_communities_per_dimension(results: dict[str, Result], rule_pack: RulePack) -> None:
    benchmark = build_benchmark(_entries(results), rule_pack, anonymise=False)
    assert [d.id for d in benchmark.dimensions] == ["1", "2", "3", "4"]
    strategy = benchmark.dimensions[0]
    assert strategy.statistics is not None
    assert strategy.statistics.n == 36  # 12 characteristics x 3 communities
    pooled = [s.level for c in benchmark.characteristics if c.dimension == "1" for s in c.standings]
    assert strategy.statistics.counts == [pooled.count(level) for level in range(1, 6)]
    exact = sorted(Fraction(v) for v in pooled if v is not None)
    assert strategy.statistics.median == rounded(percentile(exact, Fraction(1, 2)), 2)
    for standing, name in zip(strategy.standings, ["harbourton", "larkfield", "norbridge"], strict=True):
        summary = next(g for g in results[name].summaries.groups if g.scope == "dimension" and g.id == "1")
        assert (standing.level, standing.mean) == (summary.level, summary.mean)
        assert sum(standing.counts) == 12
    assert [s.percentile_rank for s in strategy.standings] == [50.0, 16.7, 83.3]


def test_anonymised_labels_follow_pack_digests_and_hide_names(
    results: dict[str, Result], rule_pack: RulePack
) -> None:
    entries = _entries(results)
    anonymous = build_benchmark(entries, rule_pack, anonymise=True)
    assert [p.label for p in anonymous.participants] == ["Community A", "Community B", "Community C"]
    assert all(
        p.community is None and p.pack is None and p.evaluation_id is None for p in anonymous.participants
    )
    text = canonical_json(anonymous.model_dump(mode="json")).decode().casefold()
    for result in results.values():
        assert result.pack.community.casefold() not in text
        assert result.pack.id.casefold() not in text
        assert result.pack.digest not in text
    by_digest = sorted(results.values(), key=lambda r: r.pack.digest)
    resilience = _char(anonymous, "4.3")
    expected = [next(c.verified_level for c in r.characteristics if c.id == "4.3") for r in by_digest]
    assert [s.level for s in resilience.standings] == expected
    assert build_benchmark(list(reversed(entries)), rule_pack, anonymise=True) == anonymous


def test_the_order_files_are_given_in_does_not_matter(
    results: dict[str, Result], rule_pack: RulePack
) -> None:
    entries = _entries(results)
    forward = build_benchmark(entries, rule_pack, anonymise=False)
    assert build_benchmark([entries[2], entries[0], entries[1]], rule_pack, anonymise=False) == forward


def test_one_result_is_not_a_benchmark(results: dict[str, Result], rule_pack: RulePack) -> None:
    with pytest.raises(InputError) as caught:
        build_benchmark(_entries(results)[:1], rule_pack, anonymise=False)
    (problem,) = caught.value.problems
    assert problem.file == "larkfield/result.json"
    assert "two or more results, got 1" in problem.message


def test_a_community_given_twice_is_refused(results: dict[str, Result], rule_pack: RulePack) -> None:
    entries = [*_entries(results), ("copy/result.json", results["harbourton"])]
    with pytest.raises(InputError) as caught:
        build_benchmark(entries, rule_pack, anonymise=True)
    (problem,) = caught.value.problems
    assert (problem.file, problem.path) == ("copy/result.json", "pack.community")
    assert problem.message == "community 'Harbourton' is already given by harbourton/result.json"
    renamed = results["harbourton"].model_copy(
        update={"pack": results["harbourton"].pack.model_copy(update={"community": "Harbourton East"})}
    )
    with pytest.raises(InputError) as caught:
        build_benchmark([*_entries(results), ("east/result.json", renamed)], rule_pack, anonymise=False)
    (problem,) = caught.value.problems
    assert (problem.file, problem.path) == ("east/result.json", "pack.digest")


def test_mixed_rule_packs_are_refused(results: dict[str, Result], rule_pack: RulePack) -> None:
    older = results["norbridge"].model_copy(
        update={"rule_pack": Reference(id="iso37107-2019", digest="sha256:" + "0" * 64)}
    )
    entries = [*_entries(results)[:2], ("old/result.json", older)]
    with pytest.raises(InputError) as caught:
        build_benchmark(entries, rule_pack, anonymise=False)
    (problem,) = caught.value.problems
    assert (problem.file, problem.path) == ("old/result.json", "rule_pack")
    assert "only results of one rule pack can be compared" in problem.message
