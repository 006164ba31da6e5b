"""Issuing end to end: evaluation folder → rendered, signed certificate in the register.

The issued file is checked by Assay's verifier and by tools that are not Assay's own (pdfsig,
openssl, pdfdetach, zbarimg on the rendered QR code); a failure at any step leaves no file and
no register entry behind.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import io
import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.signers import PdfTimeStamper
from sqlalchemy import update

import examples
from assay.evaluate_cli import output_files, run_evaluation
from assay.output import write_folder
from audits.schema import certificate_numbers
from audits.store import Store, open_store
from certificates.errors import RegisterError, SigningError
from certificates.issue import (
    CERTIFICATE_FILE,
    RESULT_FILE,
    Decision,
    Evaluated,
    Issued,
    certificate_json,
    issue_certificate,
    read_evaluation,
)
from certificates.keys import SigningKey
from certificates.model import qr_payload, result_digest
from certificates.pki import TestPki, dummy_timestamper
from certificates.register import STAGED_PREFIX, Register
from certificates.render import render_certificate
from certificates.scheme import Scheme
from certificates.signing import SigningOptions, sign_certificate
from certificates.verify import verify_certificate
from engine.errors import InputError, OutputError
from engine.rulepack import RulePack
from engine.sources import FixedClock
from tests.certificates.validators import TOTAL, TRUSTED, VALID, openssl_verify, pdfsig, trusting_nss_db
from tests.tools import require_tool

ISSUING = FixedClock(dt.datetime.now(dt.UTC))
"""The issuing clock: now, held still so that every test of the module issues on the same day."""
TODAY = ISSUING.now().date()
LATER = dt.datetime(2026, 11, 22, 10, 15, 30, tzinfo=dt.UTC)
"""An instant of issue months after the assessment date (30 June 2026)."""


@pytest.fixture(scope="module")
def evaluation_folder(tmp_path_factory: pytest.TempPathFactory, rule_pack: RulePack) -> Path:
    """The demo's evaluation of Harbourton, as ``assay evaluate --out`` writes it."""
    folder = tmp_path_factory.mktemp("evaluation") / "harbourton"
    evaluation = run_evaluation(rule_pack, examples.sample_pack(), examples.SAMPLE_AS_OF, "durable")
    write_folder(folder, output_files(evaluation), replace=False)
    return folder


@pytest.fixture
def store(database: str) -> Iterator[Store]:
    """An empty store, on SQLite and on PostgreSQL."""
    with open_store(database) as opened:
        yield opened


@pytest.fixture
def register(store: Store) -> Register:
    """An empty register on the issuing clock."""
    return Register(store, ISSUING)


def _decision(**changes: object) -> Decision:
    decision = Decision("Assay Test Certification Body", "Ana Auditor", "Dee Decider", "en")
    return dataclasses.replace(decision, **changes)  # type: ignore[arg-type]


def _issue(
    folder: Path, rules: RulePack, key: SigningKey, register: Register, out: Path, **changes: object
) -> Issued:
    return issue_certificate(
        read_evaluation(folder), rules, Scheme(), _decision(**changes), key, register, out=out, actor="tester"
    )


def test_an_issued_certificate_verifies_with_assay_and_independent_tools(
    evaluation_folder: Path,
    rule_pack: RulePack,
    signing_key: SigningKey,
    register: Register,
    pki: TestPki,
    tmp_path: Path,
) -> None:
    issued = _issue(evaluation_folder, rule_pack, signing_key, register, tmp_path / "cert.pdf")
    pdf = issued.path.read_bytes()
    raw = (evaluation_folder / "result.json").read_bytes()
    assert issued.certificate.number == f"ASSAY-{TODAY.year}-000001"
    assert issued.certificate.result_digest == result_digest(raw)
    assert issued.certificate.test  # the test PKI's signer: watermarked

    verification = verify_certificate(pdf, [pki.root_certificate()], today=TODAY, register=register.lookup)
    assert verification.reasons == []
    assert verification.result == raw
    assert verification.certificate == issued.certificate

    report = pdfsig(pdf, trusting_nss_db(pki.root, tmp_path / "nss"), tmp_path)
    assert (VALID in report, TRUSTED in report, TOTAL in report) == (True, True, True)
    done = openssl_verify(pdf, pki.root, tmp_path)
    assert done.returncode == 0, done.stderr

    entry = register.entry(issued.certificate.number, TODAY)
    assert (entry.status, entry.pdf_sha256) == ("issued", hashlib.sha256(pdf).hexdigest())
    assert register.verify_trail().records == 3  # the number reserved, the certificate issued, published
    assert [p.name for p in tmp_path.glob(".assay-issuing-*")] == []  # published, not left staged


