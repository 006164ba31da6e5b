"""The schedule's evidence-basis column: per characteristic, the distinct items behind its
credited levels and how many of their requirements were judged, read back with ``pdftotext``."""

from __future__ import annotations

import datetime as dt
import subprocess
from pathlib import Path

import pytest

import rules
from certificates.content import Issuance, build_certificate
from certificates.model import Certificate, Language, result_digest
from certificates.render import render_certificate
from certificates.scheme import Scheme
from engine.basis import credited_basis
from engine.catalogue import load_catalogue
from engine.result import Result
from tests.tools import require_tool

GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "harbourton" / "result.json"


def _certificate(language: Language) -> tuple[Result, Certificate]:
    raw = GOLDEN.read_bytes()
    result = Result.model_validate_json(raw)
    issuance = Issuance("ASSAY-2026-000001", dt.date(2026, 11, 22), "Body", "Ana", "Dee", language, False)
    cert = build_certificate(
        result,
        load_catalogue(rules.bundled() / "model.yaml"),
        Scheme(),
        issuance,
        trail_head="sha256:" + "1" * 64,
        result_digest=result_digest(raw),
    )
    return result, cert


def _schedule_lines(cert: Certificate, tmp_path: Path) -> list[str]:
    pdf = tmp_path / "certificate.pdf"
    pdf.write_bytes(render_certificate(cert))
    command = [require_tool("pdftotext"), "-layout", "-f", "2", "-l", "2", str(pdf), "-"]
    return subprocess.run(command, check=True, capture_output=True, text=True).stdout.splitlines()


@pytest.mark.parametrize("language", ["en", "en+zh"])
def test_each_characteristic_row_ends_with_its_basis(language: Language, tmp_path: Path) -> None:
    result, cert = _certificate(language)
    lines = _schedule_lines(cert, tmp_path)
    expected = {c.id: credited_basis(c) for c in result.characteristics}
    assert sum(1 for b in expected.values() if b is None) < len(expected)  # some levels credited
    for entry in cert.profile:
        (row,) = [line for line in lines if line.strip().startswith(entry.id + " ")]
        basis = expected[entry.id]
        if basis is None:
            cell = "-"
        elif language == "en":
            cell = f"{basis[0]} item{'' if basis[0] == 1 else 's'} · {basis[1]} judged"
        else:
            cell = f"{basis[0]} · {basis[1]}"
        # pdftotext may close up the spaces around the dot; compare without them.
        assert "".join(row.split()).endswith("".join(cell.split())), (entry.id, row)
        assert (entry.basis_items, entry.basis_judged) == (basis or (None, None))
