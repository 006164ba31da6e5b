"""Attachments are copied within their cap and outside the write lock (issue 15, part 6)."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

import audits.engagements
from audits.blobs import TEMP_PREFIX, Blobs
from audits.errors import RefusedError
from audits.versions import Submission, read_submission
from engine.errors import EvidencePackError
from tests.engagements.conftest import SUBMITTER, World, applied


@contextmanager
def _deadline(seconds: int) -> Iterator[None]:
    """Fail instead of hanging (a FIFO once blocked the copy forever)."""

    def expired(*_: Any) -> None:
        raise TimeoutError(f"still running after {seconds} s")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def _first_attachment(pack: Path) -> str:
    manifest = json.loads((pack / "pack.json").read_text(encoding="utf-8"))
    return str(next(a["path"] for item in manifest["items"] for a in item.get("attachments", [])))


@pytest.mark.parametrize("swap", ["fifo", "link to /dev/zero"])
def test_an_attachment_swapped_after_the_check_is_refused_not_copied_without_end(
    world: World, monkeypatch: pytest.MonkeyPatch, swap: str
) -> None:
    """Between the pack's check and the copy the file becomes a FIFO or a link to /dev/zero: the
    copy refuses it at once (it used to hang, or write 6 GB in 20 s), and nothing is stored."""
    eid = applied(world)
    name = _first_attachment(world.pack)

    def checked_then_swapped(location: Path) -> Submission:
        submission = read_submission(location)
        target = location / name
        target.unlink()
        if swap == "fifo":
            os.mkfifo(target)
        else:
            target.symlink_to("/dev/zero")
        return submission

    monkeypatch.setattr(audits.engagements, "read_submission", checked_then_swapped)
    before = world.counts()
    with _deadline(20), pytest.raises(EvidencePackError) as caught:
        world.engagements.submit(SUBMITTER, eid, world.pack)
    (problem,) = caught.value.problems
    assert problem.file == f"{world.pack}/{name}"
    assert problem.message in {
        "is no longer a regular file (changed since the pack was checked)",
        "cannot be read now: Too many levels of symbolic links",
    }
    assert world.counts() == before
    assert list((world.tmp / "attachments").glob(f"*/{TEMP_PREFIX}*")) == []


def test_the_copy_is_made_before_the_write_lock_is_taken(
    world: World, monkeypatch: pytest.MonkeyPatch, database: str
) -> None:
    """While the attachments are copied another writer can still write (SQLite: BEGIN
    IMMEDIATE with a 0.1 s timeout succeeds); the copies become blobs only on commit."""
    if "://" in database:
        pytest.skip("the probe takes SQLite's write lock directly")
    eid = applied(world)
    stage = Blobs.stage
    probes: list[str] = []

    def probing_stage(self: Blobs, *args: Any, **kwargs: Any) -> Any:
        if not probes:
            connection = sqlite3.connect(Path(database) / "assay.db", timeout=0.1)
            try:
                connection.execute("BEGIN IMMEDIATE")
                connection.execute("ROLLBACK")
                probes.append("another writer got the lock")
            except sqlite3.OperationalError as exc:
                probes.append(f"locked: {exc}")
            finally:
                connection.close()
        return stage(self, *args, **kwargs)

    monkeypatch.setattr(Blobs, "stage", probing_stage)
    assert world.engagements.submit(SUBMITTER, eid, world.pack) == 1
    assert probes == ["another writer got the lock"]
    assert list((world.tmp / "attachments").glob(f"*/{TEMP_PREFIX}*")) == []


def test_a_refused_submission_leaves_no_copy(world: World) -> None:
    eid = applied(world)
    with pytest.raises(RefusedError):
        world.engagements.submit("piet.larkfield", eid, world.pack)  # another community's submitter
    assert [p for p in (world.tmp / "attachments").rglob("*") if p.is_file()] == []
