"""Pictures drawn on the server as SVG (no script, so they show with JavaScript off)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from html import escape
from unicodedata import east_asian_width

from audits.views import HistoryEntry
from certificates.model import Certificate
from engine.benchmark import Benchmark
from engine.performance import KpiLevel

BAR, GAP, HEIGHT, TOP, LEFT = 14, 4, 120, 24, 28
"""Bar width, gap, plot height for level 5, space above for dimension names, axis space."""


@dataclass(frozen=True)
class ProfileBar:
    """One characteristic of a profile: where it stands, verified against claimed."""

    id: str
    dimension: str
    title: str
    verified: int | None
    claimed: int | None


def profile_svg(certificate: Certificate, lang: str, labels: Mapping[str, str]) -> str:
    """The certificate's profile (see :func:`profile_bars_svg`)."""
    bars = [
        ProfileBar(e.id, e.dimension, getattr(e.title, lang), e.verified_level, e.claimed_level)
        for e in certificate.profile
    ]
    return profile_bars_svg(bars, {d.id: getattr(d.title, lang) for d in certificate.dimensions}, labels)


def profile_bars_svg(
    bars: Sequence[ProfileBar], dimensions: Mapping[str, str], labels: Mapping[str, str]
) -> str:
    """A profile: one bar per characteristic, grouped by dimension, its verified level filled
    and the level claimed as an outline; each bar titled for screen readers."""
    sizes: dict[str, int] = {}
    for bar in bars:
        sizes[bar.dimension] = sizes.get(bar.dimension, 0) + 1
    parts: list[str] = []
    x = LEFT
    current = None
    for bar in bars:
        if bar.dimension != current:
            current = bar.dimension
            x += GAP * 2
            # The name fits over its own bars or is cut short (a table on the page gives it whole).
            title = dimensions.get(current, current)
            name = escape(_fit(title, sizes[current] * (BAR + GAP), 9.0))
            parts.append(f'<text x="{x}" y="{TOP - 8}" class="dimension">{name}</text>')
        verified = bar.verified or 0
        claimed = bar.claimed or 0
        title = escape(
            f"{bar.id} {bar.title}: {labels['verified']} {bar.verified or '-'}, "
            f"{labels['claimed']} {bar.claimed or '-'}"
        )
        height = HEIGHT * verified / 5
        parts.append(
            f"<g><title>{title}</title>"
            f'<rect x="{x}" y="{TOP + HEIGHT - height:.1f}" width="{BAR}" height="{height:.1f}" '
            'class="verified"/>'
        )
        if claimed:
            claim = HEIGHT * claimed / 5
            parts.append(
                f'<rect x="{x - 1}" y="{TOP + HEIGHT - claim:.1f}" width="{BAR + 2}" height="{claim:.1f}" '
                'class="claimed"/>'
            )
        parts.append("</g>")
        x += BAR + GAP
    grid = "".join(
        f'<line x1="{LEFT}" x2="{x}" y1="{TOP + HEIGHT - HEIGHT * n / 5:.1f}" '
        f'y2="{TOP + HEIGHT - HEIGHT * n / 5:.1f}" class="grid"/>'
        f'<text x="{LEFT - 6}" y="{TOP + HEIGHT - HEIGHT * n / 5 + 4:.1f}" class="axis">{n}</text>'
        for n in range(1, 6)
    )
    width = x + GAP
    label = escape(labels["profile"])
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {TOP + HEIGHT + 8}" '
        f'role="img" aria-label="{label}" class="profile">{grid}{"".join(parts)}</svg>'
    )


# The charts below size themselves by their viewBox alone (no width or height attribute), so the
# page's CSS can give them ``width: 100%`` on a 390 px phone as on a desktop. Layout is fixed and
# every coordinate is printed by ``_n``, so identical inputs give identical bytes. Colours are
# classes: ``series-0`` ... ``series-7`` take the Okabe-Ito palette of the CLI's benchmark chart
# (assay.benchmark_chart.PALETTE), distinguishable with the common colour-vision deficiencies.
SERIES = 8
DASH = "\u2013"
"""Distinct ``series-N`` colour classes; more dimensions or communities than this repeat them."""
TEXT, SMALL = 11.0, 10.0
"""Font sizes the layout assumes for ``text.name``/``text.dimension`` and for other text."""

