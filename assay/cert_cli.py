"""``assay ca``, ``assay cert`` and ``assay verify``: test PKI, issuing, lifecycle, verification.

The register lives in the store (``--data``: a data folder, a ``.db`` file or a database URL;
default ``./assay-data`` or ``$ASSAY_DATA``). Passwords of signing keys come from an
environment variable or a file, never from the command line.
"""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import click
from pyhanko.sign.timestamps.aiohttp_client import HTTPTimeStamper
from rich.console import Console
from rich.table import Table

import rules as bundled_rules
from assay.groups import Group
from assay.stores import open_data
from assay.terminal import console
from certificates.awarding import Awarding
from certificates.errors import VerificationError
from certificates.issue import Decision, Issued, issue_certificate, read_evaluation
from certificates.keys import load_signing_key, load_trust, read_password
from certificates.pki import init_test_pki
from certificates.public_csv import register_csv
from certificates.register import Register
from certificates.scheme import Scheme, load_scheme
from certificates.signing import LEVELS, Level, SigningOptions
from certificates.verify import (
    Verification,
    offline_validation_context,
    verification_json,
    verify_certificate,
)
from engine.canonical import pretty_json
from engine.errors import InputError, Problem
from engine.rulepack import load_rule_pack
from engine.sources import Clock, FixedClock, SystemClock
from evidence_schemas.writer import atomic_write

PASSWORD_ENV = "ASSAY_SIGNING_PASSWORD"
PATH = click.Path(path_type=Path)

data_option = click.option(
    "--data",
    "data",
    envvar="ASSAY_DATA",
    default="assay-data",
    show_default=True,
    help="The store: a data folder, a .db file or a database URL (env ASSAY_DATA).",
)
actor_option = click.option(
    "--as", "actor", required=True, help="The register administrator acting (an id in the people table)."
)
date_option = click.option(
    "--date",
    "day",
    type=click.DateTime(["%Y-%m-%d"]),
    default=None,
    help="The date to act or read on (default: today).",
)


def _today(day: dt.datetime | None) -> dt.date:
    return day.date() if day is not None else SystemClock().now().date()


def _clock(day: dt.datetime | None) -> Clock:
    """The clock an operation is dated by: ``--date`` fixes it (a replay), otherwise the real one."""
    return FixedClock.at_date(day.date()) if day is not None else SystemClock()


def _register(data: str, *, create: bool = True, clock: Clock | None = None) -> Register:
    return Register(open_data(data, create=create), clock or SystemClock())


def _awarding(data: str, *, create: bool = True) -> Awarding:
    """Register changes with their role checks (only a register administrator may make them)."""
    store = open_data(data, create=create)
    return Awarding(store, None, SystemClock(), load_rule_pack(bundled_rules.bundled()))


@click.group("ca", cls=Group, help="Test certificate authorities for demos and tests.")
def ca_group() -> None:
    """``assay ca``."""


@ca_group.command("init-test")
@click.argument("folder", type=PATH)
def ca_init_test(folder: Path) -> None:
    """Generate a TEST root, signer and timestamping certificate, valid from now.

    Certificates signed with the test signer carry a TEST watermark; never use it for real.
    """
    if folder.exists() and any(folder.iterdir()):
        raise click.UsageError(f"{folder} is not empty; a test PKI is only written into a new folder")
    pki = init_test_pki(folder, SystemClock().now())
    out = sys.stdout
    out.write(f"Test PKI in {folder} (TEST only: certificates signed with it are watermarked)\n")
    out.write(f"  trust anchor:   {pki.root}\n  signing key:    {pki.signer_p12}\n")
    out.write(f"  password file:  {pki.signer_password}\n  CRL:            {pki.crl}\n")
    out.write(f"  timestamping:   {pki.tsa_p12} (password in {pki.tsa_password})\n")


@click.group("cert", cls=Group, help="Issue certificates and keep the register.")
def cert_group() -> None:
    """``assay cert``."""


