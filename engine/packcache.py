"""A record of rule packs that passed every check, so loading one again skips the checks.

Checking a pack (line maps for every field, the semantic checks, the engine's limits) costs
more than building it, and a command line tool loads the same bundled pack on every run. The
record holds no rules, only the fact "these exact files passed under this code": its key is the
digest of the pack's files together with the digest of the code that checks and reads them, so
an edited rule file, a changed check or another version of pydantic simply misses. The rules are
always built from the files themselves, and still validated by their pydantic models.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

import pydantic

_VERSION = b"assay-checked-packs/1\n"


def code_digest() -> str:
    """Digest of the code whose checks a pack passed: the engine, the evidence schemas (the
    attribute paths rules may name) and the pydantic version that validates them."""
    sha = hashlib.sha256(_VERSION + pydantic.VERSION.encode("ascii") + b"\n")
    source = Path(__file__).resolve().parent.parent
    for package in ("engine", "evidence_schemas"):
        for path in sorted((source / package).glob("*.py")):
            sha.update(f"{package}/{path.name}\n".encode())
            sha.update(hashlib.sha256(path.read_bytes()).digest())
    return sha.hexdigest()


class CheckedPacks:
    """Marker files, one per (pack digest, code digest) that passed, in ``folder``."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._code: str | None = None

    @classmethod
    def default(cls) -> CheckedPacks | None:
        """``$ASSAY_CACHE_DIR``, else ``$XDG_CACHE_HOME/assay`` or ``~/.cache/assay``; None when
        ``ASSAY_CACHE_DIR`` is set empty or to ``off`` (every load checks in full)."""
        configured = os.environ.get("ASSAY_CACHE_DIR")
        if configured is not None:
            return None if configured in ("", "off") else cls(Path(configured) / "checked-packs")
        base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
        return cls(Path(base) / "assay" / "checked-packs")

    def _marker(self, pack_digest: str) -> tuple[Path, bytes]:
        if self._code is None:
            self._code = code_digest()
        body = f"pack {pack_digest}\ncode {self._code}\n".encode("ascii")
        return self.folder / hashlib.sha256(body).hexdigest(), body

    def passed(self, pack_digest: str) -> bool:
        """Whether a pack with exactly these files passed every check under this code."""
        path, body = self._marker(pack_digest)
        try:
            return path.read_bytes() == body
        except OSError:
            return False

    def remember(self, pack_digest: str) -> None:
        """Record a pass; a cache that cannot be written is only a slower next run."""
        path, body = self._marker(pack_digest)
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            handle, temporary = tempfile.mkstemp(dir=self.folder, prefix=".marker-")
            with os.fdopen(handle, "wb") as out:
                out.write(body)
            os.replace(temporary, path)
        except OSError:
            return
