"""``assay people`` and ``assay engagement``: the certification process on the command line.

Every changing command names the acting person with ``--as``; the store checks their role for
the engagement and records them, with the role, in its trail. ``--date`` fixes the day the
operation takes effect (default: today), so a process can be replayed deterministically.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import click
from rich.table import Table

from assay.casework_cli import case_command, finding_group, resolve_command
from assay.cert_cli import PASSWORD_ENV, PATH, data_option, print_issued
from assay.groups import Group
from assay.judging_cli import judge_command, worksheet_command
from assay.oscal_cli import oscal_command
from assay.services import (
    DATE,
    as_option,
    attachments_option,
    date_option,
    out,
    rules_option,
    services_for,
)
from assay.stores import open_data
from assay.terminal import console
from audits.accounts import PASSWORD_MAX
from audits.engagements import Verdict
from audits.people import all_people, load_people
from audits.views import history, status
from certificates.keys import load_signing_key, read_password
from certificates.scheme import Scheme, load_scheme
from engine.durable_engine import DurableInference
from engine.errors import InputError, Problem
from engine.reference import ReferenceInference
from engine.sourcemap import load_json
from engine.sources import SystemClock

# People -----------------------------------------------------------------------------------


@click.group("people", cls=Group, help="Who may act, and in which body roles.")
def people_group() -> None:
    """``assay people``."""


@people_group.command("import")
@click.argument("file", type=PATH)
@click.option(
    "--as", "person", default=None, help="Register administrator (not needed for the first import)."
)
@data_option
@attachments_option
def people_import(file: Path, person: str | None, data: str, attachments: Path | None) -> None:
    """Add or update people from a YAML people file."""
    outcome = services_for(data, attachments, None).engagements.import_people(load_people(file), person)
    out(
        f"people added: {', '.join(outcome['added']) or 'none'}; "
        f"changed: {', '.join(outcome['changed']) or 'none'}"
    )


@people_group.command("invite")
@click.argument("person_id")
@click.option("--days", type=int, default=7, show_default=True, help="Days the invitation is valid.")
@as_option
@data_option
def people_invite(person_id: str, days: int, person: str, data: str) -> None:
    """A one-time token for PERSON_ID to set a password with (a register administrator invites).
    It is printed once and stored only as a hash: hand it over privately."""
    token = services_for(data, None, None).accounts.invite(person, person_id, days)
    out(f"invitation for {person_id}, valid {days} day(s), shown once:")
    out(token)


@people_group.command("set-password")
@click.option("--token-file", type=PATH, required=True, help="File holding the invitation token.")
@data_option
def people_set_password(token_file: Path, data: str) -> None:
    """Set your password with an invitation token. On a terminal the password is asked for twice,
    never echoed; otherwise it is the first line of standard input (never an argument, which
    other users of the machine could see)."""
    try:
        token = token_file.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError([Problem(str(token_file), None, "", f"cannot read: {exc}")]) from None
    if sys.stdin.isatty():
        password = click.prompt("New password", hide_input=True, confirmation_prompt=True)
    else:
        password = sys.stdin.readline(4 * PASSWORD_MAX).rstrip("\r\n")
    person_id = services_for(data, None, None).accounts.set_password(token, password)
    out(f"password set for {person_id}")


@people_group.command("list")
@data_option
def people_list(data: str) -> None:
    """Everyone in the people table."""
    table = Table(title="People")
    for column in ("Id", "Name", "Organisation", "Community", "Body roles"):
        table.add_column(column)
    with open_data(data, create=False).read() as connection:
        for p in all_people(connection):
            table.add_row(p.id, p.name, p.organisation, p.community or "", ", ".join(sorted(p.roles)))
    console().print(table)


# Engagements ------------------------------------------------------------------------------


@click.group("engagement", cls=Group, help="Audit engagements from application to certificate.")
def engagement_group() -> None:
    """``assay engagement``."""


engagement_group.add_command(finding_group)
engagement_group.add_command(case_command)
engagement_group.add_command(resolve_command)
engagement_group.add_command(judge_command)
engagement_group.add_command(worksheet_command)
engagement_group.add_command(oscal_command)


@engagement_group.command("create")
@click.option("--community", required=True, help="Community id (as in its evidence packs).")
@click.option("--name", required=True, help="Community name.")
@click.option("--scope", multiple=True, help="Characteristic in scope (repeat; default all encoded).")
@as_option
@date_option
@data_option
@attachments_option
@rules_option
def engagement_create(
    community: str,
    name: str,
    scope: tuple[str, ...],
    person: str,
    day: dt.datetime | None,
    data: str,
    attachments: Path | None,
    rules_dir: Path | None,
) -> None:
    """Apply for certification (a submitter of the community)."""
    eid = services_for(data, attachments, day, rules_dir).engagements.create(person, community, name, scope)
    out(eid)


@engagement_group.command("assign")
@click.argument("engagement")
@click.option("--lead", default=None, help="Lead auditor.")
@click.option("--auditor", "auditors", multiple=True, help="Auditor (repeat).")
@click.option("--reviewer", default=None, help="Reviewer who will decide (never on the audit team).")
@as_option
@date_option
@data_option
@attachments_option
def engagement_assign(
    engagement: str,
    lead: str | None,
    auditors: tuple[str, ...],
    reviewer: str | None,
    person: str,
    day: dt.datetime | None,
    data: str,
    attachments: Path | None,
) -> None:
    """Assign the audit team and reviewer (a register administrator)."""
    services_for(data, attachments, day).engagements.assign(
        person, engagement, lead=lead, auditors=auditors, reviewer=reviewer
    )
    out(f"{engagement}: assigned")


@engagement_group.command("submit")
@click.argument("engagement")
@click.argument("pack", type=PATH)
@as_option
@date_option
@data_option
@attachments_option
def engagement_submit(
    engagement: str, pack: Path, person: str, day: dt.datetime | None, data: str, attachments: Path | None
) -> None:
    """Submit an evidence pack as a new version (a submitter of the community)."""
    version = services_for(data, attachments, day).engagements.submit(person, engagement, pack)
    out(f"{engagement}: evidence version {version} stored")


@engagement_group.command("verify")
@click.argument("engagement")
@click.argument("evidence", required=False)
@click.option("--verdict", type=click.Choice(["accepted", "rejected"]), default=None)
@click.option(
    "--method", type=click.Choice(["document_review", "interview", "observation", "system_demonstration"])
)
@click.option("--reason", default=None, help="What was checked and found.")
@click.option("--from", "from_file", type=PATH, default=None, help="JSON list of verdicts to record at once.")
@as_option
@date_option
@data_option
@attachments_option
def engagement_verify(
    engagement: str,
    evidence: str | None,
    verdict: str | None,
    method: str | None,
    reason: str | None,
    from_file: Path | None,
    person: str,
    day: dt.datetime | None,
    data: str,
    attachments: Path | None,
) -> None:
    """Record an auditor's verdict on an item (or several, from a JSON file)."""
    verdicts = _verdicts(evidence, verdict, method, reason, from_file)
    seqs = services_for(data, attachments, day).engagements.verify(person, engagement, verdicts)
    out(f"{engagement}: {len(seqs)} verdict(s) recorded")


