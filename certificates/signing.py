"""Sign a rendered certificate: PAdES certification signature, attachments in the signed revision.

The attachments (``result.json`` and ``certificate.json``) are embedded in the same incremental
update that carries the signature, so the signature covers them byte for byte. The signature
is a certification (author) signature with DocMDP "no changes allowed": any later change other
than validation data and document timestamps invalidates it. RSA with SHA-256 keeps the file
at PDF 1.7 (ECDSA or ``/AF`` relationships would raise it to 2.0).

Signed bytes are never stable (random ``/ID``, signing time from the signer's clock).
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal, get_args

from cryptography.hazmat.primitives import serialization
from pyhanko.pdf_utils import embed
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import fields, signers
from pyhanko.sign.general import SigningError as PyHankoSigningError
from pyhanko.sign.timestamps import TimeStamper
from pyhanko_certvalidator import ValidationContext

from certificates.errors import SigningError
from certificates.keys import SigningKey

Level = Literal["B-B", "B-T", "B-LT", "B-LTA"]
"""PAdES baseline levels: B-B signature only, B-T plus a signature timestamp, B-LT plus revocation
data (DSS), B-LTA plus a document timestamp."""

LEVELS: tuple[Level, ...] = get_args(Level)
"""The levels, weakest first."""

SIGNATURE_FIELD = "Certification"
"""Name of the (invisible) signature field."""

ATTACHMENT_MEDIA_TYPE = "application/json"
"""Media type of the embedded files."""

# CMS overhead beyond certificates and the raw signature: signed attributes (content type,
# digest, signing time, signing-certificate-v2, CMS algorithm protection), signer info and
# structure. Measured ~450 bytes; reserved with a generous margin, the unused rest is zero padding.
_CMS_OVERHEAD = 2048


@dataclass(frozen=True)
class SigningOptions:
    """How to sign: the PAdES level and what that level needs, as one value to pass along."""

    level: Level = "B-B"
    """PAdES baseline level."""
    timestamper: TimeStamper | None = None
    """RFC 3161 timestamp authority; needed from B-T up."""
    validation_context: ValidationContext | None = None
    """Trust roots and revocation data (no fetching); needed from B-LT up."""


def sign_certificate(
    pdf: bytes, attachments: Mapping[str, bytes], key: SigningKey, options: SigningOptions = SigningOptions()
) -> bytes:
    """Embed ``attachments`` (name to bytes, JSON) in ``pdf`` and certify it with ``key``.

    ``options`` names the PAdES level; B-T and up need its timestamper, B-LT and up also its
    validation context (trust roots and CRLs, ``allow_fetching=False``) to collect the
    revocation data they embed.
    """
    level, timestamper, validation_context = options.level, options.timestamper, options.validation_context
    _check_level(level, timestamper, validation_context)
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
    for name, data in attachments.items():
        _embed(writer, name, data)
    long_term = level in ("B-LT", "B-LTA")
    meta = signers.PdfSignatureMetadata(
        field_name=SIGNATURE_FIELD,
        md_algorithm="sha256",
        subfilter=fields.SigSeedSubFilter.PADES,
        certify=True,
        docmdp_permissions=fields.MDPPerm.NO_CHANGES,
        embed_validation_info=long_term,
        use_pades_lta=level == "B-LTA",
        validation_context=validation_context if long_term else None,
    )
    pdf_signer = signers.PdfSigner(meta, key.signer, timestamper=None if level == "B-B" else timestamper)
    # B-B: the signature's size is known, which skips pyHanko's dry-run signature for the size.
    # With a timestamp the token's size depends on the TSA, so pyHanko estimates it.
    reserved = _bytes_reserved(key) if level == "B-B" else None
    try:
        output = pdf_signer.sign_pdf(writer, bytes_reserved=reserved)
    except PyHankoSigningError as exc:
        raise SigningError(f"cannot sign the certificate at {level}: {exc}") from exc
    return bytes(output.getvalue())


def _check_level(
    level: str, timestamper: TimeStamper | None, validation_context: ValidationContext | None
) -> None:
    if level not in LEVELS:
        raise SigningError(f"unknown PAdES level {level!r}; expected one of {', '.join(LEVELS)}")
    if level != "B-B" and timestamper is None:
        raise SigningError(f"PAdES {level} needs a timestamper (an RFC 3161 timestamp authority)")
    if level in ("B-LT", "B-LTA") and validation_context is None:
        raise SigningError(f"PAdES {level} needs a validation context (trust roots and revocation data)")


def _embed(writer: IncrementalPdfFileWriter, name: str, data: bytes) -> None:
    """Add ``data`` as embedded file ``name``; no ``/AF`` relationship, which would force PDF 2.0."""
    stream = embed.EmbeddedFileObject.from_file_data(
        writer, data, mime_type=ATTACHMENT_MEDIA_TYPE, params=embed.EmbeddedFileParams()
    )
    spec = embed.FileSpec(file_spec_string=name, file_name=name, embedded_data=stream, description=name)
    embed.embed_file(writer, spec)


def _bytes_reserved(key: SigningKey) -> int:
    """Room for the CMS signature, as hex digits (two per byte)."""
    der = serialization.Encoding.DER
    certificates = sum(len(c.public_bytes(der)) for c in (key.certificate, *key.chain))
    return 2 * (certificates + key.key_bytes + _CMS_OVERHEAD)
