"""``assay engagement finding|case|resolve``: nonconformities, complaints and appeals."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import click

from assay.cert_cli import data_option
from assay.groups import Group
from assay.services import DATE, as_option, attachments_option, date_option, out, services_for


@click.group("finding", cls=Group, help="Nonconformities: raise and close.")
def finding_group() -> None:
    """``assay engagement finding``."""


@finding_group.command("raise")
@click.argument("engagement")
@click.option("--severity", type=click.Choice(["major", "minor"]), required=True)
@click.option("--statement", required=True, help="The nonconformity.")
@click.option("--due", type=DATE, required=True, help="Date it must be closed by.")
@click.option("--characteristic", default=None)
@click.option("--evidence", default=None, help="Evidence item concerned.")
@as_option
@date_option
@data_option
@attachments_option
def finding_raise(
    engagement: str,
    severity: str,
    statement: str,
    due: dt.datetime,
    characteristic: str | None,
    evidence: str | None,
    person: str,
    day: dt.datetime | None,
    data: str,
    attachments: Path | None,
) -> None:
    """Raise a finding (an auditor on the team)."""
    number = services_for(data, attachments, day).casework.raise_finding(
        person,
        engagement,
        severity=severity,
        statement=statement,
        due_on=due.date(),
        characteristic=characteristic,
        evidence_id=evidence,
    )
    out(f"{engagement}: finding {number} raised")


@finding_group.command("close")
@click.argument("engagement")
@click.argument("number", type=int)
@click.option(
    "--evidence", "evidence_ids", multiple=True, required=True, help="Accepted closure evidence (repeat)."
)
@click.option("--note", default="", help="How it was resolved.")
@as_option
@date_option
@data_option
@attachments_option
def finding_close(
    engagement: str,
    number: int,
    evidence_ids: tuple[str, ...],
    note: str,
    person: str,
    day: dt.datetime | None,
    data: str,
    attachments: Path | None,
) -> None:
    """Close a finding on accepted evidence (the lead auditor)."""
    services_for(data, attachments, day).casework.close_finding(
        person, engagement, number, evidence_ids, note
    )
    out(f"{engagement}: finding {number} closed")


@click.command("case")
@click.argument("engagement")
@click.option("--kind", type=click.Choice(["complaint", "appeal"]), required=True)
@click.option("--from", "party", required=True, help="Who raised it.")
@click.option("--subject", required=True)
@click.option("--decision", type=int, default=None, help="The decision appealed against.")
@as_option
@date_option
@data_option
@attachments_option
def case_command(
    engagement: str,
    kind: str,
    party: str,
    subject: str,
    decision: int | None,
    person: str,
    day: dt.datetime | None,
    data: str,
    attachments: Path | None,
) -> None:
    """Record a complaint or an appeal (a register administrator)."""
    number = services_for(data, attachments, day).casework.record_case(
        person, engagement, kind, party, subject, decision
    )
    out(f"{engagement}: {kind} {number} recorded")


@click.command("resolve")
@click.argument("engagement")
@click.argument("case", type=int)
@click.option("--resolution", required=True)
@as_option
@date_option
@data_option
@attachments_option
def resolve_command(
    engagement: str,
    case: int,
    resolution: str,
    person: str,
    day: dt.datetime | None,
    data: str,
    attachments: Path | None,
) -> None:
    """Resolve a complaint or appeal (an appeal only by someone not involved in the decision)."""
    services_for(data, attachments, day).casework.resolve_case(person, engagement, case, resolution)
    out(f"{engagement}: case {case} resolved")
