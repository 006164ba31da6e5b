"""The content-addressed attachment folder: each file stored once, under its SHA-256.

``attachments/ab/abcdef...`` holds the file whose SHA-256 hex is ``abcdef...``. A file is first
*staged*: copied to a temporary name in the same folder, at most its declared size, hashed while
it is copied and flushed to disk. Staging is the slow part, and submissions do it before they
take the store's write lock, so other writers never wait on a copy. Inside the transaction that
makes a version visible a staged copy is only renamed into place (instant); a refused or failed
submission discards it. A crash leaves at most a temporary file, never a half-written blob under
a real name. Each temporary file is locked (``flock``) by the process writing it, so
:meth:`Blobs.sweep` removes every one nobody holds, at the next start, however young. Files are
never modified or deleted: a blob may be shared by many items, versions and engagements.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import stat
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from audits.errors import StoreError
from engine.errors import EvidencePackError, Problem

CHUNK = 1 << 20
TEMP_PREFIX = ".incoming-"
"""Temporary files start with this; one that no process holds locked is an interrupted copy."""


@dataclass
class Staged:
    """A copy made and checked, waiting to be renamed into place (or discarded)."""

    sha256: str
    size: int
    temp: Path | None
    """The temporary file; None when the blob was already stored or the copy is settled."""
    target: Path
    fd: int | None
    """Held open (and locked) until the copy is committed or discarded."""

    def commit(self) -> None:
        """Rename the copy into place: the blob exists from now on."""
        if self.temp is not None:
            os.replace(self.temp, self.target)
            _sync_folder(self.target.parent)
            self.temp = None
        self._release()

    def discard(self) -> None:
        """Remove the copy if it was not committed (a no-op after :meth:`commit`)."""
        if self.temp is not None:
            self.temp.unlink(missing_ok=True)
            self.temp = None
        self._release()

    def _release(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


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

    def put(self, source: IO[bytes], sha256: str, label: str, size: int | None = None) -> int:
        """Store ``source`` as the blob ``sha256`` at once (see :meth:`stage`); returns its size."""
        staged = self.stage(source, sha256, label, size)
        try:
            staged.commit()
        finally:
            staged.discard()
        return staged.size

    def stage(self, source: IO[bytes], sha256: str, label: str, size: int | None = None) -> Staged:
        """Copy ``source`` beside the blob ``sha256`` without making it visible yet.

        Reads at most ``size`` bytes (the declared size) and one more to notice a longer file, so
        a source swapped for an endless one (a link to /dev/zero) costs no more than the file it
        replaced. Raises :class:`EvidencePackError` naming ``label`` when the content is longer
        or does not hash to ``sha256`` (the file changed since the pack was checked).
        """
        target = self.path(sha256)
        if target.is_file():
            return Staged(sha256, target.stat().st_size, None, target, None)
        target.parent.mkdir(parents=True, exist_ok=True)
        staged = _locked_temp(sha256, target)
        try:
            digest, copied = hashlib.sha256(), 0
            limit = None if size is None else size + 1
            assert staged.fd is not None
            with os.fdopen(os.dup(staged.fd), "wb") as out:
                while limit is None or copied < limit:
                    chunk = source.read(CHUNK if limit is None else min(CHUNK, limit - copied))
                    if not chunk:
                        break
                    digest.update(chunk)
                    out.write(chunk)
                    copied += len(chunk)
                out.flush()
                os.fsync(out.fileno())
            if size is not None and copied > size:
                message = f"changed while it was being stored: longer than its declared {size} bytes"
                raise EvidencePackError([Problem(label, None, "", message)])
            if digest.hexdigest() != sha256:
                raise EvidencePackError(
                    [Problem(label, None, "", "changed while it was being stored: its sha256 differs")]
                )
        except BaseException:
            staged.discard()
            raise
        staged.size = copied
        return staged

    def sweep(self) -> list[Path]:
        """Remove the temporary files interrupted copies left: every one that no process holds
        locked (a copy in progress does); returns what was removed."""
        if not self.folder.is_dir():
            return []
        removed = []
        for stray in sorted(self.folder.glob(f"*/{TEMP_PREFIX}*")):
            try:
                fd = os.open(stray, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
            except OSError:
                continue
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                continue  # another process is copying into it
            else:
                stray.unlink(missing_ok=True)
                removed.append(stray)
            finally:
                os.close(fd)
        return removed

    def read(self, sha256: str) -> bytes:
        """A stored blob's content, checked against its content address: a file overwritten in
        the folder is refused, never handed out as the attachment."""
        problem = self.check(sha256)
        if problem is not None:
            raise StoreError(problem)
        return self.path(sha256).read_bytes()

    def check(self, sha256: str, size: int | None = None) -> str | None:
        """Why the stored blob is not the file its name promises (missing, other size or other
        content), or None. Reads it in chunks, from one opened descriptor."""
        path = self.path(sha256)
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
        except OSError as exc:
            return f"attachment {sha256} is missing from {self.folder} ({exc.strerror})"
        with os.fdopen(fd, "rb") as stream:
            info = os.fstat(stream.fileno())
            if not stat.S_ISREG(info.st_mode):
                return f"attachment {sha256} at {path} is not a regular file"
            if size is not None and info.st_size != size:
                return f"attachment {sha256} at {path} is {info.st_size} bytes, not the {size} stored"
            digest = hashlib.sha256()
            while chunk := stream.read(CHUNK):
                digest.update(chunk)
        if digest.hexdigest() != sha256:
            return f"attachment {sha256} at {path} does not hash to its name: it was overwritten"
        return None


def _locked_temp(sha256: str, target: Path) -> Staged:
    """A new temporary file beside ``target``, locked. A sweep may take a file in the instant
    between its creation and its lock; then it is gone (no links left) and another is made."""
    while True:
        fd, temp_name = tempfile.mkstemp(prefix=TEMP_PREFIX, dir=target.parent)
        fcntl.flock(fd, fcntl.LOCK_EX)  # held until committed or discarded: sweep leaves it alone
        if os.fstat(fd).st_nlink > 0:
            return Staged(sha256, 0, Path(temp_name), target, fd)
        os.close(fd)


def _sync_folder(folder: Path) -> None:
    """Make a rename durable: fsync the folder entry."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
