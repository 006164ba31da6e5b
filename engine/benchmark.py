"""Cross-city benchmarking: how the verified levels of several communities compare.

ISO/TS 37107:2019 names cross-city benchmarking among the assessment methods (clause 5.1,
Figure 3): communities exchange their results to compare and to challenge each other's evidence.
Here the results compared are verified ones, of one rule pack, so like is compared with like. For
every characteristic and every dimension this module counts the levels, gives the quartiles and
places each community by level and percentile rank. Arithmetic is exact (fractions) and rounded
half up at the end, so identical inputs give identical numbers on every platform.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from typing import Literal

from pydantic import Field

from engine.errors import InputError, Problem
from engine.result import Frozen, GroupSummary, Reference, Result
from engine.rulepack import RulePack

METHOD = (
    "percentiles: linear interpolation between closest ranks (Hyndman-Fan definition 7, as "
    "PERCENTILE.INC); percentile rank: share of values below plus half the share equal, in percent "
    "(mid-rank); exact arithmetic, rounded half up (percentiles 2 decimals, ranks 1 decimal); a "
    "dimension's distribution pools its characteristics' levels, and communities are ranked there by "
    "their mean level"
)
"""The statistics used, in words (also written into every benchmark)."""


class Participant(Frozen):
    """One community in the comparison."""

    label: str = Field(description="Community name, or 'Community A', 'Community B', ... when anonymised.")
    community: str | None = Field(description="Community name; None when anonymised.")
    pack: Reference | None = Field(description="Evidence pack id and digest; None when anonymised.")
    evaluation_id: str | None = Field(description="Evaluation id; None when anonymised.")
    as_of: dt.date = Field(description="Assessment date of its result.")


class Statistics(Frozen):
    """Distribution and quartiles of a set of verified levels."""

    n: int = Field(description="Number of levels.")
    counts: list[int] = Field(description="counts[i] = how many levels are i + 1 (levels 1-5).")
    p25: float = Field(description="25th percentile.")
    median: float = Field(description="50th percentile.")
    p75: float = Field(description="75th percentile.")


class Standing(Frozen):
    """Where one community stands on one characteristic."""

    label: str
    level: int | None = Field(description="Verified level; None when not encoded.")
    percentile_rank: float | None = Field(description="Percentile rank of the level among the communities.")


class DimensionStanding(Frozen):
    """Where one community stands in one dimension."""

    label: str
    level: int | None = Field(description="The dimension's level in its result (lowest verified level).")
    mean: float | None = Field(description="Mean verified level in its result.")
    counts: list[int] = Field(description="Its characteristics at each level 1-5.")
    percentile_rank: float | None = Field(description="Percentile rank of the mean among the communities.")


class CharacteristicBenchmark(Frozen):
    """One characteristic across the communities."""

    id: str
    title: str
    dimension: str = Field(description="Dimension id.")
    statistics: Statistics | None = Field(description="None when no community has a level for it.")
    standings: list[Standing] = Field(description="One per participant, in participant order.")


class DimensionBenchmark(Frozen):
    """One dimension across the communities."""

    id: str
    title: str
    statistics: Statistics | None = Field(description="Of all its characteristics' levels, pooled.")
    standings: list[DimensionStanding]


class Benchmark(Frozen):
    """Several communities' results of one rule pack, compared."""

    format: Literal["assay-benchmark/1"] = "assay-benchmark/1"
    model: str = Field(description="Standard evaluated against.")
    rule_pack: Reference
    anonymised: bool
    method: str = Field(description="The statistics used, in words.")
    participants: list[Participant] = Field(description="Named: by name; anonymised: by pack digest.")
    dimensions: list[DimensionBenchmark]
    characteristics: list[CharacteristicBenchmark]


