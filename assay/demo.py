"""``assay demo``: the whole certification process on the bundled sample community.

Application, audit team, evidence submission, auditors' verdicts, a finding, evaluation, a
refused decision (the lead auditor may not decide), the reviewer's decision, issuing a signed
TEST certificate, and checking it, each step printed. Everything lands in one folder: a SQLite
store, a fresh test PKI, the certificate, and the evaluation's result and trail. The audit (people,
application, evidence, verdicts, finding, evaluation) stands at the sample's assessment date; the
decision and the certificate are dated by the injected clock (the real one from the CLI), as a
certification body's would be, never backdated to the assessment.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shlex
import shutil
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import click
from rich.console import Console

import examples
from assay.cert_cli import print_issued, print_verification
from assay.options import engine_option, inference, load_rules
from assay.report import print_table, summary_markdown
from assay.terminal import console
from audits.blobs import Blobs
from audits.casework import Casework
from audits.decisions import Decisions
from audits.engagements import Engagements, Verdict
from audits.errors import RefusedError
from audits.judging import JudgementEntry, Judging
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
from engine.sources import Clock, FixedClock, SystemClock
from engine.trail import verify_file, verify_lines

BODY = "Assay Demo Certification Body"
SUBMITTER, LEAD, AUDITOR, REVIEWER, ADMIN = "mei.harbourton", "rolu", "amira", "jonas", "sofia"


@dataclass(frozen=True)
class DemoOutcome:
    """What the demo made, for the commands that check it."""

    engagement: str
    certificate: Path
    trust_anchor: Path


def run_demo(
    console: Console, out: Path, rules: RulePack, inference: Inference, *, clock: Clock
) -> DemoOutcome:
    """Run the lifecycle into ``out`` (replaced if it exists); ``clock`` dates the decision and
    the certificate."""
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    data = out / "data"
    store = open_store(data)
    audit_clock = FixedClock.at_date(examples.SAMPLE_AS_OF)
    blobs = Blobs(data / "attachments")
    engagements, decisions, casework = (
        Engagements(store, blobs, audit_clock, rules),
        Decisions(store, blobs, audit_clock, rules),
        Casework(store, blobs, audit_clock, rules),
    )
    deciding, awarding = Decisions(store, blobs, clock, rules), Awarding(store, blobs, clock, rules)

    def step(text: str) -> None:
        console.print(f"[bold]>[/bold] {text}")

    added = engagements.import_people(load_people(examples.people_file()), None)["added"]
    step(f"People loaded from {examples.people_file().name}: {', '.join(added)}")
    submission, verdicts, judged = sample_submission(examples.sample_pack(), out / "submission")
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
    Judging(store, blobs, audit_clock, rules).judge(AUDITOR, eid, judged)
    ratings = Counter(j.rating for j in judged)
    step(
        f"{AUDITOR} judges {len(judged)} requirements ("
        + ", ".join(f"{ratings[r]} {r}" for r in ("fully", "largely", "partially", "not") if ratings[r])
        + ")"
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
        deciding.decide(LEAD, eid, "certify", "I audited it")
    except RefusedError as exc:
        step(f"refused and recorded: {exc}")
    deciding.decide(REVIEWER, eid, "certify", "Evidence and verdicts support the verified profile")
    step(f"{REVIEWER} (not on the audit team) decides on {clock.now().date()}: certify")
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
        issued.path.read_bytes(),
        [pki.root_certificate()],
        today=today,
        register=Register(store, clock).lookup,
    )
    print_verification(verification)
    if not verification.ok:
        raise VerificationError(verification.reasons)
    return DemoOutcome(eid, issued.path, pki.root)


def check_commands(assay: str, out: Path, engagement: str, pdf: Path, root: Path) -> str:
    """The "check it yourself" commands: one per line, each runnable as printed in the shell
    that ran the demo, comments on lines of their own. Plain text, never wrapped, so a line
    can be copied whatever the terminal's width."""
    q = shlex.quote
    data, nss = out / "data", out / "nssdb"
    lines = [
        "Check it yourself (offline), in this shell:",
        "# the certificate: signature, embedded result, register status",
        f"{assay} verify {q(str(pdf))} --trust {q(str(root))} --register {q(str(data))}",
        "# the store's hash-chained trail",
        f"{assay} trail verify --store {q(str(data))}",
        "# the evaluation's trail",
        f"{assay} trail verify {q(str(out / 'trail.jsonl'))}",
        "# where the engagement stands",
        f"{assay} engagement status {q(engagement)} --data {q(str(data))}",
        "# an independent validator (poppler-utils, libnss3-tools): trust the test root, then check",
        f"mkdir -p {q(str(nss))} && certutil -N -d {q(str(nss))} --empty-password",
        f"certutil -A -d {q(str(nss))} -n assay-test-root -t CT,C,C -i {q(str(root))}",
        f"pdfsig -nssdir {q(str(nss))} {q(str(pdf))}",
    ]
    return "".join(line + "\n" for line in lines)