H_UNIT, H_BAR, H_GAP, H_PAD, H_MIN_GROUP, H_MAX_GROUP = 24.0, 10.0, 3.0, 8.0, 70.0, 130.0
"""History: height of one level, bar width, gap between bars, space either side of a group, and the
narrowest group (its date must fit under it) and the widest (a few evaluations spread out)."""
H_TOP, H_LEFT, H_RIGHT, H_MIN_WIDTH = 10.0, 22.0, 8.0, 420.0

M_WIDTH, M_LEFT, M_VALUE, M_ROW, M_HEAD = 420.0, 8.0, 84.0, 54.0, 20.0
"""Matrix: total width, margin, right column for the latest value and level, height of a KPI row,
height of a dimension's heading."""

B_WIDTH, B_LEFT, B_LABEL, B_UNIT, B_ROW, B_BAR = 420.0, 8.0, 112.0, 46.0, 16.0, 10.0
"""Benchmark: total width, margin, room for a community's name, width of one level, row height,
bar height."""


def history_svg(entries: Sequence[HistoryEntry], titles: Mapping[str, str], labels: Mapping[str, str]) -> str:
    """An engagement's levels over its evaluations: per evaluation (in the order given, labelled by
    number, date and how many characteristics have a level) one bar per dimension for the mean
    level of its characteristics with a level, and a tick at the lowest (the dimension's level).

    ``titles`` maps a dimension id ('1') to its title in the page's language, in the model's order;
    a characteristic belongs to the dimension its id starts with ('1.5.2' to '1'), as the
    catalogue requires. Means and lowest levels are the engine's (engine.result): over the
    characteristics with a level, the mean rounded to 2 decimals.
    """
    dims = _dimensions(entries, titles)
    spread = min(H_MAX_GROUP, (H_MIN_WIDTH - H_LEFT - H_RIGHT) / max(len(entries), 1))
    group = max(H_MIN_GROUP, spread, len(dims) * H_BAR + max(len(dims) - 1, 0) * H_GAP + 2 * H_PAD)
    width = max(H_MIN_WIDTH, H_LEFT + group * len(entries) + H_RIGHT)
    base = H_TOP + 5 * H_UNIT
    legend = base + 4 * 12 + 12
    parts = _level_lines(H_LEFT, width - H_RIGHT, base, H_UNIT)
    for index, entry in enumerate(entries):
        parts += _evaluation(entry, index > 0, dims, titles, labels, H_LEFT + index * group, group, base)
    key = [(f"series-{k % SERIES}", f"{d} {titles.get(d, d)}") for k, d in enumerate(dims)]
    for row, (cls, text) in enumerate(key):
        y = legend + 14 * row
        parts.append(f'<rect x="{_n(H_LEFT)}" y="{_n(y - 8)}" width="10" height="9" class="{cls}"/>')
        parts.append(_text(H_LEFT + 14, y, _fit(text, width - H_LEFT - 14 - H_RIGHT, SMALL), "legend"))
    y = legend + 14 * len(key)
    parts.append(f'<rect x="{_n(H_LEFT)}" y="{_n(y - 8)}" width="10" height="9" class="mean"/>')
    parts.append(_text(H_LEFT + 14, y, labels["mean_level"], "legend"))
    right = H_LEFT + (width - H_LEFT - H_RIGHT) / 2
    parts.append(
        f'<line x1="{_n(right - 2)}" x2="{_n(right + 12)}" y1="{_n(y - 3)}" y2="{_n(y - 3)}" class="lowest"/>'
    )
    parts.append(_text(right + 16, y, labels["lowest_level"], "legend"))
    # Wider than the others with many evaluations: "wide" lets the page scroll it rather than shrink it.
    return _svg(
        "history wide" if width > H_MIN_WIDTH else "history", width, y + 8, labels["history_chart"], parts
    )


