"""Opening the store for a command: the location given, and the anchor the operator named."""

from __future__ import annotations

import os
from pathlib import Path

from audits.anchor import ANCHOR_ENV
from audits.store import Store, open_store


def store_anchor() -> Path | None:
    """The anchor file named in ``ASSAY_ANCHOR`` (needed for a PostgreSQL store; a SQLite store
    defaults to the file beside its database)."""
    named = os.environ.get(ANCHOR_ENV, "").strip()
    return Path(named).expanduser() if named else None


def open_data(data: str, *, create: bool = True) -> Store:
    """Open the store at ``data`` (a folder, ``.db`` file or URL) with its anchor."""
    return open_store(data, create=create, anchor=store_anchor())


def attachment_folder(store: Store, data: str, given: Path | None) -> Path | None:
    """The attachment folder: as given, else ``attachments`` beside a SQLite database."""
    if given is not None or "://" in data:
        return given
    return Path(store.url.database or ".").parent / "attachments"
