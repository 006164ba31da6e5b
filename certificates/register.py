"""The certificate register and each certificate's lifecycle: issue, suspend, reinstate, withdraw, renew.

Every change is one transaction in the store that also appends a record to the register's
hash-chained trail (the same records as an evaluation's trail, chained openly). A refused
change changes nothing and is itself recorded, in its own transaction, as ``certificate.refused``.

Stored statuses are issued, suspended, reinstated, withdrawn and renewed. ``expired`` is never
stored: an issued, reinstated or suspended certificate reads as expired after its ``expires_on``.
The trail's times and the day a change takes effect come from the injected clock; so does the
date of issue when certificates are issued through :func:`certificates.issue.issue_certificate`,
which reads it from :meth:`Register.now`.
"""

from __future__ import annotations

import datetime as dt
import errno
import fcntl
import functools
import hashlib
import json
import os
import re
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Row, Table, func, insert, select, update
from sqlalchemy.engine import Connection

from audits.binding import check_rows, ref
from audits.schema import certificate_numbers, certificates
from audits.store import Event, Store, append_trail, verify_trail
from certificates.errors import RegisterError
from certificates.model import Certificate
from certificates.scheme import Scheme
from engine.canonical import canonical_json, digest, parse_json
from engine.sources import Clock
from engine.trail import VerifiedTrail
from evidence_schemas.writer import publish

REGISTER_FORMAT = "assay-register/1"
"""Names the format of :meth:`Register.export_public`."""
LIVE = frozenset({"issued", "reinstated", "suspended"})
"""Stored statuses that expire by date and can still be withdrawn or renewed."""
PUBLIC_REASONS = frozenset({"suspended", "withdrawn"})
"""Effective statuses whose reason the public register shows."""
STAGED_PREFIX = ".assay-issuing-"
"""A signed PDF waits under this name, locked, until its certificate is recorded."""
_SERIAL_DIGITS = 6
_PDF_SHA256 = re.compile(r"^(sha256:)?[0-9a-f]{64}$")


@dataclass(frozen=True)
class Transition:
    """A status change the register allows."""

    source: frozenset[str]
    """Stored statuses it may start from."""
    target: str
    """Stored status it leads to."""
    when_expired: bool
    """Whether it is allowed once the certificate has expired."""


TRANSITIONS = {
    "suspend": Transition(frozenset({"issued", "reinstated"}), "suspended", when_expired=False),
    "reinstate": Transition(frozenset({"suspended"}), "reinstated", when_expired=False),
    "withdraw": Transition(LIVE, "withdrawn", when_expired=True),
}
"""Operation → transition. Renewal (any LIVE status, expired or not → renewed) happens at issue."""


def effective_status(stored: str, expires_on: dt.date, on: dt.date) -> str:
    """The status a certificate has on ``on``: the stored one, or ``expired`` once past expiry."""
    return "expired" if stored in LIVE and on > expires_on else stored


@dataclass(frozen=True)
class RegisterEntry:
    """One certificate as the register holds it, read on a given date."""

    number: str
    """Certificate number."""
    community: str
    """The certified community."""
    scheme: str
    """Id of the scheme it was issued under."""
    model: str
    """Maturity model id."""
    standard: str
    """Standard and edition."""
    assessed_on: dt.date
    """Assessment date of the evaluation."""
    issued_on: dt.date
    """Date of issue."""
    expires_on: dt.date
    """Last day of validity."""
    surveillance_due: tuple[dt.date, ...]
    """Surveillance audits due, in order."""
    stored_status: str
    """Status as stored (never ``expired``)."""
    status: str
    """Effective status on the date the entry was read."""
    status_reason: str | None
    """Why the status last changed (None while issued)."""
    status_changed_on: dt.date
    """When the status last changed."""
    evaluation_id: str
    """Id of the evaluation the certificate rests on."""
    result_digest: str
    """Digest of the embedded result.json."""
    rule_pack_digest: str
    """Digest of the rule pack the evaluation used."""
    trail_head: str
    """Head hash of the evaluation's trail."""
    pdf_sha256: str
    """SHA-256 of the signed PDF as issued."""
    renews: str | None
    """Number of the certificate this one renews."""
    renewed_by: str | None
    """Number of the certificate that renewed this one."""
    certificate_json: str
    """The certificate as issued, canonical JSON (as the register stores it)."""

    @functools.cached_property
    def certificate(self) -> Certificate:
        """The certificate as issued, parsed when first asked for: a page of the public register
        needs only two of its fields (:func:`public_entry`), and parsing is most of a page's cost."""
        return Certificate.model_validate_json(self.certificate_json)


