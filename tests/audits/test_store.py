"""The persistent store: where it lives, its schema and migrations, transactions, concurrent writers."""

from __future__ import annotations

import datetime as dt
import io
import multiprocessing
import sqlite3
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Column, MetaData, Table, Text, func, insert, inspect, select
from sqlalchemy.exc import IntegrityError, OperationalError

from audits.errors import StoreError
from audits.schema import certificates, metadata, trail
from audits.store import BUSY_TIMEOUT_MS, Store, database_url, migrations_config, open_store
from certificates.model import Certificate
from certificates.register import Register
from certificates.scheme import Scheme
from engine.sources import FixedClock
from tests.certificates.test_register import ISSUED, make_certificate

HEAD = "0001"


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


def test_opening_migrates_to_head_and_matches_the_metadata(tmp_path: Path) -> None:
    with open_store(tmp_path) as store, store.read() as connection:
        context = MigrationContext.configure(connection)
        assert ScriptDirectory.from_config(migrations_config()).get_heads() == [HEAD]
        assert context.get_current_heads() == (HEAD,)
        assert compare_metadata(context, metadata) == []
        checks = inspect(connection).get_check_constraints("certificates")
        assert [c["name"] for c in checks] == ["ck_certificates_status"]
        # The comparison does notice a difference, so the empty list above means something.
        other = MetaData()
        Table("certificates", other, Column("number", Text, primary_key=True))
        assert compare_metadata(context, other) != []


def test_sqlite_connections_are_set_up(tmp_path: Path) -> None:
    with open_store(tmp_path) as store, store.read() as connection:
        pragma = connection.exec_driver_sql
        assert pragma("PRAGMA journal_mode").scalar_one() == "wal"
        assert pragma("PRAGMA foreign_keys").scalar_one() == 1
        assert pragma("PRAGMA busy_timeout").scalar_one() == BUSY_TIMEOUT_MS


def test_reopening_keeps_data_and_schema(tmp_path: Path) -> None:
    with open_store(tmp_path) as store, store.write() as connection:
        connection.execute(insert(trail).values(**_trail_row(1)))
    db = tmp_path / "assay.db"
    with sqlite3.connect(db) as raw:
        schema = raw.execute("SELECT type, name, sql FROM sqlite_master ORDER BY name").fetchall()
    with open_store(tmp_path) as store:
        assert _trail_count(store) == 1
    with sqlite3.connect(db) as raw:
        assert raw.execute("SELECT type, name, sql FROM sqlite_master ORDER BY name").fetchall() == schema
        assert raw.execute("SELECT version_num FROM alembic_version").fetchall() == [(HEAD,)]


def test_a_failing_write_rolls_back(tmp_path: Path) -> None:
    with open_store(tmp_path) as store:
        with pytest.raises(RuntimeError, match="interrupted"):
            _write_trail_rows(store, [1], then_fail=True)
        assert _trail_count(store) == 0
        with pytest.raises(IntegrityError, match=r"UNIQUE constraint failed: trail\.seq"):
            _write_trail_rows(store, [2, 3, 2])
        assert _trail_count(store) == 0
        _write_trail_rows(store, [1, 2])
        assert _trail_count(store) == 2


def test_reads_cannot_write_and_foreign_keys_hold(tmp_path: Path) -> None:
    with open_store(tmp_path) as store:
        with pytest.raises(OperationalError, match="readonly"), store.read() as connection:
            connection.execute(insert(trail).values(**_trail_row(1)))
        # query_only is switched per transaction, so a pooled connection writes again after a read.
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
        with pytest.raises(IntegrityError, match="FOREIGN KEY"), store.write() as connection:
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


def _assert_issued_once(location: Path, numbers: list[str], expected: int) -> None:
    assert sorted(numbers) == [f"ASSAY-2026-{n:06d}" for n in range(1, expected + 1)]
    with open_store(location) as store:
        register = Register(store, FixedClock(dt.datetime(2026, 7, 16, tzinfo=dt.UTC)))
        assert [e.number for e in register.entries(ISSUED)] == sorted(numbers)
        assert register.verify_trail().records == expected
        with store.read() as connection:
            recorded = connection.execute(select(trail.c.payload).order_by(trail.c.seq)).scalars().all()
    assert sorted(p.split('"number":"')[1][:17] for p in recorded) == sorted(numbers)


def test_processes_issuing_at_once_get_distinct_gap_free_numbers(tmp_path: Path) -> None:
    open_store(tmp_path).close()
    template = make_certificate("ASSAY-2026-000000").model_dump_json()
    with multiprocessing.get_context("spawn").Pool(3) as pool:
        batches = pool.starmap(issue_batch, [(str(tmp_path), template, 8)] * 3)
    numbers = [n for batch in batches for n in batch]
    assert all(len(batch) == 8 for batch in batches)
    _assert_issued_once(tmp_path, numbers, 24)


def test_threads_issuing_at_once_get_distinct_gap_free_numbers(tmp_path: Path) -> None:
    template = make_certificate("ASSAY-2026-000000").model_dump_json()
    with ThreadPoolExecutor(4) as threads:
        batches = list(threads.map(issue_batch, [str(tmp_path / "assay.db")] * 4, [template] * 4, [5] * 4))
    _assert_issued_once(tmp_path, [n for batch in batches for n in batch], 20)
