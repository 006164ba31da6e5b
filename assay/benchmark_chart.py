"""The benchmark chart: per dimension, each community's mean verified level as a bar.

Hand-written SVG rather than a plotting library, so that the bytes depend on the benchmark
alone: fixed layout, fixed palette, coordinates printed with two decimals, no ids or dates.
"""

from __future__ import annotations

from xml.sax.saxutils import escape, quoteattr

from engine.benchmark import Benchmark, DimensionBenchmark

# Okabe-Ito colours: distinguishable with the common colour-vision deficiencies.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000")
UNIT = 40.0
"""Height of one level, in px."""
BAR, GAP, PAD, MIN_GROUP = 22.0, 6.0, 20.0, 170.0
LEFT, RIGHT, TOP = 48.0, 16.0, 64.0
WRAP = 30
"""Characters per line of a dimension title under its bars."""


def benchmark_svg(benchmark: Benchmark) -> str:
    """The chart as an SVG document (UTF-8 text); identical benchmarks give identical text."""
    count = len(benchmark.participants)
    group = max(MIN_GROUP, count * BAR + (count - 1) * GAP + 2 * PAD)
    base = TOP + 5 * UNIT
    titles = [_wrap(d.title) for d in benchmark.dimensions]
    label_lines = 1 + max((len(t) for t in titles), default=0)
    legend_top = base + 18 + 13 * label_lines + 14
    width = LEFT + group * len(benchmark.dimensions) + RIGHT
    height = legend_top + 16 * count + 20
    title = f"{benchmark.model}: mean verified level per dimension, {count} communities"
    note = (
        "Bar: mean verified level of the dimension's characteristics; black tick: the dimension's "
        f"level (its lowest). Rule pack {benchmark.rule_pack.id}."
    )
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{_n(width)}" height="{_n(height)}" '
        f'viewBox="0 0 {_n(width)} {_n(height)}" font-family="Helvetica, Arial, sans-serif">',
        f"<title>{escape(title)}</title>",
        f'<rect x="0" y="0" width="{_n(width)}" height="{_n(height)}" fill="#FFFFFF"/>',
        _text(LEFT, 24, title, 14, weight="bold"),
        _text(LEFT, 42, note, 10, fill="#5B6675"),
    ]
    out += _grid(width, base)
    for index, (dimension, lines) in enumerate(zip(benchmark.dimensions, titles, strict=True)):
        out += _group(dimension, lines, LEFT + index * group, group, base)
    for index, participant in enumerate(benchmark.participants):
        y = legend_top + 16 * index
        out.append(f'<rect x="{_n(LEFT)}" y="{_n(y - 10)}" width="12" height="12" fill="{_colour(index)}"/>')
        out.append(_text(LEFT + 18, y, participant.label, 11))
    out.append("</svg>")
    return "\n".join(out) + "\n"


def _grid(width: float, base: float) -> list[str]:
    lines = []
    for level in range(6):
        y = base - level * UNIT
        colour = "#1F2A37" if level == 0 else "#C9D1DC"
        lines.append(
            f'<line x1="{_n(LEFT)}" y1="{_n(y)}" x2="{_n(width - RIGHT)}" y2="{_n(y)}" '
            f'stroke="{colour}" stroke-width="1"/>'
        )
        lines.append(_text(LEFT - 8, y + 4, str(level), 10, anchor="end", fill="#5B6675"))
    return lines


def _group(dimension: DimensionBenchmark, title: list[str], x: float, width: float, base: float) -> list[str]:
    count = len(dimension.standings)
    start = x + (width - (count * BAR + (count - 1) * GAP)) / 2
    parts = []
    for index, standing in enumerate(dimension.standings):
        left = start + index * (BAR + GAP)
        centre = left + BAR / 2
        if standing.mean is None:
            parts.append(_text(centre, base - 4, "n/a", 9, anchor="middle", fill="#5B6675"))
            continue
        top = base - standing.mean * UNIT
        tip = f"{standing.label}: mean {standing.mean:.2f}, level {standing.level}"
        parts.append(
            f'<rect x="{_n(left)}" y="{_n(top)}" width="{_n(BAR)}" height="{_n(base - top)}" '
            f'fill="{_colour(index)}"><title>{escape(tip)}</title></rect>'
        )
        parts.append(_text(centre, top - 4, f"{standing.mean:.2f}", 9, anchor="middle"))
        if standing.level is not None:
            y = base - standing.level * UNIT
            parts.append(
                f'<line x1="{_n(left - 2)}" y1="{_n(y)}" x2="{_n(left + BAR + 2)}" y2="{_n(y)}" '
                'stroke="#000000" stroke-width="2"/>'
            )
    centre = x + width / 2
    parts.append(_text(centre, base + 18, f"Dimension {dimension.id}", 11, anchor="middle", weight="bold"))
    for line_no, line in enumerate(title, start=1):
        parts.append(_text(centre, base + 18 + 13 * line_no, line, 10, anchor="middle"))
    return parts


def _wrap(title: str) -> list[str]:
    """Title in lines of at most WRAP characters, broken at spaces."""
    lines: list[str] = []
    for word in title.split():
        if lines and len(lines[-1]) + 1 + len(word) <= WRAP:
            lines[-1] += " " + word
        else:
            lines.append(word)
    return lines


def _text(
    x: float,
    y: float,
    value: str,
    size: float,
    *,
    anchor: str = "start",
    weight: str = "normal",
    fill: str = "#1F2A37",
) -> str:
    return (
        f'<text x="{_n(x)}" y="{_n(y)}" font-size="{_n(size)}" text-anchor="{anchor}" '
        f'font-weight="{weight}" fill={quoteattr(fill)}>{escape(value)}</text>'
    )


def _colour(index: int) -> str:
    return PALETTE[index % len(PALETTE)]


def _n(value: float) -> str:
    """A coordinate: two decimals, trailing zeros dropped, so the text never depends on float repr."""
    return f"{value:.2f}".rstrip("0").rstrip(".")
