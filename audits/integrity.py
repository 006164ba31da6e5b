"""``trail verify --store``: the trail, its anchor, every bound row and, asked, every attachment.

What it detects, with an anchor kept where the database's writers cannot rewrite it:
- a trail record edited, inserted, deleted or reordered (the hash chain);
- the trail emptied, cut short, or rewritten and re-hashed (the anchor);
- any row of any table edited, inserted or deleted outside Assay (the bindings replayed);
- an attachment file overwritten, replaced or removed (``--attachments``: its content address).

What it cannot: somebody able to rewrite both the database and the anchor can make a consistent
forgery, and the store alone cannot tell. Nor does it notice a change made and undone between
two checks, or the last transaction before a crash going unanchored (the anchor lags; the
chain verifies past it). Keep the anchor on another machine or an append-only mount.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select

from audits.anchor import check_anchor
from audits.binding import check_store
from audits.blobs import BlobStore
from audits.schema import attachments
from audits.store import Store, trail_records, verify_records
from engine.errors import TrailError
from engine.trail import GENESIS


@dataclass
class Integrity:
    """What a check found; ``problems`` empty means intact."""

    records: int = 0
    head: str = GENESIS
    rows: int = 0
    attachments: int | None = None
    anchor: Path | None = None
    problems: list[str] = field(default_factory=list)


def check_integrity(store: Store, *, blobs: BlobStore | None = None, head: str | None = None) -> Integrity:
    """Check the store in one read snapshot; with ``blobs``, hash every attachment too."""
    found = Integrity(anchor=store.anchor)
    with store.read() as connection:
        records = trail_records(connection)
        found.records = len(records)
        try:
            found.head = verify_records(records, head).head
        except TrailError as exc:
            found.problems.append(f"trail: {exc}")
            found.head = records[-1].hash if records else GENESIS
        if store.anchor is not None:
            found.problems += check_anchor(store.anchor, {r.seq: r.hash for r in records})
        rows = check_store(connection, records)
        found.rows = rows.rows
        found.problems += rows.problems
        if blobs is not None:
            stored = connection.execute(select(attachments).order_by(attachments.c.sha256)).all()
            found.attachments = len(stored)
            found.problems += [p for row in stored if (p := blobs.check(row.sha256, row.size)) is not None]
    return found
