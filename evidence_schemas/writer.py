"""Writing evidence packs: manifests in either format, written atomically.

A manifest is replaced by writing a temporary file beside it and renaming it over the old one,
so a reader sees the old manifest or the new one, never a mix, and a failure leaves the old one.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from evidence_schemas.pack import EvidencePack
from evidence_schemas.reader import MANIFESTS, Format
from evidence_schemas.xmlform import to_xml


def manifest_bytes(pack: EvidencePack, fmt: Format) -> bytes:
    """The manifest in ``fmt``; JSON leaves out empty lists and absent values, as XML does."""
    if fmt == "xml":
        return to_xml(pack)
    text = json.dumps(_compact(pack.model_dump(mode="json")), indent=2, ensure_ascii=False)
    return (text + "\n").encode("utf-8")


def _compact(value: Any) -> Any:
    if isinstance(value, dict):
        ordered = sorted(value.items(), key=lambda kv: kv[0] != "kind")  # an item's kind first
        return {k: _compact(v) for k, v in ordered if v is not None and v != []}
    if isinstance(value, list):
        return [_compact(v) for v in value]
    return value


def write_manifest(folder: Path, pack: EvidencePack, fmt: Format) -> Path:
    """Write (or replace) the folder's manifest atomically; returns its path."""
    name = next(n for n, f in MANIFESTS.items() if f == fmt)
    path = folder / name
    atomic_write(path, manifest_bytes(pack, fmt))
    return path


def atomic_write(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` via a temporary file and a rename."""
    temporary = stage(path, data)
    try:
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def stage(path: Path, data: bytes) -> Path:
    """Write ``data`` in full, flushed to disk, to a new temporary file beside ``path``; returns it.

    The temporary name starts with ``.<name>.``: a crash leaves at most such a file, never a
    partial one under ``path``.
    """
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return Path(temporary)


def publish(staged: Path, path: Path) -> None:
    """Give a staged file its final name, never replacing a file there (``FileExistsError``), and
    make the new name durable."""
    os.link(staged, path)  # unlike a rename, a link fails if the name is taken
    staged.unlink()
    folder = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(folder)
    finally:
        os.close(folder)
