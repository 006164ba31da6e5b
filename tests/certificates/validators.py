"""Running the independent validators: poppler's pdfsig (with an NSS trust store) and
``openssl cms -verify`` over a signature's ByteRange. Shared by the signing and issuing tests."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from tests.tools import require_tool

VALID = "Signature is Valid"
TRUSTED = "Certificate is Trusted"
TOTAL = "Total document signed"


def trusting_nss_db(root: Path, folder: Path) -> str:
    """An NSS database in ``folder`` trusting ``root`` as a CA, as pdfsig's ``-nssdir``."""
    certutil = require_tool("certutil")
    folder.mkdir(parents=True, exist_ok=True)
    db = f"sql:{folder}"
    subprocess.run([certutil, "-N", "-d", db, "--empty-password"], check=True, capture_output=True)
    subprocess.run(
        [certutil, "-A", "-d", db, "-n", "assay-test-root", "-t", "CT,C,C", "-i", str(root)],
        check=True,
        capture_output=True,
    )
    return db


def pdfsig(pdf: bytes, nss_db: str, tmp_path: Path) -> str:
    """pdfsig's report on ``pdf`` (it always exits 0, so the report is the verdict)."""
    command = require_tool("pdfsig")
    file = tmp_path / "certificate.pdf"
    file.write_bytes(pdf)
    done = subprocess.run(
        [command, "-nssdir", nss_db, str(file)], capture_output=True, text=True, check=False
    )
    return done.stdout + done.stderr


def _byte_range_parts(pdf: bytes) -> tuple[bytes, bytes]:
    """The signed bytes (both ByteRange parts joined) and the DER signature from /Contents."""
    match = re.search(rb"/ByteRange \[\s*(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s*\]", pdf)
    assert match is not None
    start1, length1, start2, length2 = (int(n) for n in match.groups())
    signed = pdf[start1 : start1 + length1] + pdf[start2 : start2 + length2]
    hex_contents = pdf[start1 + length1 : start2].strip(b"<>")
    return signed, _der_only(bytes.fromhex(hex_contents.decode()))


def _der_only(padded: bytes) -> bytes:
    """The DER object at the start of ``padded``, without the zero padding that fills /Contents."""
    assert padded[0] == 0x30
    first = padded[1]
    if first < 0x80:
        return padded[: 2 + first]
    count = first & 0x7F
    length = int.from_bytes(padded[2 : 2 + count], "big")
    return padded[: 2 + count + length]


def openssl_verify(pdf: bytes, ca_file: Path, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """``openssl cms -verify`` of the signature over the bytes it signs, trusting ``ca_file``."""
    openssl = require_tool("openssl")
    signed, signature = _byte_range_parts(pdf)
    (tmp_path / "data.bin").write_bytes(signed)
    (tmp_path / "sig.der").write_bytes(signature)
    command = [
        openssl, "cms", "-verify", "-binary", "-inform", "DER",
        "-in", str(tmp_path / "sig.der"), "-content", str(tmp_path / "data.bin"),
        "-CAfile", str(ca_file), "-purpose", "any", "-out", "/dev/null",
    ]  # fmt: skip
    return subprocess.run(command, capture_output=True, text=True, check=False)