def invocation() -> str:
    """The command that started this process, as the same shell would run it again."""
    program = sys.argv[0] if sys.argv else ""
    if not program or Path(program).name == "__main__.py":
        return f"{shlex.quote(sys.executable)} -m assay"
    if os.sep not in program:
        program = shutil.which(program) or program
    return shlex.quote(program)


def sample_submission(sample: Path, target: Path) -> tuple[Path, list[Verdict], list[JudgementEntry]]:
    """Copy the sample pack without its auditor's section (a community never submits verdicts or
    judgements) and return the verdicts and judgements for the auditors to record (the demo, and
    the tests and benchmarks that play the same engagement)."""
    shutil.copytree(sample, target)
    manifest = json.loads((target / "pack.json").read_text(encoding="utf-8"))
    verdicts = [
        Verdict(v["evidence_id"], v["verdict"], v["method"], v["reason"])
        for v in manifest.pop("verifications")
    ]
    judged = [
        JudgementEntry(j["requirement"], j["rating"], tuple(j["cites"]), j["method"], j["reason"])
        for j in manifest.pop("judgements", [])
    ]
    (target / "pack.json").write_text(
        json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    return target, verdicts, judged


def summary_markdown_of(result: bytes, head: str) -> bytes:
    """The evaluation's summary.md."""
    return summary_markdown(Result.model_validate_json(result), head).encode("utf-8")


def _write_evaluation(out: Path, result: bytes, trail: str, summary: bytes) -> None:
    """result.json, trail.jsonl and summary.md as ``assay evaluate --out`` writes them."""
    verify_lines(trail.splitlines())
    (out / "result.json").write_bytes(result)
    (out / "trail.jsonl").write_text(trail, encoding="utf-8")
    (out / "summary.md").write_bytes(summary)


@click.command("demo")
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    default=Path("assay-demo"),
    show_default=True,
    help="Folder for the demo's outputs (replaced if it exists).",
)
@click.option(
    "--date",
    "day",
    type=click.DateTime(["%Y-%m-%d"]),
    default=None,
    help="Day of the decision and the certificate (default today); the audit stands at the sample's date.",
)
@click.option(
    "--serve",
    is_flag=True,
    help="Instead: load the demo's people and Harbourton's engagement and serve them in a browser, "
    "printing a sign-in (a generated password) for each role.",
)
@click.option("--host", default="127.0.0.1", show_default=True, help="With --serve: address to listen on.")
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=8000,
    show_default=True,
    help="With --serve: port (0: any free).",
)
@engine_option
def demo_command(out: Path, day: dt.datetime | None, serve: bool, host: str, port: int, engine: str) -> None:
    """Run the whole certification process on the sample community, to a signed TEST certificate."""
    terminal = console()
    pack = load_rules(None)
    if serve:
        from assay.demo_serve import serve as serve_demo

        def echo(text: str) -> None:
            sys.stdout.write(text)
            sys.stdout.flush()

        serve_demo(out, pack, host, port, echo)
        return
    terminal.print(
        f"Rule pack {pack.id}: {len(pack.characteristics)} of "
        f"{len(pack.model.characteristics())} characteristics encoded, digest {pack.digest}"
    )
    terminal.print(f"Sample community: {examples.sample_pack()}, assessed as of {examples.SAMPLE_AS_OF}")
    clock: Clock = FixedClock.at_date(day.date()) if day is not None else SystemClock()
    made = run_demo(terminal, out, pack, inference(engine), clock=clock)
    checked = verify_file(out / "trail.jsonl")
    terminal.print(f"Wrote {out}/result.json, {out}/trail.jsonl and {out}/summary.md")
    terminal.print(f"Evaluation trail verified: {checked.records} records, head {checked.head}")
    sys.stdout.write(check_commands(invocation(), out, made.engagement, made.certificate, made.trust_anchor))
