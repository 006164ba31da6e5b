"""Independent validators agree: poppler's pdfsig (NSS) and ``openssl cms -verify`` over the ByteRange.

pdfsig exits 0 whatever it finds, so its output is parsed. It reports B-LT files as not totally
signed (the DSS comes in a later revision), so these checks use B-B files.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from certificates.pki import TestPki
from tests.certificates.validators import TOTAL, TRUSTED, VALID, openssl_verify, pdfsig, trusting_nss_db
from tests.tools import require_tool


@pytest.fixture(scope="module")
def nss_db(pki: TestPki, tmp_path_factory: pytest.TempPathFactory) -> str:
    """An NSS database trusting the test root, as pdfsig's ``-nssdir``."""
    return trusting_nss_db(pki.root, tmp_path_factory.mktemp("nss"))


def _flip_page_text(pdf: bytes) -> bytes:
    offset = pdf.index(b"Certificate of smart-city maturity")
    return pdf[:offset] + b"X" + pdf[offset + 1 :]


def test_pdfsig_accepts_the_signed_certificate(signed_pdf: bytes, nss_db: str, tmp_path: Path) -> None:
    report = pdfsig(signed_pdf, nss_db, tmp_path)
    assert VALID in report
    assert TRUSTED in report
    assert TOTAL in report
    assert "Signature #2" not in report
    assert "ETSI.CAdES.detached" in report


def test_pdfsig_rejects_a_byte_flip(signed_pdf: bytes, nss_db: str, tmp_path: Path) -> None:
    report = pdfsig(_flip_page_text(signed_pdf), nss_db, tmp_path)
    assert VALID not in report
    assert "Digest Mismatch" in report


def test_pdfsig_sees_an_incremental_update(
    signed_pdf: bytes, nss_db: str, tmp_path: Path, add_page_text: Callable[[bytes], bytes]
) -> None:
    report = pdfsig(add_page_text(signed_pdf), nss_db, tmp_path)
    assert TOTAL not in report
    assert "Not total document signed" in report


def test_pdfsig_does_not_trust_a_foreign_signer(
    foreign_signed_pdf: bytes, nss_db: str, tmp_path: Path
) -> None:
    report = pdfsig(foreign_signed_pdf, nss_db, tmp_path)
    assert VALID in report  # the mathematics hold ...
    assert TRUSTED not in report  # ... but nothing vouches for the signer


def test_openssl_verifies_the_byte_range(signed_pdf: bytes, pki: TestPki, tmp_path: Path) -> None:
    done = openssl_verify(signed_pdf, pki.root, tmp_path)
    assert done.returncode == 0, done.stderr
    assert "Verification successful" in done.stderr


def test_openssl_rejects_a_byte_flip(signed_pdf: bytes, pki: TestPki, tmp_path: Path) -> None:
    done = openssl_verify(_flip_page_text(signed_pdf), pki.root, tmp_path)
    assert done.returncode != 0
    assert "Verification successful" not in done.stderr


def test_openssl_rejects_a_foreign_root(signed_pdf: bytes, foreign_pki: TestPki, tmp_path: Path) -> None:
    done = openssl_verify(signed_pdf, foreign_pki.root, tmp_path)
    assert done.returncode != 0
    assert "Verification successful" not in done.stderr


def test_pdfdetach_reads_the_attachments_back(
    signed_pdf: bytes, attachments: dict[str, bytes], tmp_path: Path
) -> None:
    pdfdetach = require_tool("pdfdetach")
    file = tmp_path / "certificate.pdf"
    file.write_bytes(signed_pdf)
    out = tmp_path / "out"
    out.mkdir()
    subprocess.run([pdfdetach, "-saveall", "-o", str(out), str(file)], check=True, capture_output=True)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == attachments
