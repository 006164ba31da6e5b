"""Jobs: long work a change causes, queued in the transaction of that change.

Why in the transaction: a job queued after the commit is lost when the process dies in between,
and one queued before it may run against a change that then rolls back. Queued inside it, the
change and its job commit together or not at all (a failed rule-pack install leaves no job).

One registry of job functions (:data:`JOBS`), two queues:

- PostgreSQL: procrastinate. :func:`enqueue` defers the job through procrastinate's own API on
  the psycopg connection under the caller's SQLAlchemy transaction (``configure_task(...,
  connection=...)``, which procrastinate documents for deferring atomically in a transaction the
  caller manages), so the job row commits or rolls back with the caller's change. ``assay
  worker`` runs procrastinate workers, as many as wanted, on any machine reaching the database.
  procrastinate's schema lives in the store's own schema and is applied on first use
  (:func:`ensure_queue`), not by an Alembic revision: see there for why.
- SQLite: no server to wake a worker, so the store keeps its own queue (``local_jobs``), the row
  inserted in the caller's transaction and bound to its trail record like every other row. Once
  that transaction has committed, the process that queued the job runs it (:func:`run_local`)
  in a worker process of a local pool, started with ``forkserver`` as audits.workers does and
  for the same reason: durable_rules is a C extension, and a crash in it must cost the job, not
  the command. A job left queued (the process was killed) runs at the next :func:`run_local`:
  the next ``assay rules install``, or ``assay worker --data DATA``.

Exactly once, in effect. A job function computes first and writes everything it produces in
one transaction (:meth:`JobContext.finishing`), which on SQLite also marks the job done, and only
while it is still queued: two processes draining at once may both compute a job, only one
writes. procrastinate may run a job again (its worker was lost mid-job), so a job function also
checks in that transaction whether its results are already there.
"""

from __future__ import annotations

import asyncio
import functools
import importlib
import multiprocessing
import time
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import URL, func, insert, select, update
from sqlalchemy.engine import Connection

from audits.binding import Ref, check_rows, inserted, ref
from audits.schema import local_jobs
from audits.store import Store, append_trail, open_store
from engine.canonical import canonical_json, parse_json
from engine.errors import AssayError
from engine.sources import Clock, FixedClock, SystemClock

if TYPE_CHECKING:
    import procrastinate

JOBS: dict[str, str] = {
    "rerate": "audits.rerating:rerate_job",
}
"""Job name -> ``module:function``, imported when a job of that name runs (a worker needs no
more than the functions its jobs call)."""
QUEUE = "assay"
"""The procrastinate queue Assay's jobs go to and its workers listen on."""
LOCAL, PROCRASTINATE = "local", "procrastinate"
"""The two queues a job can be in (see the module docstring)."""
POLL_SECONDS = 5.0
"""How often a waiting local worker (``assay worker`` on SQLite) looks for queued jobs."""


@dataclass(frozen=True)
class JobRef:
    """A queued job: which queue, its id there, and the job function's name."""

    queue: str
    id: int
    name: str

    def describe(self) -> dict[str, Any]:
        """How trail records and printed reports name the job."""
        return {"queue": self.queue, "id": self.id, "name": self.name}

    def __str__(self) -> str:
        return f"{self.name} job {self.queue}:{self.id}"


@dataclass(frozen=True)
class Queued:
    """A job just queued, and the rows the enqueueing change's trail record must bind."""

    job: JobRef
    rows: tuple[Ref, ...]
    """The ``local_jobs`` row on SQLite; nothing on PostgreSQL (procrastinate's tables are its own)."""


@dataclass(frozen=True)
class Outcome:
    """What running a job came to."""

    job: JobRef
    status: str
    """``done``; ``failed`` (``error`` says why); ``skipped``: another worker had finished it."""
    summary: dict[str, Any] | None = None
    """What the job function returned (done)."""
    error: str | None = None


class JobFinishedError(AssayError):
    """The job was finished (or failed) by another worker meanwhile: this run's results are dropped."""


