"""What every engagement command shares: its options, and the store and services it acts on."""

from __future__ import annotations

import datetime as dt
import sys
from dataclasses import dataclass
from pathlib import Path

import click

import rules as bundled_rules
from assay.cert_cli import PATH
from assay.stores import attachment_folder, open_data
from audits.accounts import Accounts
from audits.blobs import Blobs
from audits.casework import Casework
from audits.decisions import Decisions
from audits.engagements import Engagements
from audits.store import Store
from certificates.awarding import Awarding
from certificates.register import Register
from engine.rulepack import load_rule_pack
from engine.sources import Clock, FixedClock, SystemClock

DATE = click.DateTime(["%Y-%m-%d"])
as_option = click.option("--as", "person", required=True, help="Id of the person acting (people table).")
date_option = click.option(
    "--date", "day", type=DATE, default=None, help="Day it takes effect (default today)."
)
attachments_option = click.option(
    "--attachments",
    type=PATH,
    envvar="ASSAY_ATTACHMENTS",
    default=None,
    help="Attachment folder (default DATA/attachments; needed with a database URL; env ASSAY_ATTACHMENTS).",
)
rules_option = click.option("--rules", "rules_dir", type=PATH, default=None, help="Rule pack folder.")


@dataclass(frozen=True)
class Services:
    """The store and the services over it, for one command."""

    store: Store
    clock: Clock
    engagements: Engagements
    decisions: Decisions
    casework: Casework
    awarding: Awarding
    accounts: Accounts


def services_for(
    data: str, attachments: Path | None, day: dt.datetime | None, rules_dir: Path | None = None
) -> Services:
    """Open the store at ``data`` with its attachment folder, a clock and the rule pack."""
    store = open_data(data)
    folder = attachment_folder(store, data, attachments)
    clock: Clock = FixedClock.at_date(day.date()) if day is not None else SystemClock()
    rules = load_rule_pack(rules_dir or bundled_rules.bundled())
    blobs = Blobs(folder) if folder is not None else None
    if blobs is not None:
        blobs.sweep()  # copies a crash interrupted; housekeeping, so on every command is cheap enough
    Register(store, clock).sweep()  # signed PDFs of issues that died before their row committed
    args = (store, blobs, clock, rules)
    return Services(
        store, clock, Engagements(*args), Decisions(*args), Casework(*args), Awarding(*args), Accounts(*args)
    )


def out(text: str) -> None:
    """Print one line of a command's report."""
    sys.stdout.write(text + "\n")
