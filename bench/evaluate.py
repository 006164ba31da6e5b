"""Benchmark: full evaluations of a 32-characteristic pack, on one core.

    python -m bench.evaluate [--sizes 100 1000 10000] [--sequential 1000] [--rules synthetic|bundled]

Prints, per evidence-pack size: the median time of a full evaluation (normalise, infer, build
the result, chain the trail) on the durable_rules path and on the reference evaluator, the cost
per item, and the peak RSS of a fresh process doing that size on the durable_rules path. Then
the RSS after the first 10 and after N sequential evaluations in one process.

Targets (issue 2): 1,000 items <= 250 ms; 10,000 items <= 2.5 s, cost no worse than linear;
peak RSS < 200 MB at 10,000; RSS after 1,000 evaluations within 10 % of RSS after 10.
Each measurement runs in its own child process pinned to CPU 0.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import rules as bundled_rules
from bench.synthetic import AS_OF, evidence, write_rule_pack
from engine.durable_engine import DurableInference
from engine.evaluation import Evaluation, Inference, evaluate
from engine.judging import judge_every_requirement
from engine.reference import ReferenceInference
from engine.rulepack import RulePack, load_rule_pack
from engine.sources import DigestIds, FixedClock
from evidence_schemas.pack import EvidencePack
from evidence_schemas.reader import pack_digest


def _one_core() -> None:
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {0})


def _rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def _evaluate(rules: RulePack, pack: EvidencePack, digest: str, inference: Inference) -> Evaluation:
    return evaluate(
        rules,
        pack,
        digest,
        as_of=AS_OF,
        clock=FixedClock.at_date(AS_OF),
        ids=DigestIds(digest),
        inference=inference,
    )


def judged_evidence(rules: RulePack, size: int) -> EvidencePack:
    """The synthetic pack with an auditor's judgement of every requirement that asks for one
    (fully, citing what qualifies), so the judged path is measured, not skipped."""
    pack = evidence(size)
    judged = judge_every_requirement(
        rules,
        pack,
        AS_OF,
        decide=lambda _, qualifying: ("fully", qualifying),
        auditor="bench",
        reason="bench",
    )
    return pack.model_copy(update={"judgements": judged})


def child_timing(rules_dir: Path, size: int, engine: str, runs: int) -> dict[str, Any]:
    """Median evaluation time for one size and engine (runs in a child process)."""
    _one_core()
    rules = load_rule_pack(rules_dir)
    pack = judged_evidence(rules, size)
    digest = pack_digest(pack)
    inference: Inference = DurableInference() if engine == "durable" else ReferenceInference()
    first = _evaluate(rules, pack, digest, inference)  # compiles and registers rulesets once
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        again = _evaluate(rules, pack, digest, inference)
        times.append(time.perf_counter() - start)
        assert again.result == first.result
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    levels = [c.verified_level for c in first.result.characteristics]
    return {
        "median_s": statistics.median(times),
        "peak_mib": peak,
        "levels": levels,
        "records": len(first.trail),
    }


def child_sequential(rules_dir: Path, size: int, count: int) -> dict[str, Any]:
    """RSS after 10 and after ``count`` sequential evaluations on durable_rules."""
    _one_core()
    rules = load_rule_pack(rules_dir)
    pack = judged_evidence(rules, size)
    digest = pack_digest(pack)
    inference = DurableInference()
    rss = {}
    for done in range(1, count + 1):
        _evaluate(rules, pack, digest, inference)
        if done in (10, count):
            rss[done] = _rss_mib()
    return {"after_10": rss[10], f"after_{count}": rss[count], "growth": rss[count] / rss[10] - 1}


def _spawn(*args: str) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-m", "bench.evaluate", *args], capture_output=True, text=True, check=True
    )
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 1000, 10000])
    parser.add_argument("--sequential", type=int, default=1000, help="evaluations for the memory check")
    parser.add_argument("--sequential-size", type=int, default=100)
    parser.add_argument(
        "--rules",
        choices=["synthetic", "bundled"],
        default="synthetic",
        help="synthetic: a generated 32-characteristic pack; bundled: the shipped ISO/TS 37107:2019 pack",
    )
    parser.add_argument("--child", nargs=4, metavar=("KIND", "RULES", "SIZE", "ARG"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        kind, rules_dir, size, arg = args.child
        if kind == "sequential":
            print(json.dumps(child_sequential(Path(rules_dir), int(size), int(arg))))
        else:
            print(json.dumps(child_timing(Path(rules_dir), int(size), kind, int(arg))))
        return
    with tempfile.TemporaryDirectory() as tmp:
        rules_dir = (
            write_rule_pack(Path(tmp) / "pack") if args.rules == "synthetic" else bundled_rules.bundled()
        )
        pack = load_rule_pack(rules_dir)
        print(
            f"rule pack: {len(pack.characteristics)} characteristics, "
            f"{sum(len(lv.requirements) for c in pack.characteristics.values() for lv in c.levels.values())} "
            f"top-level requirements; one core; median of repeated full evaluations"
        )
        header = (
            f"{'items':>7} | {'durable_rules':>13} | {'per item':>9} | {'reference':>9} | {'peak RSS':>9}"
        )
        print(header)
        print("-" * len(header))
        for size in args.sizes:
            runs = "3" if size >= 10000 else "7"
            durable = _spawn("--child", "durable", str(rules_dir), str(size), runs)
            reference = _spawn("--child", "reference", str(rules_dir), str(size), runs)
            assert durable["levels"] == reference["levels"], "engines disagree"
            median, per_item = durable["median_s"] * 1000, durable["median_s"] / size * 1e6
            print(
                f"{size:>7} | {median:>10.1f} ms | {per_item:>6.1f} µs "
                f"| {reference['median_s'] * 1000:>6.1f} ms | {durable['peak_mib']:>5.1f} MiB"
            )
        sequential = _spawn(
            "--child", "sequential", str(rules_dir), str(args.sequential_size), str(args.sequential)
        )
        print(
            f"\nRSS after 10 evaluations of {args.sequential_size} items: {sequential['after_10']:.1f} MiB; "
            f"after {args.sequential}: {sequential[f'after_{args.sequential}']:.1f} MiB "
            f"({sequential['growth'] * 100:+.1f} %)"
        )


if __name__ == "__main__":
    main()
