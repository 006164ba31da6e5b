"""Damaged or exotic zips end in one named problem, never a traceback (issue 15, part 5): each of
these raised zlib.error, RuntimeError, NotImplementedError or BadZipFile before."""

from __future__ import annotations

import io
import struct
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

import examples
from engine.errors import EvidencePackError
from evidence_schemas.reader import read_pack

LOCAL, CENTRAL = b"PK\x03\x04", b"PK\x01\x02"


def _sample_zip(method: int) -> bytearray:
    """Harbourton's pack as a zip whose first entry is pack.json."""
    folder = examples.sample_pack("harbourton")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", method) as archive:
        archive.write(folder / "pack.json", "pack.json")
        for path in sorted((folder / "attachments").iterdir()):
            archive.write(path, f"attachments/{path.name}")
    return bytearray(buffer.getvalue())


def _flip_content(data: bytearray) -> None:
    start = data.index(LOCAL)
    name, extra = struct.unpack("<HH", data[start + 26 : start + 30])
    data[start + 30 + name + extra + 10] ^= 0xFF


def _set_flag(data: bytearray) -> None:
    for signature, offset in ((LOCAL, 6), (CENTRAL, 8)):
        data[data.index(signature) + offset] |= 0x1


def _set_method(data: bytearray) -> None:
    for signature, offset in ((LOCAL, 8), (CENTRAL, 10)):
        at = data.index(signature) + offset
        data[at : at + 2] = struct.pack("<H", 99)


def _rename_local(data: bytearray) -> None:
    data[data.index(LOCAL) + 30] = ord("Z")


CASES: dict[str, tuple[int, Callable[[bytearray], None], str, str]] = {
    "bad CRC": (
        zipfile.ZIP_STORED,
        _flip_content,
        "pack.json",
        "damaged zip entry: Bad CRC-32 for file 'pack.json'",
    ),
    "broken deflate stream": (zipfile.ZIP_DEFLATED, _flip_content, "pack.json", "damaged zip entry: "),
    "encryption flag": (
        zipfile.ZIP_DEFLATED,
        _set_flag,
        "pack.json",
        "entry is encrypted; packs are read without passwords",
    ),
    "unsupported method": (
        zipfile.ZIP_DEFLATED,
        _set_method,
        "pack.json",
        "entry is compressed with method 99; only stored and deflate are read",
    ),
    "local name differs": (
        zipfile.ZIP_DEFLATED,
        _rename_local,
        "pack.json",
        "damaged zip entry: File name in directory 'pack.json' and header b'Zack.json' differ.",
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_damaged_entry_is_one_named_problem(tmp_path: Path, case: str) -> None:
    method, damage, entry, fragment = CASES[case]
    data = _sample_zip(method)
    damage(data)
    archive = tmp_path / "pack.zip"
    archive.write_bytes(bytes(data))
    with pytest.raises(EvidencePackError) as caught:
        read_pack(archive)
    (problem,) = caught.value.problems
    assert problem.file == f"{archive}/{entry}"
    assert fragment in problem.message


def test_a_truncated_central_directory_is_named(tmp_path: Path) -> None:
    archive = tmp_path / "pack.zip"
    archive.write_bytes(bytes(_sample_zip(zipfile.ZIP_DEFLATED)[:-30]))
    with pytest.raises(EvidencePackError) as caught:
        read_pack(archive)
    (problem,) = caught.value.problems
    assert (problem.file, problem.message) == (
        str(archive),
        "not a readable zip: its central directory is missing or damaged",
    )


def test_an_undamaged_zip_still_reads(tmp_path: Path) -> None:
    archive = tmp_path / "pack.zip"
    archive.write_bytes(bytes(_sample_zip(zipfile.ZIP_DEFLATED)))
    assert read_pack(archive).pack.community.name == "Harbourton"
