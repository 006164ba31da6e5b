"""The improvement plan as a PDF section (reportlab platypus), byte-identical for an identical plan.

:func:`plan_story` gives the section as flowables, so a longer report can include it;
:func:`render_plan_pdf` sets it as a document of its own. Determinism follows the certificate
(``certificates.render``): invariant mode, Info dates from the assessment date, and a document
/ID seeded with the plan instead of the clock or ``SOURCE_DATE_EPOCH``. Text goes through the
certificate's typesetter, so every font is embedded: the Latin and monospace faces always, the
vendored CJK font in Chinese plans.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Mapping

from reportlab.lib.colors import Color
from reportlab.lib.pagesizes import A4
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Flowable, KeepTogether, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle
from reportlab.platypus.doctemplate import BaseDocTemplate

from assay.plan_report import projection_text, standards_text
from certificates.fonts import (
    BOLD,
    INK,
    MONO,
    MUTED,
    NAVY,
    REGULAR,
    RULE,
    TABLE_FONT,
    TINT,
    Typesetter,
    draw_text,
    register_fonts,
)
from engine.plan import Plan, PlanAction, PlanItem

Words = Mapping[str, str]
"""Labels of the rendering in one language, by key."""

MARGIN = 50.0
CONTENT_WIDTH = A4[0] - 2 * MARGIN


def render_plan_pdf(plan: Plan, words: Words) -> bytes:
    """The plan as an A4 PDF with ``words`` as its labels; identical inputs give identical bytes."""
    register_fonts()
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(
        buffer,
        # Pages start in the embedded face; reportlab's default would add an unembedded Helvetica.
        initialFontName=REGULAR,
        pagesize=A4,
        leftMargin=MARGIN,
        rightMargin=MARGIN,
        topMargin=MARGIN,
        bottomMargin=MARGIN,
        invariant=1,
        pageCompression=1,
        title=f"{words['title']}: {plan.community}",
        author="Assay",
        subject=f"{plan.model}, {words['target']} {plan.target}",
        creator="Assay",
    )
    seed = hashlib.md5(plan.model_dump_json().encode(), usedforsecurity=False)
    seed.update(repr(sorted(words.items())).encode())
    day = plan.as_of

    def first_page(canvas: Canvas, template: BaseDocTemplate) -> None:
        # Set before anything is saved: the Info dates and the /ID come from the plan alone.
        canvas.setDateFormatter(lambda *_: f"D:{day.year:04d}{day.month:02d}{day.day:02d}000000Z")
        canvas._doc.signature = seed  # type: ignore[attr-defined]
        footer(canvas, template)

    def footer(canvas: Canvas, template: BaseDocTemplate) -> None:
        text = f"{plan.community} - {words['title']} - {words['page'].format(n=canvas.getPageNumber())}"
        canvas.setFillColor(MUTED)
        draw_text(canvas, MARGIN, MARGIN / 2, text, REGULAR, 7.5)

    doc.build(plan_story(plan, words), onFirstPage=first_page, onLaterPages=footer)
    return buffer.getvalue()


def plan_story(plan: Plan, words: Words) -> list[Flowable]:
    """The plan as flowables: heading, how goals and standards are chosen, items, on target.

    ``words`` are the labels in the plan's language (``assay.plan_report.WORDS``): the caller owns
    the wording, so the Markdown and the PDF say the same things.
    """
    text = _Text(plan.lang == "zh", words)
    story: list[Flowable] = [
        text.para(f"{words['title']}: {plan.community}", 16, font=BOLD, color=NAVY),
        Spacer(1, 4),
        text.para(f"{plan.model}, {words['assessed']} {plan.as_of}; {words['target']} {plan.target}", 9.5),
        text.para(f"{words['pack']}: {plan.pack.id} ({plan.pack.digest})", 7, color=MUTED),
        text.para(f"{words['rules']}: {plan.rule_pack.id} ({plan.rule_pack.digest})", 7, color=MUTED),
        text.para(f"{words['evaluation']}: {plan.evaluation_id}", 7, color=MUTED),
        Spacer(1, 6),
        text.para(words["goal_rule"], 8.5),
        text.para(words["standards_note"], 8.5),
    ]
    if not plan.items:
        story += [Spacer(1, 8), text.para(words["no_actions"], 10)]
    for dimension, title in plan.dimensions.items():
        items = [i for i in plan.items if i.dimension == dimension]
        if not items:
            continue
        story += [
            Spacer(1, 10),
            text.para(f"{words['dimension']} {dimension} {title}", 13, font=BOLD, color=NAVY),
        ]
        for item in items:
            story += [Spacer(1, 6), *_item(item, text)]
    story += [Spacer(1, 12), text.para(words["on_target"], 13, font=BOLD, color=NAVY), Spacer(1, 4)]
    if plan.on_target:
        story.append(_on_target(plan, text))
    else:
        story.append(text.para(words["on_target_none"], 9))
    if plan.not_encoded:
        story += [Spacer(1, 10), text.para(words["not_encoded"], 11, font=BOLD, color=NAVY)]
        story += [text.para(f"{c.id} {c.title}", 9) for c in plan.not_encoded]
    return story


class _Text:
    """Paragraphs in the plan's language: Chinese may break between any two characters."""

    def __init__(self, cjk: bool, words: Words) -> None:
        self.cjk = cjk
        self.words = words
        self._setter = Typesetter(bilingual=False)

    def para(self, value: str, size: float, *, font: str = REGULAR, color: Color = INK) -> Paragraph:
        return self._setter.para(value, size, font=font, color=color, cjk=self.cjk)


