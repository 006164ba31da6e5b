"""The persistent store: one database for the register and, later, engagements and evidence.

``open_store`` takes a data folder (SQLite at ``<folder>/assay.db``), a ``.db`` file or an
SQLAlchemy URL, and migrates the schema to the newest Alembic revision before handing the
store out. Everything above this module speaks SQLAlchemy Core, so the same code runs on
SQLite by default and on PostgreSQL given a URL; what differs per database is confined to the
connection setup below.

Writers are serialised: a write transaction holds the store's write lock from its first
statement, so a read-then-write (next certificate number, last trail hash) never interleaves
with another process's. Readers never block writers (SQLite runs in WAL mode) and see one
snapshot for the whole transaction.

On PostgreSQL the store is the first schema on the connection's search path (``public``
unless the URL says otherwise, e.g. ``?options=-csearch_path%3Dassay``); the tables and
Alembic's version table live there, and the write lock belongs to that schema.

The store keeps one audit trail (table ``trail``) for everything recorded in it: the same
hash-chained records as an evaluation's trail (:mod:`engine.trail`), open-ended, appended in
the transaction of the change they record.
"""

from __future__ import annotations

import json
import secrets
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.util import CommandError
from sqlalchemy import URL, Engine, Row, create_engine, event, insert, inspect, make_url, select
from sqlalchemy.engine import Connection
from sqlalchemy.exc import ArgumentError, DatabaseError
from sqlalchemy.pool import NullPool

from audits import binding
from audits.anchor import anchor_beside, append_head
from audits.errors import StoreError
from audits.schema import trail
from engine.canonical import canonical_json
from engine.errors import TrailError
from engine.sources import Clock
from engine.trail import FIELDS, GENESIS, Trail, TrailRecord, VerifiedTrail, verify_lines

DATABASE_FILE = "assay.db"
"""Name of the SQLite database inside a data folder."""
MIGRATIONS = Path(__file__).resolve().parent / "migrations"
"""The Alembic script folder shipped with the package."""
BUSY_TIMEOUT_MS = 30_000
"""How long a SQLite writer waits for another's lock; an issuing transaction holds it while the
certificate is rendered and signed, so a queue of issuers must be able to wait its turn."""
CACHE_KIB = 65_536
"""SQLite page cache per connection (64 MiB; the default is 2 MiB)."""
CHECKPOINT_PAGES = 16_384
"""WAL size, in pages, at which SQLite copies it back into the database (the default is 1,000)."""
SQLITE_SUFFIXES = (".db", ".sqlite", ".sqlite3")
"""A location ending in one of these (and not an existing folder) is a SQLite file."""

_READ_ONLY = "assay_read_only"
_HEAD = "assay_trail_head"  # connection.info key: (seq, hash) appended by the open transaction
_VERSION_TABLE = "alembic_version"  # Alembic's default, in the store's (default) schema.
# Alembic runs env.py through module-global proxies (alembic.context, alembic.op), so two
# migrations in one process must not overlap, whatever the database's own locking does.
_MIGRATING = threading.Lock()
# An arbitrary constant naming the store's writer locks among PostgreSQL advisory locks; the
# second key of the two-key form tells the stores (schemas) of one database apart.
_POSTGRESQL_WRITER_LOCK = 0x41535341


def database_url(location: str | Path, *, create: bool = True) -> URL:
    """The database a location names: a URL as given, a ``.db`` file, or ``<folder>/assay.db``.

    With ``create`` the folder (or a ``.db`` file's folder) is made when missing; without it a
    SQLite database that does not exist yet is a :class:`StoreError` (a verifier must not
    conjure up an empty register).
    """
    text = str(location)
    if "://" in text:
        try:
            url = make_url(text)
        except ArgumentError as exc:
            raise StoreError(f"{text!r} is not a database URL: {exc}") from None
        if url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:"):
            raise StoreError("an in-memory SQLite database cannot be shared by the store's connections")
        if url.drivername == "postgresql":
            # SQLAlchemy's default driver is psycopg2; the package depends on psycopg (3).
            url = url.set(drivername="postgresql+psycopg")
        return url
    path = Path(location).expanduser().resolve()
    if path.suffix.lower() not in SQLITE_SUFFIXES or path.is_dir():
        path = path / DATABASE_FILE
    if not create and not path.is_file():
        raise StoreError(f"no register at {location} ({path} does not exist)")
    path.parent.mkdir(parents=True, exist_ok=True)
    return URL.create("sqlite+pysqlite", database=str(path))


