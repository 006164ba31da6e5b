"""``assay trail``: check audit trails."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from assay.groups import Group
from assay.options import PATH
from engine.trail import verify_file, verify_lines


@click.group("trail", cls=Group, help="Check audit trails.")
def trail_group() -> None:
    """``assay trail``."""


@trail_group.command("verify")
@click.argument("file", type=PATH, required=False)
@click.option("--head", default=None, help="Expected hash of the last record.")
@click.option("--store", "store", default=None, help="Verify the trail in this store instead of a file.")
def trail_verify(file: Path | None, head: str | None, store: str | None) -> None:
    """Verify an audit trail's hash chain: a JSONL file ('-' reads standard input) or a store's
    trail (``--store``); names the first bad record."""
    if (file is None) == (store is None):
        raise click.UsageError("give a trail FILE or --store, not both")
    if store is not None:
        from audits.store import open_store
        from certificates.register import Register
        from engine.sources import SystemClock

        checked = Register(open_store(store, create=False), SystemClock()).verify_trail(head)
    elif str(file) == "-":
        checked = verify_lines(sys.stdin.read().splitlines(), head)
    else:
        assert file is not None
        checked = verify_file(file, head)
    sys.stdout.write(f"intact: {checked.records} records, head {checked.head}\n")