def _verdicts(
    evidence: str | None, verdict: str | None, method: str | None, reason: str | None, from_file: Path | None
) -> list[Verdict]:
    if from_file is None:
        missing = [
            n
            for n, v in (
                ("EVIDENCE", evidence),
                ("--verdict", verdict),
                ("--method", method),
                ("--reason", reason),
            )
            if v is None
        ]
        if missing:
            raise InputError(
                [Problem("verify", None, "", f"missing {', '.join(missing)} (or give --from FILE)")]
            )
        return [Verdict(evidence or "", verdict or "", method or "", reason or "")]
    return verdicts_from_json(from_file)


VERDICT_FIELDS = ("evidence_id", "verdict", "method", "reason")
IGNORED_FIELDS = ("auditor", "date")
"""A pack's verifications carry these too; they are allowed and not used, since who verifies and
when are the acting person and --date."""


def verdicts_from_json(path: Path) -> list[Verdict]:
    """Verdicts from a JSON list of ``{evidence_id, verdict, method, reason}`` objects; every
    entry that is not such an object of texts is a located problem, all reported together."""
    doc = load_json(path)
    if doc.problems:
        raise InputError(doc.problems)
    entries = doc.data
    if not isinstance(entries, list) or not entries:
        fields = ", ".join(VERDICT_FIELDS)
        raise InputError([doc.problem([], f"not a non-empty JSON list of {{{fields}}} objects")])
    problems, verdicts = [], []
    for index, entry in enumerate(entries):
        if not isinstance(entry, dict):
            problems.append(doc.problem([index], "not an object"))
            continue
        unknown = sorted(set(entry) - {*VERDICT_FIELDS, *IGNORED_FIELDS})
        found = [doc.problem([index, k], "unknown field") for k in unknown]
        for name in VERDICT_FIELDS:
            if name not in entry:
                found.append(doc.problem([index], f"{name} is missing"))
            elif not isinstance(entry[name], str) or not entry[name].strip():
                found.append(doc.problem([index, name], "must be a non-empty text"))
        problems += found
        if not found:
            verdicts.append(Verdict(*(entry[name] for name in VERDICT_FIELDS)))
    if problems:
        raise InputError(problems)
    return verdicts