def _dimensions(entries: Sequence[HistoryEntry], titles: Mapping[str, str]) -> list[str]:
    """Dimensions with a characteristic in some evaluation: in ``titles`` order, others after."""
    present = {_dimension_of(cid) for entry in entries for cid in entry.levels}
    known = [d for d in titles if d in present]
    return known + sorted(present - set(known), key=_id_key)


def _dimension_of(characteristic: str) -> str:
    return characteristic.split(".", 1)[0]


def _id_key(value: str) -> tuple[tuple[int, int | str], ...]:
    """'1.10' after '1.9': numeric parts compare as numbers, anything else after them as text."""
    return tuple((0, int(p)) if p.isdigit() else (1, p) for p in value.split("."))


def _evaluation(
    entry: HistoryEntry,
    compared: bool,
    dims: Sequence[str],
    titles: Mapping[str, str],
    labels: Mapping[str, str],
    x: float,
    width: float,
    base: float,
) -> list[str]:
    name = labels["evaluation"].format(number=entry.number)
    purpose = labels.get(f"purpose_{entry.purpose}", entry.purpose)
    rated = sum(1 for level in entry.levels.values() if level is not None)
    about = f"{name} ({purpose}), {entry.as_of.isoformat()}"
    summary = f"{about}: {labels['with_level'].format(count=rated, total=len(entry.levels))}"
    up = sum(1 for c in entry.level_changes if (c.after or 0) > (c.before or 0))
    down = sum(1 for c in entry.level_changes if (c.after or 0) < (c.before or 0))
    if compared:
        summary += f"; {labels['level_changes'].format(up=up, down=down)}"
    parts = [f'<g class="evaluation"><title>{escape(summary)}</title>']
    start = x + (width - (len(dims) * H_BAR + max(len(dims) - 1, 0) * H_GAP)) / 2
    for k, dim in enumerate(dims):
        left = start + k * (H_BAR + H_GAP)
        members = [level for cid, level in entry.levels.items() if _dimension_of(cid) == dim]
        if not members:
            continue  # not in this evaluation's scope: an empty slot keeps the colours in place
        known = [level for level in members if level is not None]
        count = labels["with_level"].format(count=len(known), total=len(members))
        head = f"{about}, {dim} {titles.get(dim, dim)}: "
        if not known:
            tip = f"{head}{labels['no_level']}, {count}"
            parts.append(
                f"<g><title>{escape(tip)}</title>"
                + _text(left + H_BAR / 2, base - 3, DASH, "none", anchor="middle")
                + "</g>"
            )
            continue
        mean = round(sum(known) / len(known), 2)  # as engine.result rounds a group's mean
        lowest = min(known)
        tip = f"{head}{labels['mean_level']} {mean:.2f}, {labels['lowest_level']} {lowest}, {count}"
        top = base - mean * H_UNIT
        tick = base - lowest * H_UNIT
        parts.append(
            f"<g><title>{escape(tip)}</title>"
            f'<rect x="{_n(left)}" y="{_n(top)}" width="{_n(H_BAR)}" height="{_n(base - top)}" '
            f'class="series-{k % SERIES}"/>'
            f'<line x1="{_n(left - 1.5)}" x2="{_n(left + H_BAR + 1.5)}" y1="{_n(tick)}" y2="{_n(tick)}" '
            'class="lowest"/></g>'
        )
    centre = x + width / 2
    lines = [
        (_fit(name, width - 4, SMALL), "evaluation-name"),
        (entry.as_of.isoformat(), "date"),
        (f"{rated}/{len(entry.levels)}", "count"),
    ]
    if compared:
        lines.append((f"▲{up} ▼{down}", "changes"))
    for row, (text, cls) in enumerate(lines, start=1):
        parts.append(_text(centre, base + 12 * row, text, cls, anchor="middle"))
    parts.append("</g>")
    return parts


