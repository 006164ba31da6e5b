"""Evidence uploads received as a stream, never held whole in memory.

An upload is either a zip (``Content-Type: application/zip``, the body is the archive) or
``multipart/form-data`` whose parts are the manifest (``pack.json`` or ``pack.xml``) and the
attachment files, each part's filename being its path in the pack. Either is written, chunk by
chunk, into a fresh folder under the server's upload folder, and counted as it arrives: past
``limit`` bytes the upload stops with 413 and the folder is removed. The folder is then read by the
same intake as ``assay engagement submit`` (every cap and check of :mod:`evidence_schemas.reader`)
and removed. Nothing reaches the store before the intake's transaction commits, so a client or
server that dies mid-upload leaves no evidence version (the sweep at start-up clears the folder).
"""

from __future__ import annotations

import fcntl
import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path, PurePosixPath
from typing import IO

from fastapi import Request
from python_multipart.multipart import MultipartParser, parse_options_header

from api.problems import ProblemError

MANIFESTS = ("pack.json", "pack.xml")
MAX_PARTS = 100_000
"""Parts one multipart upload may have (the intake's cap on entries)."""


def _too_large(limit: int) -> ProblemError:
    return ProblemError(413, "too-large", "Upload too large", f"an upload may have at most {limit} bytes")


def _bad(detail: str) -> ProblemError:
    return ProblemError(400, "bad-upload", "Malformed upload", detail)


def part_path(filename: str) -> str:
    """A multipart part's filename as a path inside the pack; refused when it could leave it."""
    path = PurePosixPath(filename.replace("\\", "/"))
    if (
        not filename
        or len(filename) > 255
        or path.is_absolute()
        or any(part in ("", ".", "..") for part in path.parts)
        or "\x00" in filename
    ):
        raise _bad(f"part filename {filename[:80]!r} is not a path inside the pack")
    return str(path)


LOCK = ".lock"
"""A file in each upload folder, locked (flock) while its upload is in progress."""
GRACE_SECONDS = 60
"""A folder with no lock file yet is left alone this long (it may be one just being made)."""


@contextmanager
def upload_folder(root: Path) -> Iterator[Path]:
    """A fresh folder for one upload, locked while in use and removed afterwards whatever
    happens. The lock tells :func:`sweep` in another server process that it is not abandoned."""
    root.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix="upload-", dir=root))
    try:
        with (folder / LOCK).open("wb") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def sweep(root: Path) -> list[Path]:
    """Remove uploads a killed server left behind (at start-up): folders whose lock no process
    holds. Several servers may share the folder, so one in progress elsewhere is left alone."""
    removed = []
    for left in sorted(root.glob("upload-*")) if root.is_dir() else []:
        try:
            handle = (left / LOCK).open("rb")
        except FileNotFoundError:
            if time.time() - left.stat().st_mtime > GRACE_SECONDS:
                shutil.rmtree(left, ignore_errors=True)
                removed.append(left)
            continue
        with handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                continue  # its server is still receiving it
            shutil.rmtree(left, ignore_errors=True)
            removed.append(left)
    return removed


async def receive(request: Request, folder: Path, limit: int) -> Path:
    """Write the request's evidence into ``folder``; the pack's location (a zip or a folder)."""
    kind, options = parse_options_header(request.headers.get("content-type", ""))
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise _too_large(limit)
    if kind == b"application/zip":
        target = folder / "pack.zip"
        with target.open("wb") as out:
            await _copy(request, out, limit)
        return target
    if kind == b"multipart/form-data":
        boundary = options.get(b"boundary")
        if not boundary:
            raise _bad("multipart/form-data without a boundary")
        await _multipart(request, folder / "pack", boundary, limit)
        return folder / "pack"
    raise ProblemError(
        415,
        "unsupported-media-type",
        "Unsupported media type",
        "send the pack as application/zip, or as multipart/form-data with the manifest and attachments",
    )


async def _copy(request: Request, out: IO[bytes], limit: int) -> None:
    received = 0
    async for chunk in request.stream():
        received += len(chunk)
        if received > limit:
            raise _too_large(limit)
        out.write(chunk)


