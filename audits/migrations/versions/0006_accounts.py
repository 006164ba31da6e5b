"""Sign-in: passwords (argon2id hashes), one-time invitations, API tokens, failed sign-ins.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06

Frozen like every migration. New tables only: nothing stored before needs binding.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create credentials, invitations, api_tokens and sign_in_failures."""
    op.create_table(
        "credentials",
        sa.Column("person_id", sa.String(64), nullable=False),
        sa.Column("password_hash", sa.Text(), nullable=False),
        sa.Column("set_at", sa.String(32), nullable=False),
        sa.ForeignKeyConstraint(["person_id"], ["people.id"], name="fk_credentials_person_id_people"),
        sa.PrimaryKeyConstraint("person_id", name="pk_credentials"),
    )
    op.create_table(
        "invitations",
        sa.Column("token_hash", sa.String(80), nullable=False),
        sa.Column("person_id", sa.String(64), nullable=False),
        sa.Column("invited_by", sa.String(64), nullable=False),
        sa.Column("created_at", sa.String(32), nullable=False),
        sa.Column("expires_at", sa.String(32), nullable=False),
        sa.Column("used_at", sa.String(32), nullable=True),
        sa.ForeignKeyConstraint(["person_id"], ["people.id"], name="fk_invitations_person_id_people"),
        sa.ForeignKeyConstraint(["invited_by"], ["people.id"], name="fk_invitations_invited_by_people"),
        sa.PrimaryKeyConstraint("token_hash", name="pk_invitations"),
    )
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("person_id", sa.String(64), nullable=False),
        sa.Column("token_hash", sa.String(80), nullable=False),
        sa.Column("scope", sa.String(8), nullable=False),
        sa.Column("created_at", sa.String(32), nullable=False),
        sa.Column("expires_at", sa.String(32), nullable=False),
        sa.Column("revoked_at", sa.String(32), nullable=True),
        sa.CheckConstraint("scope IN ('read', 'write')", name=op.f("ck_api_tokens_scope")),
        sa.ForeignKeyConstraint(["person_id"], ["people.id"], name="fk_api_tokens_person_id_people"),
        sa.PrimaryKeyConstraint("id", name="pk_api_tokens"),
    )
    op.create_table(
        "sign_in_failures",
        sa.Column("seq", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("person_id", sa.String(64), nullable=False),
        sa.Column("address", sa.String(64), nullable=False),
        sa.Column("at", sa.String(32), nullable=False),
        sa.PrimaryKeyConstraint("seq", name="pk_sign_in_failures"),
    )


def downgrade() -> None:
    """Drop the sign-in tables."""
    for table in ("sign_in_failures", "api_tokens", "invitations", "credentials"):
        op.drop_table(table)
