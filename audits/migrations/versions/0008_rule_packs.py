"""Installed rule packs, the re-ratings of certificates under them, and the local job queue.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07

Frozen like every migration. New tables only: nothing stored before needs binding.

procrastinate's own schema (the job queue on PostgreSQL) is not created here: it is
procrastinate's, versioned by procrastinate, and applied by audits.jobs where the queue is first
used (see audits.jobs.ensure_queue for why).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create rule_packs, reratings and local_jobs."""
    op.create_table(
        "rule_packs",
        sa.Column("number", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("digest", sa.String(80), nullable=False),
        sa.Column("pack_id", sa.String(64), nullable=False),
        sa.Column("files", sa.Text(), nullable=False),
        sa.Column("installed_at", sa.String(32), nullable=False),
        sa.Column("installed_by", sa.String(64), nullable=False),
        sa.ForeignKeyConstraint(["installed_by"], ["people.id"], name="fk_rule_packs_installed_by_people"),
        sa.PrimaryKeyConstraint("number", name="pk_rule_packs"),
    )
    op.create_table(
        "reratings",
        sa.Column("run", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("certificate", sa.String(64), nullable=False),
        sa.Column("engagement_id", sa.String(32), nullable=False),
        sa.Column("old_rule_pack_digest", sa.String(80), nullable=False),
        sa.Column("new_rule_pack_digest", sa.String(80), nullable=False),
        sa.Column("changes", sa.Text(), nullable=False),
        sa.Column("created_at", sa.String(32), nullable=False),
        sa.ForeignKeyConstraint(["run"], ["rule_packs.number"], name="fk_reratings_run_rule_packs"),
        sa.ForeignKeyConstraint(
            ["certificate"], ["certificates.number"], name="fk_reratings_certificate_certificates"
        ),
        sa.ForeignKeyConstraint(
            ["engagement_id"], ["engagements.id"], name="fk_reratings_engagement_id_engagements"
        ),
        sa.PrimaryKeyConstraint("run", "certificate", name="pk_reratings"),
    )
    op.create_table(
        "local_jobs",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("args", sa.Text(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.CheckConstraint("status IN ('queued', 'done', 'failed')", name=op.f("ck_local_jobs_status")),
        sa.PrimaryKeyConstraint("id", name="pk_local_jobs"),
    )


def downgrade() -> None:
    """Drop the three tables (their trail records stay: a trail is never shortened)."""
    op.drop_table("local_jobs")
    op.drop_table("reratings")
    op.drop_table("rule_packs")
