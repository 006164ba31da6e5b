"""Judgements: auditors' ratings of requirements that need a professional judgement.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-06

Written from audits/schema.py once and then frozen: a migration must not change when the
schema module does.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create the judgements table."""
    op.create_table(
        "judgements",
        sa.Column("engagement_id", sa.String(length=32), nullable=False),
        sa.Column("seq", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("requirement", sa.String(length=100), nullable=False),
        sa.Column("rating", sa.String(length=16), nullable=False),
        sa.Column("cites", sa.Text(), nullable=False),
        sa.Column("cited_digest", sa.String(length=80), nullable=False),
        sa.Column("method", sa.String(length=32), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("auditor", sa.String(length=64), nullable=False),
        sa.Column("judged_on", sa.Date(), nullable=False),
        sa.CheckConstraint(
            "rating IN ('fully', 'largely', 'partially', 'not')", name=op.f("ck_judgements_rating")
        ),
        sa.ForeignKeyConstraint(["auditor"], ["people.id"], name=op.f("fk_judgements_auditor_people")),
        sa.ForeignKeyConstraint(
            ["engagement_id"], ["engagements.id"], name=op.f("fk_judgements_engagement_id_engagements")
        ),
        sa.PrimaryKeyConstraint("engagement_id", "seq", name=op.f("pk_judgements")),
    )


def downgrade() -> None:
    """Drop the judgements table."""
    op.drop_table("judgements")
