"""Signing: one PAdES certification signature with DocMDP no changes, attachments covered, PDF 1.7.

Signed bytes are never stable (random /ID, signing time), so these tests read the result back.
"""

from __future__ import annotations

import datetime as dt
import io
import re

import pytest
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.fields import MDPPerm
from pyhanko.sign.timestamps import TimeStamper
from pyhanko.sign.validation import read_certification_data, validate_pdf_signature
from pyhanko.sign.validation.status import SignatureCoverageLevel
from pyhanko_certvalidator import ValidationContext

from certificates.errors import SigningError
from certificates.keys import SigningKey
from certificates.pki import TestPki, dummy_timestamper
from certificates.signing import SIGNATURE_FIELD, Level, SigningOptions, sign_certificate
from certificates.verify import offline_validation_context, verify_certificate


@pytest.fixture(scope="module")
def timestamper(pki: TestPki) -> TimeStamper:
    """The test TSA, in process."""
    return dummy_timestamper(pki)


def _context(pki: TestPki) -> ValidationContext:
    return offline_validation_context([pki.root_certificate()], [pki.crl.read_bytes()])


def _version(pdf: bytes) -> str:
    """Effective PDF version: the header's, raised by a catalog /Version entry (incremental updates)."""
    match = re.match(rb"%PDF-(\d\.\d)", pdf)
    assert match is not None
    header = match.group(1).decode()
    catalog = PdfFileReader(io.BytesIO(pdf)).root.get("/Version")
    return max(header, str(catalog)[1:]) if catalog is not None else header


def _embedded(root: generic.DictionaryObject) -> dict[str, bytes]:
    if "/Names" not in root or "/EmbeddedFiles" not in root["/Names"]:
        return {}
    names = root["/Names"]["/EmbeddedFiles"]["/Names"]
    return {str(names[i]): names[i + 1]["/EF"]["/F"].data for i in range(0, len(names), 2)}


def test_one_certification_signature_no_changes(signed_pdf: bytes) -> None:
    reader = PdfFileReader(io.BytesIO(signed_pdf))
    signatures = reader.embedded_signatures
    assert len(signatures) == 1
    signature = signatures[0]
    assert signature.field_name == SIGNATURE_FIELD
    assert signature.sig_object["/SubFilter"] == "/ETSI.CAdES.detached"
    assert signature.docmdp_level == MDPPerm.NO_CHANGES
    certification = read_certification_data(reader)
    assert certification is not None
    assert certification.permission == MDPPerm.NO_CHANGES
    assert signature.md_algorithm == "sha256"
    assert signature.signer_info["signature_algorithm"]["algorithm"].native == "sha256_rsa"


def test_signature_validates_and_covers_the_whole_file(signed_pdf: bytes, pki: TestPki) -> None:
    signature = PdfFileReader(io.BytesIO(signed_pdf)).embedded_signatures[0]
    status = validate_pdf_signature(signature, _context(pki))
    assert status.bottom_line
    assert status.coverage == SignatureCoverageLevel.ENTIRE_FILE


def test_pdf_stays_version_1_7(signed_pdf: bytes, unsigned_pdf: bytes) -> None:
    assert _version(unsigned_pdf) <= "1.7"
    assert _version(signed_pdf) == "1.7"


def test_attachments_are_byte_equal_and_in_the_signed_revision(
    signed_pdf: bytes, attachments: dict[str, bytes]
) -> None:
    reader = PdfFileReader(io.BytesIO(signed_pdf))
    signed_revision = reader.embedded_signatures[0].signed_revision
    assert _embedded(reader.get_historical_root(signed_revision)) == attachments
    # Not there before: the signature's own revision adds them, so the signature covers them.
    assert _embedded(reader.get_historical_root(signed_revision - 1)) == {}
    for name in attachments:
        spec = reader.root["/Names"]["/EmbeddedFiles"]["/Names"]
        stream = spec[list(map(str, spec)).index(name) + 1]["/EF"]["/F"]
        assert stream["/Subtype"] == "/application/json"
        assert "/AF" not in reader.root  # an /AF relationship would force PDF 2.0


def test_keywords_survive_signing(signed_pdf: bytes, unsigned_pdf: bytes) -> None:
    before = PdfFileReader(io.BytesIO(unsigned_pdf)).trailer_view["/Info"]["/Keywords"]
    after = PdfFileReader(io.BytesIO(signed_pdf)).trailer_view["/Info"]["/Keywords"]
    assert str(after) == str(before)