class _Parts:
    """The parser's callbacks: each part's headers name its file, its data goes into that file."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.seen: set[str] = set()
        self.headers: dict[bytes, bytes] = {}
        self.field = b""
        self.out: IO[bytes] | None = None

    def callbacks(self) -> dict[str, object]:
        return {
            "on_part_begin": self.begin,
            "on_header_field": self.header_field,
            "on_header_value": self.header_value,
            "on_header_end": self.header_end,
            "on_headers_finished": self.headers_finished,
            "on_part_data": self.data,
            "on_part_end": self.close,
        }

    def begin(self) -> None:
        self.headers = {}

    def header_field(self, data: bytes, start: int, end: int) -> None:
        self.field += data[start:end]

    def header_value(self, data: bytes, start: int, end: int) -> None:
        name = self.field.lower()
        self.headers[name] = self.headers.get(name, b"") + data[start:end]

    def header_end(self) -> None:
        self.field = b""

    def headers_finished(self) -> None:
        _, params = parse_options_header(self.headers.get(b"content-disposition", b""))
        raw = params.get(b"filename")
        if raw is None:
            raise _bad("every part must be a file with a filename (its path in the pack)")
        name = part_path(raw.decode("utf-8", "replace"))
        if name in self.seen:
            raise _bad(f"the file {name} is sent twice")
        self.seen.add(name)
        if len(self.seen) > MAX_PARTS:
            raise _bad(f"an upload may have at most {MAX_PARTS} files")
        target = self.root / name
        target.parent.mkdir(parents=True, exist_ok=True)
        self.out = target.open("xb")

    def data(self, data: bytes, start: int, end: int) -> None:
        if self.out is not None:
            self.out.write(data[start:end])

    def close(self) -> None:
        if self.out is not None:
            self.out.close()
        self.out = None


async def _multipart(request: Request, root: Path, boundary: bytes, limit: int) -> None:
    """Stream multipart parts into files under ``root``, by their filenames."""
    root.mkdir()
    parts = _Parts(root)
    parser = MultipartParser(boundary, parts.callbacks())  # type: ignore[arg-type]
    received = 0
    try:
        async for chunk in request.stream():
            received += len(chunk)
            if received > limit:
                raise _too_large(limit)
            parser.write(chunk)
        parser.finalize()
    except ProblemError:
        raise
    except Exception as exc:  # the parser's own errors: the body is not multipart as declared
        raise _bad(f"not valid multipart/form-data: {exc}") from None
    finally:
        parts.close()
    if not any((root / name).is_file() for name in MANIFESTS):
        raise _bad("the upload has no pack.json or pack.xml part")


MAX_RULE_FILES = 2_000
"""Files a rule pack archive may hold (the bundled pack has a few dozen)."""


def unpack_rule_pack(archive: Path, target: Path, limit: int) -> Path:
    """Unpack a rule pack's zip into ``target`` (a fresh folder), refusing what could leave it:
    absolute or ``..`` paths, links, more than :data:`MAX_RULE_FILES` files, or more than ``limit``
    bytes once inflated (counted while inflating, so a zip bomb stops at the cap)."""
    import stat
    import zipfile

    try:
        opened = zipfile.ZipFile(archive)
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
        raise _bad(f"not a readable zip: {exc}") from None
    written = 0
    with opened:
        entries = [e for e in opened.infolist() if not e.is_dir()]
        if len(entries) > MAX_RULE_FILES:
            raise _bad(f"a rule pack archive may hold at most {MAX_RULE_FILES} files")
        for entry in entries:
            if stat.S_ISLNK(entry.external_attr >> 16):
                raise _bad(f"{entry.filename}: links are not allowed in a rule pack")
            name = part_path(entry.filename)
            path = target / name
            path.parent.mkdir(parents=True, exist_ok=True)
            try:
                with opened.open(entry) as source, path.open("xb") as out:
                    while chunk := source.read(1 << 16):
                        written += len(chunk)
                        if written > limit:
                            raise _too_large(limit)
                        out.write(chunk)
            except FileExistsError:
                raise _bad(f"{name} appears twice in the archive") from None
            except (zipfile.BadZipFile, OSError, EOFError, ValueError, NotImplementedError) as exc:
                raise _bad(f"{name}: damaged zip entry: {exc}") from None
    # A pack zipped with its folder (rules/pack.yaml ...) is read from that one folder.
    inside = [p for p in target.iterdir()]
    if len(inside) == 1 and inside[0].is_dir():
        return inside[0]
    return target