@cert_group.command("issue")
@click.argument("evaluation", type=PATH)
@click.option("--key", "key_path", type=PATH, required=True, help="PKCS#12 signing key.")
@click.option(
    "--password-env", default=None, help=f"Variable with the key's password (default {PASSWORD_ENV})."
)
@click.option("--password-file", type=PATH, default=None, help="File holding the password.")
@click.option("--body", required=True, help="The certification body, as it signs.")
@click.option("--lead-auditor", required=True, help="Lead auditor of the audit.")
@click.option("--decision-maker", required=True, help="Who decided on certification (not on the audit team).")
@click.option("--lang", type=click.Choice(["en", "en+zh"]), default="en", show_default=True)
@click.option("--scheme", "scheme_file", type=PATH, default=None, help="Scheme file.")
@click.option("--renews", default=None, help="Number of the certificate this one renews.")
@click.option("--out", type=PATH, default=None, help="PDF to write (default NUMBER.pdf).")
@click.option("--rules", "rules_dir", type=PATH, default=None, help="Rule pack folder.")
@click.option("--level", type=click.Choice(LEVELS), default="B-B", show_default=True, help="PAdES level.")
@click.option("--tsa-url", default=None, help="RFC 3161 timestamp authority (B-T and up).")
@click.option("--trust", type=PATH, default=None, help="Trust anchor PEM (B-LT and up).")
@click.option("--crl", "crls", type=PATH, multiple=True, help="CRL file (B-LT and up).")
@click.option(
    "--test",
    "test",
    is_flag=True,
    help="Required: a certificate outside an engagement is a demo, marked TEST on the PDF.",
)
@date_option
@data_option
@actor_option
def cert_issue(
    evaluation: Path,
    key_path: Path,
    password_env: str | None,
    password_file: Path | None,
    body: str,
    lead_auditor: str,
    decision_maker: str,
    lang: str,
    scheme_file: Path | None,
    renews: str | None,
    out: Path | None,
    rules_dir: Path | None,
    level: Level,
    tsa_url: str | None,
    trust: Path | None,
    crls: tuple[Path, ...],
    test: bool,
    day: dt.datetime | None,
    data: str,
    actor: str,
) -> None:
    """Issue a TEST certificate for an evaluation's output folder (result.json, trail.jsonl).

    A real certificate is only ever issued for a decision recorded in an engagement
    (``assay engagement issue``): here nobody recorded who audited, verified or decided, so the
    command insists on ``--test`` and marks the PDF TEST.
    """
    acting = _awarding(data).check_administrator(actor, "issue a certificate")
    if not test:
        raise _register(data, clock=_clock(day)).refuse(
            "issue",
            "",
            acting.actor,
            "cert issue certifies no recorded decision: a certificate is issued only for a decision "
            "recorded in an engagement ('assay engagement issue ENGAGEMENT'); give --test for a "
            "demo certificate, marked TEST",
        )
    env = password_env or (None if password_file else PASSWORD_ENV)
    key = load_signing_key(key_path, read_password(env, password_file))
    decision = Decision(
        body=body,
        lead_auditor=lead_auditor,
        decision_maker=decision_maker,
        language="en+zh" if lang == "en+zh" else "en",
        renews=renews,
        test=True,
    )
    issued = issue_certificate(
        read_evaluation(evaluation),
        load_rule_pack(rules_dir or bundled_rules.bundled()),
        load_scheme(scheme_file) if scheme_file else Scheme(),
        decision,
        key,
        _register(data, clock=_clock(day)),
        out=out,
        actor=acting.actor,
        signing=_signing(level, tsa_url, trust, crls),
    )
    print_issued(console(), issued)


def _signing(level: Level, tsa_url: str | None, trust: Path | None, crls: tuple[Path, ...]) -> SigningOptions:
    timestamper = HTTPTimeStamper(tsa_url) if tsa_url else None
    context = None
    if trust is not None:
        context = offline_validation_context(load_trust(trust), [p.read_bytes() for p in crls])
    return SigningOptions(level=level, timestamper=timestamper, validation_context=context)


def print_issued(terminal: Console, issued: Issued) -> None:
    """What was issued, in a few lines."""
    cert = issued.certificate
    terminal.print(f"Issued certificate {cert.number} to {cert.community}: {issued.path}")
    terminal.print(
        f"  valid {cert.issued_on} to {cert.expires_on}; surveillance due "
        + ", ".join(str(d) for d in cert.surveillance_due)
    )
    if cert.test:
        terminal.print("  signed with a TEST key: watermarked, not a valid certificate")


