"""Fonts, colours and text setting of the certificate PDF.

Every font is a TrueType font embedded (as a subset) in the file, so a certificate reads the same
on any viewer and years from now. Latin text is set in Bitstream Vera Sans, which ships inside the
reportlab wheel with its licence (``reportlab/fonts/bitstream-vera-license.txt``); digests in
DejaVu Sans Mono, vendored here (Bitstream Vera licence, see ``fonts/NOTICE.txt``). Chinese text is
set in the vendored Droid Sans Fallback (Apache-2.0): reportlab embeds and subsets TrueType
outlines but not OTF/CFF. That font has CJK glyphs only, no Latin ones, so mixed text is set run
by run: CJK characters in it, everything else in the Latin face asked for.

Vera covers Latin-1 and the rest of Windows-1252, as the standard Helvetica did before; letters
beyond that (``Ł``, ``ő``, ``ș``) have no glyph in it.
"""

from __future__ import annotations

import functools
import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, TypeAlias
from xml.sax.saxutils import escape

import reportlab
from reportlab.graphics.shapes import Drawing
from reportlab.lib import colors
from reportlab.lib.colors import Color
from reportlab.lib.styles import ParagraphStyle, str2alignment
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.pdfmetrics import registerFontFamily
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Flowable, Paragraph

REGULAR = "AssaySans"
BOLD = "AssaySans-Bold"
ITALIC = "AssaySans-Oblique"
BOLD_ITALIC = "AssaySans-BoldOblique"
MONO = "AssayMono"
"""Names the Latin faces are registered under with reportlab."""

_RL_FONTS = Path(reportlab.__file__).parent / "fonts"
FONT_FILES = {
    REGULAR: _RL_FONTS / "Vera.ttf",
    BOLD: _RL_FONTS / "VeraBd.ttf",
    ITALIC: _RL_FONTS / "VeraIt.ttf",
    BOLD_ITALIC: _RL_FONTS / "VeraBI.ttf",
    MONO: Path(__file__).parent / "fonts" / "DejaVuSansMono.ttf",
}
"""The TrueType file of each Latin face."""

CJK = "AssayCJK"
"""Name the Chinese font is registered under with reportlab."""

CJK_FILE = Path(__file__).parent / "fonts" / "DroidSansFallbackFull.ttf"
"""The vendored TrueType font file."""

TABLE_FONT = ("FONTNAME", (0, 0), (-1, -1), REGULAR)
"""Table style command every table starts with: reportlab sets each cell's font before drawing it,
paragraphs included, and its default is Helvetica, which would land in the file unembedded."""

INK = colors.HexColor("#1F2A37")
NAVY = colors.HexColor("#1F3A5F")
GOLD = colors.HexColor("#A8873A")
MUTED = colors.HexColor("#5B6675")
RULE = colors.HexColor("#C9D1DC")
TINT = colors.HexColor("#EEF2F7")

Align: TypeAlias = Literal["left", "center", "right"]
"""Where a line sits on its x position, or a paragraph's lines in their column."""

Cell: TypeAlias = str | Flowable | list[Paragraph]
"""What a table cell holds: text, a paragraph, or paragraphs stacked (English over Chinese)."""

# CJK radicals and punctuation onwards (ideographs, full-width forms): the embedded font's range.
_CJK_RUN = re.compile(r"([\u2e80-\U0002ffff]+)")

_lock = threading.Lock()
_latin_registered = False


def register_fonts() -> None:
    """Register the Latin faces with reportlab, once per process.

    Renderers call it before they make a canvas, whose initial font is :data:`REGULAR`: reportlab
    would otherwise start every page in Helvetica and list it, unembedded, in the file.
    """
    global _latin_registered
    if _latin_registered:
        return
    with _lock:
        if not _latin_registered:
            for name, path in FONT_FILES.items():
                pdfmetrics.registerFont(TTFont(name, str(path)))
            # So that paragraph markup finds the bold and italic faces of the family.
            registerFontFamily(REGULAR, normal=REGULAR, bold=BOLD, italic=ITALIC, boldItalic=BOLD_ITALIC)
            registerFontFamily(MONO, normal=MONO, bold=MONO, italic=MONO, boldItalic=MONO)
            _latin_registered = True


