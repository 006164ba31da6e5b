"""Benchmark: how fast the command line answers, against a bare interpreter in the same run.

    python -m bench.cli [--repeat 15]

Runs each command as a user would (a fresh process of the installed ``assay`` script, output
discarded) pinned to one core with ``taskset`` where it exists, interleaving the commands so a
busy moment of the machine touches them all alike; reports the median wall time of each and its
ratio to ``python -c pass`` (the same interpreter). Targets (issue 12): ``assay --help`` within
8x, ``assay rules explain 1.1.1`` within 12x, ``assay evaluate examples/harbourton --as-of
2026-06-30 --out DIR`` within 1.0 s. Exits 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _time(argv: list[str], before: list[Path]) -> float:
    for folder in before:
        shutil.rmtree(folder, ignore_errors=True)
    start = time.perf_counter()
    subprocess.run(argv, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    python = sys.executable
    assay = str(Path(python).with_name("assay"))
    pin = ["taskset", "-c", "0"] if shutil.which("taskset") and os.cpu_count() else []
    out = Path(tempfile.mkdtemp(prefix="assay-bench-cli-"))
    commands: dict[str, tuple[list[str], list[Path]]] = {
        "python -c pass": ([python, "-c", "pass"], []),
        "assay --help": ([assay, "--help"], []),
        "assay rules explain 1.1.1": ([assay, "rules", "explain", "1.1.1"], []),
        "assay evaluate examples/harbourton": (
            [assay, "evaluate", "examples/harbourton", "--as-of", "2026-06-30", "--out", str(out / "ev")],
            [out / "ev"],
        ),
    }
    times: dict[str, list[float]] = {name: [] for name in commands}
    try:
        for argv, before in commands.values():  # warm the page cache and .pyc files
            _time(pin + argv, before)
        for _ in range(args.repeat):
            for name, (argv, before) in commands.items():
                times[name].append(_time(pin + argv, before))
    finally:
        shutil.rmtree(out, ignore_errors=True)
    median = {name: statistics.median(values) for name, values in times.items()}
    base = median["python -c pass"]
    targets = {
        "assay --help": ("ratio", 8.0),
        "assay rules explain 1.1.1": ("ratio", 12.0),
        "assay evaluate examples/harbourton": ("seconds", 1.0),
    }
    core = "one core (taskset -c 0)" if pin else "unpinned"
    print(f"median of {args.repeat} runs each, {core}; python: {python}")
    print(f"{'command':40} {'median':>9} {'ratio':>7}  target")
    missed = 0
    for name, seconds in median.items():
        ratio = seconds / base
        target = ""
        if name in targets:
            kind, limit = targets[name]
            ok = ratio <= limit if kind == "ratio" else seconds <= limit
            missed += not ok
            bound = f"<= {limit:g}x" if kind == "ratio" else f"<= {limit:g} s"
            target = f"{bound} {'ok' if ok else 'MISSED'}"
        print(f"{name:40} {seconds * 1000:7.1f} ms {ratio:6.1f}x  {target}")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
