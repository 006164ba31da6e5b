"""The schedule's chart: one column per characteristic, verified level beside the claimed one.

A bar chart rather than a radar: 32 spokes leave no room for labels on half a page, and bars read
off exactly against the level grid. Drawn with reportlab's graphics shapes so every position is
computed here and the chart cannot spill outside its box.
"""

from __future__ import annotations

from itertools import groupby
from typing import Literal

from reportlab.graphics.shapes import Drawing, Group, Line, Rect, String
from reportlab.lib import colors
from reportlab.lib.colors import Color
from reportlab.pdfbase.pdfmetrics import stringWidth

from certificates.fonts import BOLD, GOLD, MUTED, NAVY, REGULAR, RULE, new_drawing, runs, text_width
from certificates.model import Certificate

LEVELS = 5
CLAIM_FILL = colors.HexColor("#E4D3A8")
AXIS_WIDTH = 16.0
"""Room left of the plot for the level numbers."""
LABEL_DEPTH = 34.0
"""Room below the plot for characteristic ids and dimension names."""
LEGEND_HEIGHT = 16.0


def profile_chart(cert: Certificate, width: float, height: float) -> Drawing:
    """A drawing ``width`` x ``height`` points of every characteristic's verified and claimed level."""
    bilingual = cert.language == "en+zh"
    drawing = new_drawing(width, height)
    plot_x, plot_y = AXIS_WIDTH, LABEL_DEPTH
    plot_w, plot_h = width - AXIS_WIDTH - 4, height - LABEL_DEPTH - LEGEND_HEIGHT - 6
    step = plot_h / LEVELS
    drawing.add(_grid(plot_x, plot_y, plot_w, step, bilingual))
    slot = plot_w / len(cert.profile)
    start = 0
    for dimension, entries in groupby(cert.profile, key=lambda e: e.dimension):
        group = list(entries)
        drawing.add(
            _dimension(dimension, plot_x + start * slot, len(group) * slot, plot_y, plot_h, bilingual)
        )
        for i, entry in enumerate(group, start):
            drawing.add(
                _column(entry.id, entry.verified_level, entry.claimed_level, plot_x + i * slot, slot, step)
            )
        start += len(group)
    drawing.add(_legend(width, height - LEGEND_HEIGHT + 4, bilingual))
    return drawing


def _grid(x: float, y: float, w: float, step: float, bilingual: bool) -> Group:
    group = Group()
    for level in range(LEVELS + 1):
        ly = y + level * step
        group.add(Line(x, ly, x + w, ly, strokeColor=NAVY if level == 0 else RULE, strokeWidth=0.4))
        if level:
            group.add(_text(x - 6, ly - 2.5, str(level), 7, anchor="end"))
    group.add(_text(0, y + LEVELS * step + 8, "Level  级别" if bilingual else "Level", 6.5))
    return group


def _text(
    x: float,
    y: float,
    text: str,
    size: float,
    *,
    font: str = REGULAR,
    color: Color = MUTED,
    anchor: Literal["start", "middle", "end"] = "start",
) -> Group:
    """One line of possibly mixed English and Chinese, run by run (the CJK font has no Latin)."""
    if anchor != "start":
        x -= text_width(text, font, size) / (2 if anchor == "middle" else 1)
    group = Group()
    for piece, name in runs(text, font):
        group.add(String(x, y, piece, fontName=name, fontSize=size, fillColor=color))
        x += stringWidth(piece, name, size)
    return group


def _dimension(dimension: str, x: float, w: float, y: float, h: float, bilingual: bool) -> Group:
    """Dimension band: separators either side and its name under the ids."""
    group = Group()
    for edge in (x, x + w):
        group.add(Line(edge, y - 14, edge, y + h, strokeColor=RULE, strokeWidth=0.5, strokeDashArray=[2, 2]))
    label = f"Dimension {dimension}  维度 {dimension}" if bilingual else f"Dimension {dimension}"
    group.add(_text(x + w / 2, y - 26, label, 6.8, font=BOLD, color=NAVY, anchor="middle"))
    return group


def _column(cid: str, verified: int | None, claimed: int | None, x: float, slot: float, step: float) -> Group:
    group = Group()
    bar = slot * 0.36
    left = x + slot / 2 - bar
    base = LABEL_DEPTH
    if verified is not None:
        group.add(_rect(left, base, bar, verified * step, NAVY))
    if claimed is not None:
        group.add(_rect(left + bar, base, bar, claimed * step, CLAIM_FILL, GOLD, 0.4))
    # Ids run upwards so 32 of them fit side by side.
    label = String(0, 0, cid, fontName=REGULAR, fontSize=5.6, fillColor=MUTED, textAnchor="end")
    group.add(Group(label, transform=(0, 1, -1, 0, x + slot / 2 + 2, base - 2)))
    return group


def _legend(width: float, y: float, bilingual: bool) -> Group:
    entries = [("Verified level", "验证级别", NAVY, None), ("Claimed level", "声明级别", CLAIM_FILL, GOLD)]
    group = Group()
    x = width
    for en, zh, fill, stroke in reversed(entries):
        label = f"{en}  {zh}" if bilingual else en
        x -= text_width(label, REGULAR, 7) + 13
        group.add(_rect(x, y, 9, 7, fill, stroke, 0.4))
        group.add(_text(x + 13, y + 0.8, label, 7))
        x -= 18
    return group


def _rect(
    x: float, y: float, w: float, h: float, fill: Color, stroke: Color | None = None, stroke_width: float = 1
) -> Rect:
    """A bar or legend swatch filled with ``fill`` (reportlab's default stroke width is 1)."""
    rect = Rect(x, y, w, h)
    # Styled after construction: the stubs type Rect's **kw without Unpack, so style keywords fail mypy.
    rect.fillColor, rect.strokeColor, rect.strokeWidth = fill, stroke, stroke_width
    return rect
