"""Attachments are copied within their cap and outside the write lock (issue 15, part 6)."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

import pytest

from audits.blobs import TEMP_PREFIX, Blobs, Receiving
from audits.errors import RefusedError
from audits.versions import read_submission
from engine.errors import EvidencePackError
from evidence_schemas import reader
from evidence_schemas.reader import Limits
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
def test_an_attachment_swapped_after_the_listing_is_refused_not_copied_without_end(
    world: World, monkeypatch: pytest.MonkeyPatch, swap: str
) -> None:
    """Between the pack folder's listing and the one read of the file it becomes a FIFO or a link
    to /dev/zero: the read refuses it at once (it used to hang, or write 6 GB in 20 s), and
    nothing is stored."""
    eid = applied(world)
    name = _first_attachment(world.pack)
    listed = reader._folder

    def listed_then_swapped(root: Path, limits: Limits) -> Any:
        container = listed(root, limits)
        target = root / name
        target.unlink()
        if swap == "fifo":
            os.mkfifo(target)
        else:
            target.symlink_to("/dev/zero")
        return container

    monkeypatch.setattr(reader, "_folder", listed_then_swapped)
    before = world.counts()
    with _deadline(20), pytest.raises(EvidencePackError) as caught:
        world.engagements.submit(SUBMITTER, eid, world.pack)
    (problem,) = caught.value.problems
    assert problem.file == f"{world.pack}/pack.json"
    assert problem.path.endswith(".path")
    assert problem.line is not None  # the manifest line of the attachment
    assert problem.message in {
        f"{name} is no longer a regular file (changed since the pack was listed)",
        f"{name} cannot be read now: Too many levels of symbolic links",
    }
    assert world.counts() == before
    assert [p for p in (world.tmp / "attachments").rglob("*") if p.is_file()] == []


def test_each_attachment_is_opened_once_and_stored_as_checked(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No second open by name: the one read that hashes a file also copies it."""
    eid = applied(world)
    opened: list[str] = []
    real_open = os.open

    def counting_open(path: Any, *args: Any, **kwargs: Any) -> int:
        if str(path).startswith(f"{world.pack}/attachments/"):
            opened.append(str(path)[len(str(world.pack)) + 1 :])
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(os, "open", counting_open)
    assert world.engagements.submit(SUBMITTER, eid, world.pack) == 1
    manifest = json.loads((world.pack / "pack.json").read_text(encoding="utf-8"))
    attached = {a["path"] for item in manifest["items"] for a in item.get("attachments", [])}
    assert sorted(opened) == sorted(attached)  # every file once, none twice
    blobs = Blobs(world.tmp / "attachments")
    shas = {a["sha256"] for item in manifest["items"] for a in item.get("attachments", [])}
    assert all(blobs.check(sha) is None for sha in shas)
    assert list((world.tmp / "attachments").rglob(f"{TEMP_PREFIX}*")) == []


def test_a_copy_stops_at_the_declared_size(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    """A file grown by a megabyte past its declared size is refused, and no more than the declared
    size and one byte was ever copied for it."""
    name = _first_attachment(world.pack)
    with (world.pack / name).open("ab") as grown:
        grown.write(b"x" * 1_000_000)
    receive = Receiving.__call__
    copies: dict[str, tuple[int, IO[bytes]]] = {}

    def recorded(self: Receiving, path: str, size: int) -> IO[bytes]:
        copies[path] = (size, receive(self, path, size))
        return copies[path][1]

    monkeypatch.setattr(Receiving, "__call__", recorded)
    receiving = Blobs(world.tmp / "attachments").receiving()
    with pytest.raises(EvidencePackError, match=f"{name} has .* bytes, not"):
        read_submission(world.pack, receiving)
    declared, writer = copies[name]
    writer.flush()
    assert os.fstat(writer.fileno()).st_size == declared + 1
    receiving.discard()
    assert [p for p in (world.tmp / "attachments").rglob("*") if p.is_file()] == []


def test_the_copy_is_made_before_the_write_lock_is_taken(
    world: World, monkeypatch: pytest.MonkeyPatch, database: str
) -> None:
    """While the attachments are copied another writer can still write (SQLite: BEGIN
    IMMEDIATE with a 0.1 s timeout succeeds); the copies become blobs only on commit."""
    if "://" in database:
        pytest.skip("the probe takes SQLite's write lock directly")
    eid = applied(world)
    receive = Receiving.__call__
    probes: list[str] = []

    def probing_receive(self: Receiving, *args: Any, **kwargs: Any) -> Any:
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
        return receive(self, *args, **kwargs)

    monkeypatch.setattr(Receiving, "__call__", probing_receive)
    assert world.engagements.submit(SUBMITTER, eid, world.pack) == 1
    assert probes == ["another writer got the lock"]
    assert list((world.tmp / "attachments").rglob(f"{TEMP_PREFIX}*")) == []


def test_a_refused_submission_leaves_no_copy(world: World) -> None:
    eid = applied(world)
    with pytest.raises(RefusedError):
        world.engagements.submit("piet.larkfield", eid, world.pack)  # another community's submitter
    assert [p for p in (world.tmp / "attachments").rglob("*") if p.is_file()] == []
