"""Alembic migrations of the store; :func:`audits.store.open_store` runs them to the newest revision."""
