"""Issuing a certificate: from an evaluation's output folder to a signed PDF in the register.

The steps: check the evaluation (its trail verifies and closes on this very result; the rule
pack that produced it is the one named); reserve the number (committed, so it is never handed
out twice) with a hidden, locked file for the PDF; build the certificate, render, sign with the
result embedded and write the PDF there, outside any database lock; record it in the register;
only then give the PDF its name. A failure voids the number and removes the file; a kill leaves
them for the next sweep (:meth:`certificates.register.Register.sweep`), which removes the PDF of
a number never recorded and publishes that of a recorded one, so a signed PDF never outlives an
unrecorded number, a recorded one always gets its name, and no number is used twice.

The certificate is dated when it is issued: the issue date, and the PDF's creation date, come
from the register's clock (the issuing clock, injected), read once per issue. Validity and
surveillance count from that date, as ISO/IEC 17065 has them run from the certification
decision; the assessment date (the evaluation's as-of date) is printed as a field of its own.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from sqlalchemy.engine import Connection

from certificates.content import Issuance, build_certificate
from certificates.errors import RegisterError
from certificates.keys import SigningKey
from certificates.model import Certificate, Language, result_digest
from certificates.pki import is_test_certificate
from certificates.register import Register
from certificates.render import render_certificate
from certificates.scheme import Scheme
from certificates.signing import SigningOptions, sign_certificate
from engine.canonical import digest_of, parse_json
from engine.errors import InputError, OutputError, Problem
from engine.result import Result
from engine.rulepack import RulePack
from engine.trail import verify_lines
from evidence_schemas.writer import publish

RESULT_FILE = "result.json"
TRAIL_FILE = "trail.jsonl"
CERTIFICATE_FILE = "certificate.json"


@dataclass(frozen=True)
class Evaluated:
    """An evaluation's output, checked: the result, its exact bytes, and its trail's head."""

    result: Result
    raw: bytes
    trail_head: str


@dataclass(frozen=True)
class Decision:
    """Who decided what: the people named on the certificate and the options chosen."""

    body: str
    """The certification body, as it signs."""
    lead_auditor: str
    """Lead auditor of the audit."""
    decision_maker: str
    """Who made the certification decision (not on the audit team)."""
    language: Language
    """en, or en+zh for a bilingual certificate."""
    issued_on: dt.date | None = None
    """The issue date the caller expects; None takes the issuing clock's date. A date other than
    the clock's is refused: a certificate is never backdated or postdated."""
    renews: str | None = None
    """Number of the certificate this one renews."""
    test: bool = False
    """Issued outside an engagement, for a demo: the PDF is marked TEST whatever the key."""


@dataclass(frozen=True)
class Issued:
    """A certificate that was issued and recorded."""

    certificate: Certificate
    path: Path
    pdf_sha256: str


def read_evaluation(folder: Path) -> Evaluated:
    """Read ``result.json`` and ``trail.jsonl`` and check they belong together.

    The trail must verify and its closing record must carry this result's digest; a result
    without its trail, or edited after the evaluation, cannot be certified.
    """
    result_path, trail_path = folder / RESULT_FILE, folder / TRAIL_FILE
    missing = [p for p in (result_path, trail_path) if not p.is_file()]
    if missing:
        raise InputError(
            [Problem(str(p), None, "", "missing: certify an evaluation's output folder") for p in missing]
        )
    return evaluated_from(
        result_path.read_bytes(), trail_path.read_text(encoding="utf-8"), str(result_path), str(trail_path)
    )


def evaluated_from(raw: bytes, trail_text: str, result_label: str, trail_label: str) -> Evaluated:
    """Check a result's bytes against its trail's text: the trail verifies and closes on them."""
    try:
        result = Result.model_validate_json(raw)
    except ValidationError as exc:
        raise InputError(
            [Problem(result_label, None, ".".join(map(str, e["loc"])), e["msg"]) for e in exc.errors()]
        ) from None
    return Evaluated(result, raw, trail_closing_on(parse_json(raw), trail_text, result_label, trail_label))


def trail_closing_on(result: Any, trail_text: str, result_label: str, trail_label: str) -> str:
    """Verify a trail and that its closing record names the digest of ``result`` (a result's
    JSON value); returns the trail's head."""
    lines = trail_text.splitlines()
    checked = verify_lines(lines)
    closing = parse_json(lines[-1])
    if closing["payload"].get("result_digest") != digest_of(result):
        raise InputError(
            [
                Problem(
                    result_label,
                    None,
                    "",
                    f"does not match the result digest the trail {trail_label} closes on",
                )
            ]
        )
    return checked.head


