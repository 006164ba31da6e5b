"""Every row of the store bound to the trail record that produced it.

A trail record that changes tables carries, in its payload's ``rows``, the digest of each row
it wrote as the row stood after the change: ``{"table", "key", "digest"}``. The digest is the
SHA-256 of the row's canonical JSON (every column, by name, with the table's name), so any
edit to any column outside Assay changes it. Replaying the trail therefore gives the state
every row must have now: :func:`check_store` compares it with the tables, row by row, and names
each row that differs, has no record, or has gone.

Operations check what they are about to rely on (:func:`check_rows`): the row must match the
digest its latest trail record bound, and that record must hash to itself. Which record that is
comes from the ``bindings`` index (table, key -> seq), written with each record; the index is
only a shortcut, and :func:`check_store` checks it against the replay too.

The operation-time check trusts the index to name the latest record: a row set back to a state
an earlier record bound, with its index entry pointed back at that record, passes it; the replay
(:func:`check_store`) does not, since it rebuilds the index from the trail.

A migration that adds or changes a column of a bound table changes every row's digest: it must
append a record re-binding the rows it changed, as 0005 binds the rows stored before it.

What this cannot do alone: somebody able to rewrite the database can rewrite the trail to
match and re-hash the chain. That is caught only against the chain head kept outside the
database (:mod:`audits.anchor`); somebody able to rewrite both cannot be stopped by the store.
"""

from __future__ import annotations

import functools
import hashlib
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Table, bindparam, select, tuple_
from sqlalchemy.engine import Connection

from audits.errors import StoreError
from audits.schema import (
    api_tokens,
    attachments,
    bindings,
    cases,
    certificate_numbers,
    certificates,
    credentials,
    decisions,
    engagement_roles,
    engagements,
    evaluations,
    findings,
    invitations,
    judgements,
    local_jobs,
    pack_versions,
    people,
    preferences,
    reratings,
    rule_packs,
    sessions,
    sign_in_failures,
    trail,
    verifications,
)
from engine.canonical import canonical_json, digest_of, parse_json

BOUND_TABLES: tuple[Table, ...] = (
    people,
    engagements,
    engagement_roles,
    pack_versions,
    attachments,
    verifications,
    judgements,
    findings,
    evaluations,
    decisions,
    cases,
    certificate_numbers,
    certificates,
    credentials,
    invitations,
    api_tokens,
    sign_in_failures,
    sessions,
    rule_packs,
    reratings,
    local_jobs,
    preferences,
)
"""Every table whose rows a trail record binds (all but the trail and its index)."""
_BY_NAME = {table.name: table for table in BOUND_TABLES}

Ref = tuple[Table, tuple[Any, ...], Mapping[str, Any] | None]
"""A row named by its table and primary key values (in the key's column order), with its values
when the caller just inserted them (None: read it back)."""

CHECKED = "assay_rows_checked"
"""``connection.info`` key: rows (table, key, digest) checked in the open transaction; the store
clears it when a transaction begins, so nothing checked is trusted beyond its transaction."""
MAX_NAMED = 20
"""At most this many differing rows are named in one message; the count says how many more."""


def ref(table: Table, *key: Any) -> Ref:
    """The row of ``table`` with primary key ``key``, bound as it is read back."""
    return table, tuple(key), None


def inserted(table: Table, values: Mapping[str, Any]) -> Ref:
    """A row just inserted with ``values``, bound from them without reading it back (a batch of
    verdicts is the hot path). Columns left out are NULL; a column the database fills in itself
    (a server default) must be given, or the digest would not be of the row as stored."""
    unknown = [c.name for c in table.columns if c.name not in values and not c.nullable]
    if unknown:
        raise ValueError(f"{table.name} row without {unknown}: bind it with ref() after reading it back")
    row = {name: values.get(name) for name in _columns(table)}
    return table, tuple(row[c.name] for c in table.primary_key.columns), row


def row_key(table: Table, values: Mapping[Any, Any]) -> str:
    """The row's primary key as text, ``/``-joined (``ENG-2026-0001/3``)."""
    return "/".join(str(values[c.name]) for c in table.primary_key.columns)


@functools.cache
def _columns(table: Table) -> tuple[str, ...]:
    # Plain str: SQLAlchemy's names are a str subclass, which orjson refuses as a key.
    return tuple(str(c.name) for c in table.columns)


def row_digest(table: Table, values: Mapping[Any, Any]) -> str:
    """``sha256:`` of the row's canonical JSON: every column by name, with the table's name."""
    row = {name: values[name] for name in _columns(table)}
    return "sha256:" + hashlib.sha256(canonical_json({"table": table.name, "row": row})).hexdigest()


