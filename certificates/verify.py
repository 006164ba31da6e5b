"""Verify a signed certificate PDF: signature, trust, integrity, embedded content, register status.

Every check that fails adds a reason in words; a certificate is valid only with no reason at all.
Whatever goes wrong while reading or validating (a damaged file, a mangled signature) is a
reason too, never a crash and never "valid".
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import io
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeAlias

from asn1crypto import crl as asn1_crl
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from pydantic import ValidationError
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.ades.report import AdESIndeterminate
from pyhanko.sign.diff_analysis import ModificationLevel
from pyhanko.sign.fields import MDPPerm
from pyhanko.sign.validation import (
    EmbeddedPdfSignature,
    read_certification_data,
    validate_pdf_signature,
    validate_pdf_timestamp,
)
from pyhanko.sign.validation.pdf_embedded import extract_contents
from pyhanko.sign.validation.status import PdfSignatureStatus, SignatureCoverageLevel
from pyhanko_certvalidator import ValidationContext

from certificates.model import Certificate, parse_qr_payload, result_digest
from certificates.signing import Level
from engine.canonical import canonical_json

TrustRoot: TypeAlias = x509.Certificate | asn1_x509.Certificate
"""A trust anchor, as ``cryptography`` or ``asn1crypto`` certificate."""


class Registered(Protocol):
    """What a register vouches for under a number (see :meth:`certificates.register.Register.lookup`)."""

    @property
    def status(self) -> str: ...
    @property
    def pdf_sha256(self) -> str: ...
    @property
    def certificate_json(self) -> bytes: ...


RegisterLookup = Callable[[str, dt.date], Registered | None]
"""The register's entry for a certificate number on a day; None when not registered."""

VALID_STATUSES = frozenset({"issued", "reinstated"})
"""Register statuses under which a certificate is valid."""

RESULT_FILE = "result.json"
CERTIFICATE_FILE = "certificate.json"

# Modifications allowed after a "no changes" certification: validation data and document timestamps.
_ALLOWED_AFTER_SIGNING = (ModificationLevel.NONE, ModificationLevel.LTA_UPDATES)


# No path to a given root: none found, or one with a bad signature (an impostor root of the same name).
_NO_TRUSTED_CHAIN = (
    AdESIndeterminate.NO_CERTIFICATE_CHAIN_FOUND,
    AdESIndeterminate.CERTIFICATE_CHAIN_GENERAL_FAILURE,
)


@dataclass(frozen=True)
class Verification:
    """The outcome of verifying a certificate PDF."""

    ok: bool
    """True when no check failed."""
    reasons: list[str] = field(default_factory=list)
    """Every failed check, in words; empty when ``ok``."""
    number: str | None = None
    """Certificate number from certificate.json, when it could be read."""
    community: str | None = None
    """Certified community from certificate.json."""
    signer: str | None = None
    """Subject of the signer certificate, RFC 4514."""
    signed_at: dt.datetime | None = None
    """Signing time: the signature timestamp's when there is one, else the signer's own claim."""
    certificate: Certificate | None = None
    """The embedded certificate.json, parsed."""
    result: bytes | None = None
    """The embedded result.json, byte for byte."""
    level: Level | None = None
    """PAdES baseline level found (B-B, B-T, B-LT, B-LTA), when the signature could be read."""


@dataclass(frozen=True)
class _Signature:
    """What the signature check learnt, for the content checks and the outcome."""

    revision: int
    signer: str | None
    signed_at: dt.datetime | None
    level: Level | None


def verify_certificate(
    pdf: bytes,
    trust_roots: Sequence[TrustRoot],
    *,
    today: dt.date,
    register: RegisterLookup | None = None,
    crls: Sequence[bytes] = (),
) -> Verification:
    """Verify a signed certificate PDF against ``trust_roots`` (and ``crls``, PEM or DER) as of ``today``.

    ``register``, when given, looks the number up: only issued and reinstated pass, and the PDF
    must be the one recorded under that number (one of its revisions hashes to the recorded
    SHA-256, so timestamps added later still verify, and it embeds the certificate recorded).
    """
    try:
        return _verify(pdf, trust_roots, today, register, crls)
    except Exception as exc:  # a verifier must fail closed: whatever breaks, the answer is INVALID
        return Verification(ok=False, reasons=[f"verification failed: {_message(exc)}"])


