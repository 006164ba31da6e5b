"""The persistent store: where it lives, its schema and migrations, transactions, concurrent writers.

Tests taking the ``database`` fixture run once on SQLite and once on PostgreSQL (see conftest.py);
the rest are about locations and SQLite files.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import multiprocessing
import time
from concurrent.futures import ThreadPoolExecutor
from multiprocessing.synchronize import Barrier
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Column, MetaData, Table, Text, func, insert, inspect, make_url, select, text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError

from audits.errors import StoreError
from audits.integrity import check_integrity
from audits.schema import certificates, metadata, trail
from audits.store import BUSY_TIMEOUT_MS, Store, database_url, migrations_config, open_store
from certificates.model import Certificate
from certificates.register import Register
from certificates.scheme import Scheme
from engine.sources import FixedClock
from tests.certificates.test_register import ISSUED, make_certificate

HEAD = "0009"


def _trail_row(seq: int) -> dict[str, object]:
    return {
        "seq": seq,
        "time": "2026-07-15T09:00:00Z",
        "actor": "test",
        "event": "test.event",
        "payload": "{}",
        "payload_digest": "sha256:0",
        "prev": "sha256:0",
        "hash": f"sha256:{seq}",
    }


def _write_trail_rows(store: Store, seqs: list[int], *, then_fail: bool = False) -> None:
    with store.write() as connection:
        for seq in seqs:
            connection.execute(insert(trail).values(**_trail_row(seq)))
        if then_fail:
            raise RuntimeError("interrupted")


def _trail_count(store: Store) -> int:
    with store.read() as connection:
        return connection.execute(select(func.count()).select_from(trail)).scalar_one()


def _versions(connection: Connection) -> list[str]:
    """The revisions Alembic's version table holds."""
    return list(connection.execute(text("SELECT version_num FROM alembic_version")).scalars())


def _is_postgresql(store: Store) -> bool:
    return store.url.get_backend_name() == "postgresql"


def _schema(store: Store) -> str:
    """Every table's columns and constraints as the database reports them, for comparing."""
    with store.read() as connection:
        inspector = inspect(connection)
        tables: dict[str, Any] = {
            name: (
                inspector.get_columns(name),
                inspector.get_pk_constraint(name),
                inspector.get_foreign_keys(name),
                inspector.get_unique_constraints(name),
                inspector.get_check_constraints(name),
                inspector.get_indexes(name),
            )
            for name in sorted(inspector.get_table_names())
        }
    # Column types compare by identity, their reprs by value.
    return repr(tables)


def test_a_folder_holds_assay_db(tmp_path: Path) -> None:
    folder = tmp_path / "new" / "data"
    url = database_url(folder)
    assert (url.drivername, url.database) == ("sqlite+pysqlite", str(folder / "assay.db"))
    assert folder.is_dir()
    existing = tmp_path / "looks-like.db"
    existing.mkdir()
    assert database_url(existing).database == str(existing / "assay.db")