def percentile(values: Sequence[Fraction], p: Fraction) -> Fraction:
    """The ``p``-quantile (0 <= p <= 1) of ``values``, exactly.

    Method: linear interpolation between closest ranks, Hyndman and Fan's definition 7 (the
    default of NumPy and R, and spreadsheet PERCENTILE.INC). Sort the n values as
    x[0] <= ... <= x[n-1]; let h = (n - 1) * p, i = floor(h); the quantile is
    x[i] + (h - i) * (x[i+1] - x[i]) (just x[i] when h is whole). It always lies between two
    observed values and needs no tie rule, so it is fully deterministic; fractions keep it exact.
    """
    if not values:
        raise ValueError("no values")
    ordered = sorted(values)
    h = (len(ordered) - 1) * p
    i = int(h)  # h >= 0, so int() is floor()
    if i + 1 >= len(ordered):
        return ordered[-1]
    return ordered[i] + (h - i) * (ordered[i + 1] - ordered[i])


def percentile_rank(values: Sequence[Fraction], value: Fraction) -> Fraction:
    """Percentile rank of ``value`` in ``values`` (which include it), in percent.

    Mid-rank definition: 100 * (number below + half the number equal) / n. Ties share one rank,
    so equal levels stand equal; the lowest of three distinct values gets 16.7, the middle 50,
    the highest 83.3.
    """
    below = sum(1 for v in values if v < value)
    equal = sum(1 for v in values if v == value)
    return Fraction(100) * (below + Fraction(equal, 2)) / len(values)


def rounded(value: Fraction, places: int) -> float:
    """``value`` rounded half up to ``places`` decimals (never banker's rounding, never float error)."""
    exact = Decimal(value.numerator) / Decimal(value.denominator)
    return float(exact.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP))


def statistics(levels: Sequence[int]) -> Statistics | None:
    """Counts per level and quartiles of ``levels``; None for no levels."""
    if not levels:
        return None
    exact = [Fraction(v) for v in levels]
    return Statistics(
        n=len(levels),
        counts=_counts(levels),
        p25=rounded(percentile(exact, Fraction(1, 4)), 2),
        median=rounded(percentile(exact, Fraction(1, 2)), 2),
        p75=rounded(percentile(exact, Fraction(3, 4)), 2),
    )