def matrix_svg(rows: Sequence[KpiLevel], labels: Mapping[str, str]) -> str:
    """The Y.4904 performance matrix (rows of :func:`engine.performance.assess_matrix`): per KPI, a
    scale with its baseline (level 1) and its targets for levels 2-5 as ticks over bands for the
    levels, the latest value as a dot, and the level reached (its band outlined, its number at the
    right; an unverified or rejected record has an open dot and says so instead).

    Each KPI has its own scale, from its worst to its best value shown, and better is always to
    the right: for a KPI where lower is better the numbers fall from left to right (and the row
    says so). Rows keep the order given, under a heading per dimension.
    """
    parts: list[str] = []
    y = 4.0
    current = None
    for row in rows:
        if row.dimension != current:
            current = row.dimension
            parts.append(_text(M_LEFT, y + 14, f"{labels['dimension']} {row.dimension}", "dimension"))
            y += M_HEAD
        parts += _kpi_row(row, labels, y)
        y += M_ROW
    return _svg("matrix", M_WIDTH, y + 4, labels["matrix_chart"], parts)


def _kpi_row(row: KpiLevel, labels: Mapping[str, str], y: float) -> list[str]:
    sign = 1 if row.direction == "higher_is_better" else -1
    levels = [(1, row.baseline)] + [(n, row.targets[n]) for n in sorted(row.targets) if n >= 2]
    shown = [value for _, value in levels] + ([row.latest[1]] if row.latest is not None else [])
    low, high = min(sign * v for v in shown), max(sign * v for v in shown)
    if high - low < 1e-9:
        low, high = low - 1, high + 1
    pad = (high - low) * 0.06
    low, high = low - pad, high + pad
    x0, x1 = M_LEFT + 4, M_WIDTH - M_LEFT - M_VALUE

    def at(value: float) -> float:
        return x0 + (sign * value - low) / (high - low) * (x1 - x0)

    unit = row.unit
    direction = labels.get(row.direction, row.direction)
    targets = "; ".join(
        labels["target"].format(level=n) + f" {_v(value)} {unit}" for n, value in levels if n >= 2
    )
    if row.latest is not None:
        latest = labels["latest"].format(value=f"{_v(row.latest[1])} {unit}", date=row.latest[0].isoformat())
    else:
        latest = labels["no_observation"]
    reached = (
        f"{labels['level']} {row.level}"
        if row.level is not None
        else labels["rejected"]
        if row.verdict == "rejected"
        else labels["unverified"]
    )
    summary = (
        f"{row.indicator} {row.name} ({labels['dimension']} {row.dimension}, {direction}): "
        f"{labels['baseline']} {_v(row.baseline)} {unit}; {targets}; {latest}; {reached}"
    )
    if row.gain is not None:
        summary += "; " + labels["gain"].format(gain=f"{_signed(row.gain)} {unit}")
    parts = [f'<g class="kpi"><title>{escape(summary)}</title>']
    # The name over the scale, cut short to fit (the title and the page's table give it whole).
    note = labels["lower_is_better"] if sign < 0 else ""
    room = x1 - M_LEFT - (_width(note, SMALL) + 8 if note else 0)
    parts.append(_text(M_LEFT, y + 12, _fit(f"{row.indicator} {row.name}", room, TEXT), "name"))
    if note:
        parts.append(_text(x1, y + 12, note, "direction", anchor="end"))
    # Bands: level n from its target to the next level's (level 1 from the scale's start, level 5
    # to its end): a value in band n reaches level n, as assess_matrix decides.
    edges = [x0] + [at(value) for n, value in levels if n >= 2] + [x1]
    for index in range(len(edges) - 1):
        n = index + 1
        if n == 1:
            span = f"{'<' if sign > 0 else '>'} {_v(levels[1][1])}" if len(levels) > 1 else ""
        elif n < len(levels):
            span = f"{_v(levels[n - 1][1])} {DASH} {_v(levels[n][1])}"
        else:
            span = f"{'≥' if sign > 0 else '≤'} {_v(levels[n - 1][1])}"
        cls = f"band band-{n}" + (" reached" if row.level == n else "")
        tip = f"{labels['level']} {n}: {span} {unit}".rstrip()
        parts.append(
            f"<g><title>{escape(tip)}</title>"
            f'<rect x="{_n(edges[index])}" y="{_n(y + 20)}" '
            f'width="{_n(max(edges[index + 1] - edges[index], 0))}" '
            f'height="12" class="{cls}"/></g>'
        )
    last = -1e9
    for n, value in levels:
        x = at(value)
        name = labels["baseline"] if n == 1 else labels["target"].format(level=n)
        tip = f"{name}: {_v(value)} {unit}"
        tick = "baseline" if n == 1 else "target"
        parts.append(
            f"<g><title>{escape(tip)}</title>"
            f'<line x1="{_n(x)}" x2="{_n(x)}" y1="{_n(y + 17)}" y2="{_n(y + 35)}" class="{tick}"/></g>'
        )
        if x - last >= 8:  # equal targets share a tick; their numbers would overprint
            parts.append(_text(x, y + 45, str(n), "tick", anchor="middle"))
            last = x
    if row.latest is not None:
        dot = "latest" if row.level is not None else "latest open"
        parts.append(
            f"<g><title>{escape(latest)}</title>"
            f'<circle cx="{_n(at(row.latest[1]))}" cy="{_n(y + 26)}" r="5" class="{dot}"/></g>'
        )
    shown_value = f"{_v(row.latest[1])} {unit}" if row.latest is not None else DASH
    parts.append(_text(x1 + 10, y + 24, _fit(shown_value, M_VALUE - 12, TEXT), "value"))
    cls = "reached-level" if row.level is not None else "no-level"
    parts.append(_text(x1 + 10, y + 38, _fit(reached, M_VALUE - 12, SMALL), cls))
    parts.append("</g>")
    return parts