def test_the_qr_code_and_the_attachments_read_back_with_other_tools(
    evaluation_folder: Path, rule_pack: RulePack, signing_key: SigningKey, register: Register, tmp_path: Path
) -> None:
    issued = _issue(evaluation_folder, rule_pack, signing_key, register, tmp_path / "cert.pdf")
    pdftoppm, zbarimg, pdfdetach = (require_tool(t) for t in ("pdftoppm", "zbarimg", "pdfdetach"))
    subprocess.run(
        [pdftoppm, "-r", "150", "-png", "-f", "1", "-l", "1", str(issued.path), str(tmp_path / "p")]
    )
    (page,) = tmp_path.glob("p*.png")
    decoded = subprocess.run([zbarimg, "--raw", "-q", str(page)], capture_output=True, text=True, check=True)
    expected = qr_payload(issued.certificate.number, issued.certificate.result_digest)
    assert decoded.stdout.strip() == expected
    info = PdfFileReader(io.BytesIO(issued.path.read_bytes())).trailer["/Info"]
    assert str(info["/Keywords"]) == expected

    out = tmp_path / "attachments"
    out.mkdir()
    subprocess.run([pdfdetach, "-saveall", "-o", str(out), str(issued.path)], check=True, capture_output=True)
    assert (out / "result.json").read_bytes() == (evaluation_folder / "result.json").read_bytes()
    embedded = json.loads((out / "certificate.json").read_text(encoding="utf-8"))
    assert embedded["number"] == issued.certificate.number


def test_a_tampered_issued_certificate_fails_everywhere(
    evaluation_folder: Path,
    rule_pack: RulePack,
    signing_key: SigningKey,
    register: Register,
    pki: TestPki,
    tmp_path: Path,
) -> None:
    issued = _issue(evaluation_folder, rule_pack, signing_key, register, tmp_path / "cert.pdf")
    pdf = issued.path.read_bytes()
    middle = len(pdf) // 3  # inside the rendered pages, well before the signature
    tampered = pdf[:middle] + bytes([pdf[middle] ^ 0x01]) + pdf[middle + 1 :]
    verification = verify_certificate(tampered, [pki.root_certificate()], today=TODAY)
    assert not verification.ok
    assert any("modified" in r or "cannot" in r for r in verification.reasons), verification.reasons
    assert VALID not in pdfsig(tampered, trusting_nss_db(pki.root, tmp_path / "nss"), tmp_path)
    assert openssl_verify(tampered, pki.root, tmp_path).returncode != 0


def test_a_failed_signature_leaves_no_file_and_voids_its_number(
    evaluation_folder: Path, rule_pack: RulePack, signing_key: SigningKey, register: Register, tmp_path: Path
) -> None:
    out = tmp_path / "cert.pdf"
    with pytest.raises(SigningError, match="needs a timestamper"):
        issue_certificate(
            read_evaluation(evaluation_folder),
            rule_pack,
            Scheme(),
            _decision(),
            signing_key,
            register,
            out=out,
            actor="tester",
            signing=SigningOptions(level="B-T"),
        )
    assert not out.exists()
    assert list(tmp_path.glob(".assay-issuing-*")) == []
    assert register.entries(TODAY) == []
    issued = _issue(evaluation_folder, rule_pack, signing_key, register, out)
    # Number 1 was consumed by the failed issue: a number is never used twice.
    assert issued.certificate.number == f"ASSAY-{TODAY.year}-000002"


def test_an_existing_file_is_never_overwritten(
    evaluation_folder: Path, rule_pack: RulePack, signing_key: SigningKey, register: Register, tmp_path: Path
) -> None:
    out = tmp_path / "cert.pdf"
    out.write_bytes(b"an earlier certificate")
    with pytest.raises(OutputError, match="never overwritten"):
        _issue(evaluation_folder, rule_pack, signing_key, register, out)
    assert out.read_bytes() == b"an earlier certificate"
    assert register.entries(TODAY) == []
    # Refused before a number was reserved: the next issue takes the first number.
    issued = _issue(evaluation_folder, rule_pack, signing_key, register, tmp_path / "other.pdf")
    assert issued.certificate.number == f"ASSAY-{TODAY.year}-000001"


def test_the_decision_maker_must_be_independent_of_the_lead_auditor(
    evaluation_folder: Path, rule_pack: RulePack, signing_key: SigningKey, register: Register, tmp_path: Path
) -> None:
    with pytest.raises(RegisterError, match="must not be the lead auditor"):
        _issue(
            evaluation_folder,
            rule_pack,
            signing_key,
            register,
            tmp_path / "c.pdf",
            decision_maker="ana auditor",
        )
    assert register.entries(TODAY) == []