def bind_all(connection: Connection, groups: Sequence[Sequence[Ref]]) -> list[list[dict[str, str]]]:
    """The bindings each of several records carries for the rows it wrote, as they now stand:
    inserted rows from their values, the others read back (one query per table for all)."""
    found = _read_rows(connection, [r for refs in groups for r in refs if r[2] is None])
    out = []
    for refs in groups:
        bound = []
        for table, key, given in refs:
            values = given if given is not None else found.get((table.name, tuple(str(k) for k in key)))
            if values is None:
                raise StoreError(f"cannot bind {table.name} {'/'.join(map(str, key))}: no such row")
            bound.append(
                {"table": table.name, "key": row_key(table, values), "digest": row_digest(table, values)}
            )
        out.append(bound)
    return out


def index(connection: Connection, seq_bindings: Sequence[tuple[int, Sequence[Mapping[str, str]]]]) -> None:
    """Point the ``bindings`` index at the records just appended (the latest record per row wins)."""
    latest: dict[tuple[str, str], tuple[int, str]] = {}
    for seq, bound in seq_bindings:
        for b in bound:
            latest[(b["table"], b["key"])] = (seq, b["digest"])
    if not latest:
        return
    rows = [{"table_name": t, "row_key": k, "seq": s, "digest": d} for (t, k), (s, d) in latest.items()]
    connection.execute(_upsert(connection.dialect.name), rows)


@functools.cache
def _upsert(dialect: str) -> Any:
    """``INSERT ... ON CONFLICT DO UPDATE`` into the index: one statement whether the row is new
    or rewritten (both SQLite and PostgreSQL have it, each through its own dialect's insert)."""
    from sqlalchemy.dialects import postgresql, sqlite

    made = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(bindings)
    return made.on_conflict_do_update(
        index_elements=[bindings.c.table_name, bindings.c.row_key],
        set_={"seq": made.excluded.seq, "digest": made.excluded.digest},
    )


# Built once (every write and every check runs them): expanding IN lists keep one compiled form.
_BOUND_RECORDS = (
    select(bindings.c.row_key, trail)
    .join(trail, trail.c.seq == bindings.c.seq)
    .where(
        bindings.c.table_name == bindparam("table"),
        bindings.c.row_key.in_(bindparam("keys", expanding=True)),
    )
)


@dataclass(frozen=True)
class Mismatch:
    """A row that does not stand as the trail says it must."""

    table: str
    key: str
    what: str

    def __str__(self) -> str:
        return f"{self.table} {self.key}: {self.what}"


def check_rows(connection: Connection, table: Table, rows: Iterable[Any]) -> None:
    """Refuse to go on when a row about to be relied on is not the one its trail record bound.

    Each row's latest record (from the index) must hash to itself and bind this row's digest;
    :class:`StoreError` names every row that does not (at most :data:`MAX_NAMED`).
    """
    checked: set[tuple[str, str, str]] = connection.info.setdefault(CHECKED, set())
    wanted = {}
    for row in rows:
        key, actual = row_key(table, row._mapping), row_digest(table, row._mapping)
        if (table.name, key, actual) not in checked:  # the same row, read twice in one transaction
            wanted[key] = actual
    if not wanted:
        return
    seqs: dict[str, int] = {}
    records: dict[int, Any] = {}
    for chunk in _chunks(list(wanted)):
        for record in connection.execute(_BOUND_RECORDS, {"table": table.name, "keys": list(chunk)}):
            seqs[record.row_key] = record.seq
            records[record.seq] = record
    problems = []
    opened: dict[int, dict[tuple[str, str], str] | None] = {}  # a record binding many rows, hashed once
    for key, actual in wanted.items():
        seq = seqs.get(key)
        found = records.get(seq) if seq is not None else None
        if seq is None or found is None:
            problems.append(Mismatch(table.name, key, "has no trail record: it was written outside Assay"))
            continue
        if seq not in opened:
            opened[seq] = _bound_in(found)
        bound = opened[seq]
        if bound is None:
            problems.append(
                Mismatch(table.name, key, f"trail record {seq} does not hash to itself: it was edited")
            )
        elif bound.get((table.name, key)) != actual:
            problems.append(
                Mismatch(
                    table.name, key, f"differs from what trail record {seq} bound: changed outside Assay"
                )
            )
    if problems:
        raise StoreError(_tampered(problems))
    checked.update((table.name, key, actual) for key, actual in wanted.items())


@dataclass(frozen=True)
class StoreCheck:
    """What replaying the trail against the tables found."""

    rows: int
    """Rows checked."""
    problems: list[str]
    """Every row that differs, has no record or is gone, and index entries that disagree."""