def check_decision(evaluated: Evaluated, rules: RulePack, decision: Decision, issued_on: dt.date) -> None:
    """Refuse what a certification body must not issue on ``issued_on`` (the issuing clock's date)."""
    problems = []
    if evaluated.result.rule_pack.digest != rules.digest:
        problems.append(
            f"the result was evaluated with rule pack {evaluated.result.rule_pack.digest}, "
            f"not the loaded {rules.id} ({rules.digest})"
        )
    if decision.decision_maker.strip().casefold() == decision.lead_auditor.strip().casefold():
        problems.append("the decision maker must not be the lead auditor (independent review)")
    if decision.issued_on is not None and decision.issued_on != issued_on:
        problems.append(
            f"issue date {decision.issued_on} is not the date of issue on the issuing clock ({issued_on}); "
            "a certificate is dated the day it is issued"
        )
    if issued_on < evaluated.result.as_of:
        problems.append(f"issue date {issued_on} is before the assessment date {evaluated.result.as_of}")
    if problems:
        raise RegisterError("certificate not issued: " + "; ".join(problems))


def issue_certificate(
    evaluated: Evaluated,
    rules: RulePack,
    scheme: Scheme,
    decision: Decision,
    key: SigningKey,
    register: Register,
    *,
    out: Path | None,
    actor: str,
    folder: Path = Path("."),
    signing: SigningOptions | None = None,
    on_record: Callable[[Connection, Certificate], None] | None = None,
) -> Issued:
    """Issue, sign, write and record one certificate; ``out`` defaults to ``<number>.pdf`` in
    ``folder`` (a server names each PDF by its number, known only once it is reserved).

    The instant of issue is read once from the register's clock: its date is the issue date
    (validity and surveillance count from it) and the instant the PDF's creation date. The
    signature carries the signer's own time, as pyHanko sets it, and so does the signed
    revision's /ModDate.

    ``on_record`` runs in the register's transaction once the certificate is recorded, so what
    it writes (an engagement's link to the certificate) commits or rolls back with it.
    """
    issued_at = register.now()
    try:
        check_decision(evaluated, rules, decision, issued_at.date())
    except RegisterError as exc:
        raise register.refuse("issue", "", actor, str(exc)) from None
    if out is not None and out.exists():  # before a number is reserved, so none is spent on it
        raise OutputError(f"{out} exists; a certificate file is never overwritten")
    path = out
    with register.issuing(
        scheme,
        issued_at.date(),
        actor,
        staging=out.parent if out is not None else folder,
        name=out.name if out is not None else None,
    ) as issuing:
        certificate = build_certificate(
            evaluated.result,
            rules.model,
            scheme,
            _issuance(issuing.number, decision, key, issued_at.date()),
            trail_head=evaluated.trail_head,
            result_digest=result_digest(evaluated.raw),
        )
        pdf = sign_certificate(
            render_certificate(certificate, issued_at),
            {RESULT_FILE: evaluated.raw, CERTIFICATE_FILE: certificate_json(certificate)},
            key,
            signing or SigningOptions(),
        )
        path = out or folder / f"{certificate.number}.pdf"
        if path.exists():
            raise OutputError(f"{path} exists; a certificate file is never overwritten")
        sha = hashlib.sha256(pdf).hexdigest()
        # Written in full, flushed, under the hidden name reserved with the number: the PDF gets
        # its real name only once the certificate is committed. Killed before that, the next
        # issue (or any command's sweep) removes it and voids the number.
        staged = issuing.write(pdf)
        issuing.record(certificate, sha, on_record)
    try:
        publish(staged, path)
    except OSError as exc:
        raise OutputError(
            f"certificate {certificate.number} is issued and recorded, but its PDF could not be put "
            f"at {path} ({exc}); it is at {staged} (sha256 {sha})"
        ) from exc
    finally:
        issuing.release()
    register.published(certificate.number, actor)
    return Issued(certificate, path, sha)


def _issuance(number: str, decision: Decision, key: SigningKey, issued_on: dt.date) -> Issuance:
    return Issuance(
        number=number,
        issued_on=issued_on,
        body=decision.body,
        lead_auditor=decision.lead_auditor,
        decision_maker=decision.decision_maker,
        language=decision.language,
        test=decision.test or is_test_certificate(key.certificate),
        renews=decision.renews,
    )


def certificate_json(certificate: Certificate) -> bytes:
    """The certificate as embedded in the PDF: readable, stable JSON."""
    return (certificate.model_dump_json(indent=2) + "\n").encode("utf-8")
