"""``assay demo``: the whole certification process on the bundled sample community.

Application, audit team, evidence submission, auditors' verdicts, a finding, evaluation, a
refused decision (the lead auditor may not decide), the reviewer's decision, issuing a signed
TEST certificate, and checking it, each step printed. Everything lands in one folder: a SQLite
store, a fresh test PKI, the certificate, and the evaluation's result and trail. Dates stand at
the sample's assessment date, so the store's records are the same on every run.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import sys
from pathlib import Path

from rich.console import Console

import examples
from assay.cert_cli import print_issued, print_verification
from assay.report import print_table, summary_markdown
from audits.blobs import Blobs
from audits.casework import Casework
from audits.decisions import Decisions
from audits.engagements import Engagements, Verdict
from audits.errors import RefusedError
from audits.people import load_people
from audits.store import open_store
from certificates.awarding import Awarding
from certificates.errors import VerificationError
from certificates.keys import load_signing_key, read_password
from certificates.pki import init_test_pki
from certificates.register import Register
from certificates.scheme import Scheme
from certificates.verify import verify_certificate
from engine.evaluation import Inference
from engine.result import Result
from engine.rulepack import RulePack
from engine.sources import FixedClock, SystemClock
from engine.trail import verify_lines

BODY = "Assay Demo Certification Body"
SUBMITTER, LEAD, AUDITOR, REVIEWER, ADMIN = "mei.harbourton", "rolu", "amira", "jonas", "sofia"


def run_demo(console: Console, out: Path, rules: RulePack, inference: Inference) -> None:
    """Run the lifecycle into ``out`` (replaced if it exists)."""
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    data = out / "data"
    store = open_store(data)
    clock = FixedClock.at_date(examples.SAMPLE_AS_OF)
    args = (store, Blobs(data / "attachments"), clock, rules)
    engagements, decisions, casework, awarding = (
        Engagements(*args),
        Decisions(*args),
        Casework(*args),
        Awarding(*args),
    )

    def step(text: str) -> None:
        console.print(f"[bold]>[/bold] {text}")

    added = engagements.import_people(load_people(examples.people_file()), None)["added"]
    step(f"People loaded from {examples.people_file().name}: {', '.join(added)}")
    submission, verdicts = _submission(examples.sample_pack(), out / "submission")
    community = json.loads((submission / "pack.json").read_text(encoding="utf-8"))["community"]
    eid = engagements.create(SUBMITTER, community["id"], community["name"], [])
    step(f"{SUBMITTER} applies for {rules.model.standard} certification of {community['name']}: {eid}")
    engagements.assign(ADMIN, eid, lead=LEAD, auditors=[AUDITOR], reviewer=REVIEWER)
    step(f"{ADMIN} assigns lead auditor {LEAD}, auditor {AUDITOR}, reviewer {REVIEWER}")
    version = engagements.submit(SUBMITTER, eid, submission)
    step(f"{SUBMITTER} submits the evidence pack: version {version}")
    try:
        engagements.verify(SUBMITTER, eid, verdicts[:1])
    except RefusedError as exc:
        step(f"refused and recorded: {exc}")
    engagements.verify(LEAD, eid, verdicts)
    accepted = sum(v.verdict == "accepted" for v in verdicts)
    step(
        f"{LEAD} records {len(verdicts)} verdicts ({accepted} accepted, {len(verdicts) - accepted} rejected)"
    )
    due = examples.SAMPLE_AS_OF + dt.timedelta(days=90)
    number = casework.raise_finding(
        AUDITOR,
        eid,
        severity="minor",
        statement="KPI review interval not documented for two indicators",
        due_on=due,
    )
    step(f"{AUDITOR} raises minor finding {number}, due {due}")
    record = decisions.evaluate(LEAD, eid, inference)
    step(f"{LEAD} evaluates evidence version {record.pack_version} (evaluation {record.number}):")
    print_table(console, Result.model_validate_json(record.result))
    try:
        decisions.decide(LEAD, eid, "certify", "I audited it")
    except RefusedError as exc:
        step(f"refused and recorded: {exc}")
    decisions.decide(REVIEWER, eid, "certify", "Evidence and verdicts support the verified profile")
    step(f"{REVIEWER} (not on the audit team) decides: certify")
    _write_evaluation(out, record.result, record.trail, summary_markdown_of(record.result, record.trail_head))
    pki = init_test_pki(out / "test-pki", SystemClock().now())
    key = load_signing_key(pki.signer_p12, read_password(None, pki.signer_password))
    issued = awarding.issue(
        ADMIN, eid, key, body=BODY, language="en+zh", out=out / "certificate.pdf", scheme=Scheme()
    )
    step(f"{ADMIN} issues the certificate")
    print_issued(console, issued)
    today = SystemClock().now().date()
    verification = verify_certificate(
        issued.path.read_bytes(), [pki.root_certificate()], today=today, status=Register(store, clock).status
    )
    print_verification(verification)
    if not verification.ok:
        raise VerificationError(verification.reasons)
    # Plain writes: the commands must stay on one line to be copied, whatever the terminal width.
    sys.stdout.write("Check it yourself (offline):\n")
    sys.stdout.write(f"  assay verify {issued.path} --trust {pki.root} --register {data}\n")
    sys.stdout.write(f"  assay trail verify --store {data}\n")
    sys.stdout.write(f"  assay engagement status {eid} --data {data}\n")
    sys.stdout.write(f"  pdfsig {issued.path}   (poppler-utils; trust {pki.root} in NSS to see it trusted)\n")


def _submission(sample: Path, target: Path) -> tuple[Path, list[Verdict]]:
    """Copy the sample pack without its verifications (a community never submits verdicts) and
    return the verdicts for the auditors to record."""
    shutil.copytree(sample, target)
    manifest = json.loads((target / "pack.json").read_text(encoding="utf-8"))
    verdicts = [
        Verdict(v["evidence_id"], v["verdict"], v["method"], v["reason"])
        for v in manifest.pop("verifications")
    ]
    (target / "pack.json").write_text(
        json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    return target, verdicts


def summary_markdown_of(result: bytes, head: str) -> bytes:
    """The evaluation's summary.md."""
    return summary_markdown(Result.model_validate_json(result), head).encode("utf-8")


def _write_evaluation(out: Path, result: bytes, trail: str, summary: bytes) -> None:
    """result.json, trail.jsonl and summary.md as ``assay evaluate --out`` writes them."""
    verify_lines(trail.splitlines())
    (out / "result.json").write_bytes(result)
    (out / "trail.jsonl").write_text(trail, encoding="utf-8")
    (out / "summary.md").write_bytes(summary)
