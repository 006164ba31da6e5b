"""Verification: a valid certificate passes; every kind of damage gives its own precise reason."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import re
from collections.abc import Callable, Sequence

import pytest
from cryptography import x509
from pyhanko.pdf_utils import embed
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import fields, signers

from certificates.keys import SigningKey
from certificates.model import Certificate, qr_payload
from certificates.pki import TestPki, init_test_pki, issue_crl
from certificates.register import Registered
from certificates.signing import sign_certificate
from certificates.verify import RegisterLookup, Verification, verify_certificate
from engine.canonical import canonical_json

TODAY = dt.date.today()


def _roots(pki: TestPki) -> list[x509.Certificate]:
    return [pki.root_certificate()]


def _verify(
    pdf: bytes,
    pki: TestPki,
    *,
    today: dt.date = TODAY,
    register: RegisterLookup | None = None,
    crls: Sequence[bytes] = (),
) -> Verification:
    return verify_certificate(pdf, _roots(pki), today=today, register=register, crls=crls)


def _recorded(pdf: bytes, pki: TestPki) -> tuple[str, bytes]:
    """What a register records for ``pdf``: its SHA-256 and its certificate's canonical JSON."""
    certificate = _verify(pdf, pki).certificate
    assert certificate is not None
    return hashlib.sha256(pdf).hexdigest(), canonical_json(certificate.model_dump(mode="json"))


def _flip(pdf: bytes, offset: int) -> bytes:
    """``pdf`` with the byte at ``offset`` changed (hex digits stay hex digits)."""
    old = pdf[offset : offset + 1]
    new = {b"0": b"1"}.get(old, b"0")
    return pdf[:offset] + new + pdf[offset + 1 :]


def _contents_offset(pdf: bytes) -> int:
    """Offset of the first hex digit of the signature's /Contents."""
    match = re.search(rb"/Contents <", pdf)
    assert match is not None
    return match.end()


def test_untouched_certificate_is_valid(
    signed_pdf: bytes, pki: TestPki, certificate: Certificate, result_json: bytes, signing_key: SigningKey
) -> None:
    verification = _verify(signed_pdf, pki)
    assert verification.reasons == []
    assert verification.ok
    assert verification.number == certificate.number
    assert verification.community == certificate.community
    assert verification.certificate == certificate
    assert verification.result == result_json
    assert verification.signer == signing_key.subject
    assert verification.level == "B-B"
    assert verification.signed_at is not None
    assert abs(verification.signed_at - dt.datetime.now(dt.UTC)) < dt.timedelta(hours=1)


def test_asn1crypto_roots_are_accepted(signed_pdf: bytes, signing_key: SigningKey) -> None:
    root = signing_key.signer.cert_registry
    assert verify_certificate(signed_pdf, list(root), today=TODAY).ok


def test_byte_flipped_in_page_content_is_modified(signed_pdf: bytes, pki: TestPki) -> None:
    offset = signed_pdf.index(b"Certificate of smart-city maturity")
    verification = _verify(_flip(signed_pdf, offset), pki)
    assert not verification.ok
    assert verification.reasons == ["signed content was modified"]


def test_flip_in_signature_structure_reads_as_invalid(signed_pdf: bytes, pki: TestPki) -> None:
    # The first byte of the DER (SEQUENCE tag 0x30) turned into 0x10: the CMS no longer parses.
    verification = _verify(_flip(signed_pdf, _contents_offset(signed_pdf)), pki)
    assert not verification.ok
    assert len(verification.reasons) == 1
    assert verification.reasons[0].startswith("signature cannot be read: ")