def _engine(choice: str) -> DurableInference | ReferenceInference:
    return DurableInference() if choice == "durable" else ReferenceInference()


engine_choice = click.option("--engine", type=click.Choice(["durable", "reference"]), default="durable")


def _evaluation_command(name: str, surveillance: bool, summary: str) -> None:
    """``evaluate`` and ``surveil``: the same evaluation, a surveillance one also compares the
    levels with those certified."""

    @engagement_group.command(name, help=summary)
    @click.argument("engagement")
    @click.option("--as-of", "as_of", type=DATE, default=None, help="Assessment date (default: --date).")
    @as_option
    @date_option
    @data_option
    @attachments_option
    @rules_option
    @engine_choice
    @click.option(
        "--scheme",
        "scheme_file",
        type=PATH,
        default=None,
        help="Scheme file (its max_characteristics_per_item flags items carrying too much).",
    )
    def command(
        engagement: str,
        as_of: dt.datetime | None,
        person: str,
        day: dt.datetime | None,
        data: str,
        attachments: Path | None,
        rules_dir: Path | None,
        engine: str,
        scheme_file: Path | None,
    ) -> None:
        scheme = load_scheme(scheme_file) if scheme_file else Scheme()
        services = services_for(data, attachments, day, rules_dir)
        record = services.decisions.evaluate(
            person,
            engagement,
            _engine(engine),
            as_of=as_of.date() if as_of else None,
            surveillance=surveillance,
            max_characteristics_per_item=scheme.max_characteristics_per_item,
        )
        _print_levels(record.number, record.purpose, record.levels)
        for cid, (was, now) in record.lower_than_certified.items():
            out(f"  {cid}: certified {was}, now {now}: lower than certified")


_evaluation_command("evaluate", False, "Evaluate the latest evidence with its verdicts (the lead auditor).")
_evaluation_command(
    "surveil",
    True,
    "Surveillance: re-evaluate on the current evidence against the certified levels (lead auditor).",
)


def _print_levels(number: int, purpose: str, levels: dict[str, int | None]) -> None:
    out(f"evaluation {number} ({purpose}): " + ", ".join(f"{c}={v}" for c, v in levels.items()))


@engagement_group.command("decide")
@click.argument("engagement")
@click.option("--outcome", type=click.Choice(["certify", "maintain", "refuse"]), required=True)
@click.option("--reason", required=True)
@as_option
@date_option
@data_option
@attachments_option
@rules_option
def engagement_decide(
    engagement: str,
    outcome: str,
    reason: str,
    person: str,
    day: dt.datetime | None,
    data: str,
    attachments: Path | None,
    rules_dir: Path | None,
) -> None:
    """Decide on the latest evaluation (the assigned reviewer, never on the audit team)."""
    number = services_for(data, attachments, day, rules_dir).decisions.decide(
        person, engagement, outcome, reason
    )
    out(f"{engagement}: decision {number}: {outcome}")


@engagement_group.command("issue")
@click.argument("engagement")
@click.option("--key", "key_path", type=PATH, required=True, help="PKCS#12 signing key.")
@click.option(
    "--password-env", default=None, help=f"Variable with the key's password (default {PASSWORD_ENV})."
)
@click.option("--password-file", type=PATH, default=None, help="File holding the password.")
@click.option("--body", required=True, help="The certification body, as it signs.")
@click.option("--lang", type=click.Choice(["en", "en+zh"]), default="en", show_default=True)
@click.option("--scheme", "scheme_file", type=PATH, default=None, help="Scheme file.")
@click.option("--out", type=PATH, default=None, help="PDF to write (default NUMBER.pdf).")
@as_option
@date_option
@data_option
@attachments_option
@rules_option
def engagement_issue(
    engagement: str,
    key_path: Path,
    password_env: str | None,
    password_file: Path | None,
    body: str,
    lang: str,
    scheme_file: Path | None,
    out: Path | None,
    person: str,
    day: dt.datetime | None,
    data: str,
    attachments: Path | None,
    rules_dir: Path | None,
) -> None:
    """Issue the certificate a positive decision calls for (a register administrator)."""
    services = services_for(data, attachments, day, rules_dir)
    env = password_env or (None if password_file else PASSWORD_ENV)
    key = load_signing_key(key_path, read_password(env, password_file))
    issued = services.awarding.issue(
        person,
        engagement,
        key,
        body=body,
        language="en+zh" if lang == "en+zh" else "en",
        out=out or Path(f"{engagement}.pdf"),
        scheme=load_scheme(scheme_file) if scheme_file else Scheme(),
    )
    print_issued(console(), issued)