def new_drawing(width: float, height: float) -> Drawing:
    """An empty graphics drawing whose text state starts in :data:`REGULAR`.

    reportlab starts a drawing in Helvetica, which lands in the file unembedded even when the
    drawing has no text (a QR code, a rule).
    """
    register_fonts()
    return Drawing(width, height, initialFontName=REGULAR)


def cjk_font() -> str:
    """Register the Chinese font with reportlab (once per process) and return its name.

    Parsing the 4 MB file takes ~0.1 s, so it happens on first use only: reportlab's font registry
    is process-wide, and a registered font keeps each document's subset apart, so one instance
    serves every render.
    """
    with _lock:
        if CJK not in pdfmetrics.getRegisteredFontNames():
            pdfmetrics.registerFont(TTFont(CJK, str(CJK_FILE)))
            # One face for every style: inside a bold paragraph, Chinese stays in the same font.
            registerFontFamily(CJK, normal=CJK, bold=CJK, italic=CJK, boldItalic=CJK)
    return CJK


def runs(text: str, font: str) -> list[tuple[str, str]]:
    """``text`` cut into ``(piece, font)`` runs: CJK pieces in the embedded font, the rest in ``font``."""
    register_fonts()
    return [(piece, cjk_font() if i % 2 else font) for i, piece in enumerate(_CJK_RUN.split(text)) if piece]


def text_width(text: str, font: str, size: float) -> float:
    """Width of ``text`` set run by run."""
    return float(sum(pdfmetrics.stringWidth(piece, name, size) for piece, name in runs(text, font)))


def draw_text(
    canvas: Canvas, x: float, y: float, text: str, font: str, size: float, align: Align = "left"
) -> None:
    """Draw one line of possibly mixed text on ``canvas``, aligned on ``x``."""
    if align != "left":
        x -= text_width(text, font, size) / (2 if align == "center" else 1)
    for piece, name in runs(text, font):
        canvas.setFont(name, size)
        canvas.drawString(x, y, piece)
        x += pdfmetrics.stringWidth(piece, name, size)


def _markup(text: str) -> str:
    """Paragraph markup for ``text``: escaped (names may hold ``&`` or ``<``), CJK runs in their font."""
    if not _CJK_RUN.search(text):
        return escape(text)
    return "".join(
        f'<font name="{name}">{escape(piece)}</font>' if name == CJK else escape(piece)
        for piece, name in runs(text, REGULAR)
    )


@functools.cache
def _style(font: str, size: float, align: Align, color: str, leading: float, cjk: bool) -> ParagraphStyle:
    # Styles are immutable in use; caching them saves rebuilding a few hundred per render.
    register_fonts()
    return ParagraphStyle(
        name=f"{font}-{size}-{align}-{color}-{cjk}",
        fontName=font,
        fontSize=size,
        leading=leading,
        alignment=str2alignment(align),
        textColor=colors.HexColor(color),
        # Chinese has no spaces: CJK wrapping may break between any two characters.
        wordWrap="CJK" if cjk else None,
    )


@dataclass(frozen=True)
class Typesetter:
    """Builds the paragraphs of one certificate, in English or English with Chinese."""

    bilingual: bool

    def para(
        self,
        text: str,
        size: float,
        *,
        font: str = REGULAR,
        align: Align = "left",
        color: Color = INK,
        leading: float | None = None,
        cjk: bool = False,
    ) -> Paragraph:
        """A paragraph of ``text``; ``cjk`` lets lines break between any two characters."""
        style = _style(font, size, align, color.hexval(), leading or size * (1.32 if cjk else 1.22), cjk)
        return Paragraph(_markup(text), style)

    def both(
        self,
        en: str,
        zh: str,
        size: float,
        *,
        font: str = REGULAR,
        align: Align = "left",
        color: Color = INK,
        zh_size: float | None = None,
    ) -> list[Paragraph]:
        """The English paragraph, with the Chinese one below it on bilingual certificates."""
        out = [self.para(en, size, font=font, align=align, color=color)]
        if self.bilingual:
            out.append(self.para(zh, zh_size or size * 0.92, font=font, align=align, color=color, cjk=True))
        return out

    def label(self, en: str, zh: str, size: float = 6.6, align: Align = "left") -> list[Paragraph]:
        """A field label: small bold capitals, Chinese below on bilingual certificates."""
        return self.both(en.upper(), zh, size, font=BOLD, align=align, color=MUTED, zh_size=size + 0.6)
