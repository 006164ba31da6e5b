"""The server-drawn charts of the web pages: an engagement's level history, the Y.4904 performance
matrix and a benchmark, each checked as XML for one titled mark per evaluation, KPI or community,
with the values in the titles, identical bytes for identical inputs, no style attribute (the page's
CSP forbids it) and the page's words escaped."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from typing import Any

import pytest
from lxml import etree

import examples
from audits.views import HistoryEntry, LevelChange
from engine.benchmark import Benchmark, build_benchmark
from engine.performance import KpiLevel, assess_matrix
from engine.reference import ReferenceInference
from engine.result import Result
from engine.rulepack import RulePack
from evidence_schemas.reader import read_pack
from tests.helpers import run_evaluation
from web.charts import benchmark_svg_for_web, history_svg, matrix_svg
from web.words import chart_words

SVG = "{http://www.w3.org/2000/svg}"
LABELS = chart_words("en")
CHINESE = chart_words("zh")


def parse(svg: str) -> Any:
    """The chart as XML (lxml raises on anything not well-formed), checked for what every chart
    needs: an accessible name, a viewBox and no width to scale by, and no style attribute."""
    root = etree.fromstring(svg.encode("utf-8"))
    assert root.tag == f"{SVG}svg"
    assert root.get("role") == "img"
    assert root.get("aria-label")
    assert re.fullmatch(r"0 0 [0-9.]+ [0-9.]+", root.get("viewBox"))
    assert root.get("width") is None
    assert root.get("height") is None
    assert not [e for e in root.iter() if "style" in e.attrib]
    assert not list(root.iter(f"{SVG}style", f"{SVG}script"))
    return root


def titled(root: Any, cls: str) -> list[str]:
    """The titles of the groups of class ``cls``, in document order."""
    return [g.find(f"{SVG}title").text for g in root.iter(f"{SVG}g") if g.get("class") == cls]


def mark_titles(root: Any) -> list[str]:
    """Every drawn mark (rect, line, circle) inside a group has a title: the titles of those groups."""
    titles = []
    for group in root.iter(f"{SVG}g"):
        title = group.find(f"{SVG}title")
        assert title is not None
        assert title.text
        titles.append(title.text)
    return titles


# The history --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def results(rule_pack: RulePack, reference: ReferenceInference) -> dict[str, Result]:
    """The three sample communities, evaluated in-process with the reference evaluator."""
    return {
        name: run_evaluation(rule_pack, read_pack(examples.sample_pack(name)).pack, reference).result
        for name in examples.SAMPLES
    }


def levels_of(result: Result) -> dict[str, int | None]:
    """An evaluation's stored levels, as audits.decisions records them."""
    return {c.id: c.verified_level for c in result.characteristics if c.status == "evaluated"}


@pytest.fixture(scope="module")
def entries(results: dict[str, Result]) -> list[HistoryEntry]:
    """An engagement that went from the early-stage sample's levels to the mid-way one's, then one
    characteristic lost its level: three evaluations, the last two against the one before."""
    first = levels_of(results["larkfield"])
    second = levels_of(results["harbourton"])
    lost = next(cid for cid in sorted(second) if second[cid] is not None)
    third = {**second, lost: None}
    digest = "sha256:" + "0" * 64

    def changes(before: dict[str, int | None], after: dict[str, int | None]) -> list[LevelChange]:
        return [
            LevelChange(cid, before.get(cid), after.get(cid), ["rule pack changed"])
            for cid in sorted(set(before) | set(after))
            if before.get(cid) != after.get(cid)
        ]

    return [
        HistoryEntry(1, "initial", dt.date(2025, 6, 30), 1, digest, first),
        HistoryEntry(
            2,
            "recertification",
            dt.date(2026, 6, 30),
            2,
            digest,
            second,
            level_changes=changes(first, second),
        ),
        HistoryEntry(
            3, "surveillance", dt.date(2027, 6, 30), 2, digest, third, level_changes=changes(second, third)
        ),
    ]


def dimension_titles(rule_pack: RulePack) -> dict[str, str]:
    return {d.id: d.title.en for d in rule_pack.model.dimensions}


