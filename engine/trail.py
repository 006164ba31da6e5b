"""The audit trail: append-only records, each chained to the one before by SHA-256.

A record is ``{seq, time, actor, event, payload, payload_digest, prev, hash}``. ``hash`` is
the SHA-256 of the canonical JSON of every other field, and ``prev`` is the previous record's
``hash`` (the first record's ``prev`` is :data:`GENESIS`). Editing, deleting, inserting or
reordering any record breaks the chain at that record. An evaluation's trail ends with an
``evaluation.completed`` record counting the records, so removing records from the end shows
too; anchoring the head hash elsewhere (a certificate carries it) also catches a rewrite of
the whole chain. An open-ended chain, such as the certificate register's trail, has no closing
record; it is verified with ``closed=False`` and relies on a head anchor for its end.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.canonical import canonical_json, digest, digest_of, parse_json
from engine.errors import TrailError
from engine.sources import Clock

GENESIS = "sha256:" + "0" * 64
CLOSING_EVENT = "evaluation.completed"
FIELDS = ("seq", "time", "actor", "event", "payload", "payload_digest", "prev", "hash")


@dataclass(frozen=True)
class TrailRecord:
    """One link of the chain."""

    seq: int
    """1-based position in the chain."""
    time: str
    """ISO 8601 UTC instant from the injected clock."""
    actor: str
    """Who or what caused the event."""
    event: str
    """What happened, dotted (``pack.received``, ``level.inferred``)."""
    payload: dict[str, Any]
    """The event's data."""
    payload_digest: str
    """``sha256:`` of the payload's canonical JSON."""
    prev: str
    """Hash of the previous record (:data:`GENESIS` for the first)."""
    hash: str
    """``sha256:`` of this record's canonical JSON without ``hash``."""

    def as_dict(self) -> dict[str, Any]:
        """The record as a JSON-able dict."""
        return {name: getattr(self, name) for name in FIELDS}

    def line(self) -> str:
        """The record as one JSONL line (canonical JSON, no newline)."""
        return canonical_json(self.as_dict()).decode("utf-8")


def _record_hash(fields: dict[str, Any]) -> str:
    return digest(canonical_json({k: v for k, v in fields.items() if k != "hash"}))


class Trail:
    """Builds a chain of records, continuing from ``prev`` at sequence ``next_seq``."""

    def __init__(self, clock: Clock, prev: str = GENESIS, next_seq: int = 1) -> None:
        self._clock = clock
        self._prev = prev
        self._seq = next_seq
        self.records: list[TrailRecord] = []

    def append(self, actor: str, event: str, payload: dict[str, Any]) -> TrailRecord:
        """Append one record and return it."""
        time = self._clock.now().astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        fields: dict[str, Any] = {
            "seq": self._seq,
            "time": time,
            "actor": actor,
            "event": event,
            "payload": payload,
            "payload_digest": digest_of(payload),
            "prev": self._prev,
        }
        record = TrailRecord(**fields, hash=_record_hash(fields))
        self.records.append(record)
        self._prev = record.hash
        self._seq += 1
        return record

    @property
    def head(self) -> str:
        """Hash of the last record (``prev`` when nothing was appended)."""
        return self._prev


@dataclass(frozen=True)
class VerifiedTrail:
    """What verification established."""

    records: int
    head: str


def jsonl(records: Sequence[TrailRecord]) -> str:
    """Records as JSONL text, one canonical JSON record per line."""
    return "".join(r.line() + "\n" for r in records)


def write_trail(path: Path, records: Sequence[TrailRecord]) -> None:
    """Write records as a JSONL file."""
    path.write_text(jsonl(records), encoding="utf-8")


def verify_file(path: Path, head: str | None = None, *, closed: bool = True) -> VerifiedTrail:
    """Verify a JSONL trail file; see :func:`verify_lines`."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise TrailError(f"cannot read {path}: {exc}", None) from None
    return verify_lines(text.splitlines(), head, closed=closed)


def verify_lines(lines: Iterable[str], head: str | None = None, *, closed: bool = True) -> VerifiedTrail:
    """Check every link; raise :class:`TrailError` naming the first bad record.

    With ``head``, the last record's hash must equal it (an anchor held elsewhere). A closed
    chain must end with its :data:`CLOSING_EVENT` record; ``closed=False`` verifies a chain that
    is still growing and skips only that check, so records removed from its end show only
    against a ``head`` anchor.
    """
    prev = GENESIS
    count = 0
    last: dict[str, Any] | None = None
    for number, line in enumerate(lines, start=1):
        record = _parse(line, number)
        where = f"record {number} (seq {record.get('seq')!r}, {record.get('event')!r})"
        if record["seq"] != number:
            raise TrailError(
                f"{where}: expected seq {number}; a record was deleted, inserted or reordered",
                number,
            )
        if record["prev"] != prev:
            raise TrailError(
                f"{where}: prev does not match the hash of record {number - 1}; "
                "a record before it was changed, removed or inserted",
                number,
            )
        if digest_of(record["payload"]) != record["payload_digest"]:
            raise TrailError(f"{where}: payload does not match payload_digest; it was edited", number)
        if _record_hash(record) != record["hash"]:
            raise TrailError(f"{where}: hash does not match the record; it was edited", number)
        prev = record["hash"]
        count = number
        last = record
    if last is None:
        raise TrailError("the trail is empty", None)
    if closed and (last["event"] != CLOSING_EVENT or last["payload"].get("records") != count):
        raise TrailError(
            f"record {count} is not the closing {CLOSING_EVENT} record for {count} records; "
            "records were removed from the end",
            count,
        )
    if head is not None and prev != head:
        raise TrailError(f"head hash {prev} is not the expected {head}", count)
    return VerifiedTrail(count, prev)


def _parse(line: str, number: int) -> dict[str, Any]:
    try:
        record = parse_json(line)
    except json.JSONDecodeError as exc:
        raise TrailError(f"record {number}: not valid JSON ({exc.msg})", number) from None
    if not isinstance(record, dict) or sorted(record) != sorted(FIELDS):
        raise TrailError(f"record {number}: fields must be exactly {', '.join(FIELDS)}", number)
    if not isinstance(record["payload"], dict) or not isinstance(record["seq"], int):
        raise TrailError(f"record {number}: payload must be an object and seq an integer", number)
    return record
