"""``assay trail``: check audit trails."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from assay.groups import Group
from assay.options import PATH
from engine.errors import TrailError
from engine.trail import verify_file, verify_lines


@click.group("trail", cls=Group, help="Check audit trails.")
def trail_group() -> None:
    """``assay trail``."""


@trail_group.command("verify")
@click.argument("file", type=PATH, required=False)
@click.option("--head", default=None, help="Expected hash of the last record.")
@click.option(
    "--store",
    "store",
    default=None,
    help="Verify a store instead of a file: its trail, its anchor and every row bound to the trail.",
)
@click.option(
    "--attachments",
    "with_attachments",
    is_flag=True,
    help="With --store: also hash every attachment file against its content address.",
)
@click.option(
    "--attachment-folder",
    type=PATH,
    envvar="ASSAY_ATTACHMENTS",
    default=None,
    help="The store's attachment folder (default DATA/attachments; env ASSAY_ATTACHMENTS).",
)
def trail_verify(
    file: Path | None,
    head: str | None,
    store: str | None,
    with_attachments: bool,
    attachment_folder: Path | None,
) -> None:
    """Verify an audit trail's hash chain: a JSONL file ('-' reads standard input) or a store
    (``--store``): its trail against the anchored head, and every table row against the trail
    record that wrote it. Names the first bad record, and every row that differs."""
    if (file is None) == (store is None):
        raise click.UsageError("give a trail FILE or --store, not both")
    if store is not None:
        _verify_store(store, head, with_attachments, attachment_folder)
        return
    if with_attachments:
        raise click.UsageError("--attachments checks a store's attachments: give --store")
    if str(file) == "-":
        checked = verify_lines(sys.stdin.read().splitlines(), head)
    else:
        assert file is not None
        checked = verify_file(file, head)
    sys.stdout.write(f"intact: {checked.records} records, head {checked.head}\n")


def _verify_store(location: str, head: str | None, with_attachments: bool, folder: Path | None) -> None:
    from assay.stores import attachment_folder, store_anchor
    from audits.blobs import Blobs
    from audits.integrity import check_integrity
    from audits.store import open_store

    with open_store(location, create=False, anchor=store_anchor()) as store:
        blobs = None
        if with_attachments:
            where = attachment_folder(store, location, folder)
            if where is None:
                raise click.UsageError("give --attachment-folder with a database URL")
            blobs = Blobs(where)
        found = check_integrity(store, blobs=blobs, head=head)
    anchored = f", anchored in {found.anchor}" if found.anchor else ", NOT anchored (set ASSAY_ANCHOR)"
    counted = f"{found.records} records, {found.rows} rows"
    if found.attachments is not None:
        counted += f", {found.attachments} attachments"
    if found.problems:
        shown = "\n".join(f"  - {p}" for p in found.problems)
        raise TrailError(f"the store is not intact ({counted}{anchored}):\n{shown}", None)
    sys.stdout.write(f"intact: {counted}, head {found.head}{anchored}\n")