@engagement_group.command("status")
@click.argument("engagement")
@click.option("--json", "json_output", is_flag=True, help="The full record as JSON.")
@date_option
@data_option
def engagement_status(engagement: str, json_output: bool, day: dt.datetime | None, data: str) -> None:
    """Where an engagement stands: step, team, evidence, findings, levels (--json: everything)."""
    on = day.date() if day else SystemClock().now().date()
    with open_data(data, create=False).read() as connection:
        record = status(connection, engagement, on)
    if json_output:
        sys.stdout.write(json.dumps(record, indent=2) + "\n")
        return
    terminal = console()
    for label, text in status_lines(record):
        gap = "" if text.startswith("\n") else " "  # a block of lines starts below its label
        terminal.print(f"[bold]{label}:[/bold]{gap}{text}" if label else text, overflow="fold")


def _evidence(versions: int) -> str:
    return f"latest version {versions}" if versions else "none submitted"


def status_lines(record: dict[str, Any]) -> list[tuple[str, str]]:
    """The short status: what a person asks first, each as (label, text)."""
    team = ", ".join(
        f"{person} ({' and '.join(r.replace('_', ' ') for r in roles)})"
        for person, roles in record["team"].items()
    )
    findings = "; ".join(
        f"finding {f['number']} ({f['severity']}, due {f['due_on']})" for f in record["open_findings"]
    )
    latest = record["latest_evaluation"]
    if latest is None:
        levels = "not evaluated yet"
    else:
        counts = Counter(v for v in latest["levels"].values() if isinstance(v, int))
        spread = ", ".join(f"{counts[n]} at level {n}" for n in sorted(counts))
        levels = f"evaluation {latest['number']} as of {latest['as_of']}: {spread}"
    decision = record["latest_decision"]
    certificate = record["certificate"]
    lines = [
        ("Engagement", f"{record['engagement']}: {record['community']} against {record['model']}"),
        ("Next step", record["next_step"]),
        ("Team", team or "not assigned"),
        ("Evidence", _evidence(record["evidence_versions"])),
        ("Open findings", findings or "none"),
        ("Levels", levels),
    ]
    if latest is not None and latest.get("thinnest_levels"):
        # One level per line: a level's flags can be long, and the reviewer reads them in turn.
        thin = "".join(
            f"\n  {t['characteristic']} level {t['level']}: {t['items']} item(s), {t['judged']} judged"
            + (f": {'; '.join(t['flags'])}" if t["flags"] else "")
            for t in latest["thinnest_levels"]
        )
        lines.append(("Thinnest levels", thin))
    if decision is not None:
        lines.append(("Decision", f"{decision['outcome']} (decision {decision['number']})"))
    if certificate is not None:
        nxt = certificate["next_surveillance"] or "none due"
        lines.append(
            (
                "Certificate",
                f"{certificate['number']} {certificate['status']}, expires {certificate['expires_on']}, "
                f"next surveillance {nxt}",
            )
        )
    if record["open_cases"]:
        lines.append(("Open cases", str(record["open_cases"])))
    lines.append(("", "The full record: add --json."))
    return lines


@engagement_group.command("history")
@click.argument("engagement")
@data_option
def engagement_history(engagement: str, data: str) -> None:
    """Levels at every evaluation, with what changed and why."""
    with open_data(data, create=False).read() as connection:
        entries = history(connection, engagement)
    for entry in entries:
        out(
            f"evaluation {entry.number} ({entry.purpose}) as of {entry.as_of}, "
            f"evidence version {entry.version}, "
            f"rule pack {entry.rule_pack_digest[:19]}"
        )
        for kind, ids in entry.evidence.items():
            out(f"  evidence {kind}: {', '.join(ids)}")
        for e, (was, now) in entry.verdicts.items():
            out(f"  verification changed: {e} {was or 'unverified'} -> {now or 'unverified'}")
        if entry.rule_pack_changed:
            out("  rule pack changed")
        for change in entry.level_changes:
            out(
                f"  {change.characteristic}: {change.before} -> {change.after} because "
                + "; ".join(change.causes)
            )
        if entry.number > 1 and not entry.level_changes:
            out("  no level changed")
