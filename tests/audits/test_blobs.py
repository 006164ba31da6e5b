"""The content-addressed attachment folder: blobs under their hash, and stray copies swept."""

from __future__ import annotations

import hashlib
import io
import os
import time
from pathlib import Path

import pytest

from audits.blobs import STRAY_AGE_S, TEMP_PREFIX, Blobs
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


def test_sweep_removes_only_old_interrupted_copies(tmp_path: Path) -> None:
    shard = tmp_path / "ab"
    shard.mkdir()
    old, young = shard / f"{TEMP_PREFIX}old", shard / f"{TEMP_PREFIX}young"
    blob = shard / ("ab" + "0" * 62)
    for path in (old, young, blob):
        path.write_bytes(b"partial")
    long_ago = time.time() - STRAY_AGE_S - 60
    os.utime(old, (long_ago, long_ago))
    os.utime(blob, (long_ago, long_ago))
    assert Blobs(tmp_path).sweep() == [old]
    assert sorted(p.name for p in shard.iterdir()) == sorted([young.name, blob.name])
    assert Blobs(tmp_path / "missing").sweep() == []
