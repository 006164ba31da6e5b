"""Sessions of people signed in through a browser (the HTTP API's cookies).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06

Frozen like every migration. A new table only: nothing stored before needs binding.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create sessions."""
    op.create_table(
        "sessions",
        sa.Column("token_hash", sa.String(80), nullable=False),
        sa.Column("person_id", sa.String(64), nullable=False),
        sa.Column("address", sa.String(64), nullable=False),
        sa.Column("created_at", sa.String(32), nullable=False),
        sa.Column("expires_at", sa.String(32), nullable=False),
        sa.Column("ended_at", sa.String(32), nullable=True),
        sa.ForeignKeyConstraint(["person_id"], ["people.id"], name="fk_sessions_person_id_people"),
        sa.PrimaryKeyConstraint("token_hash", name="pk_sessions"),
    )


def downgrade() -> None:
    """Drop sessions."""
    op.drop_table("sessions")
