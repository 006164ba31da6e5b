"""Benchmark: validating an evidence-pack manifest of many items, JSON and XML.

    python -m bench.manifest [--items 10000] [--repeat 5]

Times the whole intake of a pack folder holding only its manifest (``read_pack``: parse,
schema, XSD for XML, model validation, line map, container checks), median of N runs.
Target (issue 3): 10,000 items in under 2 s.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from bench.synthetic import evidence
from evidence_schemas.reader import read_pack
from evidence_schemas.writer import write_manifest


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--items", type=int, default=10000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    pack = evidence(args.items)
    with tempfile.TemporaryDirectory() as tmp:
        for fmt in ("json", "xml"):
            folder = Path(tmp) / fmt
            folder.mkdir()
            path = write_manifest(folder, pack, fmt)
            times = []
            for _ in range(args.repeat):
                start = time.perf_counter()
                loaded = read_pack(folder)
                times.append(time.perf_counter() - start)
            assert loaded.pack == pack
            size = path.stat().st_size / (1 << 20)
            print(f"{fmt:>4}: {args.items} items, {size:5.1f} MiB manifest, "
                  f"median {statistics.median(times):.2f} s over {args.repeat} runs")  # fmt: skip


if __name__ == "__main__":
    main()
