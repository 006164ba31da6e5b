"""Benchmark: what a change to a rule pack costs, measured in one process.

    python -m bench.rules_change BEFORE_DIR AFTER_DIR [--size 1000] [--rounds 15]

Evaluates the same synthetic evidence (1,000 items by default, every requirement that asks for a
judgement judged) against the two rule-pack folders alternately, on durable_rules and on the
reference evaluator, and prints the median full evaluation of each and their ratio. Alternating
in one process keeps a noisy machine from favouring either side, which separate runs cannot.
Pin it to one core (``taskset -c 0``) for steadier figures. An older pack can be had with
``git archive COMMIT rules/iso37107-2019 | tar -x -C DIR``.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from bench.evaluate import _evaluate, judged_evidence
from engine.durable_engine import DurableInference
from engine.evaluation import Inference
from engine.reference import ReferenceInference
from engine.rulepack import load_rule_pack
from evidence_schemas.reader import pack_digest


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    parser.add_argument("before", type=Path, help="rule-pack folder before the change")
    parser.add_argument("after", type=Path, help="rule-pack folder after the change")
    parser.add_argument("--size", type=int, default=1000, help="evidence items")
    parser.add_argument("--rounds", type=int, default=15, help="evaluations of each pack per engine")
    args = parser.parse_args()
    packs = {"before": load_rule_pack(args.before), "after": load_rule_pack(args.after)}
    engines: dict[str, Inference] = {"durable_rules": DurableInference(), "reference": ReferenceInference()}
    print(f"{args.size} items, {args.rounds} alternating rounds; median full evaluation")
    for engine_name, engine in engines.items():
        prepared = {}
        for name, rules in packs.items():
            pack = judged_evidence(rules, args.size)
            prepared[name] = (rules, pack, pack_digest(pack))
            _evaluate(*prepared[name], engine)  # compiles and registers rulesets once
        times: dict[str, list[float]] = {name: [] for name in packs}
        for _ in range(args.rounds):
            for name, (rules, pack, digest) in prepared.items():
                start = time.perf_counter()
                _evaluate(rules, pack, digest, engine)
                times[name].append(time.perf_counter() - start)
        before, after = (statistics.median(times[n]) * 1000 for n in ("before", "after"))
        print(f"{engine_name:>13}: before {before:.1f} ms, after {after:.1f} ms, ratio {after / before:.2f}")


if __name__ == "__main__":
    main()