def test_flip_in_signature_value_is_not_valid(
    signed_pdf: bytes, pki: TestPki, signing_key: SigningKey
) -> None:
    start = _contents_offset(signed_pdf)
    der_length = len(signed_pdf[start:].split(b">", 1)[0].rstrip(b"0")) // 2 + 1
    # The RSA signature value ends the DER (no unsigned attributes at B-B): flip inside it.
    offset = start + 2 * (der_length - signing_key.key_bytes // 2)
    verification = _verify(_flip(signed_pdf, offset), pki)
    assert not verification.ok
    assert verification.reasons == ["signature is not valid (it does not match the signer's key)"]


@pytest.mark.parametrize("change", ["add_page_text", "add_text_annotation"])
def test_incremental_update_is_a_change_after_signing(
    signed_pdf: bytes, pki: TestPki, change: str, request: pytest.FixtureRequest
) -> None:
    tamper: Callable[[bytes], bytes] = request.getfixturevalue(change)
    changed = tamper(signed_pdf)
    assert changed.startswith(signed_pdf)  # the signed bytes are untouched
    verification = _verify(changed, pki)
    assert verification.reasons == ["the document was changed after signing"]


def test_signer_from_a_foreign_root_is_not_trusted(foreign_signed_pdf: bytes, pki: TestPki) -> None:
    verification = _verify(foreign_signed_pdf, pki)
    assert verification.reasons == ["signer not trusted by the given root"]


def test_foreign_root_does_not_trust_our_signer(signed_pdf: bytes, foreign_pki: TestPki) -> None:
    assert _verify(signed_pdf, foreign_pki).reasons == ["signer not trusted by the given root"]


def test_impostor_root_with_the_same_name_is_not_trusted(
    signed_pdf: bytes, pki: TestPki, tmp_path_factory: pytest.TempPathFactory
) -> None:
    impostor = init_test_pki(tmp_path_factory.mktemp("impostor"), dt.datetime.now(dt.UTC))
    assert impostor.root_certificate().subject == pki.root_certificate().subject
    assert _verify(signed_pdf, impostor).reasons == ["signer not trusted by the given root"]


def test_revoked_signer(signed_pdf: bytes, pki: TestPki) -> None:
    crl = issue_crl(pki, dt.datetime.now(dt.UTC), [pki.signer_certificate()], number=2)
    verification = _verify(signed_pdf, pki, crls=[crl])
    assert verification.reasons == ["signer certificate is revoked"]


def test_empty_crl_keeps_it_valid(signed_pdf: bytes, pki: TestPki) -> None:
    assert _verify(signed_pdf, pki, crls=[pki.crl.read_bytes()]).ok


def test_expired_certificate(signed_pdf: bytes, pki: TestPki, certificate: Certificate) -> None:
    day_after = certificate.expires_on + dt.timedelta(days=1)
    assert _verify(signed_pdf, pki, today=certificate.expires_on).ok
    verification = _verify(signed_pdf, pki, today=day_after)
    assert verification.reasons == [f"certificate expired on {certificate.expires_on.isoformat()}"]


@pytest.mark.parametrize(
    ("effective", "reason"),
    [
        ("issued", None),
        ("reinstated", None),
        ("withdrawn", "certificate ASSAY-2026-000001 is withdrawn in the register"),
        ("suspended", "certificate ASSAY-2026-000001 is suspended in the register"),
        ("renewed", "certificate ASSAY-2026-000001 is renewed in the register"),
        ("expired", "certificate ASSAY-2026-000001 is expired in the register"),
        (None, "certificate ASSAY-2026-000001 is not in the register"),
    ],
)
def test_register_status(signed_pdf: bytes, pki: TestPki, effective: str | None, reason: str | None) -> None:
    asked: list[tuple[str, dt.date]] = []
    recorded = _recorded(signed_pdf, pki)

    def status(number: str, today: dt.date) -> Registered | None:
        asked.append((number, today))
        return None if effective is None else Registered(effective, *recorded)

    verification = _verify(signed_pdf, pki, register=status)
    assert asked == [("ASSAY-2026-000001", TODAY)]
    assert verification.reasons == ([] if reason is None else [reason])


def test_result_not_matching_the_certificate(
    unsigned_pdf: bytes, result_json: bytes, certificate_json: bytes, signing_key: SigningKey, pki: TestPki
) -> None:
    other = result_json + b"\n"
    signed = sign_certificate(
        unsigned_pdf, {"result.json": other, "certificate.json": certificate_json}, signing_key
    )
    verification = _verify(signed, pki)
    assert len(verification.reasons) == 1
    assert verification.reasons[0].startswith(
        "result.json does not match the certificate: its digest is sha256:"
    )


def test_keywords_naming_another_certificate(
    make_pdf: Callable[[str], bytes],
    attachments: dict[str, bytes],
    certificate: Certificate,
    signing_key: SigningKey,
    pki: TestPki,
) -> None:
    pdf = make_pdf(qr_payload("ASSAY-2026-999999", certificate.result_digest))
    verification = _verify(sign_certificate(pdf, attachments, signing_key), pki)
    assert verification.reasons == [
        "the QR payload names certificate ASSAY-2026-999999, certificate.json is ASSAY-2026-000001"
    ]


def test_keywords_with_another_digest(
    make_pdf: Callable[[str], bytes],
    attachments: dict[str, bytes],
    certificate: Certificate,
    signing_key: SigningKey,
    pki: TestPki,
) -> None:
    pdf = make_pdf(qr_payload(certificate.number, "sha256:" + "0" * 64))
    verification = _verify(sign_certificate(pdf, attachments, signing_key), pki)
    assert len(verification.reasons) == 1
    assert verification.reasons[0].startswith("the QR payload's result digest sha256:000")


def test_keywords_that_are_not_a_payload(
    make_pdf: Callable[[str], bytes], attachments: dict[str, bytes], signing_key: SigningKey, pki: TestPki
) -> None:
    verification = _verify(sign_certificate(make_pdf("smart city"), attachments, signing_key), pki)
    assert len(verification.reasons) == 1
    assert verification.reasons[0].startswith("the PDF Keywords are not a QR payload")


def test_missing_attachment(
    unsigned_pdf: bytes, result_json: bytes, signing_key: SigningKey, pki: TestPki
) -> None:
    verification = _verify(sign_certificate(unsigned_pdf, {"result.json": result_json}, signing_key), pki)
    assert verification.reasons == ["attachment certificate.json is missing"]
    assert verification.result == result_json


def test_certificate_json_that_is_not_a_certificate(
    unsigned_pdf: bytes, result_json: bytes, signing_key: SigningKey, pki: TestPki
) -> None:
    attachments = {"result.json": result_json, "certificate.json": b'{"number": 7}'}
    verification = _verify(sign_certificate(unsigned_pdf, attachments, signing_key), pki)
    assert len(verification.reasons) == 1
    assert verification.reasons[0].startswith("certificate.json is not an Assay certificate: ")


def test_approval_signature_is_not_a_certification(
    unsigned_pdf: bytes, attachments: dict[str, bytes], signing_key: SigningKey, pki: TestPki
) -> None:
    writer = IncrementalPdfFileWriter(io.BytesIO(unsigned_pdf))
    for name, data in attachments.items():
        stream = embed.EmbeddedFileObject.from_file_data(writer, data, mime_type="application/json")
        embed.embed_file(writer, embed.FileSpec(file_spec_string=name, file_name=name, embedded_data=stream))
    meta = signers.PdfSignatureMetadata(field_name="Approval", subfilter=fields.SigSeedSubFilter.PADES)
    signed = signers.PdfSigner(meta, signing_key.signer).sign_pdf(writer).getvalue()
    assert _verify(signed, pki).reasons == ["not a certification signature with DocMDP no changes"]


def test_unsigned_pdf_has_no_signature(unsigned_pdf: bytes, pki: TestPki) -> None:
    assert _verify(unsigned_pdf, pki).reasons == ["expected exactly one signature, found 0"]


@pytest.mark.parametrize("damage", ["garbage", "truncated"])
def test_unreadable_pdf_is_invalid(signed_pdf: bytes, pki: TestPki, damage: str) -> None:
    pdf = b"%PDF-1.7\nnot really" if damage == "garbage" else signed_pdf[: len(signed_pdf) // 2]
    verification = _verify(pdf, pki)
    assert not verification.ok
    assert verification.reasons


def test_failing_register_lookup_is_a_reason(signed_pdf: bytes, pki: TestPki) -> None:
    def status(number: str, today: dt.date) -> Registered | None:
        raise ConnectionError("register database unreachable")

    verification = _verify(signed_pdf, pki, register=status)
    assert verification.reasons == [
        "register lookup for ASSAY-2026-000001 failed: register database unreachable"
    ]


def test_bad_crl_bytes_read_as_invalid(signed_pdf: bytes, pki: TestPki) -> None:
    verification = _verify(signed_pdf, pki, crls=[b"not a CRL"])
    assert not verification.ok
    assert verification.reasons[0].startswith("signature cannot be validated: ")