def _verify(
    pdf: bytes,
    trust_roots: Sequence[TrustRoot],
    today: dt.date,
    register: RegisterLookup | None,
    crls: Sequence[bytes],
) -> Verification:
    reasons: list[str] = []
    try:
        reader = PdfFileReader(io.BytesIO(pdf))
    except Exception as exc:
        return Verification(ok=False, reasons=[f"cannot read the PDF: {_message(exc)}"])
    try:
        signatures = reader.embedded_regular_signatures
    except Exception as exc:  # pyHanko parses each signature's CMS here: a mangled one raises
        return Verification(ok=False, reasons=[f"signature cannot be read: {_message(exc)}"])
    if len(signatures) != 1:
        return Verification(ok=False, reasons=[f"expected exactly one signature, found {len(signatures)}"])
    signature = _check_signature(reader, signatures[0], trust_roots, crls, reasons)
    revision = signature.revision if signature is not None else reader.xrefs.total_revisions - 1
    try:
        certificate, result = _check_content(reader, revision, reasons)
    except Exception as exc:
        reasons.append(f"cannot read the embedded content: {_message(exc)}")
        certificate, result = None, None
    if certificate is not None:
        if today > certificate.expires_on:
            reasons.append(f"certificate expired on {certificate.expires_on.isoformat()}")
        if register is not None:
            _check_register(pdf, certificate, today, register, reasons)
    return Verification(
        ok=not reasons,
        reasons=reasons,
        number=certificate.number if certificate else None,
        community=certificate.community if certificate else None,
        signer=signature.signer if signature else None,
        signed_at=signature.signed_at if signature else None,
        certificate=certificate,
        result=result,
        level=signature.level if signature else None,
    )


def offline_validation_context(
    trust_roots: Sequence[TrustRoot], crls: Sequence[bytes] = ()
) -> ValidationContext:
    """A pyHanko validation context over ``trust_roots`` and ``crls`` (PEM or DER) that never fetches.

    Signing at B-LT or B-LTA takes one to collect the revocation data it embeds. A context keeps
    state from each validation, so make a new one for each use.
    """
    roots, parsed = _context_inputs(trust_roots, crls)
    return ValidationContext(trust_roots=list(roots), crls=list(parsed), allow_fetching=False)


def _check_signature(
    reader: PdfFileReader,
    signature: EmbeddedPdfSignature,
    trust_roots: Sequence[TrustRoot],
    crl_data: Sequence[bytes],
    reasons: list[str],
) -> _Signature | None:
    """Validate the signature (and a document timestamp, if any); None when it cannot be validated."""
    try:
        context = offline_validation_context(trust_roots, crl_data)
        status = validate_pdf_signature(signature, context)
    except Exception as exc:
        reasons.append(f"signature cannot be validated: {_message(exc)}")
        return None
    found = _status_reasons(status)
    if not _is_no_changes_certification(reader, signature):
        found.append("not a certification signature with DocMDP no changes")
    if not status.bottom_line and not found:
        found.append(f"signature is not valid ({status.summary()})")
    for timestamp in reader.embedded_timestamp_signatures:
        try:
            ts_status = validate_pdf_timestamp(timestamp, offline_validation_context(trust_roots, crl_data))
            if not (ts_status.intact and ts_status.valid and ts_status.trusted):
                found.append("document timestamp is not valid or not trusted")
        except Exception as exc:
            found.append(f"document timestamp cannot be validated: {_message(exc)}")
    reasons.extend(found)
    ts = status.timestamp_validity
    return _Signature(
        revision=signature.signed_revision,
        signer=x509.load_der_x509_certificate(status.signing_cert.dump()).subject.rfc4514_string(),
        signed_at=ts.timestamp if ts is not None else status.signer_reported_dt,
        level=_level(reader, status),
    )


def _status_reasons(status: PdfSignatureStatus) -> list[str]:
    """Reasons from pyHanko's verdict, one per failed aspect."""
    found = []
    if not status.intact:
        found.append("signed content was modified")
    if not status.valid:
        found.append("signature is not valid (it does not match the signer's key)")
    if status.intact and status.valid:  # pyHanko only checks trust over a sound signature
        trust = _trust_reason(status)
        if trust is not None:
            found.append(trust)
    ts = status.timestamp_validity
    if ts is not None and not (ts.intact and ts.valid and ts.trusted):
        found.append("signature timestamp is not valid or not trusted")
    if status.coverage not in (SignatureCoverageLevel.ENTIRE_FILE, SignatureCoverageLevel.ENTIRE_REVISION):
        found.append("the signature does not cover its whole revision")
    elif status.modification_level not in _ALLOWED_AFTER_SIGNING or status.docmdp_ok is False:
        found.append("the document was changed after signing")
    return found