def _item(item: PlanItem, text: _Text) -> list[Flowable]:
    words = text.words
    head = (
        f"{item.id} {item.title}: {words['level']} {item.verified_level} -> {words['goal']} {item.goal} "
        f"({words['basis.' + item.basis]})"
    )
    parts: list[Flowable] = [text.para(head, 10.5, font=BOLD)]
    if item.next_level is None:
        parts.append(text.para(words["no_next"], 8.5))
    else:
        parts.append(
            text.para(
                f"{words['next']} {item.next_level} ({item.next_level_name}): {item.next_level_summary}", 8.5
            )
        )
    block: list[Flowable] = [KeepTogether(parts)]
    if item.actions:
        block += [Spacer(1, 2), _actions(item.actions, text), Spacer(1, 3)]
    if item.later_levels:
        block.append(text.para(f"{words['after']} {', '.join(map(str, item.later_levels))}", 8.5))
    block.append(text.para(standards_text(item, words), 8.5, color=MUTED))
    if item.projection is not None:
        block.append(text.para(projection_text(item, words), 8.5, color=MUTED))
    return block


def _actions(actions: list[PlanAction], text: _Text) -> Table:
    words = text.words
    rows: list[list[Flowable | list[Flowable]]] = []
    for action in actions:
        detail: list[Flowable] = [text.para(action.summary, 8)]
        for alternative in action.alternatives:
            detail.append(text.para(f"- {alternative.requirement}: {alternative.summary}", 7.5))
        detail.append(text.para(f"{words['missing']}: {action.missing}", 7, color=MUTED))
        rows.append(
            [
                text.para(action.requirement, 7, font=MONO),
                text.para(words[action.outcome], 7.5),
                detail,
            ]
        )
    table = Table(rows, colWidths=[150, 52, CONTENT_WIDTH - 202], hAlign="LEFT")
    table.setStyle(
        TableStyle(
            [
                TABLE_FONT,
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LINEBELOW", (0, 0), (-1, -1), 0.4, RULE),
                ("BACKGROUND", (0, 0), (1, -1), TINT),
                ("TOPPADDING", (0, 0), (-1, -1), 3),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
            ]
        )
    )
    return table


def _on_target(plan: Plan, text: _Text) -> Table:
    words = text.words
    header = [
        text.para(w, 8, font=BOLD) for w in (words["characteristic"], words["verified"], words["goal_column"])
    ]
    rows = [header] + [
        [
            text.para(f"{c.id} {c.title}", 8),
            text.para(str(c.verified_level), 8),
            text.para(f"{c.goal} ({words['basis.' + c.basis]})", 8),
        ]
        for c in plan.on_target
    ]
    table = Table(rows, colWidths=[CONTENT_WIDTH - 200, 60, 140], hAlign="LEFT", repeatRows=1)
    table.setStyle(
        TableStyle(
            [
                TABLE_FONT,
                ("LINEBELOW", (0, 0), (-1, -1), 0.4, RULE),
                ("BACKGROUND", (0, 0), (-1, 0), TINT),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ]
        )
    )
    return table