@dataclass(frozen=True)
class JobContext:
    """What a job function gets: the store, the clock, and the job it runs as."""

    store: Store
    clock: Clock
    job: JobRef

    @property
    def actor(self) -> str:
        """How trail records name a job's work (the change that queued it names the person)."""
        return f"assay ({self.job})"

    @contextmanager
    def finishing(self) -> Iterator[tuple[Connection, tuple[Ref, ...]]]:
        """The one write transaction a job function stores its results in, with the rows the
        trail record of those results must bind besides its own: on SQLite the job's row, marked
        done here. Raises :class:`JobFinishedError` when the job is no longer queued."""
        with self.store.write() as connection:
            rows: tuple[Ref, ...] = ()
            if self.job.queue == LOCAL:
                _still_queued(connection, self.job)
                connection.execute(
                    update(local_jobs).where(local_jobs.c.id == self.job.id).values(status="done")
                )
                rows = (ref(local_jobs, self.job.id),)
            yield connection, rows


JobFunction = Callable[[JobContext, Mapping[str, Any]], dict[str, Any]]
"""A job: runs with the context and its JSON arguments, returns a JSON summary of what it did."""


def job_function(name: str) -> JobFunction:
    """The function registered under ``name``; KeyError names the known ones."""
    target = JOBS.get(name)
    if target is None:
        raise KeyError(f"no job function {name!r} (known: {', '.join(sorted(JOBS))})")
    module, attribute = target.split(":")
    function: JobFunction = getattr(importlib.import_module(module), attribute)
    return function


# Queueing -------------------------------------------------------------------------------------


def enqueue(connection: Connection, name: str, args: Mapping[str, Any]) -> Queued:
    """Queue job ``name`` with ``args`` (a JSON object) in the caller's open write transaction.

    Nothing runs until that transaction commits; if it rolls back, the job is gone with it. The
    caller's trail record binds the returned ``rows``. On SQLite the caller then runs
    :func:`run_local` after its commit; on PostgreSQL any ``assay worker`` picks the job up.
    """
    job_function(name)  # an unknown name is the caller's bug: refuse it before anything is queued
    arguments = dict(parse_json(canonical_json(dict(args))))  # JSON only, checked now not in a worker
    if connection.dialect.name == "postgresql":
        ensure_queue(connection)
        deferrer = _deferring_app().configure_task(
            name, queue=QUEUE, task_kwargs=arguments, connection=_driver_connection(connection)
        )
        return Queued(JobRef(PROCRASTINATE, int(deferrer.defer()), name), ())
    highest = connection.execute(select(func.max(local_jobs.c.id))).scalar()
    number = 1 if highest is None else int(highest) + 1
    values = {
        "id": number,
        "name": name,
        "args": canonical_json(arguments).decode("utf-8"),
        "status": "queued",
        "error": None,
    }
    connection.execute(insert(local_jobs), values)
    return Queued(JobRef(LOCAL, number, name), (inserted(local_jobs, values),))


def ensure_queue(connection: Connection) -> bool:
    """Apply procrastinate's schema to the store's schema (the first on the search path) unless
    it is there already; True when it was applied now. Runs in the caller's write transaction.

    Why here and not in an Alembic revision: the schema is procrastinate's, versioned by
    procrastinate release, while Assay's revisions are frozen; a revision reading it from the
    installed package would not be. And the store's schema stays exactly Assay's metadata
    (what its migration test and ``alembic`` compare) until the queue is first used: the first
    job queued (a rule-pack install, under the store's writer lock, so two installs cannot both
    apply it, and rolled back with the install if it fails) or the first ``assay worker``. A
    SQLite store never has it. Upgrading procrastinate past a release that changes its schema
    means applying its migration files (``procrastinate schema --migrations-path`` says where).
    """
    if connection.execute(select(func.to_regclass("procrastinate_jobs"))).scalar() is not None:
        return False
    from procrastinate.schema import SchemaManager

    # Straight to the driver, without parameters: psycopg then sends the script as it is (several
    # statements, percent signs untouched), in the caller's transaction.
    _driver_connection(connection).execute(SchemaManager.get_schema())
    return True


@functools.cache
def _deferring_app() -> procrastinate.App:
    """A procrastinate app used only to defer on a connection handed to it; its own pool is
    never opened."""
    import procrastinate

    return procrastinate.App(connector=procrastinate.SyncPsycopgConnector())