def _trust_reason(status: PdfSignatureStatus) -> str | None:
    if status.revoked:
        return "signer certificate is revoked"
    if status.trusted:
        return None
    problem = status.trust_problem_indic
    if problem is None or problem in _NO_TRUSTED_CHAIN:
        return "signer not trusted by the given root"
    return f"signer certificate not accepted ({problem.standard_name})"


def _is_no_changes_certification(reader: PdfFileReader, signature: EmbeddedPdfSignature) -> bool:
    """Whether the catalog names this signature as certification signature with DocMDP P=1."""
    certification = read_certification_data(reader)
    if certification is None or certification.permission != MDPPerm.NO_CHANGES:
        return False
    return bool(extract_contents(certification.author_sig) == signature.pkcs7_content)


def _level(reader: PdfFileReader, status: PdfSignatureStatus) -> Level:
    if reader.embedded_timestamp_signatures:
        return "B-LTA"
    if "/DSS" in reader.root:
        return "B-LT"
    return "B-T" if status.timestamp_validity is not None else "B-B"


def _check_content(
    reader: PdfFileReader, revision: int, reasons: list[str]
) -> tuple[Certificate | None, bytes | None]:
    """Read the attachments and Keywords of the signed revision and check they agree."""
    files = _embedded_files(reader.get_historical_root(revision))
    for name in (RESULT_FILE, CERTIFICATE_FILE):
        if name not in files:
            reasons.append(f"attachment {name} is missing")
    result = files.get(RESULT_FILE)
    certificate = None
    if CERTIFICATE_FILE in files:
        try:
            certificate = Certificate.model_validate_json(files[CERTIFICATE_FILE])
        except ValidationError as exc:
            reasons.append(f"{CERTIFICATE_FILE} is not an Assay certificate: {_first_error(exc)}")
    if certificate is None:
        return None, result
    if result is not None and result_digest(result) != certificate.result_digest:
        reasons.append(
            f"{RESULT_FILE} does not match the certificate: its digest is {result_digest(result)}, "
            f"{CERTIFICATE_FILE} says {certificate.result_digest}"
        )
    _check_keywords(_keywords(reader, revision), certificate, reasons)
    return certificate, result


def _check_keywords(keywords: str | None, certificate: Certificate, reasons: list[str]) -> None:
    """The Keywords carry the QR payload; it must name this certificate and its result."""
    if keywords is None:
        reasons.append("the PDF has no Keywords with the QR payload")
        return
    try:
        number, digest = parse_qr_payload(keywords)
    except ValueError as exc:
        reasons.append(f"the PDF Keywords are not a QR payload: {exc}")
        return
    if number != certificate.number:
        reasons.append(
            f"the QR payload names certificate {number}, {CERTIFICATE_FILE} is {certificate.number}"
        )
    if digest != certificate.result_digest:
        reasons.append(
            f"the QR payload's result digest {digest} differs from "
            f"{CERTIFICATE_FILE}'s {certificate.result_digest}"
        )


def _check_register(
    pdf: bytes, certificate: Certificate, today: dt.date, register: RegisterLookup, reasons: list[str]
) -> None:
    number = certificate.number
    try:
        entry = register(number, today)
    except Exception as exc:  # an unreachable or tampered register cannot vouch for the certificate
        reasons.append(f"register lookup for {number} failed: {_message(exc)}")
        return
    if entry is None:
        reasons.append(f"certificate {number} is not in the register")
        return
    if entry.status not in VALID_STATUSES:
        reasons.append(f"certificate {number} is {entry.status} in the register")
    if not any(hashlib.sha256(pdf[:end]).hexdigest() == entry.pdf_sha256 for end in revision_ends(pdf)):
        reasons.append(
            f"this PDF is not the one the register recorded for {number}: none of its revisions has "
            f"the recorded SHA-256 {entry.pdf_sha256} (another PDF under the same number, or altered)"
        )
    if canonical_json(certificate.model_dump(mode="json")) != entry.certificate_json:
        reasons.append(
            f"the certificate embedded in this PDF differs from the one the register recorded for {number}"
        )


