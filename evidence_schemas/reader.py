"""Reading an evidence pack safely: folder or zip, JSON or XML manifest, hashed attachments.

A pack is a manifest (``pack.json`` or ``pack.xml``, exactly one, at the top) plus the files
its items attach, and nothing else. Reading never trusts the container: zip entries that are
absolute, climb out with ``..``, are symlinks or repeat a name are refused; the manifest, each
attachment and the whole pack are size-capped while they are read (so a zip bomb stops at the
cap); attachment hashes are computed streaming and compared with the manifest. Every problem
found is collected and raised together, with file, line and field path where known; a pack
with any problem is not used at all.
"""

from __future__ import annotations

import hashlib
import os
import stat
import zipfile
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import IO, Literal

from pydantic import TypeAdapter, ValidationError

from engine.canonical import canonical_json, digest, digest_of
from engine.errors import EvidencePackError, Problem
from engine.sourcemap import SourceDoc, parse_json
from evidence_schemas.pack import EvidencePack
from evidence_schemas.xmlform import from_xml

Format = Literal["json", "xml"]
MANIFESTS: dict[str, Format] = {"pack.json": "json", "pack.xml": "xml"}
CHUNK = 1 << 20  # 1 MiB reads keep hashing close to OpenSSL's own speed
_PACK = TypeAdapter(EvidencePack)


@dataclass(frozen=True)
class Limits:
    """Size caps applied while reading (bytes actually read, not sizes declared)."""

    manifest: int = 64 << 20
    attachment: int = 1 << 30
    total: int = 4 << 30
    entries: int = 100_000


@dataclass(frozen=True)
class LoadedPack:
    """A validated pack."""

    pack: EvidencePack
    digest: str
    """Digest of the pack's canonical JSON; it names attachments by their SHA-256."""
    manifest: str
    """``pack.json`` or ``pack.xml``."""
    canonical: bytes
    """The pack's canonical JSON, whatever its format: what ``digest`` is of."""
    source: str
    """The manifest as read, named the way the reader's own problems name it
    (``examples/norbridge/pack.xml``, ``pack.zip/pack.json``): checks made after reading use it
    to point at the file the pack came from."""


def pack_digest(pack: EvidencePack) -> str:
    """Digest of a pack's canonical JSON form (the same whatever its container or format)."""
    return digest_of(pack.model_dump(mode="json"))