def benchmark_svg_for_web(benchmark: Benchmark, titles: Mapping[str, str], labels: Mapping[str, str]) -> str:
    """A benchmark (engine.benchmark) for a web page: per dimension, each community's mean
    verified level as a horizontal bar, with a tick at the dimension's level (its lowest) and the
    mean written after the bar; communities keep their colour from dimension to dimension.

    ``titles`` maps a dimension id to its title in the page's language (the benchmark holds the
    English one, used when the id is missing). Rows stack down the page, so the picture stays
    420 units wide however many communities and dimensions there are.
    """
    x0 = B_LEFT + B_LABEL + 8
    x1 = x0 + 5 * B_UNIT
    parts = [_text(x0 + level * B_UNIT, 12, str(level), "axis", anchor="middle") for level in range(6)]
    y = 18.0
    for dimension in benchmark.dimensions:
        title = f"{dimension.id} {titles.get(dimension.id, dimension.title)}"
        heading = _lines(title, B_WIDTH - 2 * B_LEFT, TEXT, 2)
        for line in heading:
            y += 14
            parts.append(_text(B_LEFT, y, line, "dimension"))
        top = y + 4
        bottom = top + B_ROW * len(dimension.standings)
        for level in range(6):
            x = x0 + level * B_UNIT
            parts.append(
                f'<line x1="{_n(x)}" x2="{_n(x)}" y1="{_n(top)}" y2="{_n(bottom)}" '
                f'class="{"axis" if level == 0 else "grid"}"/>'
            )
        for index, standing in enumerate(dimension.standings):
            row = top + B_ROW * index
            middle = row + B_ROW / 2
            parts.append(_text(B_LEFT, middle + 3.5, _fit(standing.label, B_LABEL, SMALL), "label"))
            head = f"{title} {DASH} {standing.label}: "
            if standing.mean is None:
                tip = f"{head}{labels['no_level']}"
                parts.append(
                    f"<g><title>{escape(tip)}</title>"
                    + _text(x0 + 4, middle + 3.5, labels["no_level"], "none")
                    + "</g>"
                )
                continue
            facts = [f"{labels['mean_level']} {standing.mean:.2f}"]
            if standing.level is not None:
                facts.append(f"{labels['lowest_level']} {standing.level}")
            if standing.percentile_rank is not None:
                facts.append(labels["percentile_rank"].format(rank=f"{standing.percentile_rank:g}"))
            end = x0 + standing.mean * B_UNIT
            mark = (
                f"<g><title>{escape(head + ', '.join(facts))}</title>"
                f'<rect x="{_n(x0)}" y="{_n(middle - B_BAR / 2)}" width="{_n(end - x0)}" '
                f'height="{_n(B_BAR)}" class="series-{index % SERIES}"/>'
            )
            if standing.level is not None:
                tick = x0 + standing.level * B_UNIT
                mark += (
                    f'<line x1="{_n(tick)}" x2="{_n(tick)}" y1="{_n(middle - B_BAR / 2 - 2)}" '
                    f'y2="{_n(middle + B_BAR / 2 + 2)}" class="lowest"/>'
                )
            parts.append(mark + "</g>")
            parts.append(_text(x1 + 6, middle + 3.5, f"{standing.mean:.2f}", "value"))
        y = bottom + 6
    y += 12
    parts.append(f'<rect x="{_n(B_LEFT)}" y="{_n(y - 8)}" width="10" height="9" class="mean"/>')
    parts.append(_text(B_LEFT + 14, y, labels["mean_level"], "legend"))
    middle = B_WIDTH / 2
    parts.append(
        f'<line x1="{_n(middle)}" x2="{_n(middle)}" y1="{_n(y - 9)}" y2="{_n(y + 1)}" class="lowest"/>'
    )
    parts.append(_text(middle + 6, y, labels["lowest_level"], "legend"))
    return _svg("benchmark", B_WIDTH, y + 8, labels["benchmark_chart"], parts)