def revision_ends(pdf: bytes) -> list[int]:
    """Where each revision of a PDF may end: after every ``%%EOF`` and its end-of-line, if any
    (an incremental update, such as a document timestamp, is appended after the last)."""
    ends = []
    start = pdf.find(b"%%EOF")
    while start != -1:
        end = start + 5
        ends.append(end)
        for eol in (b"\r\n", b"\n", b"\r"):
            if pdf.startswith(eol, end):
                ends.append(end + len(eol))
                break
        start = pdf.find(b"%%EOF", end)
    return ends


def _embedded_files(root: generic.DictionaryObject) -> dict[str, bytes]:
    """Embedded files of a document catalog, name to bytes (the name tree walked, Kids included)."""
    try:
        tree = root["/Names"]["/EmbeddedFiles"]
    except KeyError:
        return {}
    files: dict[str, bytes] = {}
    for name, spec in _name_tree_pairs(tree, depth=0):
        files[name] = spec["/EF"]["/F"].data
    return files


def _name_tree_pairs(node: generic.DictionaryObject, depth: int) -> Iterable[tuple[str, Any]]:
    if depth > 16:  # a cycle or a hostile tree; no genuine certificate nests this deep
        raise ValueError("embedded files name tree is too deep")
    names = _array(node, "/Names")
    for index in range(0, len(names) - 1, 2):
        yield str(names[index]), names[index + 1]
    for kid in _array(node, "/Kids"):
        yield from _name_tree_pairs(kid, depth + 1)


def _array(node: generic.DictionaryObject, key: str) -> generic.ArrayObject:
    """``node[key]``, an empty array when absent (``.get`` would leave an indirect reference unresolved)."""
    try:
        value = node[key]
    except KeyError:
        return generic.ArrayObject()
    if not isinstance(value, generic.ArrayObject):
        raise ValueError(f"{key} in the embedded files name tree is not an array")
    return value


def _keywords(reader: PdfFileReader, revision: int) -> str | None:
    """``/Keywords`` of the document information dictionary as of the signed revision."""
    trailer = reader.get_historical_resolver(revision).trailer_view
    try:
        keywords = trailer["/Info"]["/Keywords"]
    except KeyError:
        return None
    return str(keywords)


@functools.lru_cache(maxsize=16)
def _parsed_inputs(
    roots: tuple[bytes, ...], crls: tuple[bytes, ...]
) -> tuple[tuple[Any, ...], tuple[Any, ...]]:
    """Trust roots and CRLs parsed once per set: verifying many certificates reuses them."""
    return (
        tuple(asn1_x509.Certificate.load(der) for der in roots),
        tuple(asn1_crl.CertificateList.load(der) for der in crls),
    )


def _context_inputs(
    trust_roots: Sequence[TrustRoot], crls: Sequence[bytes]
) -> tuple[tuple[Any, ...], tuple[Any, ...]]:
    roots = tuple(
        root.public_bytes(serialization.Encoding.DER) if isinstance(root, x509.Certificate) else root.dump()
        for root in trust_roots
    )
    return _parsed_inputs(roots, tuple(_crl_der(c) for c in crls))


def _crl_der(data: bytes) -> bytes:
    if data.lstrip().startswith(b"-----BEGIN"):
        return x509.load_pem_x509_crl(data).public_bytes(serialization.Encoding.DER)
    return data


def _first_error(exc: ValidationError) -> str:
    error = exc.errors()[0]
    where = ".".join(str(part) for part in error["loc"])
    return f"{where}: {error['msg']}" if where else str(error["msg"])


def _message(exc: Exception) -> str:
    return str(exc) or type(exc).__name__


def verification_json(verification: Verification) -> dict[str, object]:
    """The outcome of verification as JSON-able data."""
    return {
        "valid": verification.ok,
        "reasons": verification.reasons,
        "number": verification.number,
        "community": verification.community,
        "signer": verification.signer,
        "signed_at": verification.signed_at.isoformat() if verification.signed_at else None,
        "level": verification.level,
        "result_digest": verification.certificate.result_digest if verification.certificate else None,
    }