def migrations_config(url: URL | None = None) -> Config:
    """Alembic configuration built in code: the packaged scripts, no alembic.ini, no logging setup.

    ``url`` is only needed to render migration SQL offline (``command.upgrade(..., sql=True)``).
    """
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("path_separator", "os")
    if url is not None:
        config.set_main_option("sqlalchemy.url", url.render_as_string(hide_password=False))
    return config


def open_store(location: str | Path, *, create: bool = True, anchor: Path | None = None) -> Store:
    """Open the store at ``location`` (creating it unless ``create`` is off) and migrate it to
    the newest schema. ``anchor`` is where the trail head is kept outside the database (see
    :mod:`audits.anchor`); a SQLite store keeps it beside its file unless told otherwise."""
    url = database_url(location, create=create)
    if anchor is None and url.get_backend_name() == "sqlite" and url.database:
        anchor = anchor_beside(Path(url.database))
    store = Store(url, anchor)
    try:
        if not create and store.url.get_backend_name() != "sqlite" and not store.exists():
            # A database server is there whether or not a register is: look for one in it.
            raise StoreError(f"no register at {store.url.render_as_string(hide_password=True)}")
        store.migrate()
    except BaseException:
        store.close()
        raise
    return store


class Store:
    """A database holding the register and its trail, with one-transaction read and write scopes."""

    def __init__(self, url: URL, anchor: Path | None = None) -> None:
        self.url = url
        """Where the store lives."""
        self.anchor = anchor
        """The file the trail head is appended to after each commit; None keeps no anchor."""
        self.engine: Engine = create_engine(url)
        """The SQLAlchemy engine; use :meth:`read` and :meth:`write` rather than it directly."""
        backend = url.get_backend_name()
        self._writers: threading.RLock | None = None
        if backend == "sqlite":
            _set_up_sqlite(self.engine)
            # Writers of one process (a server's request threads) queue here, blocked, rather than
            # in SQLite's busy handler, which polls and can let one writer wait out the busy
            # timeout while others keep winning (measured: "database is locked" under 50 clients).
            self._writers = threading.RLock()
        elif backend == "postgresql":
            _set_up_postgresql(self.engine)

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """One write transaction: commits when the block ends, rolls back on any exception.

        The transaction holds the database's write lock from its start, so other writers wait.
        Once it commits, the trail head it appended (if any) is anchored outside the database.
        """
        with self._writer(), self._named_damage(), self.engine.connect() as connection:
            connection.info.pop(_HEAD, None)  # left by a transaction that rolled back
            connection.info.pop(binding.CHECKED, None)
            with connection.begin():
                yield connection
            head = connection.info.pop(_HEAD, None)
        if head is not None and self.anchor is not None:
            append_head(self.anchor, *head)

    @contextmanager
    def _writer(self) -> Iterator[None]:
        if self._writers is None:
            yield
            return
        with self._writers:
            yield

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """One read-only transaction over a consistent snapshot; writing in it is an error."""
        with self._named_damage(), self.engine.connect() as connection:
            connection.info.pop(binding.CHECKED, None)
            connection.execution_options(**{_READ_ONLY: True})
            transaction = connection.begin()
            try:
                yield connection
            finally:
                transaction.rollback()

    @contextmanager
    def _named_damage(self) -> Iterator[None]:
        """A damaged database file is one line naming the store, not a driver's traceback."""
        try:
            yield
        except DatabaseError as exc:
            reason = str(exc.orig).splitlines()[0] if exc.orig is not None else str(exc)
            damaged = type(exc.orig).__name__ in ("DataCorrupted", "IndexCorrupted") or any(
                sign in reason for sign in ("malformed", "file is not a database")
            )
            if not damaged:
                raise
            where = self.url.render_as_string(hide_password=True)
            raise StoreError(f"the store at {where} is damaged: {reason}") from None

    def exists(self) -> bool:
        """Whether the database holds a store (at any revision): Alembic's version table is there."""
        with self.read() as connection:
            return inspect(connection).has_table(_VERSION_TABLE)

    def migrate(self) -> None:
        """Upgrade the schema to the newest revision (a no-op when it is already there).

        Runs inside a write transaction, so two processes opening a new store at once migrate
        it once, and a failed migration leaves the database as it was (PostgreSQL's DDL is
        transactional; SQLite's is too).
        """
        config = migrations_config()
        try:
            with _MIGRATING, self.write() as connection:
                config.attributes["connection"] = connection
                command.upgrade(config, "head")
        except CommandError as exc:  # a revision this Assay's migrations do not know
            where = self.url.render_as_string(hide_password=True)
            raise StoreError(
                f"the store at {where} is at a schema version this Assay does not know ({exc}): "
                "written by a newer Assay, or not an Assay store"
            ) from None

    def close(self) -> None:
        """Release every pooled connection."""
        self.engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


