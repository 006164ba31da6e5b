"""Fixtures for signing and verification: a test PKI made at run time, a small PDF, real content.

The PKI is valid from "now" (the real clock), so certificate dates in these tests are relative
to the real current date too. Keys and passwords live in pytest's temporary folders only.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Callable
from pathlib import Path

import pytest
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from reportlab.pdfgen.canvas import Canvas

import rules
from certificates.content import Issuance, build_certificate
from certificates.keys import SigningKey, load_signing_key, read_password
from certificates.model import Certificate, qr_payload, result_digest
from certificates.pki import TestPki, init_foreign_pki, init_test_pki
from certificates.scheme import Scheme
from certificates.signing import sign_certificate
from engine.catalogue import load_catalogue
from engine.result import Result

GOLDEN_RESULT = Path(__file__).resolve().parents[1] / "golden" / "harbourton" / "result.json"
NUMBER = "ASSAY-2026-000001"


@pytest.fixture(scope="session")
def pki(tmp_path_factory: pytest.TempPathFactory) -> TestPki:
    """The test PKI: root, signer, TSA and an empty CRL, valid from now."""
    return init_test_pki(tmp_path_factory.mktemp("pki"), dt.datetime.now(dt.UTC))


@pytest.fixture(scope="session")
def foreign_pki(tmp_path_factory: pytest.TempPathFactory) -> TestPki:
    """A second, unrelated PKI: what it signs is not trusted by the test root."""
    return init_foreign_pki(tmp_path_factory.mktemp("foreign-pki"), dt.datetime.now(dt.UTC))


@pytest.fixture(scope="session")
def signing_key(pki: TestPki) -> SigningKey:
    """The test signer's key, loaded once."""
    return load_signing_key(pki.signer_p12, read_password(None, pki.signer_password))


@pytest.fixture(scope="session")
def result_json() -> bytes:
    """A real evaluation result (the Harbourton golden output)."""
    return GOLDEN_RESULT.read_bytes()


@pytest.fixture(scope="session")
def certificate(result_json: bytes) -> Certificate:
    """The certificate for ``result_json``, issued today."""
    issuance = Issuance(
        NUMBER, dt.date.today(), "Assay Test Certification Body", "Ana Auditor", "Dee Decider", "en", True
    )
    return build_certificate(
        Result.model_validate_json(result_json),
        load_catalogue(rules.bundled() / "model.yaml"),
        Scheme(),
        issuance,
        trail_head="sha256:" + "1" * 64,
        result_digest=result_digest(result_json),
    )


@pytest.fixture(scope="session")
def certificate_json(certificate: Certificate) -> bytes:
    """``certificate`` as the certificate.json the PDF embeds."""
    return certificate.model_dump_json(indent=2).encode()


@pytest.fixture(scope="session")
def attachments(result_json: bytes, certificate_json: bytes) -> dict[str, bytes]:
    """What a signed certificate embeds."""
    return {"result.json": result_json, "certificate.json": certificate_json}


@pytest.fixture(scope="session")
def make_pdf() -> Callable[[str], bytes]:
    """Make a small unsigned one-page PDF whose Keywords are the given text (a QR payload)."""

    def make(keywords: str) -> bytes:
        out = io.BytesIO()
        # Uncompressed page content, so tests can find and flip a byte of the visible text.
        canvas = Canvas(out, invariant=1, pageCompression=0)
        canvas.setTitle("Smart-city maturity certificate")
        canvas.setKeywords(keywords)
        canvas.setFont("Helvetica", 14)
        canvas.drawString(72, 760, "Certificate of smart-city maturity: Harbourton")
        canvas.drawString(72, 740, f"Certificate number {NUMBER}")
        canvas.showPage()
        canvas.save()
        return out.getvalue()

    return make


@pytest.fixture(scope="session")
def unsigned_pdf(make_pdf: Callable[[str], bytes], certificate: Certificate) -> bytes:
    """The unsigned PDF for ``certificate``: its Keywords carry the certificate's QR payload."""
    return make_pdf(qr_payload(certificate.number, certificate.result_digest))


@pytest.fixture(scope="session")
def signed_pdf(unsigned_pdf: bytes, attachments: dict[str, bytes], signing_key: SigningKey) -> bytes:
    """``unsigned_pdf`` signed at B-B with the attachments."""
    return sign_certificate(unsigned_pdf, attachments, signing_key)


@pytest.fixture(scope="session")
def foreign_signed_pdf(unsigned_pdf: bytes, attachments: dict[str, bytes], foreign_pki: TestPki) -> bytes:
    """``unsigned_pdf`` signed by the foreign PKI's signer."""
    key = load_signing_key(foreign_pki.signer_p12, read_password(None, foreign_pki.signer_password))
    return sign_certificate(unsigned_pdf, attachments, key)


# The two tamperings below go through pyHanko's writer API, parts of which carry no annotations
# (hence the no-untyped-call ignores).


def _write(writer: IncrementalPdfFileWriter) -> bytes:
    out = io.BytesIO()
    writer.write(out)  # type: ignore[no-untyped-call]
    return out.getvalue()


def _add_page_text(pdf: bytes) -> bytes:
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
    stream = generic.StreamObject(stream_data=b"BT /F1 24 Tf 72 600 Td (Level 5 everywhere) Tj ET")
    writer.add_stream_to_page(0, writer.add_object(stream))  # type: ignore[no-untyped-call]
    return _write(writer)


def _add_text_annotation(pdf: bytes) -> bytes:
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
    page_ref, _ = writer.find_page_for_modification(0)  # type: ignore[no-untyped-call]
    annotation = generic.DictionaryObject()  # type: ignore[no-untyped-call]
    annotation["/Type"] = generic.pdf_name("/Annot")
    annotation["/Subtype"] = generic.pdf_name("/Text")
    corners = [generic.FloatObject(n) for n in (72, 500, 92, 520)]  # type: ignore[no-untyped-call]
    annotation["/Rect"] = generic.ArrayObject(corners)
    annotation["/Contents"] = generic.pdf_string("Approved by nobody")
    page = page_ref.get_object()
    page["/Annots"] = generic.ArrayObject([writer.add_object(annotation)])
    writer.update_container(page)
    return _write(writer)


@pytest.fixture(scope="session")
def add_page_text() -> Callable[[bytes], bytes]:
    """Append an incremental update that draws more text on page 1 (a change after signing)."""
    return _add_page_text


@pytest.fixture(scope="session")
def add_text_annotation() -> Callable[[bytes], bytes]:
    """Append an incremental update that adds a text annotation to page 1 (a change after signing)."""
    return _add_text_annotation