@pytest.mark.parametrize("level", ["B-T", "B-LT", "B-LTA"])
def test_timestamped_levels_offline(
    level: Level,
    unsigned_pdf: bytes,
    attachments: dict[str, bytes],
    signing_key: SigningKey,
    timestamper: TimeStamper,
    pki: TestPki,
) -> None:
    options = SigningOptions(level=level, timestamper=timestamper, validation_context=_context(pki))
    signed = sign_certificate(unsigned_pdf, attachments, signing_key, options)
    reader = PdfFileReader(io.BytesIO(signed))
    status = validate_pdf_signature(reader.embedded_regular_signatures[0], _context(pki))
    assert status.bottom_line
    assert status.timestamp_validity is not None
    assert status.timestamp_validity.trusted
    assert ("/DSS" in reader.root) == (level != "B-T")
    if level != "B-T":
        assert len(reader.root["/DSS"]["/CRLs"]) >= 1  # the test root's CRL
        assert len(reader.root["/DSS"]["/Certs"]) >= 1
    assert len(reader.embedded_timestamp_signatures) == (1 if level == "B-LTA" else 0)
    assert _version(signed) == "1.7"
    verification = verify_certificate(
        signed, [pki.root_certificate()], today=dt.date.today(), crls=[pki.crl.read_bytes()]
    )
    assert verification.reasons == []
    assert verification.level == level


@pytest.mark.parametrize("level", ["B-T", "B-LT", "B-LTA"])
def test_timestamped_level_needs_a_timestamper(
    level: Level, unsigned_pdf: bytes, attachments: dict[str, bytes], signing_key: SigningKey, pki: TestPki
) -> None:
    with pytest.raises(SigningError, match=f"PAdES {level} needs a timestamper"):
        sign_certificate(
            unsigned_pdf,
            attachments,
            signing_key,
            SigningOptions(level=level, validation_context=_context(pki)),
        )


@pytest.mark.parametrize("level", ["B-LT", "B-LTA"])
def test_long_term_level_needs_a_validation_context(
    level: Level,
    unsigned_pdf: bytes,
    attachments: dict[str, bytes],
    signing_key: SigningKey,
    timestamper: TimeStamper,
) -> None:
    with pytest.raises(SigningError, match=f"PAdES {level} needs a validation context"):
        sign_certificate(
            unsigned_pdf, attachments, signing_key, SigningOptions(level=level, timestamper=timestamper)
        )


def test_long_term_signing_refuses_an_untrusted_signer(
    unsigned_pdf: bytes,
    attachments: dict[str, bytes],
    signing_key: SigningKey,
    timestamper: TimeStamper,
    foreign_pki: TestPki,
) -> None:
    # Revocation data can only be collected along a chain the context trusts.
    with pytest.raises(SigningError, match="cannot sign the certificate at B-LT"):
        sign_certificate(
            unsigned_pdf,
            attachments,
            signing_key,
            SigningOptions(level="B-LT", timestamper=timestamper, validation_context=_context(foreign_pki)),
        )


def test_unknown_level_is_refused(unsigned_pdf: bytes, signing_key: SigningKey) -> None:
    with pytest.raises(SigningError, match="unknown PAdES level 'B-X'"):
        sign_certificate(unsigned_pdf, {}, signing_key, SigningOptions(level="B-X"))  # type: ignore[arg-type]


def test_b_b_ignores_a_timestamper(
    unsigned_pdf: bytes,
    attachments: dict[str, bytes],
    signing_key: SigningKey,
    timestamper: TimeStamper,
    pki: TestPki,
) -> None:
    signed = sign_certificate(unsigned_pdf, attachments, signing_key, SigningOptions(timestamper=timestamper))
    verification = verify_certificate(signed, [pki.root_certificate()], today=dt.date.today())
    assert verification.level == "B-B"


def test_options_carry_level_and_timestamper(
    unsigned_pdf: bytes,
    attachments: dict[str, bytes],
    signing_key: SigningKey,
    timestamper: TimeStamper,
    pki: TestPki,
) -> None:
    options = SigningOptions(level="B-T", timestamper=timestamper)
    signed = sign_certificate(unsigned_pdf, attachments, signing_key, options)
    assert verify_certificate(signed, [pki.root_certificate()], today=dt.date.today()).level == "B-T"
