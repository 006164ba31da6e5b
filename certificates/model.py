"""What a certificate states: the data the PDF shows, the register keeps and the QR code points to.

A :class:`Certificate` is built from an evaluation's result (``result.json`` and its trail) plus
what the certification body decides at issue (number, dates, people). It carries everything
ISO/IEC 17065 / 17021-1 expect on a certificate and is embedded, as ``certificate.json``, in
the signed PDF next to the evaluation's ``result.json``.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from engine.canonical import digest

QR_PREFIX = "ASSAY-CERT/1"
"""First field of the QR payload; names the payload format."""

Language = Literal["en", "en+zh"]


class Frozen(BaseModel):
    """Base of certificate models: frozen, unknown fields forbidden."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class Bilingual(Frozen):
    """A text in English and, for bilingual certificates, Chinese."""

    en: str
    zh: str


class ProfileEntry(Frozen):
    """One characteristic's line in the verified profile."""

    id: str = Field(description="Characteristic id, e.g. '1.5.2'.")
    title: Bilingual
    dimension: str = Field(description="Id of the dimension it belongs to.")
    verified_level: int | None = Field(description="Verified level; None when not evaluated.")
    level_name: Bilingual | None = Field(description="Name of the verified level.")
    claimed_level: int | None = Field(description="Level the community claimed, where it did.")
    basis_items: int | None = Field(
        default=None,
        description="Distinct evidence items behind the credited levels; None when none is credited "
        "above level 1 (or the certificate predates the field).",
    )
    basis_judged: int | None = Field(
        default=None,
        description="Requirements of the credited levels an auditor judged; None as basis_items.",
    )


class DimensionEntry(Frozen):
    """A dimension's summary on the certificate."""

    id: str
    title: Bilingual
    level: int | None = Field(description="Aggregated level (the rule is named on the certificate).")
    mean: float | None = Field(description="Mean verified level, 2 decimals.")
    evaluated: int = Field(description="Characteristics evaluated in the dimension.")


class Scope(Frozen):
    """What the certificate covers."""

    model: str = Field(description="Model id, e.g. 'iso37107-2019'.")
    standard: str = Field(description="Standard and edition, e.g. 'ISO/TS 37107:2019'.")
    title: Bilingual = Field(description="The model's title.")
    characteristics: list[str] = Field(description="Characteristic ids in scope, in catalogue order.")


class Certificate(Frozen):
    """Everything a certificate states."""

    format: Literal["assay-certificate/1"] = "assay-certificate/1"
    number: str = Field(description="Unique certificate number from the register.")
    community: str = Field(description="The certified community.")
    scope: Scope
    scheme: str = Field(description="Certification scheme the certificate is issued under.")
    assessed_on: dt.date = Field(description="Assessment date of the evaluation.")
    issued_on: dt.date
    expires_on: dt.date
    surveillance_due: list[dt.date] = Field(description="Surveillance audits due, in order.")
    body: str = Field(description="Certification body.")
    lead_auditor: str
    decision_maker: str = Field(description="Who made the certification decision (not on the audit team).")
    evaluation_id: str
    rule_pack_digest: str
    trail_head: str = Field(description="Hash of the evaluation trail's last record.")
    result_digest: str = Field(description="sha256 of the embedded result.json, byte for byte.")
    profile: list[ProfileEntry] = Field(description="Every characteristic of the model, in catalogue order.")
    dimensions: list[DimensionEntry]
    aggregation_rule: str = Field(description="How dimension levels are aggregated, in words.")
    language: Language = Field(description="en, or en+zh for a bilingual certificate.")
    test: bool = Field(description="Signed with a generated test key: not a valid certificate.")
    renews: str | None = Field(default=None, description="Number of the certificate this one renews.")


def qr_payload(number: str, result_digest: str) -> str:
    """The text the QR code carries: format, certificate number, digest of the embedded result."""
    return f"{QR_PREFIX} {number} {result_digest}"


def parse_qr_payload(text: str) -> tuple[str, str]:
    """``(number, result_digest)`` from a QR payload; ValueError when it is not one."""
    parts = text.split(" ")
    if len(parts) != 3 or parts[0] != QR_PREFIX or not parts[2].startswith("sha256:"):
        raise ValueError(f"not an Assay certificate QR payload: {text!r}")
    return parts[1], parts[2]


def result_digest(result_bytes: bytes) -> str:
    """Digest of an embedded result file, as the QR code and certificate.json carry it."""
    return digest(result_bytes)
