"""Certificate register: the certificates table and the register's audit trail.

Revision ID: 0001
Revises:
Create Date: 2026-07-01

Hand-written so the revision id is fixed and the SQL is portable (SQLite and PostgreSQL).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create ``certificates`` and ``trail``."""
    op.create_table(
        "certificates",
        sa.Column("number", sa.String(64), nullable=False),
        sa.Column("community", sa.Text, nullable=False),
        sa.Column("scheme", sa.String(64), nullable=False),
        sa.Column("model", sa.String(64), nullable=False),
        sa.Column("standard", sa.Text, nullable=False),
        sa.Column("assessed_on", sa.Date, nullable=False),
        sa.Column("issued_on", sa.Date, nullable=False),
        sa.Column("expires_on", sa.Date, nullable=False),
        sa.Column("surveillance_due", sa.Text, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("status_reason", sa.Text, nullable=True),
        sa.Column("status_changed_on", sa.Date, nullable=False),
        sa.Column("evaluation_id", sa.String(128), nullable=False),
        sa.Column("result_digest", sa.String(80), nullable=False),
        sa.Column("rule_pack_digest", sa.String(80), nullable=False),
        sa.Column("trail_head", sa.String(80), nullable=False),
        sa.Column("pdf_sha256", sa.String(80), nullable=False),
        sa.Column("certificate_json", sa.Text, nullable=False),
        sa.Column("renews", sa.String(64), nullable=True),
        sa.Column("renewed_by", sa.String(64), nullable=True),
        sa.PrimaryKeyConstraint("number", name=op.f("pk_certificates")),
        sa.ForeignKeyConstraint(
            ["renews"], ["certificates.number"], name=op.f("fk_certificates_renews_certificates")
        ),
        sa.CheckConstraint(
            "status IN ('issued', 'suspended', 'reinstated', 'withdrawn', 'renewed')",
            name=op.f("ck_certificates_status"),
        ),
    )
    op.create_table(
        "trail",
        sa.Column("seq", sa.Integer, autoincrement=False, nullable=False),
        sa.Column("time", sa.String(32), nullable=False),
        sa.Column("actor", sa.Text, nullable=False),
        sa.Column("event", sa.String(64), nullable=False),
        sa.Column("payload", sa.Text, nullable=False),
        sa.Column("payload_digest", sa.String(80), nullable=False),
        sa.Column("prev", sa.String(80), nullable=False),
        sa.Column("hash", sa.String(80), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_trail")),
        sa.UniqueConstraint("hash", name=op.f("uq_trail_hash")),
    )


def downgrade() -> None:
    """Drop both tables (the register and its trail are lost)."""
    op.drop_table("trail")
    op.drop_table("certificates")