def _driver_connection(connection: Connection) -> Any:
    """The psycopg connection under a SQLAlchemy one: the same session, so the same transaction."""
    return connection.connection.driver_connection


def _still_queued(connection: Connection, job: JobRef) -> Any:
    row = connection.execute(select(local_jobs).where(local_jobs.c.id == job.id)).first()
    if row is None:
        raise JobFinishedError(f"{job} is not in the queue")
    check_rows(connection, local_jobs, [row])
    if row.status != "queued":
        raise JobFinishedError(f"{job} is {row.status}: another worker ran it")
    return row


# Running --------------------------------------------------------------------------------------


def run_job(store: Store, clock: Clock, job: JobRef, args: Mapping[str, Any]) -> Outcome:
    """Run one job in this process and say how it went; a failure is recorded in the trail (and,
    on SQLite, on the job's row) rather than raised."""
    context = JobContext(store, clock, job)
    try:
        summary = job_function(job.name)(context, args)
    except JobFinishedError as exc:
        return Outcome(job, "skipped", error=str(exc))
    except Exception as exc:
        error = str(exc) if isinstance(exc, AssayError) else f"{type(exc).__name__}: {exc}"
        record_failure(store, clock, job, error)
        return Outcome(job, "failed", error=error)
    return Outcome(job, "done", summary=summary)


def record_failure(store: Store, clock: Clock, job: JobRef, error: str) -> None:
    """Record that a job failed: a ``job.failed`` trail record, and the local job's row."""
    with store.write() as connection:
        rows: list[Ref] = []
        if job.queue == LOCAL:
            try:
                _still_queued(connection, job)
            except JobFinishedError:
                return  # another worker finished it: nothing failed
            connection.execute(
                update(local_jobs).where(local_jobs.c.id == job.id).values(status="failed", error=error)
            )
            rows.append(ref(local_jobs, job.id))
        payload = {"job": job.describe(), "error": error}
        append_trail(connection, clock, f"assay ({job})", [("job.failed", payload, rows)])


def queued_local(store: Store) -> list[JobRef]:
    """The local jobs waiting, oldest first."""
    with store.read() as connection:
        rows = connection.execute(
            select(local_jobs.c.id, local_jobs.c.name)
            .where(local_jobs.c.status == "queued")
            .order_by(local_jobs.c.id)
        ).all()
    return [JobRef(LOCAL, row.id, row.name) for row in rows]


def run_local(store: Store, clock: Clock) -> list[Outcome]:
    """Run every job queued in the store's local queue, oldest first, each in a worker process
    of a local pool, and wait for them: called after the enqueueing transaction has committed.

    One job at a time on one worker process: jobs are rare (a rule-pack install) and each runs
    its own evaluations in turn, and a worker that dies is then the job's alone to blame. The
    job is recorded as failed, not retried: a crash in durable_rules on the same inputs would
    recur. The worker gets the clock as it is when it is a :class:`SystemClock` or
    :class:`FixedClock`, any other kind fixed at its present time (it must cross a process).
    """
    tried: set[int] = set()
    outcomes: list[Outcome] = []
    location = store.url.render_as_string(hide_password=False)
    portable = clock if isinstance(clock, (SystemClock, FixedClock)) else FixedClock(clock.now())
    pool: ProcessPoolExecutor | None = None
    try:
        while waiting := [job for job in queued_local(store) if job.id not in tried]:
            for job in waiting:
                tried.add(job.id)
                pool = pool or ProcessPoolExecutor(1, mp_context=_context())
                future = pool.submit(_run_in_worker, location, store.anchor, portable, job.id)
                try:
                    outcomes.append(future.result())
                except BrokenProcessPool:
                    pool.shutdown(wait=True, cancel_futures=True)
                    pool = None
                    error = "the worker process running it died"
                    record_failure(store, clock, job, error)
                    outcomes.append(Outcome(job, "failed", error=error))
    finally:
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
    return outcomes


def _context() -> multiprocessing.context.BaseContext:
    """``forkserver``, never ``fork``: a child must not inherit this process's durable_rules state
    (see audits.workers); the server preloads the job code once."""
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(sorted({target.split(":")[0] for target in JOBS.values()}))
    return ctx


