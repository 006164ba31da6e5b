"""Page 2 of the certificate: the schedule with the verified maturity profile.

Every characteristic of the model, grouped by dimension, with its verified level, the level the
community claimed and the evidence basis of the verified levels, then the profile chart. The
table's type size steps down until table and chart share the page, so a bilingual schedule (two
title columns) fits as well as an English one.
"""

from __future__ import annotations

from itertools import groupby
from typing import TYPE_CHECKING, TypeAlias

from reportlab.lib.colors import Color
from reportlab.platypus import Paragraph, Table, TableStyle

from certificates.chart import profile_chart
from certificates.fonts import BOLD, GOLD, MUTED, NAVY, RULE, TABLE_FONT, TINT, Cell, Typesetter
from certificates.model import Certificate, ProfileEntry

if TYPE_CHECKING:
    from certificates.render import Column

CHART_HEIGHT = 142.0
SIZES = {"en": (8.0, 7.4, 6.8, 6.2), "en+zh": (7.2, 6.8, 6.4, 6.0)}
"""Type sizes the table tries, largest first; the first fits the model's 32 characteristics."""

CellCommand: TypeAlias = tuple[str, tuple[int, int], tuple[int, int], *tuple[Color, ...]]
"""A table style command over a cell range: ``SPAN``, or ``BACKGROUND`` and its colour."""


def draw_schedule(cert: Certificate, text: Typesetter, column: Column) -> None:
    """Draw the schedule into ``column``, from its top down."""
    head = f"SCHEDULE TO CERTIFICATE {cert.number}"
    if text.bilingual:
        head += f"   证书 {cert.number} 附表"
    column.place(text.para(head, 8, font=BOLD, color=GOLD), 3)
    title = "Verified maturity profile" + ("   经验证的成熟度概况" if text.bilingual else "")
    column.place(text.para(title, 15, font=BOLD, color=NAVY), 2)
    scope = f"{cert.community}  ·  {cert.scope.standard}, {cert.scope.title.en}"
    column.place(text.para(scope, 8.5, color=MUTED), 6)
    note = _note(text)
    _, note_height = note.wrap(column.width, 100)
    room = column.y - column.bottom - CHART_HEIGHT - note_height - 12
    table, height = _fitting_table(cert, text, column.width, room)
    column.place(table, 4, height)
    column.place(note, 8)
    column.place(profile_chart(cert, column.width, CHART_HEIGHT))


def _note(text: Typesetter) -> Paragraph:
    en = (
        "Verified: the level the audit verified from the evidence. Claimed: the level the community "
        "claimed in its self-assessment; - where it made no claim. Basis: the distinct evidence items the "
        "verified levels rest on · their requirements an auditor judged rather than the rules alone; - "
        "where no level above 1 is verified."
    )
    zh = (
        "验证级别：审核依据证据验证的级别。声明级别：社区自评估中声明的级别；未声明处为 -。"
        "证据基础：经验证级别所依据的不同证据项数 · 其中由审核员判断（而非仅由规则核查）的要求数；"
        "无 1 级以上验证级别处为 -。"
    )
    return text.para(f"{en} {zh}" if text.bilingual else en, 6.6, color=MUTED, cjk=text.bilingual)


def _fitting_table(cert: Certificate, text: Typesetter, width: float, room: float) -> tuple[Table, float]:
    """The profile table at the largest type size that fits in ``room`` points, and its height."""
    for size in SIZES[cert.language]:
        table = _profile_table(cert, text, size, width)
        _, height = table.wrap(width, room)
        if height <= room:
            break
    # Too tall even at the smallest size: Column.place refuses it.
    return table, float(height)


def _widths(bilingual: bool, width: float) -> list[float]:
    # id, title, (Chinese title,) verified level, level name, claimed, basis; the title takes what is left
    fixed = [24.0, 0.0, 112.0, 22.0, 108.0, 34.0, 30.0] if bilingual else [34.0, 0.0, 30.0, 96.0, 46.0, 78.0]
    fixed[1] = width - sum(fixed)
    return fixed


