"""``assay engagement oscal``: an evaluation as OSCAL Assessment Results (JSON), for the
certification body's other tools. Read-only, like ``engagement status``: nobody acts, so no
``--as``; the same store contents always give the same bytes (see :mod:`audits.oscal`)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from assay.cert_cli import PATH, data_option
from assay.services import out
from assay.stores import open_data
from audits.oscal import assessment_results, oscal_json
from evidence_schemas.writer import atomic_write


@click.command("oscal")
@click.argument("engagement")
@click.option(
    "--evaluation",
    "number",
    type=click.IntRange(min=1),
    default=None,
    help="The evaluation's number (default: the latest).",
)
@click.option("--out", "out_file", type=PATH, default=None, help="Write the JSON here (default: stdout).")
@data_option
def oscal_command(engagement: str, number: int | None, out_file: Path | None, data: str) -> None:
    """An evaluation as OSCAL 1.1 Assessment Results (JSON), for other audit tools.

    ENGAGEMENT's evaluation (the latest, or --evaluation N): a finding per characteristic (its
    verified level) and per requirement, an observation per evidence item used and per auditor's
    judgement. The same store contents give the same bytes."""
    # Closed when done: a PostgreSQL store's pooled connections would otherwise outlive the command.
    with open_data(data, create=False) as store, store.read() as connection:
        document = assessment_results(connection, engagement, number)
    payload = oscal_json(document)
    if out_file is None:
        # The bytes as they are: a text stream would re-encode them in the terminal's encoding.
        binary = getattr(sys.stdout, "buffer", None)
        if binary is None:
            sys.stdout.write(payload.decode("utf-8"))
        else:
            sys.stdout.flush()
            binary.write(payload)
            binary.flush()
        return
    # Whole or not at all: a reader never sees half a document under the name.
    atomic_write(out_file, payload)
    evaluation = document["assessment-results"]["metadata"]["version"]
    out(f"{engagement}: evaluation {evaluation} as OSCAL assessment results written to {out_file}")