def _run_in_worker(location: str, anchor: Path | None, clock: Clock, job_id: int) -> Outcome:
    """In a worker process: open the store and run the local job ``job_id`` if still queued."""
    with open_store(location, create=False, anchor=anchor) as store:
        return run_local_job(store, clock, job_id)


def run_local_job(store: Store, clock: Clock, job_id: int) -> Outcome:
    """Run the local job ``job_id`` in this process, if it is still queued."""
    with store.read() as connection:
        row = connection.execute(select(local_jobs).where(local_jobs.c.id == job_id)).first()
        if row is not None:
            check_rows(connection, local_jobs, [row])
    if row is None:
        raise JobFinishedError(f"no local job {job_id}")
    job = JobRef(LOCAL, row.id, row.name)
    if row.status != "queued":
        return Outcome(job, "skipped", error=f"{job} is {row.status}")
    return run_job(store, clock, job, parse_json(row.args))


# Workers --------------------------------------------------------------------------------------


def work(
    store: Store,
    clock: Clock,
    *,
    once: bool,
    report: Callable[[Outcome], None],
    poll: float = POLL_SECONDS,
) -> None:
    """Run jobs as they are queued: a procrastinate worker on PostgreSQL, the local pool on
    SQLite. With ``once``, run what is queued now and return; otherwise keep waiting (until
    interrupted). ``report`` hears of every job run."""
    if store.url.get_backend_name() == "postgresql":
        with store.write() as connection:
            ensure_queue(connection)  # a worker may start before anything was ever queued
        asyncio.run(_procrastinate_worker(store, clock, once=once, report=report))
        return
    while True:
        for outcome in run_local(store, clock):
            report(outcome)
        if once:
            return
        time.sleep(poll)


class JobFailedError(Exception):
    """Raised to procrastinate for a job that failed, so it is marked failed (its failure is
    already recorded in the store's trail)."""


async def _procrastinate_worker(
    store: Store, clock: Clock, *, once: bool, report: Callable[[Outcome], None]
) -> None:
    """One procrastinate worker executing Assay's job functions on ``store``.

    Job functions are synchronous and run durable_rules, whose state belongs to a process: they
    run one at a time on one thread of this worker, never on the event loop (which keeps the
    worker's heartbeat and notifications going meanwhile). More throughput is more workers.
    """
    import procrastinate

    thread = ThreadPoolExecutor(1, thread_name_prefix="assay-job")
    connector = procrastinate.PsycopgConnector(conninfo=conninfo(store.url), min_size=1, max_size=3)
    app = procrastinate.App(connector=connector)
    for name in JOBS:
        app.task(name=name, queue=QUEUE, pass_context=True)(_task(name, store, clock, thread, report))
    try:
        async with app.open_async():
            await app.run_worker_async(
                queues=[QUEUE],
                wait=not once,
                concurrency=1,
                install_signal_handlers=not once,
                delete_jobs="never",
            )
    finally:
        thread.shutdown(wait=True)


def _task(
    name: str, store: Store, clock: Clock, thread: ThreadPoolExecutor, report: Callable[[Outcome], None]
) -> Callable[..., Any]:
    """The procrastinate task running job function ``name`` (one per name: procrastinate finds a
    job's function by the task name it was deferred with)."""

    async def task(context: procrastinate.JobContext, **args: Any) -> None:
        job_id = context.job.id
        assert job_id is not None  # a job being run has been stored, so it has an id
        job = JobRef(PROCRASTINATE, job_id, name)
        outcome = await asyncio.get_running_loop().run_in_executor(thread, run_job, store, clock, job, args)
        report(outcome)
        if outcome.status == "failed":
            raise JobFailedError(outcome.error)

    task.__name__ = task.__qualname__ = f"assay_{name}"
    return task


def conninfo(url: URL) -> str:
    """The libpq connection string of a store's URL, for procrastinate's own psycopg pool: the
    same server, database, user and options (so the same schema on the search path)."""
    from psycopg.conninfo import make_conninfo

    parts: dict[str, Any] = url.translate_connect_args(username="user", database="dbname")
    for key, value in url.query.items():
        parts[key] = value if isinstance(value, str) else value[-1]
    return make_conninfo("", **{key: str(value) for key, value in parts.items()})
