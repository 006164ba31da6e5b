"""The content-addressed attachment folder: blobs under their hash, and stray copies swept."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path
from typing import IO, Any, cast

import pytest

from audits.blobs import TEMP_PREFIX, Blobs
from engine.errors import EvidencePackError


def test_a_blob_is_stored_once_under_its_hash(tmp_path: Path) -> None:
    blobs = Blobs(tmp_path)
    data = b"minutes of the smart city board"
    sha = hashlib.sha256(data).hexdigest()
    assert blobs.put(io.BytesIO(data), sha, "minutes.pdf") == len(data)
    assert blobs.path(sha) == tmp_path / sha[:2] / sha
    assert blobs.read(sha) == data
    assert blobs.put(io.BytesIO(b"ignored: already stored"), sha, "again.pdf") == len(data)


def test_a_copy_that_does_not_hash_right_is_discarded(tmp_path: Path) -> None:
    blobs = Blobs(tmp_path)
    sha = hashlib.sha256(b"what the manifest promised").hexdigest()
    with pytest.raises(EvidencePackError, match=r"minutes\.pdf.*changed while it was being stored"):
        blobs.put(io.BytesIO(b"something else"), sha, "minutes.pdf")
    assert not blobs.has(sha)
    assert list(tmp_path.glob(f"*/{TEMP_PREFIX}*")) == []


def test_sweep_removes_every_interrupted_copy_at_once_but_not_one_in_progress(tmp_path: Path) -> None:
    """A crash's stray copy goes at the next start, however young (it used to wait a day); a
    copy another process is making holds its lock and stays."""
    blobs = Blobs(tmp_path)
    data = b"agenda"
    sha = hashlib.sha256(data).hexdigest()
    in_progress = blobs.stage(io.BytesIO(data), sha, "agenda.pdf", len(data))
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


class _Endless(io.RawIOBase):
    """A stream that never ends, counting what was read (a link to /dev/zero)."""

    def __init__(self) -> None:
        self.read_bytes = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        buffer[:] = b"\0" * len(buffer)
        self.read_bytes += len(buffer)
        return len(buffer)


def test_a_copy_stops_one_byte_past_the_declared_size(tmp_path: Path) -> None:
    blobs = Blobs(tmp_path)
    source = _Endless()
    sha = hashlib.sha256(b"\0" * 10).hexdigest()
    with pytest.raises(EvidencePackError, match=r"longer than its declared 10 bytes"):
        blobs.stage(cast(IO[bytes], source), sha, "minutes.pdf", 10)
    assert source.read_bytes == 11
    assert list(tmp_path.glob(f"*/{TEMP_PREFIX}*")) == []