def _lifecycle(operation: str) -> click.Command:
    @click.command(operation)
    @click.argument("number")
    @click.option("--reason", required=True, help="Why; recorded in the register and its trail.")
    @data_option
    @actor_option
    def command(number: str, reason: str, data: str, actor: str) -> None:
        _awarding(data, create=False).change(actor, number, operation, reason)
        status = _register(data, create=False).status(number, SystemClock().now().date())
        sys.stdout.write(f"{number}: {status}\n")

    command.help = f"{operation.capitalize()} a certificate, with the reason."
    return command


for _operation in ("suspend", "reinstate", "withdraw"):
    cert_group.add_command(_lifecycle(_operation))


@cert_group.command("list")
@click.option("--community", default=None, help="Only communities whose name contains this (any case).")
@click.option("--number", default=None, help="Only numbers starting with this.")
@click.option("--status", default=None, help="Only this status on the date (issued, expired, ...).")
@click.option("--page", type=int, default=None, help="Page to show (with --per-page; default all).")
@click.option("--per-page", type=int, default=20, show_default=True, help="Certificates per page.")
@date_option
@data_option
def cert_list(
    community: str | None,
    number: str | None,
    status: str | None,
    page: int | None,
    per_page: int,
    day: dt.datetime | None,
    data: str,
) -> None:
    """The register: every certificate with its status on the date, or a search of it."""
    on = _today(day)
    register = _register(data, create=False)
    title = f"Certificate register as of {on}"
    if community is None and number is None and status is None and page is None:
        entries = register.entries(on)
    else:
        found = register.search(
            on, community=community, number=number, status=status, page=page or 1, per_page=per_page
        )
        entries = found.entries
        title += f": page {found.page} of {found.pages} ({found.total} found)"
    table = Table(title=title)
    for column in ("Number", "Community", "Standard", "Issued", "Expires", "Status", "Reason"):
        table.add_column(column, overflow="fold")
    for entry in entries:
        table.add_row(
            entry.number,
            entry.community,
            entry.standard,
            str(entry.issued_on),
            str(entry.expires_on),
            entry.status,
            entry.status_reason or "",
        )
    console().print(table)


@cert_group.command("export-register")
@click.option("--out", type=PATH, default=None, help="File (default: standard output).")
@click.option("--format", "form", type=click.Choice(["json", "csv"]), default="json", show_default=True)
@date_option
@data_option
def cert_export(out: Path | None, form: str, day: dt.datetime | None, data: str) -> None:
    """The public register as JSON, or as CSV for spreadsheets."""
    exported = _register(data, create=False).export_public(_today(day))
    text = register_csv(exported) if form == "csv" else pretty_json(exported)
    if out is None:
        sys.stdout.write(text)
    else:
        atomic_write(out, text.encode("utf-8"))


@click.command("verify")
@click.argument("pdf", type=PATH)
@click.option("--trust", type=PATH, required=True, help="Trust anchor (root CA PEM).")
@click.option("--register", default=None, help="Check the status in this register (data folder, .db or URL).")
@click.option("--crl", "crls", type=PATH, multiple=True, help="CRL to check the signer with.")
@click.option("--json", "json_output", is_flag=True, help="Print the outcome as JSON.")
@date_option
def verify_command(
    pdf: Path,
    trust: Path,
    register: str | None,
    crls: tuple[Path, ...],
    json_output: bool,
    day: dt.datetime | None,
) -> None:
    """Verify a certificate offline: signature, embedded result, expiry and register status."""
    try:
        data = pdf.read_bytes()
    except OSError as exc:
        raise InputError([Problem(str(pdf), None, "", f"cannot read: {exc.strerror}")]) from None
    lookup = _register(register, create=False).lookup if register is not None else None
    verification = verify_certificate(
        data, load_trust(trust), today=_today(day), register=lookup, crls=[p.read_bytes() for p in crls]
    )
    if json_output:
        sys.stdout.write(pretty_json(verification_json(verification)))
    else:
        print_verification(verification)
    if not verification.ok:
        raise VerificationError(verification.reasons)


def print_verification(verification: Verification) -> None:
    out = sys.stdout
    if verification.ok:
        out.write(f"VALID: certificate {verification.number} for {verification.community}\n")
        out.write(f"  signed by {verification.signer} at {verification.signed_at} ({verification.level})\n")
        out.write("  embedded result matches the QR code and certificate.json\n")
    else:
        out.write(f"INVALID: {verification.number or 'certificate'}\n")
        for reason in verification.reasons:
            out.write(f"  - {reason}\n")
