"""Each person's preferences in the web application (the language of the pages).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-08

Frozen like every migration. A new table only: nothing stored before needs binding.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create preferences."""
    op.create_table(
        "preferences",
        sa.Column("person_id", sa.String(64), nullable=False),
        sa.Column("language", sa.String(8), nullable=False),
        sa.ForeignKeyConstraint(["person_id"], ["people.id"], name="fk_preferences_person_id_people"),
        sa.PrimaryKeyConstraint("person_id", name="pk_preferences"),
    )


def downgrade() -> None:
    """Drop preferences."""
    op.drop_table("preferences")