@dataclass
class _Container:
    """The files of a pack, by '/'-separated relative path, and problems met listing them."""

    label: str
    files: dict[str, int] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    unreadable: set[str] = field(default_factory=set)
    """Entries listed but refused before reading (encrypted, an unsupported compression)."""
    zip: zipfile.ZipFile | None = None
    root: Path | None = None

    @contextmanager
    def open(self, name: str) -> Iterator[IO[bytes]]:
        """A file of the pack, opened once. A folder's file must still be the regular file it was
        when the folder was listed: a FIFO or a link put in its place (to /dev/zero, say) is
        refused (:class:`SwappedFileError`), never read or waited on."""
        if self.zip is not None:
            with self.zip.open(name) as handle:
                yield handle
            return
        assert self.root is not None
        try:
            fd = os.open(self.root / name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
        except OSError as exc:
            raise SwappedFileError(f"{name} cannot be read now: {exc.strerror}") from None
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            os.close(fd)
            raise SwappedFileError(f"{name} is no longer a regular file (changed since the pack was listed)")
        with os.fdopen(fd, "rb") as handle:
            yield handle

    def problem(self, message: str, name: str = "") -> None:
        self.problems.append(Problem(f"{self.label}/{name}" if name else self.label, None, "", message))


def read_pack(location: Path, limits: Limits | None = None, copy: Copy | None = None) -> LoadedPack:
    """Read and check the pack at ``location``: a folder, a ``.zip``, or a manifest file.

    With ``copy``, each attachment is also written, as it is hashed, to the file ``copy`` gives
    for it (at most its declared size and one byte more): what is stored is exactly what was
    checked, from the one time the file was opened. On an error the copies are the caller's to
    discard.
    """
    limits = limits or Limits()
    if location.is_file() and location.name in MANIFESTS:
        location = location.parent
    if location.is_dir():
        container = _folder(location, limits)
    elif location.is_file() and zipfile.is_zipfile(location):
        try:
            archive = zipfile.ZipFile(location)
        except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
            raise EvidencePackError(
                [Problem(str(location), None, "", f"not a readable zip: {exc}")]
            ) from None
        with archive:
            container = _zip(location, archive, limits)
            return _read(container, limits, copy)
    elif location.is_file() and location.suffix.lower() == ".zip":
        message = "not a readable zip: its central directory is missing or damaged"
        raise EvidencePackError([Problem(str(location), None, "", message)])
    else:
        raise EvidencePackError([Problem(str(location), None, "", "not a pack folder, zip or manifest")])
    return _read(container, limits, copy)


def _folder(root: Path, limits: Limits) -> _Container:
    container = _Container(str(root), root=root)
    for directory, dirs, names in os.walk(root, followlinks=False):
        for name in sorted(dirs):
            if (Path(directory) / name).is_symlink():
                container.problem(
                    "symlinks are not allowed in a pack", _relative(root, Path(directory) / name)
                )
        for name in sorted(names):
            path = Path(directory) / name
            relative = _relative(root, path)
            info = path.lstat()
            if stat.S_ISLNK(info.st_mode):
                container.problem("symlinks are not allowed in a pack", relative)
            elif not stat.S_ISREG(info.st_mode):
                container.problem("only regular files may be in a pack", relative)
            else:
                container.files[relative] = info.st_size
    if len(container.files) > limits.entries:
        container.problem(f"{len(container.files)} files; the limit is {limits.entries}")
    return container


def _relative(root: Path, path: Path) -> str:
    return path.relative_to(root).as_posix()


def _zip(location: Path, archive: zipfile.ZipFile, limits: Limits) -> _Container:
    container = _Container(str(location), zip=archive)
    entries = archive.infolist()
    if len(entries) > limits.entries:
        container.problem(f"{len(entries)} entries; the limit is {limits.entries}")
        return container
    for entry in entries:
        name = entry.filename
        mode = entry.external_attr >> 16
        if _unsafe(name):
            container.problem("entry path is absolute or leaves the pack", name)
        elif stat.S_ISLNK(mode):
            container.problem("symlinks are not allowed in a pack", name)
        elif entry.is_dir():
            continue
        elif entry.flag_bits & 0x1:
            container.problem("entry is encrypted; packs are read without passwords", name)
            container.unreadable.add(name)
        elif entry.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            method = entry.compress_type
            container.problem(
                f"entry is compressed with method {method}; only stored and deflate are read", name
            )
            container.unreadable.add(name)
        elif name in container.files:
            container.problem("entry appears twice in the archive", name)
        else:
            container.files[name] = entry.file_size
    return container


def _unsafe(name: str) -> bool:
    path = PurePosixPath(name)
    return (
        not name
        or name.startswith(("/", "\\"))
        or "\\" in name
        or ".." in path.parts
        or (len(name) > 1 and name[1] == ":")  # a Windows drive
    )


def _read(container: _Container, limits: Limits, copy: Copy | None) -> LoadedPack:
    problems = list(container.problems)
    manifests = sorted(name for name in container.files if name in MANIFESTS)
    if len(manifests) != 1:
        found = ", ".join(manifests) or "neither"
        if not container.unreadable & set(MANIFESTS):  # else its problem says why it is not read
            message = f"a pack needs one of pack.json or pack.xml; found {found}"
            problems.append(Problem(container.label, None, "", message))
        raise EvidencePackError(problems)
    manifest = manifests[0]
    label = f"{container.label}/{manifest}"
    data = _bounded(container, manifest, limits.manifest, problems)
    if data is None:
        raise EvidencePackError(problems)
    parsed = parse_manifest(data, label, MANIFESTS[manifest])
    problems += parsed.problems
    if parsed.pack is not None:
        problems += _check_attachments(parsed.pack, container, manifest, parsed.doc, limits, copy)
    if problems or parsed.pack is None:
        raise EvidencePackError(problems)
    canonical = canonical_json(parsed.pack.model_dump(mode="json"))
    return LoadedPack(parsed.pack, digest(canonical), manifest, canonical, label)


@dataclass(frozen=True)
class Parsed:
    """A manifest's model (None when invalid), its problems, and its line map."""

    pack: EvidencePack | None
    problems: list[Problem]
    doc: SourceDoc


def parse_manifest(data: bytes, label: str, fmt: Format) -> Parsed:
    """Validate manifest bytes, listing every problem with line and field path."""
    if fmt == "xml":
        doc = from_xml(data, label)
    else:
        try:
            doc = parse_json(data.decode("utf-8"), label)
        except UnicodeDecodeError as exc:
            return Parsed(
                None, [Problem(label, None, "", f"not UTF-8 text: {exc.reason}")], SourceDoc(label, None)
            )
    if doc.data is None:
        return Parsed(None, doc.problems, doc)
    try:
        pack = _PACK.validate_json(data) if fmt == "json" else _PACK.validate_python(doc.data, strict=True)
    except ValidationError as exc:
        return Parsed(None, _merge(doc, doc.validation_problems(exc)), doc)
    return Parsed(pack, [], doc) if not doc.problems else Parsed(None, doc.problems, doc)


def _merge(doc: SourceDoc, model_problems: list[Problem]) -> list[Problem]:
    """Schema problems first; a model problem on a line the schema already flagged repeats it."""
    flagged = {p.line for p in doc.problems}
    return [*doc.problems, *(p for p in model_problems if p.line not in flagged)]


class SwappedFileError(Exception):
    """A folder's file was replaced after the folder was listed."""


Copy = Callable[[str, int], IO[bytes]]
"""Where to copy an attachment while it is hashed: given its path and declared size, a writable
file (see :func:`read_pack`)."""

DAMAGED = (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError)
"""What reading a damaged zip entry raises: a bad CRC or deflate stream, a local header naming
another file than the central directory, a truncated entry."""


def _bounded(container: _Container, name: str, cap: int, problems: list[Problem]) -> bytes | None:
    """A whole file, or None (with a problem) if it is larger than ``cap`` or damaged."""
    try:
        with container.open(name) as handle:
            data = handle.read(cap + 1)
    except DAMAGED as exc:
        problems.append(Problem(f"{container.label}/{name}", None, "", f"damaged zip entry: {exc}"))
        return None
    if len(data) > cap:
        problems.append(
            Problem(f"{container.label}/{name}", None, "", f"larger than the limit of {cap} bytes")
        )
        return None
    return data


def hash_stream(
    handle: IO[bytes], cap: int, out: IO[bytes] | None = None, out_cap: int = 0
) -> tuple[str, int]:
    """SHA-256 hex and size of a stream, reading at most ``cap + 1`` bytes; with ``out``, its
    first ``out_cap + 1`` bytes are written there too (a longer file is refused anyway)."""
    digest = hashlib.sha256()
    buffer = bytearray(CHUNK)
    view = memoryview(buffer)
    size = 0
    while size <= cap:
        read = handle.readinto(view)  # type: ignore[attr-defined]
        if not read:
            break
        digest.update(view[:read])
        if out is not None and size <= out_cap:
            out.write(view[: min(read, out_cap + 1 - size)])
        size += read
    return digest.hexdigest(), size


def _check_attachments(
    pack: EvidencePack,
    container: _Container,
    manifest: str,
    doc: SourceDoc,
    limits: Limits,
    copy: Copy | None = None,
) -> list[Problem]:
    problems: list[Problem] = []
    total = container.files[manifest]
    hashed: dict[str, tuple[str, int]] = {}
    for i, item in enumerate(pack.items):
        for j, attachment in enumerate(item.attachments):
            where: list[str | int] = ["items", i, "attachments", j]
            name = attachment.path
            if name not in container.files:
                problems.append(doc.problem([*where, "path"], f"{name} is missing"))
                continue
            if name not in hashed:  # several items may attach one file: read it once
                try:
                    with container.open(name) as handle:
                        out = None if copy is None else copy(name, attachment.size)
                        hashed[name] = hash_stream(handle, limits.attachment, out, attachment.size)
                except DAMAGED as exc:
                    problems.append(doc.problem([*where, "path"], f"{name} is a damaged zip entry: {exc}"))
                    hashed[name] = ("", -1)
                    continue
                except SwappedFileError as exc:
                    problems.append(doc.problem([*where, "path"], str(exc)))
                    hashed[name] = ("", -1)
                    continue
                total += hashed[name][1]
            if hashed[name][1] < 0:
                continue
            sha256, size = hashed[name]
            if size > limits.attachment:
                message = f"{name} is larger than the limit of {limits.attachment} bytes"
                problems.append(doc.problem([*where, "size"], message))
                continue
            if size != attachment.size:
                problems.append(
                    doc.problem([*where, "size"], f"{name} has {size} bytes, not {attachment.size}")
                )
            if sha256 != attachment.sha256:
                problems.append(doc.problem([*where, "sha256"], f"{name} does not match its sha256"))
            if total > limits.total:
                message = f"the pack exceeds the limit of {limits.total} bytes"
                problems.append(Problem(container.label, None, "", message))
                return problems
    referenced = {manifest} | {a.path for item in pack.items for a in item.attachments}
    for name in sorted(set(container.files) - referenced):
        problems.append(Problem(f"{container.label}/{name}", None, "", "not referenced by the manifest"))
    return problems
