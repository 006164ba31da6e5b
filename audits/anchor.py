"""The trail's head, kept outside the database: an append-only file of ``<seq> <hash>`` lines.

After every write transaction that appended trail records commits, the store appends the new
head to the anchor file (one ``write`` with ``O_APPEND``, so lines of concurrent writers never
interleave, though they may land out of order). A SQLite store keeps it beside its database
(``assay.db`` -> ``assay.head``); a PostgreSQL store keeps it where the operator names
(``ASSAY_ANCHOR``), ideally on another machine or an append-only mount (``chattr +a``).

Every line is a promise the database cannot take back: the trail must still hold record
``seq`` with that hash. A trail cut short, emptied or rewritten and re-hashed breaks one. A
crash between commit and anchoring leaves the anchor one transaction behind, which verifies (the
chain only grew past it).
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import IO

from audits.errors import StoreError

ANCHOR_ENV = "ASSAY_ANCHOR"
"""Environment variable naming the anchor file of a store given as a URL."""
MAX_LINE = 200
_LINE = re.compile(r"^(\d{1,12}) (sha256:[0-9a-f]{64})$")


def anchor_beside(database: Path) -> Path:
    """The default anchor of a SQLite database file."""
    return database.with_suffix(".head")


def append_head(path: Path, seq: int, head: str) -> None:
    """Append one head line; the line is written in one call, so it is whole or absent."""
    line = f"{seq} {head}\n".encode("ascii")
    try:
        # O_NONBLOCK: a FIFO put in its place fails at once instead of waiting for a reader.
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK, 0o644)
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise OSError(0, "not a regular file")
            os.write(fd, line)
        finally:
            os.close(fd)
    except OSError as exc:
        raise StoreError(
            f"the change is committed, but its trail head (record {seq}) could not be anchored in {path}: "
            f"{exc.strerror or exc}"
        ) from None


def check_anchor(path: Path, hashes: Mapping[int, str]) -> list[str]:
    """Every way the trail (``seq -> hash``) breaks a line of the anchor at ``path``.

    A missing anchor is a problem only when the trail has records: somebody removed it.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except FileNotFoundError:
        if hashes:
            return [f"the anchor {path} is missing: the trail's end cannot be checked (was it removed?)"]
        return []
    except OSError as exc:
        return [f"the anchor {path} cannot be read: {exc.strerror}"]
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        return [f"the anchor {path} is not a regular file"]
    problems: list[str] = []
    last = max(hashes, default=0)
    highest = 0
    with os.fdopen(fd, "rb") as lines:
        for number, raw in enumerate(_bounded_lines(lines), start=1):
            text = raw.decode("ascii", "replace").rstrip("\n")
            match = _LINE.match(text)
            if match is None:
                problems.append(f"{path}, line {number}: not '<seq> sha256:<hex>'")
                continue
            seq, head = int(match[1]), match[2]
            highest = max(highest, seq)
            if seq > last:
                continue  # reported once below
            if hashes[seq] != head:
                problems.append(
                    f"trail record {seq} is not the one anchored at {path}, line {number}: "
                    "the chain was rewritten"
                )
                if len(problems) >= 20:
                    break
    if highest > last:
        problems.insert(
            0,
            f"the trail ends at record {last}, but {path} anchors record {highest}: "
            "records were deleted from the trail",
        )
    return problems


def _bounded_lines(stream: IO[bytes]) -> Iterator[bytes]:
    """The file's lines, each cut at :data:`MAX_LINE` bytes (the rest of a longer line is read in
    bounded pieces and dropped): an anchor that is not one never costs more memory than that."""
    while line := stream.readline(MAX_LINE + 1):
        if len(line) > MAX_LINE and not line.endswith(b"\n"):
            while (rest := stream.readline(MAX_LINE)) and not rest.endswith(b"\n"):
                pass
        yield line[:MAX_LINE]
