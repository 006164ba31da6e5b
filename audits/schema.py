"""The store's tables, as SQLAlchemy Core metadata.

This is the schema the Alembic migrations build, revision by revision; a test holds the two
equal. Types are portable (no SQLite-only SQL) so the same tables run on PostgreSQL. JSON is
kept as text in the project's canonical form, because digests are taken over exactly those bytes.
Constraints are named by convention so later migrations can alter them on every database.
"""

from __future__ import annotations

from sqlalchemy import (
    CheckConstraint,
    Column,
    Date,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

CERTIFICATE_STATUSES = ("issued", "suspended", "reinstated", "withdrawn", "renewed")
"""Statuses the register stores; ``expired`` is never stored, it is read from ``expires_on``."""

metadata = MetaData(
    naming_convention={
        "pk": "pk_%(table_name)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "ix": "ix_%(table_name)s_%(column_0_name)s",
    }
)
"""Every table of the store."""

certificates = Table(
    "certificates",
    metadata,
    Column("number", String(64), primary_key=True),  # Certificate number, PREFIX-YYYY-NNNNNN.
    Column("community", Text, nullable=False),  # The certified community.
    Column("scheme", String(64), nullable=False),  # Id of the scheme it was issued under.
    Column("model", String(64), nullable=False),  # Maturity model id, e.g. iso37107-2019.
    Column("standard", Text, nullable=False),  # Standard and edition, e.g. ISO/TS 37107:2019.
    Column("assessed_on", Date, nullable=False),  # Assessment date of the evaluation.
    Column("issued_on", Date, nullable=False),
    Column("expires_on", Date, nullable=False),  # Last day of validity.
    Column("surveillance_due", Text, nullable=False),  # JSON list of ISO dates.
    Column("status", String(16), nullable=False),  # Stored status (never 'expired').
    Column("status_reason", Text, nullable=True),  # Why the status last changed.
    Column("status_changed_on", Date, nullable=False),
    Column("evaluation_id", String(128), nullable=False),
    Column("result_digest", String(80), nullable=False),  # sha256 of the embedded result.json.
    Column("rule_pack_digest", String(80), nullable=False),
    Column("trail_head", String(80), nullable=False),  # Head hash of the evaluation trail.
    Column("pdf_sha256", String(80), nullable=False),  # SHA-256 of the signed PDF as issued.
    Column("certificate_json", Text, nullable=False),  # The Certificate as canonical JSON.
    Column("renews", String(64), ForeignKey("certificates.number"), nullable=True),
    Column("renewed_by", String(64), nullable=True),  # Number of the certificate renewing it.
    CheckConstraint(f"status IN ({', '.join(repr(s) for s in CERTIFICATE_STATUSES)})", name="status"),
)
"""The certificate register: one row per certificate ever issued; rows are never deleted."""

trail = Table(
    "trail",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=False),  # 1-based position.
    Column("time", String(32), nullable=False),  # ISO 8601 UTC instant from the clock.
    Column("actor", Text, nullable=False),
    Column("event", String(64), nullable=False),
    Column("payload", Text, nullable=False),  # The payload as canonical JSON.
    Column("payload_digest", String(80), nullable=False),
    Column("prev", String(80), nullable=False),  # Hash of the previous record.
    Column("hash", String(80), nullable=False),
    UniqueConstraint("hash"),
)
"""The register's audit trail: the same hash-chained records as an evaluation's trail, open-ended."""
