"""``assay worker``: run the jobs changes queue, such as re-rating certificates under a new rule pack.

On PostgreSQL this is a procrastinate worker: start as many as wanted, on any machine that
reaches the database; each runs one job at a time. On SQLite it runs the store's local queue in
the local worker pool, which the command that queued a job (``assay rules install``) already
does before it ends: this is for a job left queued by a process that was killed. See
:mod:`audits.jobs`.
"""

from __future__ import annotations

import datetime as dt
import sys

import click

from assay.rules_cli import store_data_option
from assay.stores import open_data
from audits.jobs import POLL_SECONDS, Outcome, work
from engine.sources import Clock, FixedClock, SystemClock


@click.command(
    "worker",
    help="Run queued jobs, such as the re-rating of certificates a rule pack install queues. "
    "On PostgreSQL a procrastinate worker (run any number, on any machine); on SQLite the local "
    "worker pool. Runs until stopped, or with --once until the queue is empty.",
)
@store_data_option
@click.option(
    "--once", is_flag=True, help="Run the jobs queued now, then exit (default: keep waiting for more)."
)
@click.option(
    "--date",
    "day",
    type=click.DateTime(["%Y-%m-%d"]),
    default=None,
    help="Day the jobs take effect (default today).",
)
@click.option(
    "--poll",
    type=click.FloatRange(min=0.1),
    default=POLL_SECONDS,
    show_default=True,
    help="SQLite: seconds between looks for queued jobs (PostgreSQL is notified).",
)
def worker_command(data: str, once: bool, day: dt.datetime | None, poll: float) -> None:
    """``assay worker``."""
    clock: Clock = FixedClock.at_date(day.date()) if day is not None else SystemClock()
    with open_data(data) as store:
        try:
            work(store, clock, once=once, report=print_outcome, poll=poll)
        except KeyboardInterrupt:  # stopping a waiting SQLite worker is how it ends
            return


def print_outcome(outcome: Outcome) -> None:
    """One line per job run."""
    if outcome.status == "done":
        summary = (outcome.summary or {}).get("summary", "done")
        sys.stdout.write(f"{outcome.job}: {summary}\n")
    else:
        sys.stdout.write(f"{outcome.job}: {outcome.status}: {outcome.error}\n")
    sys.stdout.flush()