def test_a_result_from_other_rules_or_dated_after_issue_is_refused(
    evaluation_folder: Path, rule_pack: RulePack, signing_key: SigningKey, store: Store, tmp_path: Path
) -> None:
    other = dataclasses.replace(rule_pack, digest="sha256:" + "9" * 64)
    early = Register(store, FixedClock.at_date(dt.date(2026, 1, 1)))
    with pytest.raises(RegisterError, match="evaluated with rule pack sha256:") as caught:
        _issue(evaluation_folder, other, signing_key, early, tmp_path / "c.pdf")
    assert "issue date 2026-01-01 is before the assessment date 2026-06-30" in str(caught.value)
    assert early.entries(TODAY) == []


def test_an_issue_date_other_than_the_issuing_clock_s_is_refused(
    evaluation_folder: Path, rule_pack: RulePack, signing_key: SigningKey, register: Register, tmp_path: Path
) -> None:
    for day in (TODAY - dt.timedelta(days=1), TODAY + dt.timedelta(days=1)):
        with pytest.raises(RegisterError, match="is not the date of issue on the issuing clock") as caught:
            _issue(evaluation_folder, rule_pack, signing_key, register, tmp_path / "c.pdf", issued_on=day)
        assert f"issue date {day} " in str(caught.value)
    assert not (tmp_path / "c.pdf").exists()
    assert register.entries(TODAY) == []
    # The clock's own date, stated, is accepted.
    issued = _issue(evaluation_folder, rule_pack, signing_key, register, tmp_path / "c.pdf", issued_on=TODAY)
    assert issued.certificate.issued_on == TODAY


