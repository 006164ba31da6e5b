"""Rows bound to the trail, and certificate numbers reserved before their PDFs exist.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06

Frozen like every migration, except that it binds the rows already stored: one ``store.bound``
trail record carries the digest of each (see audits.binding), so a store upgraded from 0004
verifies, vouching for its rows as they stood at the upgrade.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import context, op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create bindings and certificate_numbers; bind every stored row in one trail record."""
    op.create_table(
        "bindings",
        sa.Column("table_name", sa.String(64), nullable=False),
        sa.Column("row_key", sa.String(300), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("digest", sa.String(80), nullable=False),
        sa.PrimaryKeyConstraint("table_name", "row_key", name="pk_bindings"),
    )
    op.create_table(
        "certificate_numbers",
        sa.Column("number", sa.String(64), nullable=False),
        sa.Column("reserved_by", sa.Text(), nullable=False),
        sa.Column("reserved_on", sa.Date(), nullable=False),
        sa.Column("staged", sa.Text(), nullable=True),
        sa.Column("target", sa.Text(), nullable=True),
        sa.Column("voided_on", sa.Date(), nullable=True),
        sa.PrimaryKeyConstraint("number", name="pk_certificate_numbers"),
    )
    if context.is_offline_mode():
        return  # rendering SQL: there are no rows to bind
    # Imported here: the store's trail code, with the digest as audits.binding takes it.
    from audits.binding import index, row_digest
    from audits.store import append_trail
    from engine.sources import SystemClock

    connection = op.get_bind()
    bound = []
    for name in _BOUND_AT_0005:
        # The table as it stands at this revision (reflected): later revisions may add columns.
        table = sa.Table(name, sa.MetaData(), autoload_with=connection)
        key = list(table.primary_key.columns)
        for row in connection.execute(sa.select(table).order_by(*key)):
            values = row._mapping
            bound.append(
                {
                    "table": name,
                    "key": "/".join(str(values[c.name]) for c in key),
                    "digest": row_digest(table, values),
                }
            )
    if bound:
        (record,) = append_trail(
            connection,
            SystemClock(),
            "assay (migration 0005)",
            [("store.bound", {"rows_bound": len(bound), "rows": bound})],
        )
        index(connection, [(record.seq, bound)])


_BOUND_AT_0005 = (
    "people",
    "engagements",
    "engagement_roles",
    "pack_versions",
    "attachments",
    "verifications",
    "judgements",
    "findings",
    "evaluations",
    "decisions",
    "cases",
    "certificate_numbers",
    "certificates",
)
"""The tables that existed at this revision, every one bound."""


def downgrade() -> None:
    """Drop both tables (the store.bound record stays: a trail is never shortened)."""
    op.drop_table("certificate_numbers")
    op.drop_table("bindings")
