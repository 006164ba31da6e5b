"""Jobs queued in the transaction of the change that causes them, on SQLite (the store's local
queue, run by the local worker pool) and PostgreSQL (procrastinate, run by ``assay worker``)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import click
import pytest
from sqlalchemy import func, select, text

from assay.cli import COMMANDS, app, run
from assay.groups import summary
from audits import jobs
from audits.integrity import check_integrity
from audits.jobs import LOCAL, JobContext, JobRef, enqueue, ensure_queue, run_job, run_local_job
from audits.rerating import read_reratings
from audits.rulepacks import RulePacks
from audits.schema import local_jobs, rule_packs
from audits.store import Store
from certificates.keys import SigningKey
from tests.engagements.conftest import ADMIN, DAY, World
from tests.engagements.test_rerating import certified, corrected_pack, pack_copy, packs

ROOT = Path(__file__).resolve().parents[2]


def is_postgresql(store: Store) -> bool:
    return store.url.get_backend_name() == "postgresql"


def procrastinate_jobs(store: Store) -> list[dict[str, Any]]:
    """procrastinate's job rows in the store's schema (none when its schema was never applied)."""
    with store.read() as connection:
        if connection.execute(select(func.to_regclass("procrastinate_jobs"))).scalar() is None:
            return []
        rows = connection.execute(
            text("SELECT id, queue_name, task_name, args, status FROM procrastinate_jobs ORDER BY id")
        ).all()
    return [dict(row._mapping) for row in rows]


def queued(store: Store) -> int:
    """Jobs held for the store, in whichever queue its database uses."""
    if is_postgresql(store):
        return len(procrastinate_jobs(store))
    with store.read() as connection:
        return int(connection.execute(select(func.count()).select_from(local_jobs)).scalar_one())


def failing_job(context: JobContext, args: Mapping[str, Any]) -> dict[str, Any]:
    """A job function that always fails (registered in JOBS by a test)."""
    raise ValueError(f"cannot do {dict(args)}")


def test_a_job_queued_in_a_transaction_that_rolls_back_is_gone(world: World) -> None:
    def change_that_fails() -> None:
        with world.store.write() as connection:
            enqueue(connection, "rerate", {"run": 1})
            raise RuntimeError("the change failed")

    with pytest.raises(RuntimeError, match="the change failed"):
        change_that_fails()
    assert queued(world.store) == 0
    with world.store.write() as connection:
        job = enqueue(connection, "rerate", {"run": 1}).job
    assert queued(world.store) == 1
    assert (job.name, job.id) == ("rerate", 1)
    with pytest.raises(KeyError, match="no job function 'nothing'"), world.store.write() as connection:
        enqueue(connection, "nothing", {})


def test_a_failed_install_leaves_no_job_and_no_pack(
    world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    queued_then: list[int] = []

    def crash(*args: Any, **kwargs: Any) -> None:
        # The job is queued (in the install's transaction) when the install fails; another
        # connection sees nothing of it.
        queued_then.append(queued(world.store))
        raise RuntimeError("the install died after queueing its job")

    monkeypatch.setattr(RulePacks, "_trail", crash)
    with pytest.raises(RuntimeError, match="died after queueing"):
        packs(world).install(ADMIN, pack_copy(tmp_path, "same"))
    # Nothing was visible before the commit that never came, and nothing stayed.
    assert queued_then == [0]
    assert queued(world.store) == 0
    with world.store.read() as connection:
        assert connection.execute(select(func.count()).select_from(rule_packs)).scalar_one() == 0
    assert check_integrity(world.store).problems == []


@pytest.mark.parametrize("database", ["postgresql"], indirect=True)
def test_an_install_commits_its_job_to_procrastinate(world: World, tmp_path: Path) -> None:
    installed = packs(world).install(ADMIN, pack_copy(tmp_path, "same"))
    assert installed.job.queue == "procrastinate"
    assert procrastinate_jobs(world.store) == [
        {
            "id": installed.job.id,
            "queue_name": "assay",
            "task_name": "rerate",
            "args": {"run": 1},
            "status": "todo",
        }
    ]
    installs = [e for e in world.trail_events() if e["event"] == "rule_pack.installed"]
    assert installs[-1]["payload"]["job"] == {
        "queue": "procrastinate",
        "id": installed.job.id,
        "name": "rerate",
    }
    with world.store.write() as connection:
        assert ensure_queue(connection) is False  # applied once, by the first job queued


@pytest.mark.parametrize("database", ["postgresql"], indirect=True)
def test_worker_processes_run_the_queued_reratings(
    world: World, signing_key: SigningKey, tmp_path: Path, database: str
) -> None:
    _, number = certified(world, signing_key)
    first = packs(world).install(ADMIN, corrected_pack(tmp_path))
    second = packs(world).install(ADMIN, pack_copy(tmp_path, "same"))
    env = {**os.environ, "ASSAY_ANCHOR": str(tmp_path / "store.head")}
    argv = [sys.executable, "-m", "assay", "worker", "--data", database, "--once", "--date", DAY.isoformat()]
    # Two workers at once, as on two machines: each job runs once, in one of them.
    workers = [
        subprocess.Popen(argv, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    printed = ""
    for worker in workers:
        out, err = worker.communicate(timeout=300)
        assert worker.returncode == 0, err
        printed += out
    assert printed.count(f"rerate job procrastinate:{first.job.id}: re-rated 1 certificate(s)") == 1
    assert printed.count(f"rerate job procrastinate:{second.job.id}: re-rated 1 certificate(s)") == 1
    assert [job["status"] for job in procrastinate_jobs(world.store)] == ["succeeded", "succeeded"]
    with world.store.read() as connection:
        [changed] = read_reratings(connection, 1)
        [same] = read_reratings(connection, 2)
    assert changed.certificate == same.certificate == number
    assert changed.changes["status"] == "changed"
    assert same.changes["status"] == "no change"
    assert check_integrity(world.store).problems == []
    # procrastinate may run a job again (a worker lost mid-job): the second run writes nothing.
    again = run_job(world.store, world.clock, first.job, {"run": 1})
    assert again.status == "skipped"
    assert again.error == "rule pack install 1 was already re-rated"
    assert check_integrity(world.store).problems == []


@pytest.mark.parametrize("database", ["sqlite"], indirect=True)
def test_a_job_left_queued_is_run_by_assay_worker(
    world: World,
    signing_key: SigningKey,
    tmp_path: Path,
    database: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    certified(world, signing_key)
    # Installed, and the process died before running the re-rating: it waits in the store's queue.
    installed = packs(world).install(ADMIN, corrected_pack(tmp_path))
    assert installed.job == JobRef(LOCAL, 1, "rerate")
    monkeypatch.setenv("ASSAY_ANCHOR", str(tmp_path / "store.head"))
    capsys.readouterr()
    assert run(["worker", "--data", database, "--once", "--date", DAY.isoformat()]) == 0
    assert "rerate job local:1: re-rated 1 certificate(s) in force" in capsys.readouterr().out
    with world.store.read() as connection:
        assert connection.execute(select(local_jobs.c.status)).scalars().all() == ["done"]
        assert len(read_reratings(connection)) == 1
    # Nothing is left to run; a run of the finished job changes nothing.
    assert run(["worker", "--data", database, "--once"]) == 0
    assert capsys.readouterr().out == ""
    assert run_local_job(world.store, world.clock, 1).status == "skipped"
    assert run_job(world.store, world.clock, installed.job, {"run": 1}).status == "skipped"
    assert check_integrity(world.store).problems == []


@pytest.mark.parametrize("database", ["sqlite"], indirect=True)
def test_a_failing_job_is_recorded_as_failed(
    world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(jobs.JOBS, "rerate", f"{__name__}:failing_job")
    packs(world).install(ADMIN, pack_copy(tmp_path, "same"))
    # In this process: a worker process would not see the test's registry.
    outcome = run_local_job(world.store, world.clock, 1)
    assert (outcome.status, outcome.error) == ("failed", "ValueError: cannot do {'run': 1}")
    with world.store.read() as connection:
        row = connection.execute(select(local_jobs)).one()
    assert (row.status, row.error) == ("failed", "ValueError: cannot do {'run': 1}")
    failed = world.trail_events()[-1]
    assert failed["event"] == "job.failed"
    assert failed["actor"] == "assay (rerate job local:1)"
    assert failed["payload"]["error"] == "ValueError: cannot do {'run': 1}"
    assert run_local_job(world.store, world.clock, 1).status == "skipped"  # failed jobs are not retried
    assert check_integrity(world.store).problems == []


def test_the_worker_summary_is_its_help() -> None:
    command = app.get_command(click.Context(app), "worker")
    assert command is not None
    assert summary(command) == COMMANDS["worker"][1]
