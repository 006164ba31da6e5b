"""Judgements record the items examined in depth (the sample the engine proposed).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-06

Frozen like every migration. Judgements recorded before it examined nothing in depth: '[]'.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add judgements.examined (a JSON list of evidence ids)."""
    with op.batch_alter_table("judgements") as batch:
        batch.add_column(sa.Column("examined", sa.Text(), nullable=False, server_default="[]"))


def downgrade() -> None:
    """Drop judgements.examined."""
    with op.batch_alter_table("judgements") as batch:
        batch.drop_column("examined")
