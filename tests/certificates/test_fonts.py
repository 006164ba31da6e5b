"""Every font in the certificate and the improvement plan is embedded, read back with ``pdffonts``.

An unembedded font (the standard Helvetica, say) depends on the viewer having it, so a file is
not archive-grade; each PDF is rendered here and every row ``pdffonts`` lists must say ``emb yes``.
"""

from __future__ import annotations

import datetime as dt
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

import rules
from assay.plan_pdf import render_plan_pdf
from assay.plan_report import WORDS
from certificates.content import Issuance, build_certificate
from certificates.fonts import BOLD, FONT_FILES, MONO, REGULAR
from certificates.model import Language, result_digest
from certificates.render import render_certificate
from certificates.scheme import Scheme
from engine.catalogue import load_catalogue
from engine.plan import build_plan
from engine.result import Result
from engine.rulepack import RulePack
from tests.tools import require_tool

GOLDEN = Path(__file__).resolve().parents[1] / "golden"
LATIN = {"BitstreamVeraSans-Roman", "BitstreamVeraSans-Bold", "BitstreamVeraSans-Oblique"}
"""PostScript names of the Latin faces as they appear in a file."""
MONOSPACE = "DejaVuSansMono"
CHINESE = "DroidSansFallback"


def _raw(community: str) -> bytes:
    return (GOLDEN / community / "result.json").read_bytes()


def _certificate(language: Language) -> bytes:
    raw = _raw("harbourton")
    issuance = Issuance(
        "ASSAY-2026-000001", dt.date(2026, 11, 22), "Body", "Ana Auditor", "Dee Decider", language, False
    )
    cert = build_certificate(
        Result.model_validate_json(raw),
        load_catalogue(rules.bundled() / "model.yaml"),
        Scheme(),
        issuance,
        trail_head="sha256:" + "1" * 64,
        result_digest=result_digest(raw),
    )
    return render_certificate(cert)


@pytest.fixture(scope="module")
def plan_pdf(rule_pack: RulePack) -> Callable[[str], bytes]:
    """The improvement plan of Harbourton (target 4) as a PDF, in English or Chinese."""

    def render(lang: str) -> bytes:
        plan = build_plan(
            Result.model_validate_json(_raw("harbourton")), rule_pack, 4, "zh" if lang == "zh" else "en"
        )
        return render_plan_pdf(plan, WORDS[plan.lang])

    return render


def pdffonts(pdf: bytes, folder: Path) -> list[tuple[str, str]]:
    """``(name without subset tag, emb column)`` for every row ``pdffonts`` prints."""
    tool = require_tool("pdffonts")
    path = folder / "file.pdf"
    path.write_bytes(pdf)
    lines = subprocess.run([tool, str(path)], check=True, capture_output=True, text=True).stdout.splitlines()
    assert lines[1].startswith("---"), lines[:2]
    # The type column may hold spaces ("Type 1"); the last five columns are emb, sub, uni, object, generation.
    return [(line.split()[0].split("+")[-1], line.split()[-5]) for line in lines[2:]]


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        ("certificate en", {*LATIN, MONOSPACE}),
        ("certificate en+zh", {*LATIN, MONOSPACE, CHINESE}),
        ("plan en", {"BitstreamVeraSans-Roman", "BitstreamVeraSans-Bold", MONOSPACE}),
        ("plan zh", {"BitstreamVeraSans-Roman", "BitstreamVeraSans-Bold", MONOSPACE, CHINESE}),
    ],
    ids=["certificate-en", "certificate-en+zh", "plan-en", "plan-zh"],
)
def test_every_font_is_embedded(
    document: str, expected: set[str], plan_pdf: Callable[[str], bytes], tmp_path: Path
) -> None:
    kind, language = document.split(" ")
    pdf = (
        _certificate("en+zh" if language == "en+zh" else "en")
        if kind == "certificate"
        else plan_pdf(language)
    )
    rows = pdffonts(pdf, tmp_path)
    assert {name for name, _ in rows} == expected
    assert [(name, emb) for name, emb in rows if emb != "yes"] == []


def test_the_fonts_are_files_a_fresh_install_has() -> None:
    # reportlab's wheel ships Vera; the monospace face and its licence ship with this package.
    assert all(path.is_file() for path in FONT_FILES.values())
    assert FONT_FILES[REGULAR].name == "Vera.ttf"
    assert FONT_FILES[BOLD].name == "VeraBd.ttf"
    licence = (FONT_FILES[MONO].parent / "DejaVuSansMono-LICENSE.txt").read_text(encoding="utf-8")
    assert "Copyright (c) 2003 by Bitstream, Inc." in licence
    notice = (FONT_FILES[MONO].parent / "NOTICE.txt").read_text(encoding="utf-8")
    assert "DejaVuSansMono.ttf" in notice