Event = tuple[str, dict[str, Any]] | tuple[str, dict[str, Any], Sequence[binding.Ref]]
"""``(event, payload)``, or ``(event, payload, rows)`` for a record binding the rows it wrote."""


def append_trail(
    connection: Connection, clock: Clock, actor: str, events: Sequence[Event]
) -> list[TrailRecord]:
    """Append one record per event to the store's trail, in the caller's transaction.

    The chain continues from the last stored record; in a write transaction no other writer
    can append in between. An event naming rows (already written in this transaction) carries
    their digests in its payload's ``rows`` (see :mod:`audits.binding`).
    """
    last = connection.execute(select(trail.c.seq, trail.c.hash).order_by(trail.c.seq.desc()).limit(1)).first()
    chain = Trail(clock) if last is None else Trail(clock, prev=last.hash, next_seq=last.seq + 1)
    bound = []
    # The rows of every event read back at once: a batch of verdicts is one query, not one each.
    groups = binding.bind_all(connection, [entry[2] if len(entry) == 3 else () for entry in events])
    for entry, rows_bound in zip(events, groups, strict=True):
        name, payload = entry[0], entry[1]
        if rows_bound:
            payload = {**payload, "rows": rows_bound}
            bound.append((chain.append(actor, name, payload).seq, rows_bound))
        else:
            chain.append(actor, name, payload)
    rows = [{**r.as_dict(), "payload": canonical_json(r.payload).decode("utf-8")} for r in chain.records]
    connection.execute(insert(trail), rows)
    binding.index(connection, bound)
    if chain.records:
        connection.info[_HEAD] = (chain.records[-1].seq, chain.head)
    return chain.records


def verify_trail(connection: Connection, head: str | None = None) -> VerifiedTrail:
    """Verify the store's trail in sequence order; :class:`TrailError` names the first bad record.

    The chain is open-ended (no closing record); with ``head``, an anchor held elsewhere, the
    last record's hash must equal it. An empty trail verifies as zero records at GENESIS.
    """
    return verify_records(trail_records(connection), head)


def trail_records(connection: Connection) -> Sequence[Row[Any]]:
    """The store's trail records as stored, in sequence order."""
    return connection.execute(select(trail).order_by(trail.c.seq)).all()


def verify_records(rows: Sequence[Row[Any]], head: str | None = None) -> VerifiedTrail:
    """:func:`verify_trail` over records already read (see :func:`trail_records`)."""
    if not rows:
        if head not in (None, GENESIS):
            raise TrailError(f"the trail is empty, not ending at {head}", None)
        return VerifiedTrail(0, GENESIS)
    return verify_lines((_trail_line(row) for row in rows), head, closed=False)


def _trail_line(row: Row[Any]) -> str:
    """A stored record as the JSONL line :func:`verify_lines` reads."""
    try:
        payload = json.loads(row.payload)
    except json.JSONDecodeError:
        payload = row.payload  # verify_lines names the record: a payload must be an object
    return json.dumps({name: payload if name == "payload" else getattr(row, name) for name in FIELDS})


def _is_read_only(connection: Connection) -> bool:
    return bool(connection.get_execution_options().get(_READ_ONLY, False))


def _switch_to_wal(cursor: Any) -> None:
    """``PRAGMA journal_mode = WAL``, waiting out another process's lock: SQLite answers the
    switch with "database is locked" at once, without its busy handler, while another process
    is creating and migrating a new store (measured: one of four processes opening a new store
    together failed so). Waits at most the busy timeout, like any other writer."""
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            cursor.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() >= deadline:
                raise
            time.sleep(0.05)


