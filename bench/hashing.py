"""Benchmark: attachment hashing against ``openssl dgst -sha256`` on the same files.

    python -m bench.hashing [--megabytes 1024] [--files 16] [--repeat 3]

Writes the files to a temporary folder, reads them once to warm the page cache, then takes
the best of N runs of each: ``openssl dgst -sha256`` over all files, and the pack reader's
streaming hash (``evidence_schemas.reader.hash_stream``). Target (issue 3): 80 % or more of
openssl's throughput.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import tempfile
import time
from pathlib import Path

from evidence_schemas.reader import hash_stream


def _files(folder: Path, megabytes: int, count: int) -> list[Path]:
    size = megabytes * (1 << 20) // count
    block = os.urandom(1 << 20)
    paths = []
    for index in range(count):
        path = folder / f"attachment-{index:03d}.bin"
        with path.open("wb") as handle:
            for _ in range(size // len(block)):
                handle.write(block)
        paths.append(path)
    return paths


def _ours(paths: list[Path]) -> list[str]:
    digests = []
    for path in paths:
        with path.open("rb") as handle:
            digests.append(hash_stream(handle, 1 << 40)[0])
    return digests


def _openssl(paths: list[Path]) -> list[str]:
    done = subprocess.run(
        ["openssl", "dgst", "-sha256", *map(str, paths)], capture_output=True, text=True, check=True
    )
    return [line.rsplit("= ", 1)[1] for line in done.stdout.splitlines()]


def _best(run: object, repeat: int) -> float:
    assert callable(run)
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--megabytes", type=int, default=1024)
    parser.add_argument("--files", type=int, default=16)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        paths = _files(Path(tmp), args.megabytes, args.files)
        total = sum(p.stat().st_size for p in paths) / (1 << 20)
        assert _ours(paths) == _openssl(paths), "digests differ"
        openssl = _best(lambda: _openssl(paths), args.repeat)
        ours = _best(lambda: _ours(paths), args.repeat)
        print(f"{total:.0f} MiB in {args.files} files, page cache warm, best of {args.repeat}")
        print(f"openssl dgst -sha256 : {openssl:6.2f} s  {total / openssl:7.1f} MiB/s")
        share = openssl / ours * 100
        print(f"assay hash_stream     : {ours:6.2f} s  {total / ours:7.1f} MiB/s  ({share:.0f} % of openssl)")


if __name__ == "__main__":
    main()
