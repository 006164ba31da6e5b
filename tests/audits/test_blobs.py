"""The content-addressed attachment folder: blobs under their hash, and stray copies swept."""

from __future__ import annotations

import hashlib
from pathlib import Path

from audits.blobs import TEMP_PREFIX, Blobs, Staged


def _received(blobs: Blobs, name: str, data: bytes) -> Staged:
    """A copy taken while a pack is read (as the reader writes it), staged under its hash."""
    receiving = blobs.receiving()
    receiving(name, len(data)).write(data)
    (staged,) = receiving.staged({name: (hashlib.sha256(data).hexdigest(), len(data))})
    return staged


def test_a_blob_is_stored_once_under_its_hash(tmp_path: Path) -> None:
    blobs = Blobs(tmp_path)
    data = b"minutes of the smart city board"
    sha = hashlib.sha256(data).hexdigest()
    _received(blobs, "minutes.pdf", data).commit()
    assert blobs.path(sha) == tmp_path / sha[:2] / sha
    assert blobs.read(sha) == data
    again = _received(blobs, "again.pdf", data)
    assert again.temp is None  # already stored: the copy was dropped
    assert blobs.read(sha) == data
    assert list(tmp_path.rglob(f"{TEMP_PREFIX}*")) == []


def test_a_discarded_copy_leaves_nothing(tmp_path: Path) -> None:
    blobs = Blobs(tmp_path)
    receiving = blobs.receiving()
    receiving("minutes.pdf", 5).write(b"12345")
    receiving.discard()
    assert list(tmp_path.rglob(f"{TEMP_PREFIX}*")) == []


def test_sweep_removes_every_interrupted_copy_at_once_but_not_one_in_progress(tmp_path: Path) -> None:
    """A crash's stray copy goes at the next start, however young (it used to wait a day); a
    copy another process is making holds its lock and stays."""
    blobs = Blobs(tmp_path)
    data = b"agenda"
    sha = hashlib.sha256(data).hexdigest()
    in_progress = _received(blobs, "agenda.pdf", data)
    shard = tmp_path / sha[:2]
    stray = shard / f"{TEMP_PREFIX}crashed"
    stray.write_bytes(b"partial")
    blob = shard / ("0" * 64)
    blob.write_bytes(b"a stored blob")
    assert blobs.sweep() == [stray]
    assert in_progress.temp is not None
    assert in_progress.temp.exists()
    assert blob.exists()
    in_progress.commit()
    assert blobs.read(sha) == data
    assert sorted(p.name for p in shard.iterdir()) == sorted([sha, blob.name])
    assert Blobs(tmp_path / "missing").sweep() == []