def _set_up_sqlite(engine: Engine) -> None:
    """Foreign keys, WAL, a busy timeout, and writers that take the write lock at BEGIN.

    This is SQLAlchemy's documented pysqlite recipe: pysqlite's own transaction handling is
    switched off and the ``begin`` event emits the BEGIN. A deferred BEGIN would let two
    writers both read the last number and then collide on the write; BEGIN IMMEDIATE queues
    them instead.
    """
    if engine.dialect.driver != "pysqlite":
        raise StoreError(f"SQLite through {engine.dialect.driver} is not supported; use sqlite+pysqlite")

    @event.listens_for(engine, "connect")
    def configure(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        # The timeout first: switching to WAL needs a lock another process may hold.
        cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        _switch_to_wal(cursor)
        # In WAL mode NORMAL syncs at checkpoints, not every commit: a killed process loses
        # nothing committed and the database stays consistent; only a power cut can drop the
        # last commits. It makes a commit several times cheaper.
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.execute("PRAGMA foreign_keys = ON")
        # An evaluated engagement writes ~0.7 MB. At the default checkpoint threshold (1,000
        # pages) a checkpoint, with its fsyncs, ran every few engagements and commits grew from
        # 1 to 2 ms as the store grew; at 16,384 pages (64 MiB of WAL) pages rewritten by many
        # commits are copied back once. The default 2 MiB page cache is raised to match.
        cursor.execute(f"PRAGMA cache_size = -{CACHE_KIB}")
        cursor.execute(f"PRAGMA wal_autocheckpoint = {CHECKPOINT_PAGES}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def begin(connection: Connection) -> None:
        read_only = _is_read_only(connection)
        # query_only is per connection, and pooled connections are reused: set it every time.
        connection.exec_driver_sql(f"PRAGMA query_only = {int(read_only)}")
        connection.exec_driver_sql("BEGIN DEFERRED" if read_only else "BEGIN IMMEDIATE")


def _set_up_postgresql(engine: Engine) -> None:
    """Readers get a read-only snapshot; writers queue on a transaction-scoped advisory lock.

    The lock is PostgreSQL's equivalent of SQLite's BEGIN IMMEDIATE for this store: it is
    released at commit or rollback. It is keyed by the store's schema, so stores in other
    schemas of the database do not wait for it.

    Both set their isolation level rather than take the server's default. A reader needs
    REPEATABLE READ for one snapshot (READ COMMITTED takes one per statement, unlike SQLite).
    A writer needs READ COMMITTED: its statements after the lock must see what the writer
    before it committed, while under REPEATABLE READ or SERIALIZABLE the snapshot would date
    from the lock statement, taken before the wait. The SET must be the transaction's first
    statement (psycopg opens the transaction implicitly on it).
    """

    @event.listens_for(engine, "begin")
    def begin(connection: Connection) -> None:
        if _is_read_only(connection):
            connection.exec_driver_sql("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        else:
            connection.exec_driver_sql("SET TRANSACTION ISOLATION LEVEL READ COMMITTED, READ WRITE")
            # Without a current schema the lock function gets NULL and takes no lock (it is strict).
            schema = connection.exec_driver_sql(
                "SELECT current_schema(), "
                f"pg_advisory_xact_lock({_POSTGRESQL_WRITER_LOCK}, hashtext(current_schema()))"
            ).scalar()
            if schema is None:
                search_path = connection.exec_driver_sql("SHOW search_path").scalar()
                raise StoreError(
                    f"no schema on the search path ({search_path}) exists to hold the store; "
                    "create one, or name one with ?options=-csearch_path%3D<schema> in the URL"
                )


@contextmanager
def scratch_schema(location: str, prefix: str) -> Iterator[str]:
    """A fresh schema named ``prefix`` and random hex in the PostgreSQL database at ``location``,
    as the only schema on the search path (psycopg passes the URL's ``options`` to the server);
    yields the URL that uses it and drops the schema, with everything in it, afterwards. For tests
    and benchmarks that each need an empty store on a shared server. :class:`StoreError` when the
    location is not a PostgreSQL database."""
    url = database_url(location)
    if url.get_backend_name() != "postgresql":
        raise StoreError(
            f"{url.get_backend_name()} is not PostgreSQL: a scratch schema needs a PostgreSQL URL"
        )
    schema = f"{prefix}{secrets.token_hex(8)}"
    admin = create_engine(url, poolclass=NullPool)
    with admin.begin() as connection:
        connection.exec_driver_sql(f"CREATE SCHEMA {schema}")
    try:
        yield url.update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(
            hide_password=False
        )
    finally:
        with admin.begin() as connection:
            connection.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
        admin.dispose()
