"""``assay ca``, ``assay cert``, ``assay verify`` and ``assay trail verify --store``, end to end.

Each test drives the real commands: a test PKI from ``assay ca init-test``, an evaluation from
``assay evaluate``, a SQLite register in a temporary data folder, a local RFC 3161 server for
the timestamped level. Exit codes and messages are what is checked.
"""

from __future__ import annotations

import asyncio
import csv
import datetime as dt
import http.server
import io
import json
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from asn1crypto import tsp

import examples
from assay.cli import run
from certificates.pki import TestPki, dummy_timestamper, init_foreign_pki
from certificates.verify import verify_certificate
from tests.helpers import AS_OF

TODAY = dt.date.today()
YEAR = TODAY.year


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> TestPki:
    folder = tmp_path_factory.mktemp("ca") / "pki"
    assert run(["ca", "init-test", str(folder)]) == 0
    return TestPki.in_folder(folder)


@pytest.fixture(scope="module")
def evaluation(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("evaluation") / "harbourton"
    assert run(["evaluate", str(examples.sample_pack()), "--as-of", str(AS_OF), "--out", str(out)]) == 0
    return out


@pytest.fixture
def password(pki: TestPki, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ASSAY_SIGNING_PASSWORD", pki.signer_password.read_text(encoding="utf-8").strip())


PEOPLE = """people:
  - id: registrar
    name: Rae Registrar
    organisation: Assay Test Certification Body
    roles: [register_administrator]
  - id: ana
    name: Ana Auditor
    organisation: Assay Test Certification Body
    roles: [auditor]
"""


def _with_people(data: str | Path) -> None:
    """Load the people table once per store: only a register administrator changes the register."""
    if str(data) in _people_seen:
        return
    folder = Path(tempfile.mkdtemp())
    (folder / "people.yaml").write_text(PEOPLE, encoding="utf-8")
    assert run(["people", "import", str(folder / "people.yaml"), "--data", str(data)]) == 0
    _people_seen.add(str(data))


_people_seen: set[str] = set()


def _issue(evaluation: Path, pki: TestPki, data: Path, *extra: str) -> int:
    _with_people(data)
    return run(
        [
            "cert", "issue", str(evaluation), "--key", str(pki.signer_p12), "--data", str(data),
            "--body", "Assay Test Certification Body", "--lead-auditor", "Ana Auditor",
            "--decision-maker", "Dee Decider", "--as", "registrar", "--test", *extra,
        ]
    )  # fmt: skip


def test_init_test_writes_a_pki_and_refuses_a_used_folder(
    pki: TestPki, capsys: pytest.CaptureFixture[str]
) -> None:
    assert sorted(p.name for p in pki.folder.iterdir()) == [
        "root-key.pem",
        "root.crl.pem",
        "root.pem",
        "signer.p12",
        "signer.password",
        "tsa.p12",
        "tsa.password",
    ]
    assert run(["ca", "init-test", str(pki.folder)]) == 2
    assert "is not empty" in capsys.readouterr().err


def test_issue_verify_and_the_lifecycle(
    pki: TestPki, evaluation: Path, password: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data, pdf = tmp_path / "data", tmp_path / "cert.pdf"
    number = f"ASSAY-{YEAR}-000001"
    assert _issue(evaluation, pki, data, "--out", str(pdf), "--lang", "en+zh") == 0
    assert f"Issued certificate {number} to Harbourton" in capsys.readouterr().out
    verify = ["verify", str(pdf), "--trust", str(pki.root), "--register", str(data)]
    assert run(verify) == 0
    assert f"VALID: certificate {number} for Harbourton" in capsys.readouterr().out

    assert (
        run(
            [
                "cert",
                "suspend",
                number,
                "--reason",
                "surveillance audit overdue",
                "--data",
                str(data),
                "--as",
                "registrar",
            ]
        )
        == 0
    )
    assert run(verify) == 6
    assert f"certificate {number} is suspended in the register" in capsys.readouterr().out
    assert (
        run(["cert", "reinstate", number, "--reason", "audit held", "--data", str(data), "--as", "registrar"])
        == 0
    )
    assert run(verify) == 0
    assert (
        run(
            [
                "cert",
                "withdraw",
                number,
                "--reason",
                "misuse of the mark",
                "--data",
                str(data),
                "--as",
                "registrar",
            ]
        )
        == 0
    )
    capsys.readouterr()
    assert (
        run(["cert", "suspend", number, "--reason", "again", "--data", str(data), "--as", "registrar"]) == 7
    )
    assert "it is withdrawn; a withdrawn certificate is final" in capsys.readouterr().err

    assert run(["cert", "export-register", "--data", str(data)]) == 0
    public = json.loads(capsys.readouterr().out)
    (entry,) = public["certificates"]
    assert (entry["number"], entry["status"], entry["status_reason"]) == (
        number,
        "withdrawn",
        "misuse of the mark",
    )
    assert run(["cert", "export-register", "--format", "csv", "--data", str(data)]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert [(r["number"], r["status"], r["status_reason"]) for r in rows] == [
        (number, "withdrawn", "misuse of the mark")
    ]
    assert run(["cert", "list", "--data", str(data)]) == 0
    assert "withdrawn" in capsys.readouterr().out
    assert run(["cert", "list", "--status", "withdrawn", "--community", "HARB", "--data", str(data)]) == 0
    listed = capsys.readouterr().out
    assert ": page 1 of 1 (1 found)" in listed
    assert run(["cert", "list", "--status", "issued", "--data", str(data)]) == 0
    assert "(0 found)" in capsys.readouterr().out
    assert run(["cert", "list", "--status", "valid", "--page", "0", "--data", str(data)]) == 7
    assert "status must be one of issued, reinstated" in capsys.readouterr().err
    assert run(["trail", "verify", "--store", str(data)]) == 0
    # people imported, number reserved, issued, published, suspended, reinstated, withdrawn, and the
    # refused suspension; every row bound (two people, the number, the certificate).
    assert "intact: 8 records, 4 rows" in capsys.readouterr().out


def test_verify_names_each_failure(
    pki: TestPki, evaluation: Path, password: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data, pdf = tmp_path / "data", tmp_path / "cert.pdf"
    assert _issue(evaluation, pki, data, "--out", str(pdf)) == 0
    foreign = init_foreign_pki(tmp_path / "foreign", dt.datetime.now(dt.UTC))
    capsys.readouterr()
    assert run(["verify", str(pdf), "--trust", str(foreign.root)]) == 6
    assert "signer not trusted by the given root" in capsys.readouterr().out
    # The installed command reports the reason, not pyHanko's logged tracebacks.
    command = shutil.which("assay") or str(Path(__file__).resolve().parents[2] / ".venv" / "bin" / "assay")
    done = subprocess.run(
        [command, "verify", str(pdf), "--trust", str(foreign.root)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert (done.returncode, done.stderr) == (6, "assay: INVALID: signer not trusted by the given root\n")
    assert run(["verify", str(pdf), "--trust", str(pki.root), "--date", "2035-01-01"]) == 6
    assert "certificate expired on" in capsys.readouterr().out
    assert run(["verify", str(pdf), "--trust", str(pki.root), "--register", str(tmp_path / "none")]) == 7
    assert "no register at" in capsys.readouterr().err
    flipped = bytearray(pdf.read_bytes())
    flipped[len(flipped) // 3] ^= 0x01
    (tmp_path / "flipped.pdf").write_bytes(bytes(flipped))
    assert run(["verify", str(tmp_path / "flipped.pdf"), "--trust", str(pki.root), "--json"]) == 6
    report = json.loads(capsys.readouterr().out)
    assert report["valid"] is False
    assert report["reasons"]


def test_the_password_never_comes_from_the_command_line(
    pki: TestPki,
    evaluation: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.delenv("ASSAY_SIGNING_PASSWORD", raising=False)
    assert _issue(evaluation, pki, tmp_path / "data") == 2
    assert "ASSAY_SIGNING_PASSWORD" in capsys.readouterr().err
    wrong = tmp_path / "wrong.password"
    wrong.write_text("not the password\n", encoding="utf-8")
    assert _issue(evaluation, pki, tmp_path / "data", "--password-file", str(wrong)) == 2
    assert "wrong password for signer.p12" in capsys.readouterr().err
    out = tmp_path / "c.pdf"
    assert (
        _issue(
            evaluation, pki, tmp_path / "data", "--password-file", str(pki.signer_password), "--out", str(out)
        )
        == 0
    )
    assert out.is_file()


def test_refusals_change_nothing(
    pki: TestPki, evaluation: Path, password: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "data"
    assert (
        _issue(evaluation, pki, data, "--decision-maker", "Ana Auditor", "--out", str(tmp_path / "a.pdf"))
        == 7
    )
    assert "must not be the lead auditor" in capsys.readouterr().err
    assert not (tmp_path / "a.pdf").exists()
    assert (
        run(
            [
                "cert",
                "withdraw",
                f"ASSAY-{YEAR}-000099",
                "--reason",
                "x",
                "--data",
                str(data),
                "--as",
                "registrar",
            ]
        )
        == 7
    )
    assert f"no certificate ASSAY-{YEAR}-000099 in the register" in capsys.readouterr().err
    assert run(["cert", "export-register", "--data", str(data)]) == 0
    assert json.loads(capsys.readouterr().out)["certificates"] == []


class _TimestampHandler(http.server.BaseHTTPRequestHandler):
    """An RFC 3161 endpoint answering with the test TSA (pyHanko's dummy timestamper)."""

    pki: TestPki

    def do_POST(self) -> None:
        request = tsp.TimeStampReq.load(self.rfile.read(int(self.headers["Content-Length"])))
        response = asyncio.run(dummy_timestamper(self.pki).async_request_tsa_response(request))
        body = response.dump()
        self.send_response(200)
        self.send_header("Content-Type", "application/timestamp-reply")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: requests are checked through their effect."""


@pytest.fixture
def tsa_url(pki: TestPki) -> Iterator[str]:
    handler = type("Handler", (_TimestampHandler,), {"pki": pki})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize("level", ["B-T", "B-LT", "B-LTA"])
def test_timestamped_levels_through_a_timestamp_authority(
    level: str, pki: TestPki, evaluation: Path, password: None, tsa_url: str, tmp_path: Path
) -> None:
    pdf = tmp_path / "cert.pdf"
    extra = ["--level", level, "--tsa-url", tsa_url, "--trust", str(pki.root), "--crl", str(pki.crl)]
    assert _issue(evaluation, pki, tmp_path / "data", "--out", str(pdf), *extra) == 0
    verification = verify_certificate(
        pdf.read_bytes(), [pki.root_certificate()], today=TODAY, crls=[pki.crl.read_bytes()]
    )
    assert verification.reasons == []
    assert verification.level == level
    assert run(["verify", str(pdf), "--trust", str(pki.root), "--crl", str(pki.crl)]) == 0


def test_an_unreachable_database_is_one_line_without_the_password(capsys: pytest.CaptureFixture[str]) -> None:
    # Port 1 on the loopback address: nothing listens there, so the connection is refused at once.
    url = "postgresql://assay:s3cret-word@127.0.0.1:1/assay"
    assert run(["cert", "list", "--data", url]) == 7
    err = capsys.readouterr().err
    assert err.startswith("assay: the store cannot be used: ")
    assert "Connection refused" in err or "connection failed" in err
    assert "s3cret-word" not in err
    assert len(err.strip().splitlines()) == 1