def test_the_history_has_one_titled_group_per_evaluation_with_its_counts(
    entries: list[HistoryEntry], rule_pack: RulePack
) -> None:
    root = parse(history_svg(entries, dimension_titles(rule_pack), LABELS))
    groups = titled(root, "evaluation")
    assert len(groups) == len(entries)
    for entry, title in zip(entries, groups, strict=True):
        rated = sum(1 for level in entry.levels.values() if level is not None)
        assert title.startswith(f"Evaluation {entry.number} (")
        assert entry.as_of.isoformat() in title
        assert f"{rated} of {len(entry.levels)} characteristics with a level" in title
    assert "initial audit" in groups[0]
    assert "levels up" not in groups[0]  # the first evaluation is compared with nothing
    up = sum(1 for c in entries[1].level_changes if (c.after or 0) > (c.before or 0))
    down = sum(1 for c in entries[1].level_changes if (c.after or 0) < (c.before or 0))
    assert f"{up} levels up, {down} down" in groups[1]
    assert "0 levels up, 1 down" in groups[2]
    assert up > 0


def test_the_history_draws_each_dimensions_mean_and_lowest_level(
    entries: list[HistoryEntry], results: dict[str, Result], rule_pack: RulePack
) -> None:
    root = parse(history_svg(entries, dimension_titles(rule_pack), LABELS))
    titles = mark_titles(root)
    # One bar per dimension and evaluation (all four dimensions are in scope in the samples).
    bars = [t for t in titles if "mean level" in t]
    assert len(bars) == 4 * len(entries)
    # Its mean and lowest level are the engine's own dimension summary for that result.
    harbourton = results["harbourton"]
    for group in harbourton.summaries.groups:
        if group.scope != "dimension" or group.mean is None:
            continue
        title = next(t for t in bars if t.startswith("Evaluation 2 (") and f", {group.id} " in t)
        assert f"mean level {group.mean:.2f}, lowest level {group.level}," in title
        assert dimension_titles(rule_pack)[group.id] in title


def test_the_history_is_deterministic_and_escapes_the_pages_words(
    entries: list[HistoryEntry], rule_pack: RulePack
) -> None:
    titles = {**dimension_titles(rule_pack), "1": 'Strategy <management> & "plans"'}
    svg = history_svg(entries, titles, LABELS)
    assert svg == history_svg(list(entries), dict(titles), dict(LABELS))
    root = parse(svg)
    assert any('Strategy <management> & "plans"' in t for t in mark_titles(root))
    chinese = parse(history_svg(entries, titles, CHINESE))
    assert titled(chinese, "evaluation")[0].startswith("第 1 次评价")


def test_no_evaluations_still_draw_a_valid_picture() -> None:
    root = parse(history_svg([], {}, LABELS))
    assert titled(root, "evaluation") == []


# The performance matrix --------------------------------------------------------------------


@pytest.fixture(scope="module")
def matrix() -> list[KpiLevel]:
    """The Y.4904 sample city's matrix on the date its pack was prepared for."""
    pack = read_pack(examples.sample_pack(examples.Y4904_SAMPLE)).pack
    rows = assess_matrix(pack, examples.SAMPLE_AS_OF)
    assert {r.direction for r in rows} == {"higher_is_better", "lower_is_better"}
    return rows


def circle_x(group: Any) -> float:
    circle = next(group.iter(f"{SVG}circle"))
    return float(circle.get("cx"))


def tick_x(group: Any, cls: str, title_start: str) -> float:
    for mark in group.iter(f"{SVG}g"):
        line = mark.find(f"{SVG}line")
        if (
            line is not None
            and line.get("class") == cls
            and mark.find(f"{SVG}title").text.startswith(title_start)
        ):
            return float(line.get("x1"))
    raise AssertionError(f"no {cls} tick titled {title_start!r}")


def test_the_matrix_has_one_titled_row_per_kpi_with_its_values(matrix: list[KpiLevel]) -> None:
    root = parse(matrix_svg(matrix, LABELS))
    rows = titled(root, "kpi")
    assert len(rows) == len(matrix)
    for kpi, title in zip(matrix, rows, strict=True):
        assert title.startswith(f"{kpi.indicator} {kpi.name} (Dimension {kpi.dimension}, ")
        assert f"baseline {kpi.baseline:g} {kpi.unit}" in title
        for level in (2, 3, 4, 5):
            assert f"target for level {level} {kpi.targets[level]:g} {kpi.unit}" in title
        assert kpi.latest is not None
        assert f"latest {kpi.latest[1]:g} {kpi.unit} on {kpi.latest[0].isoformat()}" in title
        assert f"Level {kpi.level}" in title
        assert f"change from baseline {kpi.gain:+g} {kpi.unit}" in title
    assert mark_titles(root)  # every band, tick and dot is titled