def test_the_certificate_is_dated_by_the_issuing_clock_not_the_assessment(
    evaluation_folder: Path, rule_pack: RulePack, signing_key: SigningKey, store: Store, tmp_path: Path
) -> None:
    register = Register(store, FixedClock(LATER))
    cert = _issue(evaluation_folder, rule_pack, signing_key, register, tmp_path / "cert.pdf").certificate
    assert (cert.assessed_on, cert.issued_on) == (dt.date(2026, 6, 30), dt.date(2026, 11, 22))
    # ISO/IEC 17065: validity and surveillance run from the issue (decision) date.
    assert cert.expires_on == dt.date(2029, 11, 21)
    assert cert.surveillance_due == [dt.date(2027, 11, 22), dt.date(2028, 11, 22)]
    assert register.entry(cert.number, LATER.date()).issued_on == dt.date(2026, 11, 22)

    info = PdfFileReader(io.BytesIO((tmp_path / "cert.pdf").read_bytes())).trailer["/Info"]
    assert str(info["/CreationDate"]) == "D:20261122101530Z"
    text = subprocess.run(
        [require_tool("pdftotext"), "-layout", "-f", "1", "-l", "1", str(tmp_path / "cert.pdf"), "-"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    flat = " ".join(text.split())
    assert "ISSUE DATE 22 November 2026 ASSESSMENT DATE 30 June 2026" in flat
    assert "VALID UNTIL 21 November 2029" in flat
    assert "SURVEILLANCE DUE 22 November 2027" in flat


def test_an_edited_result_or_a_missing_trail_cannot_be_certified(
    evaluation_folder: Path, tmp_path: Path
) -> None:
    copy = tmp_path / "evaluation"
    copy.mkdir()
    result = json.loads((evaluation_folder / "result.json").read_text(encoding="utf-8"))
    result["characteristics"][0]["verified_level"] = 5
    (copy / "result.json").write_text(json.dumps(result, indent=2), encoding="utf-8")
    with pytest.raises(InputError, match=r"trail\.jsonl") as caught:
        read_evaluation(copy)
    assert "missing" in str(caught.value)
    (copy / "trail.jsonl").write_bytes((evaluation_folder / "trail.jsonl").read_bytes())
    with pytest.raises(InputError, match="does not match the result digest the trail"):
        read_evaluation(copy)


def test_renewal_replaces_the_old_certificate_in_the_register(
    evaluation_folder: Path,
    rule_pack: RulePack,
    signing_key: SigningKey,
    register: Register,
    pki: TestPki,
    tmp_path: Path,
) -> None:
    first = _issue(evaluation_folder, rule_pack, signing_key, register, tmp_path / "first.pdf")
    second = _issue(
        evaluation_folder,
        rule_pack,
        signing_key,
        register,
        tmp_path / "second.pdf",
        renews=first.certificate.number,
    )
    assert second.certificate.renews == first.certificate.number
    assert register.status(first.certificate.number, TODAY) == "renewed"
    old = verify_certificate(
        first.path.read_bytes(), [pki.root_certificate()], today=TODAY, register=register.lookup
    )
    assert old.reasons == [f"certificate {first.certificate.number} is renewed in the register"]
    new = verify_certificate(
        second.path.read_bytes(), [pki.root_certificate()], today=TODAY, register=register.lookup
    )
    assert new.ok


def test_evaluated_carries_the_trail_head(evaluation_folder: Path) -> None:
    evaluated: Evaluated = read_evaluation(evaluation_folder)
    last = json.loads((evaluation_folder / "trail.jsonl").read_text(encoding="utf-8").splitlines()[-1])
    assert evaluated.trail_head == last["hash"]
    assert evaluated.raw == (evaluation_folder / "result.json").read_bytes()


def test_the_register_vouches_for_its_own_pdf_only(
    evaluation_folder: Path,
    rule_pack: RulePack,
    signing_key: SigningKey,
    register: Register,
    pki: TestPki,
    tmp_path: Path,
) -> None:
    """A second PDF under a number is INVALID against the register; a document timestamp added
    to the recorded PDF later (an incremental update, as B-LTA upkeep adds) still verifies."""
    issued = _issue(evaluation_folder, rule_pack, signing_key, register, tmp_path / "cert.pdf")
    number, pdf, roots = issued.certificate.number, issued.path.read_bytes(), [pki.root_certificate()]
    evaluated = read_evaluation(evaluation_folder)
    again = sign_certificate(
        render_certificate(issued.certificate, register.now()),
        {RESULT_FILE: evaluated.raw, CERTIFICATE_FILE: certificate_json(issued.certificate)},
        signing_key,
    )
    assert again != pdf
    assert verify_certificate(again, roots, today=TODAY).reasons == []  # a good signature, on its own
    assert verify_certificate(again, roots, today=TODAY, register=register.lookup).reasons == [
        f"this PDF is not the one the register recorded for {number}: none of its revisions has the "
        f"recorded SHA-256 {issued.pdf_sha256} (another PDF under the same number, or altered)"
    ]
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
    stamped = io.BytesIO()
    PdfTimeStamper(dummy_timestamper(pki)).timestamp_pdf(writer, "sha256", output=stamped)
    later = stamped.getvalue()
    assert later.startswith(pdf)
    assert len(later) > len(pdf)
    assert verify_certificate(later, roots, today=TODAY, register=register.lookup).reasons == []


def test_a_staged_pdf_of_a_dead_issue_is_swept_and_its_number_voided(
    evaluation_folder: Path,
    rule_pack: RulePack,
    signing_key: SigningKey,
    register: Register,
    pki: TestPki,
    tmp_path: Path,
) -> None:
    """The issuing process dies after signing, before recording: its staged PDF is signed and
    valid on its own, names a number the register never recorded, and the next issue sweeps it,
    voids the number and takes the next."""
    left: dict[str, Any] = {}

    def die_after_signing() -> None:
        with register.issuing(Scheme(), TODAY, "tester", staging=tmp_path) as issuing:
            left["number"], left["staged"] = issuing.number, issuing.write(b"%PDF-1.7 signed, not recorded")
            left["bytes"] = left["staged"].read_bytes()
            issuing.release()  # the lock dies with the process...
            raise KeyboardInterrupt  # ...and so, here, does the issue

    with pytest.raises(KeyboardInterrupt):
        die_after_signing()
    number, staged = left["number"], left["staged"]
    # The failure path removed the file and voided at once; a real kill leaves both for the sweep.
    assert not staged.exists()
    staged.write_bytes(left["bytes"])
    reserved = certificate_numbers.c.number == number
    with register._store.write() as connection:  # as a kill leaves it: reserved, not voided
        connection.execute(update(certificate_numbers).where(reserved).values(voided_on=None))
    assert register.lookup(number, TODAY) is None  # never verifies against the register
    assert register.sweep() == [number]
    assert not staged.exists()
    issued = _issue(evaluation_folder, rule_pack, signing_key, register, tmp_path / "cert.pdf")
    assert issued.certificate.number == f"ASSAY-{TODAY.year}-000002"


def test_a_recorded_certificate_left_staged_by_a_dead_issue_is_published_by_the_sweep(
    evaluation_folder: Path,
    rule_pack: RulePack,
    signing_key: SigningKey,
    register: Register,
    pki: TestPki,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The issue dies between recording the certificate and naming its PDF: the PDF is not lost
    under its hidden name; the next sweep gives it its name, and it verifies."""
    out = tmp_path / "cert.pdf"

    def killed(staged: Path, path: Path) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr("certificates.issue.publish", killed)
    with pytest.raises(KeyboardInterrupt):
        _issue(evaluation_folder, rule_pack, signing_key, register, out)
    (number,) = [e.number for e in register.entries(TODAY)]
    staged = tmp_path / f"{STAGED_PREFIX}{number}.pdf"
    assert staged.is_file()
    assert not out.exists()
    assert register.sweep() == [number]
    assert not staged.exists()
    verification = verify_certificate(
        out.read_bytes(), [pki.root_certificate()], today=TODAY, register=register.lookup
    )
    assert verification.reasons == []
    assert register.sweep() == []  # nothing left staged
