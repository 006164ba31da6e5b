"""The content-addressed attachment folder: each file stored once, under its SHA-256.

``attachments/ab/abcdef...`` holds the file whose SHA-256 hex is ``abcdef...``. A file is copied
to a temporary name in the same folder, hashed while it is copied, flushed to disk and only
then renamed into place, so a crash leaves at most a stray temporary file, never a half-written
blob under a real name; a copy whose hash is not the expected one is discarded. Files are never
modified or deleted: a blob may be shared by many items, versions and engagements.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import time
from pathlib import Path
from typing import IO

from audits.errors import StoreError
from engine.errors import EvidencePackError, Problem

CHUNK = 1 << 20
TEMP_PREFIX = ".incoming-"
"""Temporary files start with this; anything so named is an interrupted copy and may be removed."""
STRAY_AGE_S = 24 * 3600
"""Age after which :meth:`Blobs.sweep` removes a temporary file: a younger one may be a copy
another process is still making."""


class Blobs:
    """The attachment folder of a store."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        """Where blobs live."""

    def path(self, sha256: str) -> Path:
        """Where the blob with ``sha256`` is (or would be) stored."""
        if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
            raise StoreError(f"{sha256!r} is not a SHA-256 hex digest")
        return self.folder / sha256[:2] / sha256

    def has(self, sha256: str) -> bool:
        """Whether the blob is stored."""
        return self.path(sha256).is_file()

    def put(self, source: IO[bytes], sha256: str, label: str) -> int:
        """Store ``source`` as the blob ``sha256`` (no-op if present); returns its size.

        Raises :class:`EvidencePackError` naming ``label`` when the content does not hash to
        ``sha256`` (the file changed since the pack was checked).
        """
        target = self.path(sha256)
        if target.is_file():
            return target.stat().st_size
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, temp_name = tempfile.mkstemp(prefix=TEMP_PREFIX, dir=target.parent)
        temp = Path(temp_name)
        try:
            digest, size = hashlib.sha256(), 0
            with os.fdopen(fd, "wb") as out:
                while chunk := source.read(CHUNK):
                    digest.update(chunk)
                    out.write(chunk)
                    size += len(chunk)
                out.flush()
                os.fsync(out.fileno())
            if digest.hexdigest() != sha256:
                raise EvidencePackError(
                    [Problem(label, None, "", "changed while it was being stored: its sha256 differs")]
                )
            os.replace(temp, target)
            _sync_folder(target.parent)
        except BaseException:
            temp.unlink(missing_ok=True)
            raise
        return size

    def sweep(self, older_than_s: float = STRAY_AGE_S) -> list[Path]:
        """Remove the temporary files interrupted copies left, once older than ``older_than_s``
        seconds by their modification time; returns what was removed."""
        if not self.folder.is_dir():
            return []
        cutoff = time.time() - older_than_s
        removed = []
        for stray in sorted(self.folder.glob(f"*/{TEMP_PREFIX}*")):
            if stray.is_file() and stray.stat().st_mtime < cutoff:
                stray.unlink(missing_ok=True)
                removed.append(stray)
        return removed

    def read(self, sha256: str) -> bytes:
        """A stored blob's content."""
        return self.path(sha256).read_bytes()


def _sync_folder(folder: Path) -> None:
    """Make a rename durable: fsync the folder entry."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