def test_a_db_path_and_a_url_are_taken_as_given(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "register.db"
    assert database_url(str(path)).database == str(path)
    assert path.parent.is_dir()
    url = database_url(f"sqlite:///{tmp_path}/by-url.db")
    assert (url.drivername, url.database) == ("sqlite", f"{tmp_path}/by-url.db")
    remote = database_url("postgresql+psycopg://assay@db.example/assay")
    assert (remote.drivername, remote.host, remote.database) == ("postgresql+psycopg", "db.example", "assay")
    # A plain postgresql:// URL means the driver the package depends on, not SQLAlchemy's psycopg2.
    assert database_url("postgresql://assay@db.example/assay?sslmode=require").render_as_string() == (
        "postgresql+psycopg://assay@db.example/assay?sslmode=require"
    )
    with pytest.raises(StoreError, match="in-memory"):
        database_url("sqlite://")
    with pytest.raises(StoreError, match="is not a database URL"):
        database_url("no such://thing")
    with open_store(f"sqlite:///{tmp_path}/by-url.db") as store:
        assert store.url.database == f"{tmp_path}/by-url.db"
    assert (tmp_path / "by-url.db").is_file()


def test_a_missing_register_is_not_created_when_only_reading(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="no register at"):
        open_store(tmp_path / "absent", create=False)
    assert not (tmp_path / "absent").exists()
    with pytest.raises(StoreError, match="no register at"):
        open_store(tmp_path / "absent.db", create=False)
    open_store(tmp_path / "present").close()
    open_store(tmp_path / "present", create=False).close()


def test_only_reading_needs_an_existing_register(database: str) -> None:
    # Nothing is created: a file, or on a server (where the schema is there), any table.
    with pytest.raises(StoreError, match="no register at") as caught:
        open_store(database, create=False)
    password = make_url(database).password if "://" in database else None
    assert password is None or f":{password}@" not in str(caught.value)
    with Store(database_url(database)) as store:
        assert not store.exists()
    open_store(database).close()
    with open_store(database, create=False) as store:
        assert store.exists()


def test_opening_migrates_to_head_and_matches_the_metadata(database: str) -> None:
    with open_store(database) as store, store.read() as connection:
        context = MigrationContext.configure(connection)
        assert ScriptDirectory.from_config(migrations_config()).get_heads() == [HEAD]
        assert context.get_current_heads() == (HEAD,)
        assert compare_metadata(context, metadata) == []
        if _is_postgresql(store):
            # Every table, Alembic's version table too, is in the schema the location names.
            schema = str(make_url(database).query["options"]).removeprefix("-csearch_path=")
            assert set(inspect(connection).get_table_names(schema)) == {*metadata.tables, "alembic_version"}
        checks = inspect(connection).get_check_constraints("certificates")
        assert [c["name"] for c in checks] == ["ck_certificates_status"]
        # The comparison does notice a difference, so the empty list above means something.
        other = MetaData()
        Table("certificates", other, Column("number", Text, primary_key=True))
        assert compare_metadata(context, other) != []


def test_connections_are_set_up(database: str) -> None:
    with open_store(database) as store:
        if not _is_postgresql(store):
            with store.read() as connection:
                pragma = connection.exec_driver_sql
                assert pragma("PRAGMA journal_mode").scalar_one() == "wal"
                assert pragma("PRAGMA foreign_keys").scalar_one() == 1
                assert pragma("PRAGMA busy_timeout").scalar_one() == BUSY_TIMEOUT_MS
            return
        show = "SELECT current_setting('transaction_read_only'), current_setting('transaction_isolation')"
        advisory = "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()"
        with store.read() as connection:
            assert connection.exec_driver_sql(show).one() == ("on", "repeatable read")
            assert connection.exec_driver_sql(advisory).scalar_one() == 0
        with store.write() as connection:
            assert connection.exec_driver_sql(show).one() == ("off", "read committed")
            assert connection.exec_driver_sql(advisory).scalar_one() == 1
        # Transaction-scoped: the lock went with the commit, and the pooled session keeps nothing.
        with store.read() as connection:
            assert connection.exec_driver_sql(show).one() == ("on", "repeatable read")
            assert connection.exec_driver_sql(advisory).scalar_one() == 0


def test_reopening_keeps_data_and_schema(database: str) -> None:
    with open_store(database) as store:
        with store.write() as connection:
            connection.execute(insert(trail).values(**_trail_row(1)))
        schema = _schema(store)
    assert "alembic_version" in schema
    with open_store(database) as store:
        assert _trail_count(store) == 1
        assert _schema(store) == schema
        with store.read() as connection:
            assert _versions(connection) == [HEAD]


def _with_options(location: str, options: str) -> str:
    """A PostgreSQL ``location`` with more server settings (``-cname=value``) for its sessions."""
    url = make_url(location)
    return url.update_query_dict({"options": f"{url.query['options']} {options}"}).render_as_string(
        hide_password=False
    )


@pytest.mark.parametrize("database", ["postgresql"], indirect=True)
def test_writers_of_other_schemas_do_not_wait(database: str) -> None:
    timeout = "-clock_timeout=2s"
    # Another store in the same database: a schema of its own (pg_catalog, for the lock only).
    elsewhere = make_url(database).update_query_dict({"options": f"-csearch_path=pg_catalog {timeout}"})
    with (
        open_store(_with_options(database, timeout)) as store,
        Store(elsewhere) as other,
        # A write transaction takes the lock as it begins; the other store's does not wait for it
        # (nor time out), while the same store's does (until the lock timeout gives up on it).
        store.write(),
        other.write(),
        pytest.raises(OperationalError, match="lock timeout"),
        store.write(),
    ):
        pass


@pytest.mark.parametrize("database", ["postgresql"], indirect=True)
def test_a_search_path_naming_no_schema_is_refused(database: str) -> None:
    url = make_url(database)
    nowhere = url.update_query_dict({"options": f"{url.query['options']}_absent"})
    with pytest.raises(StoreError, match=r"no schema on the search path \(t_\w+_absent\) exists"):
        open_store(nowhere.render_as_string(hide_password=False))


def test_a_read_sees_one_snapshot(database: str) -> None:
    with open_store(database) as store:
        _write_trail_rows(store, [1])
        with store.read() as connection:
            count = select(func.count()).select_from(trail)
            assert connection.execute(count).scalar_one() == 1
            _write_trail_rows(store, [2])
            assert connection.execute(count).scalar_one() == 1
        assert _trail_count(store) == 2


def test_a_failing_write_rolls_back(database: str) -> None:
    with open_store(database) as store:
        with pytest.raises(RuntimeError, match="interrupted"):
            _write_trail_rows(store, [1], then_fail=True)
        assert _trail_count(store) == 0
        duplicate = r"UNIQUE constraint failed: trail\.seq|duplicate key value violates unique constraint"
        with pytest.raises(IntegrityError, match=duplicate):
            _write_trail_rows(store, [2, 3, 2])
        assert _trail_count(store) == 0
        _write_trail_rows(store, [1, 2])
        assert _trail_count(store) == 2


def test_reads_cannot_write_and_foreign_keys_hold(database: str) -> None:
    with open_store(database) as store:
        # SQLite: OperationalError, PostgreSQL: InternalError.
        read_only = "attempt to write a readonly database|cannot execute INSERT in a read-only transaction"
        with pytest.raises(DBAPIError, match=read_only), store.read() as connection:
            connection.execute(insert(trail).values(**_trail_row(1)))
        # Read-only is switched per transaction, so a pooled connection writes again after a read.
        with store.write() as connection:
            connection.execute(insert(trail).values(**_trail_row(1)))
        assert _trail_count(store) == 1
        day = dt.date(2026, 1, 1)
        row = {column.name: "x" for column in certificates.c} | {
            "assessed_on": day,
            "issued_on": day,
            "expires_on": day,
            "status_changed_on": day,
            "status": "issued",
            "renews": "ASSAY-1999-000001",
        }
        foreign_key = "FOREIGN KEY constraint failed|violates foreign key constraint"
        with pytest.raises(IntegrityError, match=foreign_key), store.write() as connection:
            connection.execute(insert(certificates).values(row))


def test_migration_sql_renders_for_postgresql() -> None:
    config = migrations_config(database_url("postgresql+psycopg://assay@db.example/assay"))
    config.output_buffer = io.StringIO()
    command.upgrade(config, "head", sql=True)
    sql = config.output_buffer.getvalue()
    assert "CREATE TABLE certificates" in sql
    assert "CONSTRAINT uq_trail_hash UNIQUE (hash)" in sql
    assert "PRAGMA" not in sql


def issue_batch(location: str, template: str, count: int) -> list[str]:
    """Issue ``count`` certificates into the store at ``location``, as one issuing process does."""
    with open_store(location) as store:
        register = Register(store, FixedClock(dt.datetime(2026, 7, 15, 9, tzinfo=dt.UTC)))
        numbers = []
        for _ in range(count):
            with register.issuing(Scheme(), ISSUED, "batch") as issuing:
                # Rendering and signing happen here; a pause widens the window a race would need.
                time.sleep(0.002)
                cert = Certificate.model_validate_json(template).model_copy(update={"number": issuing.number})
                issuing.record(cert, "cd" * 32)
            numbers.append(issuing.number)
        return numbers


def _assert_issued_once(location: str, numbers: list[str], expected: int) -> None:
    assert sorted(numbers) == [f"ASSAY-2026-{n:06d}" for n in range(1, expected + 1)]
    with open_store(location) as store:
        register = Register(store, FixedClock(dt.datetime(2026, 7, 16, tzinfo=dt.UTC)))
        assert [e.number for e in register.entries(ISSUED)] == sorted(numbers)
        # Each issue is two records: the number reserved, then the certificate issued under it.
        assert register.verify_trail().records == 2 * expected
        with store.read() as connection:
            recorded = connection.execute(select(trail.c.event, trail.c.payload).order_by(trail.c.seq)).all()
    for event in ("certificate.number_reserved", "certificate.issued"):
        named = [p.split('"number":"')[1][:17] for e, p in recorded if e == event]
        assert sorted(named) == sorted(numbers)


def test_processes_issuing_at_once_get_distinct_gap_free_numbers(database: str) -> None:
    open_store(database).close()
    template = make_certificate("ASSAY-2026-000000").model_dump_json()
    with multiprocessing.get_context("spawn").Pool(3) as pool:
        batches = pool.starmap(issue_batch, [(database, template, 8)] * 3)
    numbers = [n for batch in batches for n in batch]
    assert all(len(batch) == 8 for batch in batches)
    _assert_issued_once(database, numbers, 24)


def test_threads_issuing_at_once_get_distinct_gap_free_numbers(database: str) -> None:
    template = make_certificate("ASSAY-2026-000000").model_dump_json()
    with ThreadPoolExecutor(4) as threads:
        batches = list(threads.map(issue_batch, [database] * 4, [template] * 4, [5] * 4))
    _assert_issued_once(database, [n for batch in batches for n in batch], 20)


@pytest.mark.parametrize("database", ["postgresql"], indirect=True)
def test_writers_take_no_isolation_level_from_the_server(database: str) -> None:
    # Under SERIALIZABLE a writer's snapshot would predate its wait for the lock: it would not
    # see the number the writer before it took.
    location = _with_options(database, "-cdefault_transaction_isolation=serializable")
    test_threads_issuing_at_once_get_distinct_gap_free_numbers(location)


def open_at_once(location: str, start: Barrier) -> None:
    """Open (and so migrate) the store at ``location`` once every process has got this far."""
    start.wait(timeout=120)
    open_store(location).close()


def test_processes_opening_a_new_store_at_once_migrate_it_once(database: str) -> None:
    context = multiprocessing.get_context("spawn")
    start = context.Barrier(4)
    processes = [context.Process(target=open_at_once, args=(database, start)) for _ in range(4)]
    for process in processes:
        process.start()
    for process in processes:
        process.join(timeout=120)
    assert [process.exitcode for process in processes] == [0] * 4
    with open_store(database) as store, store.read() as connection:
        assert _versions(connection) == [HEAD]
        assert compare_metadata(MigrationContext.configure(connection), metadata) == []


def test_upgrading_from_0003_keeps_every_judgement_examined_nothing_and_binds_them(database: str) -> None:
    """Migration 0004 adds ``judgements.examined``: judgements stored before it are kept as they
    were, having examined nothing in depth."""
    store = Store(database_url(database))
    try:
        config = migrations_config()
        with store.write() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "0003")
        with store.write() as connection:
            connection.execute(
                text("INSERT INTO people (id, name, organisation, roles) VALUES ('amira', 'A', 'B', '[]')")
            )
            connection.execute(
                text(
                    "INSERT INTO engagements (id, community_id, community_name, model, standard, scope, "
                    "applied_on, applicant) "
                    "VALUES ('ENG-2026-0001', 'c', 'C', 'm', 's', '[]', '2026-06-01', 'amira')"
                )
            )
            connection.execute(
                text(
                    "INSERT INTO judgements (engagement_id, seq, requirement, rating, cites, cited_digest, "
                    "method, reason, auditor, judged_on) VALUES ('ENG-2026-0001', 1, '1.2.2/2/x', 'fully', "
                    "'[\"a\"]', 'sha256:d', 'interview', 'Seen.', 'amira', '2026-06-02')"
                )
            )
    finally:
        store.close()
    with open_store(database) as store:
        with store.read() as connection:
            assert _versions(connection) == [HEAD]
            rows = connection.execute(
                text("SELECT seq, requirement, rating, cites, reason, examined FROM judgements")
            ).all()
            bound = connection.execute(text("SELECT event, payload FROM trail")).all()
        # Migration 0005 vouched for the rows it found, in one record, and anchored it.
        assert [(e, json.loads(p)["rows_bound"]) for e, p in bound] == [("store.bound", 3)]
        assert check_integrity(store).problems == []
    assert [tuple(r) for r in rows] == [(1, "1.2.2/2/x", "fully", '["a"]', "Seen.", "[]")]


def test_a_store_at_a_revision_this_assay_does_not_know_is_named(tmp_path: Path) -> None:
    with open_store(tmp_path) as store, store.write() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = 'ffff_foreign'"))
    with pytest.raises(StoreError) as caught:
        open_store(tmp_path)
    message = str(caught.value)
    assert message.startswith(f"the store at sqlite+pysqlite:///{tmp_path}/assay.db is at a schema version")
    assert "'ffff_foreign'" in message
    assert message.endswith("written by a newer Assay, or not an Assay store")


def test_a_damaged_database_file_is_one_line_naming_the_store(tmp_path: Path) -> None:
    """Every page but the first (the schema) overwritten: the first query meets a malformed page."""
    with open_store(tmp_path):
        pass
    database = tmp_path / "assay.db"
    assert database.stat().st_size > 4096
    data = bytearray(database.read_bytes())
    data[4096:] = b"\xab" * (len(data) - 4096)
    database.write_bytes(bytes(data))
    with pytest.raises(StoreError) as caught:
        open_store(tmp_path)
    assert str(caught.value) == (
        f"the store at sqlite+pysqlite:///{tmp_path}/assay.db is damaged: database disk image is malformed"
    )
