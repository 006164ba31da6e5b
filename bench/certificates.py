"""Benchmark: rendering, signing and verifying certificates; issuing a batch into a register.

    python -m bench.certificates [--repeat 50] [--batch 1000]

In process, on the demo's evaluation (Harbourton, 32 characteristics) with a fresh test PKI:
median of N for render (English and bilingual), B-B signing, render + sign, and verification;
then ``--batch`` certificates issued one after another through the whole issuing path (number
from the register, render, sign, atomic file write, register record and trail, one transaction
each) into a fresh SQLite register. Targets (issue 5): render + sign ≤ 150 ms median, verify
≤ 50 ms median, 1,000 issued in under 3 minutes.
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import examples
import rules
from assay.evaluate_cli import output_files, run_evaluation
from assay.output import write_folder
from audits.store import open_store
from certificates.content import Issuance, build_certificate
from certificates.issue import (
    CERTIFICATE_FILE,
    RESULT_FILE,
    Decision,
    Evaluated,
    certificate_json,
    issue_certificate,
    read_evaluation,
)
from certificates.keys import SigningKey, load_signing_key, read_password
from certificates.pki import init_test_pki
from certificates.register import Register
from certificates.render import render_certificate
from certificates.scheme import Scheme
from certificates.signing import sign_certificate
from certificates.verify import verify_certificate
from engine.rulepack import RulePack, load_rule_pack
from engine.sources import SystemClock


def _median_ms(repeat: int, work: Callable[[], Any]) -> float:
    work()  # warm up: font registration, parsed keys, imports
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=50)
    parser.add_argument("--batch", type=int, default=1000)
    args = parser.parse_args()
    pack = load_rule_pack(rules.bundled())
    evaluation = run_evaluation(pack, examples.sample_pack(), examples.SAMPLE_AS_OF, "durable")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        write_folder(folder / "evaluation", output_files(evaluation), replace=False)
        evaluated = read_evaluation(folder / "evaluation")
        pki = init_test_pki(folder / "pki", SystemClock().now())
        key = load_signing_key(pki.signer_p12, read_password(None, pki.signer_password))
        today = SystemClock().now().date()
        certs = {
            lang: build_certificate(
                evaluated.result,
                pack.model,
                Scheme(),
                Issuance("ASSAY-2026-000001", today, "Bench Body", "Ana", "Dee", lang, True),
                trail_head=evaluated.trail_head,
                result_digest="sha256:" + "0" * 64,
            )
            for lang in ("en", "en+zh")
        }
        attachments = {RESULT_FILE: evaluated.raw, CERTIFICATE_FILE: certificate_json(certs["en"])}
        unsigned = render_certificate(certs["en"])
        signed = sign_certificate(unsigned, attachments, key)
        root = [pki.root_certificate()]
        figures = {
            "render (en)": _median_ms(args.repeat, lambda: render_certificate(certs["en"])),
            "render (en+zh)": _median_ms(args.repeat, lambda: render_certificate(certs["en+zh"])),
            "sign B-B": _median_ms(args.repeat, lambda: sign_certificate(unsigned, attachments, key)),
            "render + sign (en)": _median_ms(
                args.repeat, lambda: sign_certificate(render_certificate(certs["en"]), attachments, key)
            ),
            "verify B-B": _median_ms(args.repeat, lambda: verify_certificate(signed, root, today=today)),
        }
        print(
            f"certificate PDF: {len(unsigned) / 1024:.0f} KiB unsigned, {len(signed) / 1024:.0f} KiB signed"
        )
        for name, ms in figures.items():
            print(f"{name:>20}: median {ms:6.1f} ms over {args.repeat}")
        _batch(args.batch, folder, evaluated, pack, key, today)


def _batch(
    count: int, folder: Path, evaluated: Evaluated, pack: RulePack, key: SigningKey, today: dt.date
) -> None:
    register = Register(open_store(folder / "data"), SystemClock())
    out = folder / "issued"
    out.mkdir()
    decision = Decision("Bench Body", "Ana Auditor", "Dee Decider", "en", today)
    start = time.perf_counter()
    for n in range(count):
        issue_certificate(
            evaluated, pack, Scheme(), decision, key, register, out=out / f"{n}.pdf", actor="bench"
        )
    elapsed = time.perf_counter() - start
    checked = register.verify_trail()
    print(
        f"issued {count} certificates in {elapsed:.1f} s ({elapsed / count * 1000:.0f} ms each); "
        f"register trail intact: {checked.records} records"
    )


if __name__ == "__main__":
    main()
