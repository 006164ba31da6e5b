"""What every engagement command shares: its options, and the store and services it acts on."""

from __future__ import annotations

import datetime as dt
import sys
from dataclasses import dataclass
from pathlib import Path

import click

from assay.cert_cli import PATH
from assay.stores import attachment_folder, open_data
from audits.accounts import Accounts
from audits.blobs import Blobs, BlobStore
from audits.casework import Casework
from audits.decisions import Decisions
from audits.engagements import Engagements
from audits.reading import Reading
from audits.rulepacks import RulePacks, rules_in_force
from audits.store import Store
from certificates.awarding import Awarding
from certificates.register import Register
from engine.rulepack import RulePack, load_rule_pack
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
    reading: Reading
    rule_packs: RulePacks


def services_for(
    data: str,
    attachments: Path | None,
    day: dt.datetime | None,
    rules_dir: Path | None = None,
    *,
    clock: Clock | None = None,
) -> Services:
    """Open the store at ``data`` with its attachment folder, a clock (``clock``, else one fixed
    at ``day``, else the system's) and the rule pack."""
    store = open_data(data)
    folder = attachment_folder(store, data, attachments)
    if clock is None:
        clock = FixedClock.at_date(day.date()) if day is not None else SystemClock()
    # Without --rules, the pack in force: the store's latest installed, else the bundled one.
    rules = load_rule_pack(rules_dir) if rules_dir is not None else rules_in_force(store)
    blobs = Blobs(folder) if folder is not None else None
    if blobs is not None:
        blobs.sweep()  # copies a crash interrupted; housekeeping, so on every command is cheap enough
    Register(store, clock).sweep()  # signed PDFs of issues that died before their row committed
    return services_over(store, blobs, clock, rules)


def services_over(store: Store, blobs: BlobStore | None, clock: Clock, rules: RulePack) -> Services:
    """The services over an open store, acting with ``rules``."""
    args = (store, blobs, clock, rules)
    return Services(
        store,
        clock,
        Engagements(*args),
        Decisions(*args),
        Casework(*args),
        Awarding(*args),
        Accounts(*args),
        Reading(*args),
        RulePacks(*args),
    )


def out(text: str) -> None:
    """Print one line of a command's report."""
    sys.stdout.write(text + "\n")
