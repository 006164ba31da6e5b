"""Alembic environment: runs migrations on the connection :func:`audits.store.open_store` hands over.

No alembic.ini and no logging setup: the store builds the Config in code and passes an open
connection (already inside its writer transaction) as ``config.attributes["connection"]``.
Offline mode renders SQL for a URL, for a database administrator to review and run.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from audits.schema import metadata

config = context.config


def run_offline() -> None:
    """Emit the migration SQL for ``sqlalchemy.url`` without connecting."""
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        target_metadata=metadata,
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
    )
    with context.begin_transaction():
        context.run_migrations()


def run_online(connection: Connection) -> None:
    """Migrate on the given connection; the caller's transaction commits or rolls back the lot."""
    context.configure(connection=connection, target_metadata=metadata)
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_offline()
else:
    given = config.attributes.get("connection")
    if not isinstance(given, Connection):
        raise RuntimeError("open the store with audits.store.open_store; it passes the connection")
    run_online(given)