def anonymous_label(index: int) -> str:
    """'Community A' for 0, ... 'Community Z', then 'Community AA', 'Community AB', ..."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return f"Community {letters}"


def build_benchmark(entries: Sequence[tuple[str, Result]], rules: RulePack, *, anonymise: bool) -> Benchmark:
    """Compare results (each with the name of its file, for errors) of one rule pack.

    ``rules`` supplies the catalogue (dimensions and titles). Raises :class:`InputError` for
    fewer than two results, mixed rule packs, a community given twice or a foreign catalogue.
    """
    problems = _check(entries, rules)
    if problems:
        raise InputError(problems)
    results = _ordered([r for _, r in entries], anonymise)
    labels = [anonymous_label(i) if anonymise else r.pack.community for i, r in enumerate(results)]
    levels = [{c.id: c.verified_level for c in r.characteristics} for r in results]
    characteristics = []
    for dimension in rules.model.dimensions:
        for char in dimension.all_characteristics():
            row = [lv.get(char.id) for lv in levels]
            characteristics.append(
                CharacteristicBenchmark(
                    id=char.id,
                    title=char.title.en,
                    dimension=dimension.id,
                    statistics=statistics([v for v in row if v is not None]),
                    standings=_standings(labels, row),
                )
            )
    dimensions = []
    for dimension in rules.model.dimensions:
        members = [c for c in characteristics if c.dimension == dimension.id]
        pooled = [s.level for c in members for s in c.standings if s.level is not None]
        summaries = [_summary(r, dimension.id) for r in results]
        per_community = [[c.standings[i].level for c in members] for i in range(len(results))]
        dimensions.append(
            DimensionBenchmark(
                id=dimension.id,
                title=dimension.title.en,
                statistics=statistics(pooled),
                standings=_dimension_standings(labels, summaries, per_community),
            )
        )
    first = results[0]
    return Benchmark(
        model=first.model,
        rule_pack=first.rule_pack,
        anonymised=anonymise,
        method=METHOD,
        participants=[_participant(label, r, anonymise) for label, r in zip(labels, results, strict=True)],
        dimensions=dimensions,
        characteristics=characteristics,
    )


def _check(entries: Sequence[tuple[str, Result]], rules: RulePack) -> list[Problem]:
    if len(entries) < 2:
        given = entries[0][0] if entries else "RESULT"
        return [Problem(given, None, "", f"benchmarking needs two or more results, got {len(entries)}")]
    problems = []
    first_source, first = entries[0]
    seen_names: dict[str, str] = {}
    seen_packs: dict[str, str] = {}
    for source, result in entries:
        if (result.rule_pack.id, result.rule_pack.digest) != (first.rule_pack.id, first.rule_pack.digest):
            problems.append(
                Problem(
                    source,
                    None,
                    "rule_pack",
                    f"evaluated with rule pack {result.rule_pack.id} ({result.rule_pack.digest}), but "
                    f"{first_source} with {first.rule_pack.id} ({first.rule_pack.digest}); "
                    "only results of one rule pack can be compared",
                )
            )
        name = result.pack.community.strip().casefold()
        if name in seen_names:
            problems.append(
                Problem(
                    source,
                    None,
                    "pack.community",
                    f"community {result.pack.community!r} is already given by {seen_names[name]}",
                )
            )
        elif result.pack.digest in seen_packs:
            problems.append(
                Problem(
                    source,
                    None,
                    "pack.digest",
                    f"the same evidence pack as {seen_packs[result.pack.digest]} (one community, twice)",
                )
            )
        seen_names.setdefault(name, source)
        seen_packs.setdefault(result.pack.digest, source)
    if first.rule_pack.id != rules.id:
        problems.append(
            Problem(
                "--rules",
                None,
                "",
                f"the catalogue is rule pack {rules.id!r}, the results are of {first.rule_pack.id!r}",
            )
        )
    return problems


def _ordered(results: list[Result], anonymise: bool) -> list[Result]:
    """Participant order: by pack digest when anonymised (names must not leak through the order
    or the letters), by name otherwise; never by the order the files were given."""
    if anonymise:
        return sorted(results, key=lambda r: r.pack.digest)
    return sorted(results, key=lambda r: (r.pack.community.casefold(), r.pack.community, r.pack.digest))


def _counts(levels: Sequence[int]) -> list[int]:
    return [sum(1 for v in levels if v == level) for level in range(1, 6)]


def _standings(labels: list[str], row: list[int | None]) -> list[Standing]:
    known = [Fraction(v) for v in row if v is not None]
    return [
        Standing(
            label=label,
            level=level,
            percentile_rank=None if level is None else rounded(percentile_rank(known, Fraction(level)), 1),
        )
        for label, level in zip(labels, row, strict=True)
    ]


def _summary(result: Result, dimension: str) -> GroupSummary | None:
    return next(
        (g for g in result.summaries.groups if g.scope == "dimension" and g.id == dimension),
        None,
    )


def _dimension_standings(
    labels: list[str], summaries: list[GroupSummary | None], levels: list[list[int | None]]
) -> list[DimensionStanding]:
    # The mean is the result's own (2 decimals), so the benchmark agrees with each summary.md.
    means = [None if s is None or s.mean is None else Fraction(str(s.mean)) for s in summaries]
    known = [m for m in means if m is not None]
    return [
        DimensionStanding(
            label=label,
            level=None if summary is None else summary.level,
            mean=None if mean is None else rounded(mean, 2),
            counts=_counts([v for v in own if v is not None]),
            percentile_rank=None if mean is None else rounded(percentile_rank(known, mean), 1),
        )
        for label, summary, mean, own in zip(labels, summaries, means, levels, strict=True)
    ]


def _participant(label: str, result: Result, anonymise: bool) -> Participant:
    if anonymise:
        return Participant(label=label, community=None, pack=None, evaluation_id=None, as_of=result.as_of)
    return Participant(
        label=label,
        community=result.pack.community,
        pack=Reference(id=result.pack.id, digest=result.pack.digest),
        evaluation_id=result.evaluation_id,
        as_of=result.as_of,
    )
