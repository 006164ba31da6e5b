"""Engagements: people and roles, evidence versions and attachments, verifications, findings,
evaluations, decisions, complaints and appeals.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22

Generated from audits/schema.py once and then frozen: a migration must not change when the
schema module does.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create the engagement tables, parents before children."""
    op.create_table(
        "attachments",
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("sha256", name=op.f("pk_attachments")),
    )
    op.create_table(
        "people",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("organisation", sa.Text(), nullable=False),
        sa.Column("community", sa.String(length=64), nullable=True),
        sa.Column("roles", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_people")),
    )
    op.create_table(
        "engagements",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("community_id", sa.String(length=64), nullable=False),
        sa.Column("community_name", sa.Text(), nullable=False),
        sa.Column("model", sa.String(length=64), nullable=False),
        sa.Column("standard", sa.Text(), nullable=False),
        sa.Column("scope", sa.Text(), nullable=False),
        sa.Column("applied_on", sa.Date(), nullable=False),
        sa.Column("applicant", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(["applicant"], ["people.id"], name=op.f("fk_engagements_applicant_people")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_engagements")),
    )
    op.create_table(
        "cases",
        sa.Column("engagement_id", sa.String(length=32), nullable=False),
        sa.Column("number", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("party", sa.Text(), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("decision_number", sa.Integer(), nullable=True),
        sa.Column("received_on", sa.Date(), nullable=False),
        sa.Column("recorded_by", sa.String(length=64), nullable=False),
        sa.Column("resolution", sa.Text(), nullable=True),
        sa.Column("resolved_by", sa.String(length=64), nullable=True),
        sa.Column("resolved_on", sa.Date(), nullable=True),
        sa.CheckConstraint("kind IN ('complaint', 'appeal')", name=op.f("ck_cases_kind")),
        sa.ForeignKeyConstraint(
            ["engagement_id"], ["engagements.id"], name=op.f("fk_cases_engagement_id_engagements")
        ),
        sa.ForeignKeyConstraint(["recorded_by"], ["people.id"], name=op.f("fk_cases_recorded_by_people")),
        sa.ForeignKeyConstraint(["resolved_by"], ["people.id"], name=op.f("fk_cases_resolved_by_people")),
        sa.PrimaryKeyConstraint("engagement_id", "number", name=op.f("pk_cases")),
    )
    op.create_table(
        "decisions",
        sa.Column("engagement_id", sa.String(length=32), nullable=False),
        sa.Column("number", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("evaluation_number", sa.Integer(), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("decided_by", sa.String(length=64), nullable=False),
        sa.Column("decided_on", sa.Date(), nullable=False),
        sa.Column("certificate", sa.String(length=64), nullable=True),
        sa.CheckConstraint("outcome IN ('certify', 'maintain', 'refuse')", name=op.f("ck_decisions_outcome")),
        sa.ForeignKeyConstraint(
            ["certificate"], ["certificates.number"], name=op.f("fk_decisions_certificate_certificates")
        ),
        sa.ForeignKeyConstraint(["decided_by"], ["people.id"], name=op.f("fk_decisions_decided_by_people")),
        sa.ForeignKeyConstraint(
            ["engagement_id"], ["engagements.id"], name=op.f("fk_decisions_engagement_id_engagements")
        ),
        sa.PrimaryKeyConstraint("engagement_id", "number", name=op.f("pk_decisions")),
    )
    op.create_table(
        "engagement_roles",
        sa.Column("engagement_id", sa.String(length=32), nullable=False),
        sa.Column("person_id", sa.String(length=64), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("assigned_on", sa.Date(), nullable=False),
        sa.CheckConstraint(
            "role IN ('lead_auditor', 'auditor', 'reviewer')", name=op.f("ck_engagement_roles_role")
        ),
        sa.ForeignKeyConstraint(
            ["engagement_id"], ["engagements.id"], name=op.f("fk_engagement_roles_engagement_id_engagements")
        ),
        sa.ForeignKeyConstraint(
            ["person_id"], ["people.id"], name=op.f("fk_engagement_roles_person_id_people")
        ),
        sa.PrimaryKeyConstraint("engagement_id", "person_id", "role", name=op.f("pk_engagement_roles")),
    )
    op.create_table(
        "evaluations",
        sa.Column("engagement_id", sa.String(length=32), nullable=False),
        sa.Column("number", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("purpose", sa.String(length=16), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("pack_version", sa.Integer(), nullable=False),
        sa.Column("version_digest", sa.String(length=80), nullable=False),
        sa.Column("pack_digest", sa.String(length=80), nullable=False),
        sa.Column("rule_pack_id", sa.String(length=64), nullable=False),
        sa.Column("rule_pack_digest", sa.String(length=80), nullable=False),
        sa.Column("result", sa.Text(), nullable=False),
        sa.Column("trail", sa.Text(), nullable=False),
        sa.Column("trail_head", sa.String(length=80), nullable=False),
        sa.Column("levels", sa.Text(), nullable=False),
        sa.Column("verdicts", sa.Text(), nullable=False),
        sa.Column("evaluated_by", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["engagement_id"], ["engagements.id"], name=op.f("fk_evaluations_engagement_id_engagements")
        ),
        sa.ForeignKeyConstraint(
            ["evaluated_by"], ["people.id"], name=op.f("fk_evaluations_evaluated_by_people")
        ),
        sa.PrimaryKeyConstraint("engagement_id", "number", name=op.f("pk_evaluations")),
    )
    op.create_table(
        "findings",
        sa.Column("engagement_id", sa.String(length=32), nullable=False),
        sa.Column("number", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("severity", sa.String(length=16), nullable=False),
        sa.Column("characteristic", sa.String(length=32), nullable=True),
        sa.Column("evidence_id", sa.String(length=128), nullable=True),
        sa.Column("statement", sa.Text(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("raised_by", sa.String(length=64), nullable=False),
        sa.Column("raised_on", sa.Date(), nullable=False),
        sa.Column("closed_by", sa.String(length=64), nullable=True),
        sa.Column("closed_on", sa.Date(), nullable=True),
        sa.Column("closure_evidence", sa.Text(), nullable=True),
        sa.Column("closure_note", sa.Text(), nullable=True),
        sa.CheckConstraint("severity IN ('major', 'minor')", name=op.f("ck_findings_severity")),
        sa.ForeignKeyConstraint(["closed_by"], ["people.id"], name=op.f("fk_findings_closed_by_people")),
        sa.ForeignKeyConstraint(
            ["engagement_id"], ["engagements.id"], name=op.f("fk_findings_engagement_id_engagements")
        ),
        sa.ForeignKeyConstraint(["raised_by"], ["people.id"], name=op.f("fk_findings_raised_by_people")),
        sa.PrimaryKeyConstraint("engagement_id", "number", name=op.f("pk_findings")),
    )
    op.create_table(
        "pack_versions",
        sa.Column("engagement_id", sa.String(length=32), nullable=False),
        sa.Column("version", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("pack_digest", sa.String(length=80), nullable=False),
        sa.Column("manifest", sa.Text(), nullable=False),
        sa.Column("items", sa.Integer(), nullable=False),
        sa.Column("submitted_by", sa.String(length=64), nullable=False),
        sa.Column("submitted_on", sa.Date(), nullable=False),
        sa.ForeignKeyConstraint(
            ["engagement_id"], ["engagements.id"], name=op.f("fk_pack_versions_engagement_id_engagements")
        ),
        sa.ForeignKeyConstraint(
            ["submitted_by"], ["people.id"], name=op.f("fk_pack_versions_submitted_by_people")
        ),
        sa.PrimaryKeyConstraint("engagement_id", "version", name=op.f("pk_pack_versions")),
    )
    op.create_table(
        "verifications",
        sa.Column("engagement_id", sa.String(length=32), nullable=False),
        sa.Column("seq", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("evidence_id", sa.String(length=128), nullable=False),
        sa.Column("item_digest", sa.String(length=80), nullable=False),
        sa.Column("verdict", sa.String(length=16), nullable=False),
        sa.Column("method", sa.String(length=32), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("auditor", sa.String(length=64), nullable=False),
        sa.Column("verified_on", sa.Date(), nullable=False),
        sa.ForeignKeyConstraint(["auditor"], ["people.id"], name=op.f("fk_verifications_auditor_people")),
        sa.ForeignKeyConstraint(
            ["engagement_id"], ["engagements.id"], name=op.f("fk_verifications_engagement_id_engagements")
        ),
        sa.PrimaryKeyConstraint("engagement_id", "seq", name=op.f("pk_verifications")),
    )


def downgrade() -> None:
    """Drop the engagement tables, children before parents."""
    op.drop_table("verifications")
    op.drop_table("pack_versions")
    op.drop_table("findings")
    op.drop_table("evaluations")
    op.drop_table("engagement_roles")
    op.drop_table("decisions")
    op.drop_table("cases")
    op.drop_table("engagements")
    op.drop_table("people")
    op.drop_table("attachments")