def check_store(connection: Connection, records: Iterable[Any]) -> StoreCheck:
    """Replay ``records`` (the verified trail, in order) and compare every bound table with it."""
    expected: dict[tuple[str, str], tuple[int, str]] = {}
    problems: list[Mismatch] = []
    for record in records:
        bound = _rows_of(record.payload)
        if bound is None:
            problems.append(Mismatch("trail", str(record.seq), "its rows cannot be read"))
            continue
        for named, row_hash in bound.items():
            expected[named] = (record.seq, row_hash)
    replayed = dict(expected)
    checked = 0
    for table in BOUND_TABLES:
        for row in connection.execute(select(table)):
            checked += 1
            values = row._mapping
            key = row_key(table, values)
            wrote = expected.pop((table.name, key), None)
            if wrote is None:
                problems.append(
                    Mismatch(table.name, key, "has no trail record: it was written outside Assay")
                )
            elif wrote[1] != row_digest(table, values):
                problems.append(Mismatch(table.name, key, f"differs from what trail record {wrote[0]} bound"))
    for (name, key), (seq, _) in sorted(expected.items(), key=lambda item: item[1][0]):
        problems.append(Mismatch(name, key, f"is gone: trail record {seq} wrote it"))
    indexed = {(r.table_name, r.row_key): r.seq for r in connection.execute(select(bindings))}
    for named, (seq, _) in replayed.items():
        if indexed.pop(named, None) != seq:
            problems.append(Mismatch("bindings", "/".join(named), f"does not point at trail record {seq}"))
    problems += [Mismatch("bindings", "/".join(named), "names no row any record bound") for named in indexed]
    return StoreCheck(checked, [str(p) for p in problems])


def _bound_in(record: Any) -> dict[tuple[str, str], str] | None:
    """The digests a stored record binds, or None when the record does not hash to itself."""
    try:
        payload = parse_json(record.payload)
    except ValueError:
        return None
    fields = {
        "seq": record.seq,
        "time": record.time,
        "actor": record.actor,
        "event": record.event,
        "payload": payload,
        "payload_digest": record.payload_digest,
        "prev": record.prev,
    }
    # The record's hash covers its payload (and the payload's digest): one hash checks both.
    if digest_of(fields) != record.hash:
        return None
    return _rows_of(payload)


def _rows_of(payload: Any) -> dict[tuple[str, str], str] | None:
    """A payload's bindings, ``(table, key) -> digest``; None when they are not well formed."""
    try:
        if not isinstance(payload, dict):
            payload = parse_json(payload)
        rows = payload.get("rows", [])
        return {(str(b["table"]), str(b["key"])): str(b["digest"]) for b in rows}
    except (ValueError, TypeError, KeyError, AttributeError):
        return None


def _read_rows(
    connection: Connection, refs: Sequence[Ref]
) -> dict[tuple[str, tuple[str, ...]], Mapping[Any, Any]]:
    by_table: dict[str, list[tuple[Any, ...]]] = defaultdict(list)
    for table, key, _ in refs:
        by_table[table.name].append(key)
    found: dict[tuple[str, tuple[str, ...]], Mapping[Any, Any]] = {}
    for name, keys in by_table.items():
        table = _BY_NAME[name]
        columns = list(table.primary_key.columns)
        for chunk in _chunks(sorted(set(keys))):
            wanted = [k[0] for k in chunk] if len(columns) == 1 else list(chunk)
            for row in connection.execute(_select_by_key(table), {"keys": wanted}):
                values = row._mapping
                found[(name, tuple(str(values[c.name]) for c in columns))] = values
    return found


@functools.cache
def _select_by_key(table: Table) -> Any:
    """``SELECT * FROM table WHERE <primary key> IN :keys``, built once per table."""
    columns = list(table.primary_key.columns)
    key = columns[0] if len(columns) == 1 else tuple_(*columns)
    return select(table).where(key.in_(bindparam("keys", expanding=True)))


def _chunks(items: Sequence[Any], size: int = 500) -> Iterable[Sequence[Any]]:
    """Bounded IN lists (SQLite allows 32,766 variables; a pair takes two)."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _tampered(problems: Sequence[Mismatch]) -> str:
    named = "; ".join(str(p) for p in problems[:MAX_NAMED])
    more = f"; and {len(problems) - MAX_NAMED} more" if len(problems) > MAX_NAMED else ""
    return (
        f"the store was changed outside Assay: {named}{more}. Nothing was done; "
        "run 'assay trail verify --store' for the whole picture"
    )
