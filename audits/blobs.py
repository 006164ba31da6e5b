"""The content-addressed attachment folder: each file stored once, under its SHA-256.

``attachments/ab/abcdef...`` holds the file whose SHA-256 hex is ``abcdef...``. A file is first
*staged*: copied to a temporary name under ``incoming/`` while the pack is read and hashed (the
one time it is opened; at most its declared size and one byte), then flushed to disk. Staging is
the slow part, and submissions do it before they take the store's write lock, so other writers
never wait on a copy. Inside the transaction that
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
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Protocol

from audits.errors import StoreError

CHUNK = 1 << 20
TEMP_PREFIX = ".incoming-"
"""Temporary files start with this; one that no process holds locked is an interrupted copy."""
INCOMING = "incoming"
"""Subfolder of copies whose content address is not known yet (never a two-hex-digit name)."""


class StagedBlob(Protocol):
    """A checked copy waiting to become a blob: committed in the transaction that records it,
    or discarded."""

    sha256: str
    size: int

    def commit(self) -> None: ...
    def discard(self) -> None: ...


class Receiver(Protocol):
    """Takes a pack's attachments while the pack is read (``read_pack``'s ``copy``)."""

    def __call__(self, name: str, size: int) -> IO[bytes]: ...
    def staged(self, attachments: dict[str, tuple[str, int]]) -> Sequence[StagedBlob]: ...
    def discard(self) -> None: ...


class BlobStore(Protocol):
    """What the store's operations need of the place attachments are kept. :class:`Blobs`, the
    content-addressed folder, is the one there is; a shared or object store can take its place by
    giving the same guarantees: a blob is stored under its SHA-256 only once its copy was checked,
    becomes visible only when committed, and is checked against its address when read."""

    def receiving(self) -> Receiver: ...
    def check(self, sha256: str, size: int | None = None) -> str | None: ...
    def read(self, sha256: str) -> bytes: ...
    def open(self, sha256: str) -> IO[bytes]: ...
    def sweep(self) -> list[Path]: ...


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

    def receiving(self) -> Receiving:
        """A receiver for the attachments of a pack being read (see :class:`Receiving`)."""
        return Receiving(self)

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

    def open(self, sha256: str) -> IO[bytes]:
        """A stored blob opened for reading in chunks (a download of any size in bounded memory),
        checked against its content address first, as :meth:`read` does."""
        problem = self.check(sha256)
        if problem is not None:
            raise StoreError(problem)
        return self.path(sha256).open("rb")

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


class Receiving:
    """Copies of a pack's attachments taken while the pack is read and hashed (the ``copy`` of
    :func:`evidence_schemas.reader.read_pack`), so each file is opened once: each goes to a new
    locked temporary file in ``incoming/``, known by its path until the pack is checked; then
    :meth:`staged` names them by content. Whatever is not staged is discarded by :meth:`discard`.
    """

    def __init__(self, blobs: Blobs) -> None:
        self._blobs = blobs
        self._copies: dict[str, tuple[Staged, IO[bytes]]] = {}

    def __call__(self, name: str, size: int) -> IO[bytes]:
        folder = self._blobs.folder / INCOMING
        folder.mkdir(parents=True, exist_ok=True)
        staged = _locked_temp("", folder / "pending")
        assert staged.fd is not None
        writer = os.fdopen(os.dup(staged.fd), "wb")
        self._copies[name] = (staged, writer)
        return writer

    def staged(self, attachments: dict[str, tuple[str, int]]) -> list[Staged]:
        """The copies of ``attachments`` (path -> sha256, size; checked), flushed and ready to be
        renamed into place; one per content, none for content already stored."""
        out: dict[str, Staged] = {}
        for name, (sha256, size) in sorted(attachments.items()):
            staged, writer = self._copies[name]
            writer.flush()
            os.fsync(writer.fileno())
            writer.close()
            target = self._blobs.path(sha256)
            if sha256 in out or target.is_file():
                staged.discard()
                if sha256 not in out:
                    out[sha256] = Staged(sha256, target.stat().st_size, None, target, None)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            staged.sha256, staged.size, staged.target = sha256, size, target
            out[sha256] = staged
        return list(out.values())

    def discard(self) -> None:
        """Remove every copy not committed (a no-op for those that were)."""
        for staged, writer in self._copies.values():
            if not writer.closed:
                writer.close()
            staged.discard()


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