def test_the_matrix_marks_the_band_of_the_level_reached(matrix: list[KpiLevel]) -> None:
    root = parse(matrix_svg(matrix, LABELS))
    rows = [g for g in root.iter(f"{SVG}g") if g.get("class") == "kpi"]
    for kpi, row in zip(matrix, rows, strict=True):
        reached = [r for r in row.iter(f"{SVG}rect") if "reached" in r.get("class").split()]
        assert [r.get("class") for r in reached] == [f"band band-{kpi.level} reached"]
        # The dot lies in the band marked.
        left = float(reached[0].get("x"))
        assert left <= circle_x(row) <= left + float(reached[0].get("width"))


def test_better_is_to_the_right_whichever_way_a_kpi_counts(matrix: list[KpiLevel]) -> None:
    root = parse(matrix_svg(matrix, LABELS))
    rows = [g for g in root.iter(f"{SVG}g") if g.get("class") == "kpi"]
    for kpi, row in zip(matrix, rows, strict=True):
        baseline = tick_x(row, "baseline", "baseline:")
        targets = [tick_x(row, "target", f"target for level {n}:") for n in (2, 3, 4, 5)]
        assert baseline < targets[0] <= targets[1] <= targets[2] <= targets[3]
        assert (
            kpi.gain or 0
        ) > 0  # the sample city improved on every KPI, so its dot is right of the baseline
        assert circle_x(row) > baseline
        named = "lower is better" in "".join(row.itertext())
        assert named == (kpi.direction == "lower_is_better")


def test_an_unaccepted_kpi_has_no_level_and_says_why(matrix: list[KpiLevel]) -> None:
    unverified = dataclasses.replace(matrix[0], verdict=None, level=None)
    rejected = dataclasses.replace(matrix[1], verdict="rejected", level=None)
    never = dataclasses.replace(matrix[2], latest=None, gain=None, level=1)  # accepted, never observed
    root = parse(matrix_svg([unverified, rejected, never], LABELS))
    rows = titled(root, "kpi")
    assert rows[0].endswith("; unverified; change from baseline " + f"{unverified.gain:+g} %")
    assert "; rejected;" in rows[1]
    assert "no observation" in rows[2]
    reached = [r.get("class") for r in root.iter(f"{SVG}rect") if "reached" in r.get("class").split()]
    assert reached == ["band band-1 reached"]  # only the accepted KPI has a level
    dots = [c.get("class") for c in root.iter(f"{SVG}circle")]
    assert dots == ["latest open", "latest open"]  # and none for the KPI never observed


def test_the_matrix_is_deterministic_and_escapes_the_packs_words(matrix: list[KpiLevel]) -> None:
    odd = [dataclasses.replace(matrix[0], name='Share <of> homes & "flats"', unit="<%>"), *matrix[1:]]
    svg = matrix_svg(odd, LABELS)
    assert svg == matrix_svg(list(odd), dict(LABELS))
    root = parse(svg)
    assert 'Share <of> homes & "flats"' in titled(root, "kpi")[0]
    assert "<%>" in titled(root, "kpi")[0]
    assert "&lt;of&gt;" in svg
    chinese = parse(matrix_svg(matrix, CHINESE))
    assert "越低越好" in "".join(chinese.itertext())


# The benchmark -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def benchmark(results: dict[str, Result], rule_pack: RulePack) -> Benchmark:
    entries = [(f"{name}/result.json", result) for name, result in results.items()]
    return build_benchmark(entries, rule_pack, anonymise=False)


def test_the_benchmark_has_one_titled_bar_per_community_and_dimension(
    benchmark: Benchmark, rule_pack: RulePack
) -> None:
    root = parse(benchmark_svg_for_web(benchmark, dimension_titles(rule_pack), LABELS))
    titles = mark_titles(root)
    assert len(titles) == len(benchmark.dimensions) * len(benchmark.participants)
    for dimension in benchmark.dimensions:
        for standing in dimension.standings:
            title = next(
                t for t in titles if t.startswith(f"{dimension.id} ") and f" {standing.label}: " in t
            )
            assert standing.mean is not None
            assert f"mean level {standing.mean:.2f}, lowest level {standing.level}" in title
            assert f"percentile rank {standing.percentile_rank:g}" in title


def test_the_benchmark_is_deterministic_and_fits_a_phone(benchmark: Benchmark, rule_pack: RulePack) -> None:
    titles = {**dimension_titles(rule_pack), "2": "以人为本的服务管理 <&>"}
    svg = benchmark_svg_for_web(benchmark, titles, CHINESE)
    assert svg == benchmark_svg_for_web(benchmark.model_copy(deep=True), dict(titles), dict(CHINESE))
    root = parse(svg)
    assert root.get("viewBox").split()[2] == "420"  # scaled to the page's width by CSS, not fixed
    assert "以人为本的服务管理 <&>" in "".join(root.itertext())
