"""The certificate as a PDF: page 1 the certificate proper, page 2 its schedule.

The PDF is unsigned; signing adds a revision later. Rendering is deterministic: reportlab's
invariant mode, a document /ID derived from the certificate and Info dates taken from the instant
of issue the caller passes (read once from the issuing clock), never from the wall clock here,
make an identical :class:`Certificate` and instant give identical bytes.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
from typing import NamedTuple

from reportlab.graphics import renderPDF
from reportlab.graphics.barcode.qr import QrCodeWidget
from reportlab.graphics.shapes import Drawing, Line
from reportlab.lib.pagesizes import A4
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Flowable, Paragraph, Table, TableStyle

from certificates.fonts import (
    BOLD,
    GOLD,
    INK,
    ITALIC,
    MONO,
    MUTED,
    NAVY,
    REGULAR,
    RULE,
    TABLE_FONT,
    TINT,
    Cell,
    Typesetter,
    draw_text,
    new_drawing,
    register_fonts,
)
from certificates.model import Certificate, qr_payload
from certificates.schedule import draw_schedule

PAGE_WIDTH, PAGE_HEIGHT = A4
MARGIN = 46.0
CONTENT_WIDTH = PAGE_WIDTH - 2 * MARGIN
TOP = PAGE_HEIGHT - 58.0
BOTTOM = 66.0
QR_SIZE = 86.0

LEVELS = (1, 2, 3, 4, 5)
"""The maturity levels the headline table counts characteristics at (every bundled model has five)."""

WATERMARK_EN = "TEST - not a valid certificate"
WATERMARK_ZH = "测试 - 非有效证书"

MONTHS = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip


def format_date(day: dt.date) -> str:
    """A date as the certificate prints it in English: ``22 November 2026``.

    Month names come from a table, not ``strftime("%B")``, which follows the process locale.
    """
    return f"{day.day} {MONTHS[day.month - 1]} {day.year}"


def format_date_zh(day: dt.date) -> str:
    """A date as the certificate prints it in Chinese: ``2026年11月22日``."""
    return f"{day.year}年{day.month}月{day.day}日"


def render_certificate(cert: Certificate, issued_at: dt.datetime | None = None) -> bytes:
    """The unsigned A4 PDF of ``cert``; byte-identical for an identical certificate and instant.

    ``issued_at`` is the instant of issue on the issuing clock (timezone-aware, on the issue date
    in UTC); the PDF's creation and modification dates are set from it. Without it, for a
    rendering outside issuing (a preview, a benchmark), they are the start of the issue date.
    """
    created = issued_at or dt.datetime.combine(cert.issued_on, dt.time(), tzinfo=dt.UTC)
    if created.tzinfo is None or created.astimezone(dt.UTC).date() != cert.issued_on:
        raise ValueError(f"the instant of issue {created} does not fall on the issue date {cert.issued_on}")
    register_fonts()
    buffer = io.BytesIO()
    # Started in the embedded face: reportlab would otherwise open every page in Helvetica (and
    # list it, unembedded). The stubs type initialFontName as a float; reportlab takes a name.
    canvas = Canvas(
        buffer,
        pagesize=A4,
        invariant=1,
        pageCompression=1,
        initialFontName=REGULAR,  # type: ignore[arg-type]
    )
    _set_info(canvas, cert, created)
    text = Typesetter(bilingual=cert.language == "en+zh")
    _draw_border(canvas)
    _draw_certificate(canvas, cert, text)
    _finish_page(canvas, cert, text, 1)
    _draw_border(canvas)
    # The schedule's table is dense: it may use the top and bottom reserve page 1 keeps for balance.
    draw_schedule(cert, text, Column(canvas, MARGIN, TOP + 8, CONTENT_WIDTH, BOTTOM - 10))
    _finish_page(canvas, cert, text, 2)
    canvas.save()
    return buffer.getvalue()


def pdf_date(instant: dt.datetime) -> str:
    """``instant`` as a PDF date string in UTC: ``D:20261122101500Z``."""
    return instant.astimezone(dt.UTC).strftime("D:%Y%m%d%H%M%SZ")


def _set_info(canvas: Canvas, cert: Certificate, created: dt.datetime) -> None:
    canvas.setTitle(f"Certificate {cert.number}")
    canvas.setAuthor(cert.body)
    canvas.setSubject(f"{cert.scope.standard} maturity certificate: {cert.community}")
    canvas.setCreator("Assay")
    # The verifier reads the payload back from here: it must be exactly what the QR code holds.
    canvas.setKeywords(qr_payload(cert.number, cert.result_digest))
    # Both /CreationDate and /ModDate: the certificate is made once, when it is issued.
    stamp = pdf_date(created)
    canvas.setDateFormatter(lambda *_: stamp)
    # reportlab seeds the file's /ID with SOURCE_DATE_EPOCH when that is set, so the bytes would follow
    # the environment; seed it with the certificate instead (the Info fields are added on save).
    seed = hashlib.md5(cert.model_dump_json().encode(), usedforsecurity=False)
    # Canvas has no public handle on its document, and the stubs leave the private one out.
    canvas._doc.signature = seed  # type: ignore[attr-defined]


def _draw_border(canvas: Canvas) -> None:
    canvas.saveState()
    canvas.setStrokeColor(NAVY)
    canvas.setLineWidth(1.6)
    canvas.rect(22, 22, PAGE_WIDTH - 44, PAGE_HEIGHT - 44)
    canvas.setStrokeColor(GOLD)
    canvas.setLineWidth(0.6)
    canvas.rect(28, 28, PAGE_WIDTH - 56, PAGE_HEIGHT - 56)
    canvas.restoreState()


class Block(NamedTuple):
    """A flowable in a column, the space after it, and whether that space may stretch."""

    flowable: Flowable
    gap: float = 0.0
    stretch: bool = False


class Column:
    """Places flowables top-down in a column and refuses to run past its bottom."""

    def __init__(self, canvas: Canvas, x: float, top: float, width: float, bottom: float) -> None:
        self.canvas, self.x, self.y, self.width, self.bottom = canvas, x, top, width, bottom

    def measure(self, flowable: Flowable) -> float:
        """Height of ``flowable`` set in this column."""
        return float(flowable.wrapOn(self.canvas, self.width, self.y - self.bottom)[1])

    def place(self, flowable: Flowable, gap: float = 0.0, height: float | None = None) -> None:
        """Draw ``flowable`` below the previous one, then leave ``gap``.

        ``height`` is the flowable's measured height when it has just been wrapped at this width;
        passing it saves setting a table's every paragraph a second time.
        """
        if height is None:
            height = self.measure(flowable)
        if self.y - height < self.bottom - 0.01:
            raise ValueError("certificate content does not fit on its page; shorten the longest names")
        flowable.drawOn(self.canvas, self.x, self.y - height)
        self.y -= height + gap

    def skip(self, gap: float) -> None:
        """Leave ``gap`` points of space."""
        self.y -= gap

    def stack(self, blocks: list[Block], most: float = 44.0) -> None:
        """Place ``blocks``, spreading spare height over the stretchable gaps (up to ``most`` each)."""
        heights = [self.measure(b.flowable) for b in blocks]
        need = sum(heights) + sum(b.gap for b in blocks)
        stretchy = sum(b.stretch for b in blocks)
        extra = min(max(self.y - self.bottom - need, 0.0) / max(stretchy, 1), most)
        for block, height in zip(blocks, heights, strict=True):
            self.place(block.flowable, block.gap + (extra if block.stretch else 0.0), height)


def _draw_certificate(canvas: Canvas, cert: Certificate, text: Typesetter) -> None:
    col = Column(canvas, MARGIN, TOP, CONTENT_WIDTH, BOTTOM + QR_SIZE + 12)
    blocks = [Block(text.para(cert.body, 12, font=BOLD, align="center", color=NAVY), 2)]
    if text.bilingual:
        blocks.append(Block(text.para("认证机构", 8, align="center", color=MUTED, cjk=True)))
    blocks[-1] = blocks[-1]._replace(gap=10, stretch=True)
    heading = text.para("Certificate of Maturity", 27, font=BOLD, align="center", color=NAVY)
    blocks.append(Block(heading, 2))
    if text.bilingual:
        blocks.append(Block(text.para("成熟度证书", 16, align="center", color=NAVY, cjk=True), 2))
    blocks.append(Block(_gold_rule(), 12, stretch=True))
    certify = text.both("This is to certify that", "兹证明", 10, font=ITALIC, align="center", color=MUTED)
    blocks += [Block(p, 3) for p in certify]
    blocks += [Block(_community(cert.community, text), 8)]
    blocks += [Block(p, 3) for p in _statement(cert, text)]
    if cert.renews:
        blocks.append(Block(_renews(cert.renews, text), 3))
    blocks[-1] = blocks[-1]._replace(gap=10, stretch=True)
    blocks.append(Block(_dimension_table(cert, text), 4))
    blocks.append(Block(_reading_note(cert, text), 12, stretch=True))
    blocks.append(Block(_details_table(cert, text)))
    col.stack(blocks)
    _draw_evidence(canvas, cert, text)


def _gold_rule() -> Drawing:
    drawing = new_drawing(CONTENT_WIDTH, 8)
    drawing.add(Line(CONTENT_WIDTH / 2 - 70, 2, CONTENT_WIDTH / 2 + 70, 2, strokeColor=GOLD, strokeWidth=0.8))
    return drawing


def _community(name: str, text: Typesetter) -> Paragraph:
    # Long names step down in size so they stay on two lines at most.
    for size in (24.0, 21.0, 18.0, 16.0):
        para = text.para(name, size, font=BOLD, align="center")
        _, height = para.wrap(CONTENT_WIDTH, 1000)
        if height <= size * 1.25 * 2 + 0.1:
            return para
    return para


def _statement(cert: Certificate, text: Typesetter) -> list[Paragraph]:
    n = len(cert.scope.characteristics)
    scope = cert.scope
    en = (
        f"has been assessed against {scope.standard}, {scope.title.en}, for the {n} characteristics "
        "in scope, and that its verified maturity profile is as set out in the schedule to this certificate."
    )
    zh = (
        f"已依据 {scope.standard}《{scope.title.zh}》就认证范围内的 {n} 个特征接受评估，"
        "其经验证的成熟度概况见本证书附表。"
    )
    return text.both(en, zh, 10, align="center", zh_size=9.5)


def _renews(number: str, text: Typesetter) -> Paragraph:
    line = f"This certificate renews certificate {number}."
    if text.bilingual:
        line += f"  本证书续期证书 {number}。"
    return text.para(line, 9, font=BOLD, align="center", color=NAVY, cjk=text.bilingual)


def _level_counts(cert: Certificate) -> dict[str, list[int]]:
    """Per dimension id, how many of its characteristics were verified at each of :data:`LEVELS`."""
    counts = {d.id: [0] * len(LEVELS) for d in cert.dimensions}
    for entry in cert.profile:
        if entry.verified_level in LEVELS and entry.dimension in counts:
            counts[entry.dimension][LEVELS.index(entry.verified_level)] += 1
    return counts


def _dimension_table(cert: Certificate, text: Typesetter) -> Table:
    """The headline: per dimension, the level every characteristic reaches, how many are at each
    level, and their average; the two header rows are spanned by the table style."""
    counts = _level_counts(cert)
    rows: list[list[Cell]] = [
        [
            text.label("Dimension", "维度"),
            text.label("Level every characteristic reaches", "每个特征均达到的级别", align="center"),
            text.label("Characteristics at each level", "处于各级别的特征数", align="center"),
            *[""] * (len(LEVELS) - 1),
            text.label("Average level", "平均级别", align="center"),
        ],
        ["", "", *(text.para(str(n), 7.5, font=BOLD, align="center", color=MUTED) for n in LEVELS), ""],
    ]
    for dim in cert.dimensions:
        rows.append(
            [
                # Chinese beside the English here: stacked rows would crowd the page.
                text.para(f"{dim.id}  {dim.title.en}" + (f"  {dim.title.zh}" if text.bilingual else ""), 9),
                text.para(str(dim.level) if dim.level is not None else "-", 11, font=BOLD, align="center"),
                *(text.para(str(n), 9.5, align="center", color=INK if n else MUTED) for n in counts[dim.id]),
                text.para(f"{dim.mean:.2f}" if dim.mean is not None else "-", 9.5, align="center"),
            ]
        )
    last = len(LEVELS) + 2
    widths = [86.0, *[17.0] * len(LEVELS), 50.0]
    table = Table(rows, colWidths=[CONTENT_WIDTH - sum(widths), *widths])
    table.setStyle(
        TableStyle(
            [
                TABLE_FONT,
                ("SPAN", (0, 0), (0, 1)),
                ("SPAN", (1, 0), (1, 1)),
                ("SPAN", (2, 0), (last - 1, 0)),
                ("SPAN", (last, 0), (last, 1)),
                ("BACKGROUND", (0, 0), (-1, 1), TINT),
                ("LINEABOVE", (0, 0), (-1, 0), 0.8, NAVY),
                ("LINEBELOW", (0, 1), (-1, 1), 0.5, NAVY),
                ("LINEBELOW", (0, 2), (-1, -2), 0.3, RULE),
                ("LINEBELOW", (0, -1), (-1, -1), 0.8, NAVY),
                ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                ("TOPPADDING", (0, 0), (-1, -1), 2.5),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 3.5),
                ("TOPPADDING", (0, 1), (-1, 1), 0),
                ("LEFTPADDING", (1, 0), (1, -1), 3),
                ("RIGHTPADDING", (1, 0), (1, -1), 3),
                ("LEFTPADDING", (2, 0), (last - 1, -1), 1),
                ("RIGHTPADDING", (2, 0), (last - 1, -1), 1),
            ]
        )
    )
    return table


def _reading_note(cert: Certificate, text: Typesetter) -> Paragraph:
    """The rest of how to read the headline table, in plain words (certificate.json keeps the rule)."""
    en = (
        "Columns 1 to 5 count a dimension's characteristics at each level; the average is the mean of "
        "their levels. The schedule gives the level of each characteristic."
    )
    zh = "1 至 5 列为维度中处于各级别的特征数；平均级别为这些特征级别的平均值。各特征的级别见附表。"
    left_out = [e.id for e in cert.profile if e.verified_level is None]
    if left_out:
        en += f" Not evaluated, so not counted: {', '.join(left_out)}."
        zh += f"未评估，因而未计入：{'、'.join(left_out)}。"
    return text.para(f"{en} {zh}" if text.bilingual else en, 7, color=MUTED, cjk=text.bilingual)


def _details_table(cert: Certificate, text: Typesetter) -> Table:
    def dates(*days: dt.date) -> list[Paragraph]:
        out = []
        for day in days:
            out += text.both(format_date(day), format_date_zh(day), 9, font=BOLD, zh_size=8)
        return out

    def value(v: str) -> Paragraph:
        return text.para(v, 9, font=BOLD)

    # Issue date and assessment date side by side: the certificate is dated when it is issued,
    # and its validity counts from then; the assessment date is when the evidence stood.
    left: list[tuple[Cell, Cell]] = [
        (text.label("Certificate number", "证书编号"), value(cert.number)),
        (text.label("Issue date", "颁发日期"), dates(cert.issued_on)),
        (text.label("Valid until", "有效期至"), dates(cert.expires_on)),
        (text.label("Surveillance due", "监督审核日期"), dates(*cert.surveillance_due)),
    ]
    right: list[tuple[Cell, Cell]] = [
        (text.label("Certification scheme", "认证方案"), value(cert.scheme)),
        (text.label("Assessment date", "评估日期"), dates(cert.assessed_on)),
        (text.label("Lead auditor", "审核组长"), value(cert.lead_auditor)),
        (text.label("Decision maker", "认证决定人"), value(cert.decision_maker)),
    ]
    rows = [[*_cell(left, i), "", *_cell(right, i)] for i in range(max(len(left), len(right)))]
    width = (CONTENT_WIDTH - 16) / 2
    table = Table(rows, colWidths=[width * 0.4, width * 0.6, 16, width * 0.38, width * 0.62])
    table.setStyle(
        TableStyle(
            [
                TABLE_FONT,
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LINEBELOW", (0, 0), (1, -1), 0.3, RULE),
                ("LINEBELOW", (3, 0), (4, -1), 0.3, RULE),
                ("LEFTPADDING", (0, 0), (-1, -1), 2),
                ("TOPPADDING", (0, 0), (-1, -1), 2.5),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 3.5),
            ]
        )
    )
    return table


def _cell(fields: list[tuple[Cell, Cell]], i: int) -> tuple[Cell, Cell]:
    return fields[i] if i < len(fields) else ("", "")


def _draw_evidence(canvas: Canvas, cert: Certificate, text: Typesetter) -> None:
    """Digests binding the certificate to its evaluation, and the QR code, along the page bottom."""
    rows = [
        [text.label("Evaluation id", "评估编号"), text.para(cert.evaluation_id, 7, font=MONO)],
        [text.label("Rule-pack digest", "规则包摘要"), text.para(cert.rule_pack_digest, 7, font=MONO)],
        [text.label("Audit-trail head", "审核轨迹末条哈希"), text.para(cert.trail_head, 7, font=MONO)],
        [text.label("Result digest", "结果摘要"), text.para(cert.result_digest, 7, font=MONO)],
    ]
    width = CONTENT_WIDTH - QR_SIZE - 14
    table = Table(rows, colWidths=[82, width - 82])
    table.setStyle(
        TableStyle(
            [
                TABLE_FONT,
                ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                ("LEFTPADDING", (0, 0), (-1, -1), 2),
                ("RIGHTPADDING", (0, 0), (-1, -1), 2),
                ("TOPPADDING", (0, 0), (-1, -1), 2),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
            ]
        )
    )
    _, height = table.wrapOn(canvas, width, QR_SIZE + 20)
    table.drawOn(canvas, MARGIN, BOTTOM + (QR_SIZE - height) / 2 + 4)
    _draw_qr(canvas, qr_payload(cert.number, cert.result_digest), PAGE_WIDTH - MARGIN - QR_SIZE, BOTTOM + 8)
    caption = text.both("Scan to verify", "扫码验证", 6.5, align="center", color=MUTED)
    for i, p in enumerate(caption):
        p.wrapOn(canvas, QR_SIZE, 20)
        p.drawOn(canvas, PAGE_WIDTH - MARGIN - QR_SIZE, BOTTOM - 2 - 9 * i)


def _draw_qr(canvas: Canvas, payload: str, x: float, y: float) -> None:
    # Sized by barWidth/barHeight rather than scaled from getBounds(): that would encode it twice.
    widget = QrCodeWidget(payload, barLevel="M", barWidth=QR_SIZE, barHeight=QR_SIZE)
    drawing = new_drawing(QR_SIZE, QR_SIZE)
    drawing.add(widget)
    renderPDF.draw(drawing, canvas, x, y)


def _finish_page(canvas: Canvas, cert: Certificate, text: Typesetter, page: int) -> None:
    """Footer, then the test watermark over everything, then the next page."""
    footer = f"Certificate {cert.number}  ·  page {page} of 2"
    note = "Valid only together with its schedule and while its digital signature verifies."
    canvas.saveState()
    canvas.setFillColor(MUTED)
    draw_text(canvas, MARGIN, 40, footer, BOLD, 7)
    draw_text(canvas, PAGE_WIDTH - MARGIN, 40, note, REGULAR, 6.5, "right")
    if text.bilingual:
        draw_text(canvas, MARGIN, 32, f"证书编号 {cert.number}  ·  第 {page} 页，共 2 页", REGULAR, 6.5)
        zh_note = "本证书须与附表一并使用，且数字签名验证有效时方为有效。"
        draw_text(canvas, PAGE_WIDTH - MARGIN, 32, zh_note, REGULAR, 6.5, "right")
    canvas.restoreState()
    if cert.test:
        _watermark(canvas, text.bilingual)
    canvas.showPage()


def _watermark(canvas: Canvas, bilingual: bool) -> None:
    canvas.saveState()
    # Drawn last and translucent: table shading cannot hide it, and the text under it stays legible.
    canvas.setFillColorRGB(0.75, 0.1, 0.1, alpha=0.14)
    canvas.translate(PAGE_WIDTH / 2, PAGE_HEIGHT / 2)
    canvas.rotate(54)
    draw_text(canvas, 0, 12 if bilingual else 0, WATERMARK_EN, BOLD, 40, "center")
    if bilingual:
        draw_text(canvas, 0, -40, WATERMARK_ZH, BOLD, 40, "center")
    canvas.restoreState()