EFFECTIVE_STATUSES = ("issued", "reinstated", "suspended", "expired", "withdrawn", "renewed")
"""Statuses a certificate can have on a day (``expired`` is read from the date, never stored)."""
MAX_PER_PAGE = 100
MAX_PAGE = 100_000
MAX_QUERY = 200


@dataclass(frozen=True)
class RegisterPage:
    """One page of a register search."""

    entries: list[RegisterEntry]
    total: int
    """Certificates matching, on every page."""
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        """How many pages the matches fill (at least one)."""
        return max(1, -(-self.total // self.per_page))


@dataclass(frozen=True)
class Registered:
    """What the register vouches for under a number: :meth:`Register.lookup`."""

    status: str
    """Effective status on the day asked."""
    pdf_sha256: str
    """SHA-256 hex of the signed PDF as issued (its signed revision, with any timestamps then)."""
    certificate_json: bytes
    """The certificate as issued, canonical JSON."""


@dataclass
class _Attempt:
    """A requested change, so that a refusal of it can be recorded after the rollback."""

    operation: str
    number: str
    actor: str
    refusal: RegisterError | None = None

    def refuse(
        self, message: str, *, operation: str | None = None, number: str | None = None
    ) -> RegisterError:
        self.operation = operation or self.operation
        self.number = number or self.number
        self.refusal = RegisterError(message)
        return self.refusal


class Issuing:
    """An issue in progress: the number reserved (committed), the signed PDF not yet recorded.

    The number was consumed when it was reserved, so it is never handed out again whatever
    happens next. With a staging folder, the signed PDF is written to a hidden file there that
    this process holds locked until the PDF is published; if the process dies first,
    :meth:`Register.sweep` finds the file unlocked and removes it (voiding the number) or, once
    the certificate is recorded, publishes it, so a signed PDF never outlives an unrecorded number.
    """

    def __init__(self, register: Register, attempt: _Attempt, scheme: Scheme, issued_on: dt.date) -> None:
        self.number = attempt.number
        """The number reserved for the certificate being issued."""
        self.recorded = False
        """Whether :meth:`record` has recorded the certificate."""
        self.staged: Path | None = None
        """The hidden file the signed PDF is written to (None without a staging folder)."""
        self.target: Path | None = None
        """Where the PDF is published once recorded (None without a staging folder)."""
        self._fd: int | None = None
        self._register = register
        self._attempt = attempt
        self._scheme = scheme
        self._issued_on = issued_on

    def write(self, pdf: bytes) -> Path:
        """Write the signed PDF, in full and flushed, to the staged file; returns its path."""
        if self._fd is None or self.staged is None:
            raise RegisterError(f"certificate {self.number} has no staged file to write to")
        view = memoryview(pdf)
        while view:
            view = view[os.write(self._fd, view) :]
        os.fsync(self._fd)
        return self.staged

    def record(
        self,
        certificate: Certificate,
        pdf_sha256: str,
        on_record: Callable[[Connection, Certificate], None] | None = None,
    ) -> None:
        """Record the rendered, signed certificate under the reserved number (and its renewal),
        in one transaction with ``on_record`` (an engagement's link to the certificate)."""
        if self.recorded:
            raise RegisterError(f"cannot issue {self.number} twice")
        with self._register._attempt("issue", self.number, self._attempt.actor) as (connection, attempt):
            refuse = attempt.refuse
            if certificate.number != self.number:
                raise refuse(f"cannot issue {certificate.number}: the number reserved is {self.number}")
            if certificate.issued_on != self._issued_on:
                raise refuse(
                    f"cannot issue {self.number}: issued on {certificate.issued_on}, "
                    f"but the number was reserved for {self._issued_on}"
                )
            if not _PDF_SHA256.match(pdf_sha256):
                raise refuse(f"cannot issue {self.number}: {pdf_sha256!r} is not a SHA-256 hex digest")
            if certificate.renews is not None:
                self._check_renewable(connection, attempt, certificate)
            self._insert(connection, attempt, certificate, pdf_sha256)
            if on_record is not None:
                on_record(connection, certificate)
        self.recorded = True

    def release(self) -> None:
        """Let go of the staged file's lock (after it was published, or removed)."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def _check_renewable(self, connection: Connection, attempt: _Attempt, certificate: Certificate) -> None:
        old_number = certificate.renews or ""
        old = _row(connection, attempt, old_number, operation="renew")
        current = effective_status(old.status, old.expires_on, _today(self._register._clock))
        why = None
        if old.status not in LIVE:
            why = f"a {old.status} certificate cannot be renewed"
        elif old.community != certificate.community:
            why = f"it certifies {old.community}, not {certificate.community}"
        if why is not None:
            raise attempt.refuse(
                f"cannot renew {old_number} with {certificate.number}: it is {current}; {why}",
                operation="renew",
                number=old_number,
            )

    def _insert(self, connection: Connection, attempt: _Attempt, cert: Certificate, pdf: str) -> None:
        document = canonical_json(cert.model_dump(mode="json"))
        row = _certificate_row(self._scheme, cert, pdf, document)
        why = _unstorable(certificates, row)
        if why is not None:
            raise attempt.refuse(f"cannot issue {self.number}: {why}")
        connection.execute(insert(certificates), row)
        issued = {
            "number": cert.number,
            "community": cert.community,
            "scheme": self._scheme.id,
            "standard": cert.scope.standard,
            "result_digest": cert.result_digest,
            "rule_pack_digest": cert.rule_pack_digest,
            "trail_head": cert.trail_head,
            "pdf_sha256": pdf,
            "certificate_digest": digest(document),
            "renews": cert.renews,
        }
        events: list[Event] = [("certificate.issued", issued, [ref(certificates, cert.number)])]
        if cert.renews is not None:
            connection.execute(
                update(certificates)
                .where(certificates.c.number == cert.renews)
                .values(
                    status="renewed", renewed_by=cert.number, status_changed_on=_today(self._register._clock)
                )
            )
            events.append(
                (
                    "certificate.renewed",
                    {"number": cert.renews, "renewed_by": cert.number},
                    [ref(certificates, cert.renews)],
                )
            )
        append_trail(connection, self._register._clock, attempt.actor, events)


class Register:
    """The certification body's register of certificates, kept in a :class:`~audits.store.Store`."""

    def __init__(self, store: Store, clock: Clock) -> None:
        self._store = store
        self._clock = clock

    def now(self) -> dt.datetime:
        """The register's clock, in UTC: issuing reads the instant of issue from it."""
        return self._clock.now().astimezone(dt.UTC)

    # Issuing -----------------------------------------------------------------------------

    @contextmanager
    def issuing(
        self,
        scheme: Scheme,
        issued_on: dt.date,
        actor: str,
        *,
        staging: Path | None = None,
        name: str | None = None,
    ) -> Iterator[Issuing]:
        """Reserve the next number (committed at once), then let the block record the certificate.

        The number is ``PREFIX-YYYY-NNNNNN``, one above the highest ever reserved or issued for the
        prefix and year. With ``staging`` (the folder the PDF will be published in, as ``name`` or
        ``<number>.pdf``) a hidden file there is created and locked for the signed PDF before the
        reservation commits. If the
        block ends without :meth:`Issuing.record` (an exception, a refusal), the staged file is
        removed and the number voided, on the trail; it is never reused.
        """
        self.sweep()
        issuing = self._reserve(scheme, issued_on, actor, staging, name)
        try:
            yield issuing
            if not issuing.recorded:
                raise RegisterError(f"certificate {issuing.number} was reserved but never recorded")
        except BaseException as exc:
            if not issuing.recorded:
                if issuing.staged is not None:
                    issuing.staged.unlink(missing_ok=True)
                issuing.release()
                self._void(issuing.number, actor, f"the issue failed: {exc}"[:500])
            raise
        finally:
            if issuing.recorded and issuing.staged is None:
                issuing.release()

    def _reserve(
        self, scheme: Scheme, issued_on: dt.date, actor: str, staging: Path | None, name: str | None
    ) -> Issuing:
        with self._attempt("issue", "", actor) as (connection, attempt):
            attempt.number = _next_number(connection, scheme.number_prefix, issued_on.year)
            issuing = Issuing(self, attempt, scheme, issued_on)
            staged = None
            if staging is not None:
                staged = (staging / f"{STAGED_PREFIX}{attempt.number}.pdf").resolve()
                issuing.target = (staging / (name or f"{attempt.number}.pdf")).resolve()
                issuing._fd = _locked_new(staged)
                issuing.staged = staged
            try:
                connection.execute(
                    insert(certificate_numbers),
                    {
                        "number": attempt.number,
                        "reserved_by": actor,
                        "reserved_on": _today(self._clock),
                        "staged": None if staged is None else str(staged),
                        "target": None if issuing.target is None else str(issuing.target),
                    },
                )
                payload = {"number": attempt.number, "staged": None if staged is None else str(staged)}
                written = [ref(certificate_numbers, attempt.number)]
                append_trail(
                    connection, self._clock, actor, [("certificate.number_reserved", payload, written)]
                )
            except BaseException:
                if staged is not None:
                    staged.unlink(missing_ok=True)
                issuing.release()
                raise
        return issuing

    def published(self, number: str, actor: str) -> None:
        """The recorded certificate's PDF has its name: nothing is staged for it any more."""
        with self._store.write() as connection:
            done = connection.execute(
                update(certificate_numbers)
                .where(certificate_numbers.c.number == number, certificate_numbers.c.staged.is_not(None))
                .values(staged=None)
            )
            if done.rowcount == 1:
                target = connection.execute(
                    select(certificate_numbers.c.target).where(certificate_numbers.c.number == number)
                ).scalar()
                payload = {"number": number, "path": target}
                written = [ref(certificate_numbers, number)]
                append_trail(connection, self._clock, actor, [("certificate.published", payload, written)])

    def sweep(self) -> list[str]:
        """Finish what dead issues left; returns the numbers it acted on. A staged PDF whose
        certificate was never recorded is removed and its number voided; one whose certificate
        was recorded (the issue died before naming it) is published under its name. A staged
        file still locked belongs to an issue in progress and is left alone."""
        with self._store.read() as connection:
            pending = connection.execute(
                select(
                    certificate_numbers.c.number,
                    certificate_numbers.c.staged,
                    certificate_numbers.c.target,
                    certificates.c.number.label("recorded"),
                )
                .outerjoin(certificates, certificates.c.number == certificate_numbers.c.number)
                .where(certificate_numbers.c.voided_on.is_(None), certificate_numbers.c.staged.is_not(None))
            ).all()
        acted = []
        for number, staged, target, recorded in pending:
            if recorded is None:
                if _remove_unlocked(Path(staged)) is not None:
                    reason = "the issue stopped before its certificate was recorded"
                    self._void(number, "assay (sweep)", reason)
                    acted.append(number)
            elif _publish_unlocked(Path(staged), Path(target) if target else None):
                self.published(number, "assay (sweep)")
                acted.append(number)
        return acted

    def _void(self, number: str, actor: str, reason: str) -> None:
        with self._store.write() as connection:
            done = connection.execute(
                update(certificate_numbers)
                .where(certificate_numbers.c.number == number, certificate_numbers.c.voided_on.is_(None))
                .values(voided_on=_today(self._clock))
            )
            if done.rowcount == 1:
                payload = {"number": number, "reason": reason}
                written = [ref(certificate_numbers, number)]
                append_trail(
                    connection, self._clock, actor, [("certificate.number_voided", payload, written)]
                )

    # Lifecycle ---------------------------------------------------------------------------

    def suspend(self, number: str, reason: str, actor: str) -> None:
        """Suspend an issued or reinstated certificate that has not expired."""
        self._change("suspend", number, reason, actor)

    def reinstate(self, number: str, reason: str, actor: str) -> None:
        """Reinstate a suspended certificate that has not expired."""
        self._change("reinstate", number, reason, actor)

    def withdraw(self, number: str, reason: str, actor: str) -> None:
        """Withdraw an issued, reinstated or suspended certificate, expired or not; it is final."""
        self._change("withdraw", number, reason, actor)

    def _change(self, operation: str, number: str, reason: str, actor: str) -> None:
        transition = TRANSITIONS[operation]
        today = _today(self._clock)
        with self._attempt(operation, number, actor) as (connection, attempt):
            row = _row(connection, attempt, number)
            check_rows(connection, certificates, [row])
            current = effective_status(row.status, row.expires_on, today)
            why = _why_refused(row, current, transition)
            if why is None and not reason.strip():
                why = "a reason is required"
            if why is None:
                why = _unstorable(certificates, {"status_reason": reason.strip()})
            if why is not None:
                raise attempt.refuse(f"cannot {operation} {number}: it is {current}; {why}")
            connection.execute(
                update(certificates)
                .where(certificates.c.number == number)
                .values(status=transition.target, status_reason=reason.strip(), status_changed_on=today)
            )
            payload = {"number": number, "reason": reason.strip(), "previous_status": row.status}
            written = [ref(certificates, number)]
            append_trail(
                connection, self._clock, actor, [(f"certificate.{transition.target}", payload, written)]
            )

    # Reading -----------------------------------------------------------------------------

    def status(self, number: str, on: dt.date) -> str | None:
        """Effective status of ``number`` on ``on``; None when it is not in the register."""
        found = self.lookup(number, on)
        return None if found is None else found.status

    def lookup(self, number: str, on: dt.date) -> Registered | None:
        """What the register vouches for under ``number`` on ``on``: its effective status and
        the PDF and certificate it recorded; None when the number is not registered. The row
        must be the one its trail record bound (a :class:`~audits.errors.StoreError` says not)."""
        with self._store.read() as connection:
            row = connection.execute(select(certificates).where(certificates.c.number == number)).first()
            if row is None:
                return None
            check_rows(connection, certificates, [row])
        return Registered(
            effective_status(row.status, row.expires_on, on),
            row.pdf_sha256,
            row.certificate_json.encode("utf-8"),
        )

    def pdf(self, number: str) -> bytes | None:
        """The signed PDF published under ``number``, as issued; None when there is none (not
        registered, issued elsewhere, or its file is gone). A file that is not the PDF the
        register recorded is refused (:class:`RegisterError`), never handed out."""
        with self._store.read() as connection:
            found = connection.execute(
                select(certificates.c.pdf_sha256, certificate_numbers.c.target)
                .join(certificate_numbers, certificate_numbers.c.number == certificates.c.number)
                .where(certificates.c.number == number)
            ).first()
        if found is None or found.target is None:
            return None
        try:
            pdf = Path(found.target).read_bytes()
        except OSError:
            return None
        if hashlib.sha256(pdf).hexdigest() != found.pdf_sha256:
            raise RegisterError(f"the PDF of {number} at {found.target} is not the one the register recorded")
        return pdf

    def entry(self, number: str, on: dt.date) -> RegisterEntry:
        """The register's entry for ``number``, read on ``on``."""
        with self._store.read() as connection:
            row = connection.execute(select(certificates).where(certificates.c.number == number)).first()
        if row is None:
            raise RegisterError(_unknown(number))
        return _entry(row, on)

    def entries(self, on: dt.date) -> list[RegisterEntry]:
        """Every certificate in the register, read on ``on``, ordered by number."""
        with self._store.read() as connection:
            rows = connection.execute(select(certificates)).all()
            check_rows(connection, certificates, rows)  # the public register vouches for each
        # Sorted here, by code point: an ORDER BY would follow the database's collation, which on
        # PostgreSQL may be a language's (ignoring hyphens, say), and the export must not vary.
        return [_entry(row, on) for row in sorted(rows, key=lambda row: str(row.number))]

    def search(
        self,
        on: dt.date,
        *,
        community: str | None = None,
        number: str | None = None,
        status: str | None = None,
        page: int = 1,
        per_page: int = 20,
    ) -> RegisterPage:
        """One page of the register read on ``on``, by number: certificates whose community
        contains ``community`` (case-insensitive), whose number starts with ``number``, whose
        effective status is ``status``. Filtered and paged in the database, so a page costs the
        same however large the register."""
        problems = []
        if status is not None and status not in EFFECTIVE_STATUSES:
            problems.append(f"status must be one of {', '.join(EFFECTIVE_STATUSES)}, not {status!r}")
        if page < 1 or page > MAX_PAGE:
            problems.append(f"page must be from 1 to {MAX_PAGE}, not {page}")
        if not 1 <= per_page <= MAX_PER_PAGE:
            problems.append(f"per_page must be from 1 to {MAX_PER_PAGE}, not {per_page}")
        for name, text in (("community", community), ("number", number)):
            if text is not None and (len(text) > MAX_QUERY or "\x00" in text):
                problems.append(f"{name} must be at most {MAX_QUERY} characters, without NUL")
        if problems:
            raise RegisterError("cannot search the register: " + "; ".join(problems))
        where = []
        if community:
            where.append(func.lower(certificates.c.community).contains(community.lower(), autoescape=True))
        if number:
            where.append(certificates.c.number.startswith(number, autoescape=True))
        if status is not None:
            where.append(_effective_is(status, on))
        with self._store.read() as connection:
            # The count of all matches rides on each row of the page (one statement, not two: a
            # search is the public's most frequent request); only a page past the end asks again.
            rows = connection.execute(
                select(certificates, func.count().over().label("matching"))
                .where(*where)
                .order_by(_by_code_point(certificates.c.number, connection.dialect.name))
                .limit(per_page)
                .offset((page - 1) * per_page)
            ).all()
            if rows:
                total = int(rows[0].matching)
            else:
                counted = select(func.count()).select_from(certificates).where(*where)
                total = int(connection.execute(counted).scalar_one())
            check_rows(connection, certificates, rows)
        return RegisterPage([_entry(row, on) for row in rows], total, page, per_page)

    def export_public(self, on: dt.date) -> dict[str, Any]:
        """The public register on ``on`` as JSON-able data: no keys, no PDFs, no wall clock."""
        return {
            "format": REGISTER_FORMAT,
            "as_of": on.isoformat(),
            "certificates": [public_entry(entry) for entry in self.entries(on)],
        }

    def verify_trail(self, head: str | None = None) -> VerifiedTrail:
        """Verify the register's trail in sequence order; :class:`TrailError` names the first bad record.

        With ``head`` (an anchor held elsewhere) the last record's hash must equal it.
        """
        with self._store.read() as connection:
            return verify_trail(connection, head)

    # Store access ------------------------------------------------------------------------

    @contextmanager
    def _attempt(self, operation: str, number: str, actor: str) -> Iterator[tuple[Connection, _Attempt]]:
        """A write transaction for a requested change; a refusal of it is recorded after the rollback."""
        change = f"cannot {operation} {number or 'a certificate'}"
        if not actor.strip():
            # Without an actor there is no one to record the change or its refusal against.
            raise RegisterError(f"{change}: an actor is required")
        if "\x00" in actor:
            # Nor with one the trail cannot hold (see _unstorable).
            raise RegisterError(f"{change}: the actor contains a NUL character")
        attempt = _Attempt(operation, number, actor)
        try:
            with self._store.write() as connection:
                yield connection, attempt
        except RegisterError as exc:
            if exc is attempt.refusal:
                self._record_refusal(attempt, str(exc))
            raise

    def refuse(self, operation: str, number: str, actor: str, reason: str) -> RegisterError:
        """Record a refusal decided outside a register transaction; returns the error to raise."""
        self._record_refusal(_Attempt(operation, number, actor), reason)
        return RegisterError(reason)

    def _record_refusal(self, attempt: _Attempt, reason: str) -> None:
        payload = {"operation": attempt.operation, "number": attempt.number, "reason": reason}
        with self._store.write() as connection:
            append_trail(connection, self._clock, attempt.actor, [("certificate.refused", payload)])


def _effective_is(status: str, on: dt.date) -> Any:
    """SQL for "the effective status on ``on`` is ``status``" (see :func:`effective_status`)."""
    stored, expires = certificates.c.status, certificates.c.expires_on
    if status == "expired":
        return stored.in_(sorted(LIVE)) & (expires < on)
    if status in LIVE:
        return (stored == status) & (expires >= on)
    return stored == status


def _by_code_point(column: Any, dialect: str) -> Any:
    """Order by code point on every database, as :meth:`Register.entries` sorts (PostgreSQL's
    default collation may follow a language's rules; SQLite compares bytes)."""
    return column.collate("C") if dialect == "postgresql" else column


def _unknown(number: str) -> str:
    return f"no certificate {number} in the register"


def _today(clock: Clock) -> dt.date:
    """The day a change takes effect: the clock's date in UTC."""
    return clock.now().astimezone(dt.UTC).date()


def _next_number(connection: Connection, prefix: str, year: int) -> str:
    """One above the highest number ever reserved or issued for ``prefix`` and ``year``, in the
    caller's write transaction (certificates issued before reservations existed count too)."""
    stem = f"{prefix}-{year}-"
    highest = None
    for column in (certificates.c.number, certificate_numbers.c.number):
        # The range lets the primary key index answer; LIKE keeps out anything not of the form.
        found = connection.execute(
            select(func.max(column)).where(
                column.between(stem + "0" * _SERIAL_DIGITS, stem + "9" * _SERIAL_DIGITS),
                column.like(stem + "_" * _SERIAL_DIGITS),
            )
        ).scalar_one()
        if found is not None and (highest is None or found > highest):
            highest = found
    serial = 1 if highest is None else int(highest[len(stem) :]) + 1
    if serial >= 10**_SERIAL_DIGITS:
        raise RegisterError(f"no {stem}* numbers left: {serial - 1} were used in {year}")
    return f"{stem}{serial:0{_SERIAL_DIGITS}d}"


def _locked_new(path: Path) -> int:
    """Create ``path`` for the signed PDF and lock it; a file left there by a dead issue (nobody
    holds its lock) is replaced, one held by a live issue is an error."""
    for _ in range(2):
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
        except FileExistsError:
            if _remove_unlocked(path) is None:
                raise RegisterError(f"{path} is being written by another issue") from None
            continue
        except OSError as exc:
            raise RegisterError(f"cannot stage the certificate at {path}: {exc.strerror}") from None
        fcntl.flock(fd, fcntl.LOCK_EX)
        return fd
    raise RegisterError(f"cannot stage the certificate at {path}")


@contextmanager
def _unlocked(path: Path) -> Iterator[bool | None]:
    """Hold ``path``'s lock unless a live issue holds it: yields True (held), False (a live issue
    holds it, or it cannot be opened), or None (there is no such file)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except FileNotFoundError:
        yield None
        return
    except OSError:
        yield False
        return
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            if exc.errno not in (errno.EWOULDBLOCK, errno.EAGAIN):
                raise
            yield False
            return
        yield True
    finally:
        os.close(fd)


def _publish_unlocked(staged: Path, target: Path | None) -> bool:
    """Give a recorded certificate's staged PDF its name, unless a live issue holds it or the
    name is taken (never overwritten); True when nothing is left staged."""
    with _unlocked(staged) as held:
        if held is None:
            return True  # published, and the issue died before saying so
        if not held or target is None:
            return False
        try:
            publish(staged, target)
        except OSError:
            return False  # the name is taken: left for the operator, the staged file stays
        return True


def _remove_unlocked(path: Path) -> Path | None:
    """Remove ``path`` unless a live process holds its lock; returns it when it is gone (or was)."""
    with _unlocked(path) as held:
        if held is False:
            return None
        path.unlink(missing_ok=True)
        return path


def _row(connection: Connection, attempt: _Attempt, number: str, operation: str | None = None) -> Row[Any]:
    """The stored row of ``number``; refusing ``attempt`` when there is none."""
    row = connection.execute(select(certificates).where(certificates.c.number == number)).first()
    if row is None:
        raise attempt.refuse(_unknown(number), operation=operation, number=number)
    return row


def _certificate_row(scheme: Scheme, cert: Certificate, pdf: str, document: bytes) -> dict[str, Any]:
    """The register row of a newly issued certificate."""
    return dict(
        number=cert.number,
        community=cert.community,
        scheme=scheme.id,
        model=cert.scope.model,
        standard=cert.scope.standard,
        assessed_on=cert.assessed_on,
        issued_on=cert.issued_on,
        expires_on=cert.expires_on,
        surveillance_due=json.dumps([d.isoformat() for d in cert.surveillance_due]),
        status="issued",
        status_reason=None,
        status_changed_on=cert.issued_on,
        evaluation_id=cert.evaluation_id,
        result_digest=cert.result_digest,
        rule_pack_digest=cert.rule_pack_digest,
        trail_head=cert.trail_head,
        pdf_sha256=pdf,
        certificate_json=document.decode("utf-8"),
        renews=cert.renews,
    )


def _unstorable(table: Table, values: Mapping[str, Any]) -> str | None:
    """Why ``values`` cannot go into ``table`` as they are on every database; None when they can.

    SQLite stores any text in any column; PostgreSQL rejects text longer than a VARCHAR column's
    length, and NUL characters anywhere. Checked first, both databases refuse the same values,
    and as a refusal the register records rather than a database error.
    """
    for name, value in values.items():
        if not isinstance(value, str):
            continue
        label = name.replace("_", " ")
        length = getattr(table.c[name].type, "length", None)
        if length is not None and len(value) > length:
            return f"the {label} is longer than {length} characters"
        if "\x00" in value:
            return f"the {label} contains a NUL character"
    return None


def _why_refused(row: Row[Any], current: str, transition: Transition) -> str | None:
    """Why ``transition`` may not start from ``row`` today, or None when it may."""
    if row.status == "withdrawn":
        return "a withdrawn certificate is final"
    if row.status == "renewed":
        return f"it was renewed by {row.renewed_by}; a renewed certificate is final"
    if current == "expired" and not transition.when_expired:
        return f"it expired after {row.expires_on}; an expired certificate can only be withdrawn or renewed"
    if row.status not in transition.source:
        allowed = " or ".join(sorted(transition.source))
        return f"only a certificate that is {allowed} can be {transition.target}"
    return None


def _entry(row: Row[Any], on: dt.date) -> RegisterEntry:
    fields = {name: row._mapping[name] for name in _CERTIFICATE_COLUMNS}
    stored = fields.pop("status")
    fields["surveillance_due"] = tuple(dt.date.fromisoformat(d) for d in json.loads(row.surveillance_due))
    return RegisterEntry(**fields, stored_status=stored, status=effective_status(stored, row.expires_on, on))


_CERTIFICATE_COLUMNS = tuple(column.name for column in certificates.columns)


def public_entry(entry: RegisterEntry) -> dict[str, Any]:
    """What the public register shows of a certificate (no keys, no PDF, no private reasons)."""
    # Two fields of the stored certificate, read from its JSON without building the model: the
    # row was checked against its trail record, so the JSON is the one Assay wrote.
    document = parse_json(entry.certificate_json)
    return {
        "number": entry.number,
        "community": entry.community,
        "scheme": entry.scheme,
        "standard": entry.standard,
        "characteristics": len(document["scope"]["characteristics"]),
        "dimensions": [{"id": d["id"], "level": d["level"]} for d in document["dimensions"]],
        "assessed_on": entry.assessed_on.isoformat(),
        "issued_on": entry.issued_on.isoformat(),
        "expires_on": entry.expires_on.isoformat(),
        "surveillance_due": [d.isoformat() for d in entry.surveillance_due],
        "status": entry.status,
        "status_reason": entry.status_reason if entry.status in PUBLIC_REASONS else None,
        "renews": entry.renews,
        "renewed_by": entry.renewed_by,
    }