def _level_lines(left: float, right: float, base: float, unit: float) -> list[str]:
    """Horizontal lines at levels 0-5 across the plot, numbered at the left."""
    parts = []
    for level in range(6):
        y = base - level * unit
        cls = "axis" if level == 0 else "grid"
        parts.append(f'<line x1="{_n(left)}" x2="{_n(right)}" y1="{_n(y)}" y2="{_n(y)}" class="{cls}"/>')
        parts.append(_text(left - 5, y + 3, str(level), "axis", anchor="end"))
    return parts


def _svg(cls: str, width: float, height: float, label: str, parts: Sequence[str]) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {_n(width)} {_n(height)}" '
        f'role="img" aria-label="{escape(label)}" class="{cls}">{"".join(parts)}</svg>'
    )


def _text(x: float, y: float, value: str, cls: str, *, anchor: str | None = None) -> str:
    # text-anchor is geometry (which end of the text sits at x), not styling, so it stays an attribute.
    where = f' text-anchor="{anchor}"' if anchor else ""
    return f'<text x="{_n(x)}" y="{_n(y)}"{where} class="{cls}">{escape(value)}</text>'


def _width(text: str, size: float) -> float:
    """Estimated width of ``text`` at font ``size``: full-width (CJK) characters are square."""
    return sum(size if east_asian_width(c) in "WF" else size * 0.56 for c in text)


def _fit(text: str, room: float, size: float) -> str:
    """``text`` cut short with '…' to fit ``room``."""
    if _width(text, size) <= room:
        return text
    kept = ""
    for char in text:
        if _width(kept + char + "…", size) > room:
            break
        kept += char
    return kept.rstrip() + "…"


def _lines(text: str, room: float, size: float, most: int) -> list[str]:
    """``text`` broken at spaces into at most ``most`` lines that fit ``room`` (the last cut short)."""
    lines: list[str] = []
    for word in text.split():
        if lines and _width(f"{lines[-1]} {word}", size) <= room:
            lines[-1] += f" {word}"
        else:
            lines.append(word)
    if len(lines) > most:
        lines[most - 1 :] = [" ".join(lines[most - 1 :])]
    return [_fit(line, room, size) for line in lines] or [""]


def _n(value: float) -> str:
    """A coordinate: two decimals, trailing zeros dropped, so the text never depends on float repr."""
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def _v(value: float) -> str:
    """A KPI value: to the millionth the engine compares in, without trailing zeros."""
    text = f"{value:.6f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def _signed(value: float) -> str:
    return _v(value) if value < 0 or _v(value) == "0" else f"+{_v(value)}"