def _profile_table(cert: Certificate, text: Typesetter, size: float, width: float) -> Table:
    rows: list[list[Cell]] = [_header(text, size)]
    verified = 3 if text.bilingual else 2
    styles: list[CellCommand] = [("SPAN", (verified, 0), (verified + 1, 0))]
    titles = {d.id: d.title for d in cert.dimensions}
    for dimension, entries in groupby(cert.profile, key=lambda e: e.dimension):
        title = titles.get(dimension)
        name = f"{dimension}  {title.en}" if title else dimension
        if title and text.bilingual:
            name += f"   {title.zh}"
        styles += [
            ("SPAN", (0, len(rows)), (-1, len(rows))),
            ("BACKGROUND", (0, len(rows)), (-1, len(rows)), TINT),
        ]
        rows.append([text.para(name, size + 0.4, font=BOLD, color=NAVY)])
        rows += [_row(entry, text, size) for entry in entries]
    table = Table(rows, colWidths=_widths(text.bilingual, width), repeatRows=1)
    table.setStyle(
        TableStyle(
            [
                TABLE_FONT,
                ("LINEABOVE", (0, 0), (-1, 0), 0.8, NAVY),
                ("LINEBELOW", (0, 0), (-1, 0), 0.5, NAVY),
                ("LINEBELOW", (0, 1), (-1, -2), 0.25, RULE),
                ("LINEBELOW", (0, -1), (-1, -1), 0.8, NAVY),
                ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                ("LEFTPADDING", (0, 0), (-1, -1), 2.5),
                ("RIGHTPADDING", (0, 0), (-1, -1), 2.5),
                ("TOPPADDING", (0, 0), (-1, -1), size * 0.16),
                ("BOTTOMPADDING", (0, 0), (-1, -1), size * 0.3),
                *styles,
            ]
        )
    )
    return table


def _header(text: Typesetter, size: float) -> list[Cell]:
    """Column heads; "verified level" spans the level and its name (the table style spans it)."""
    small = size - 1.2
    head = [text.label("Id", "编号", small), text.label("Characteristic", "", small)[:1]]
    if text.bilingual:
        head.append(text.label("", "特征", small)[1:])
    return [
        *head,
        text.label("Verified level", "验证级别", small),
        "",
        text.label("Claimed", "声明级别", small),
        text.label("Basis", "证据基础", small),
    ]


def _row(entry: ProfileEntry, text: Typesetter, size: float) -> list[Cell]:
    level = str(entry.verified_level) if entry.verified_level is not None else "-"
    name = "not evaluated" + ("  未评估" if text.bilingual else "")
    if entry.level_name is not None:
        name = entry.level_name.en + (f"  {entry.level_name.zh}" if text.bilingual else "")
    claimed = str(entry.claimed_level) if entry.claimed_level is not None else "-"
    row: list[Cell] = [
        text.para(entry.id, size, font=BOLD),
        text.para(entry.title.en, size),
        text.para(level, size, font=BOLD, align="center", color=NAVY),
        text.para(name, size),
        text.para(claimed, size, align="center", color=MUTED),
        _basis(entry, text, size),
    ]
    if text.bilingual:
        row.insert(2, text.para(entry.title.zh, size, cjk=True))
    return row


def _basis(entry: ProfileEntry, text: Typesetter, size: float) -> Cell:
    """The basis cell: ``9 items · 2 judged``; bare ``9 · 2`` on bilingual certificates, whose rows
    must stay on one line (the note under the table says what the numbers are); ``-`` when no level
    above 1 is credited."""
    if entry.basis_items is None or entry.basis_judged is None:
        return text.para("-", size, align="center", color=MUTED)
    if text.bilingual:
        return text.para(f"{entry.basis_items} · {entry.basis_judged}", size, align="center")
    items = f"{entry.basis_items} item{'' if entry.basis_items == 1 else 's'}"
    return text.para(f"{items} · {entry.basis_judged} judged", size)
