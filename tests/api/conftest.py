"""A real server for the API tests: uvicorn on a free port of 127.0.0.1, in a thread of the test
process, over a fresh store with the demo's people, each with a password; clients are httpx."""

from __future__ import annotations

import dataclasses
import io
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from cryptography import x509

import examples
from api.app import create_app
from api.auth import COOKIE, CSRF_HEADER
from api.settings import Settings
from assay.demo import sample_submission
from assay.services import Services
from audits.people import load_people
from certificates.keys import SigningKey
from tests.engagements.conftest import ADMIN, AUDITOR, DAY, LEAD, REVIEWER, SUBMITTER, MovableClock

__all__ = ["ADMIN", "AUDITOR", "DAY", "LEAD", "REVIEWER", "SUBMITTER"]

PASSWORD = "correct horse battery staple"
OUTSIDER = "noor"
"""An auditor of the body who is on no engagement's team."""
OTHER_CITY = "lin.eastvale"
"""A submitter of another community."""
EXTRA_PEOPLE = f"""
people:
  - id: {OUTSIDER}
    name: Noor Aziz
    organisation: Assay Demo Certification Body
    roles: [auditor]
  - id: {OTHER_CITY}
    name: Lin Park
    organisation: Eastvale Town Council
    community: eastvale
"""
ZIP = {"Content-Type": "application/zip"}
EVERYONE = (SUBMITTER, LEAD, AUDITOR, REVIEWER, ADMIN, OUTSIDER, OTHER_CITY)


class LiveServer:
    """uvicorn serving ``app`` on 127.0.0.1 in a daemon thread until :meth:`stop`."""

    def __init__(self, app: Any) -> None:
        self.socket = socket.socket()
        self.socket.bind(("127.0.0.1", 0))
        self.port = self.socket.getsockname()[1]
        config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.socket]}, daemon=True)
        self.thread.start()
        while not self.server.started:
            if not self.thread.is_alive():
                raise RuntimeError("the test server did not start")
            threading.Event().wait(0.01)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
        self.socket.close()


class ServerProcess:
    """``assay serve`` as its own process (as deployed), on a free port of 127.0.0.1."""

    def __init__(self, *args: str, env: dict[str, str] | None = None) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = int(probe.getsockname()[1])
        command = [
            sys.executable,
            "-m",
            "assay",
            "serve",
            "--port",
            str(self.port),
            "--date",
            str(DAY),
            *args,
        ]
        self.process = subprocess.Popen(
            command, env={**os.environ, **(env or {})}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(f"{self.url}/v1/health", timeout=1)
                return
            except httpx.TransportError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"assay serve {' '.join(args)} did not start") from None
                time.sleep(0.1)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def kill(self) -> None:
        """SIGKILL: the process dies where it stands, as in a crash."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@dataclass
class Client:
    """An HTTP client acting as one person (or nobody). The session cookie is Secure, which httpx
    only sends over HTTPS, so it is kept here and sent by hand, as a browser on localhost does."""

    http: httpx.Client
    session: str | None = None
    csrf: str | None = None
    token: str | None = None
    extra: dict[str, str] = field(default_factory=dict)

    def headers(self, csrf: bool = True) -> dict[str, str]:
        headers = dict(self.extra)
        if self.session:
            headers["Cookie"] = f"{COOKIE}={self.session}"
            if csrf and self.csrf:
                headers[CSRF_HEADER] = self.csrf
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        return headers

    def sign_in(self, person: str, password: str = PASSWORD) -> httpx.Response:
        response = self.http.post(
            "/v1/sign-in", json={"person": person, "password": password}, headers=self.headers()
        )
        if response.status_code == 200:
            self.session = session_cookie(response)
            self.csrf = response.json()["csrf_token"]
        return response

    def request(self, method: str, url: str, *, csrf: bool = True, **kwargs: Any) -> httpx.Response:
        headers = {**self.headers(csrf), **kwargs.pop("headers", {})}
        return self.http.request(method, url, headers=headers, **kwargs)

    def get(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", url, **kwargs)

    def delete(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("DELETE", url, **kwargs)


def session_cookie(response: httpx.Response) -> str:
    """The session secret a sign-in set (from its Set-Cookie header)."""
    header = response.headers["set-cookie"]
    assert header.startswith(f"{COOKIE}="), header
    return header.split(";", 1)[0].split("=", 1)[1]


@dataclass
class Api:
    """A running server over a fresh store, and what a test needs to drive it."""

    server: LiveServer
    services: Services
    clock: MovableClock
    data: Path
    pack: Path
    """The sample submission folder (without its verdicts and judgements)."""
    verdicts: list[dict[str, Any]]
    judgements: list[dict[str, Any]]
    clients: list[httpx.Client] = field(default_factory=list)

    def client(self, person: str | None = None, url: str | None = None) -> Client:
        """A client of this server (or of the one at ``url``), signed in as ``person``."""
        http = httpx.Client(base_url=url or self.server.url, timeout=120)
        self.clients.append(http)
        client = Client(http)
        if person is not None:
            response = client.sign_in(person)
            assert response.status_code == 200, response.text
        return client

    def pack_zip(self, folder: Path | None = None) -> bytes:
        """The submission as a zip, as a city uploads it."""
        return zipped(folder or self.pack)

    def close(self) -> None:
        """Close the clients, then the server, then the store (in that order: a client's open
        keep-alive connection would outlive a server stopped first)."""
        for http in self.clients:
            http.close()
        self.server.stop()
        self.services.store.close()

    def apply(self, client: Client, community: str = "harbourton", name: str = "Harbourton") -> str:
        """An engagement applied for by ``client`` (a submitter of ``community``); its id."""
        response = client.post("/v1/engagements", json={"community": community, "name": name})
        assert response.status_code == 201, response.text
        engagement: str = response.json()["engagement"]
        return engagement

    def multipart(self, folder: Path | None = None) -> list[tuple[str, tuple[str, bytes, str]]]:
        """The submission as multipart parts, each named by its path in the pack."""
        source = folder or self.pack
        return [
            ("file", (path.relative_to(source).as_posix(), path.read_bytes(), "application/octet-stream"))
            for path in sorted(source.rglob("*"))
            if path.is_file()
        ]


def certify(
    people: dict[str, Client],
    pack_zip: bytes,
    verdicts: Any,
    judgements: Any,
    community: tuple[str, str] = ("harbourton", "Harbourton"),
) -> tuple[str, str]:
    """An engagement of ``community`` (id, name) taken over HTTP from application to an issued
    certificate, each step by the signed-in person it belongs to (``people`` by id; the
    community's submitter as ``SUBMITTER``). (engagement, certificate number)."""
    city, admin, lead = people[SUBMITTER], people[ADMIN], people[LEAD]
    eid = city.post("/v1/engagements", json={"community": community[0], "name": community[1]}).json()
    eid = eid["engagement"]
    team = {"lead": LEAD, "auditors": [AUDITOR], "reviewer": REVIEWER}
    decision = {"outcome": "certify", "reason": "As evaluated."}
    steps = [
        admin.post(f"/v1/engagements/{eid}/team", json=team),
        city.post(f"/v1/engagements/{eid}/versions", content=pack_zip, headers=ZIP),
        lead.post(f"/v1/engagements/{eid}/verdicts", json=verdicts),
        people[AUDITOR].post(f"/v1/engagements/{eid}/judgements", json=judgements),
        lead.post(f"/v1/engagements/{eid}/evaluations", json={}),
        people[REVIEWER].post(f"/v1/engagements/{eid}/decisions", json=decision),
    ]
    for step in steps:
        assert step.status_code < 300, step.text
    issued = admin.post(f"/v1/engagements/{eid}/certificates", json={})
    assert issued.status_code == 201, issued.text
    number: str = issued.json()["number"]
    return eid, number


def zipped(folder: Path) -> bytes:
    """A folder as a zip, as a client sends a rule pack."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                archive.write(path, path.relative_to(folder).as_posix())
    return buffer.getvalue()


def submission(target: Path) -> tuple[Path, list[dict[str, Any]], list[dict[str, Any]]]:
    """The sample submission at ``target`` (as a city sends it) and its auditor's verdicts and
    judgements as the API takes them."""
    pack, verdicts, judged = sample_submission(examples.sample_pack(), target)
    judgements = [
        {
            "requirement": j.requirement,
            "rating": j.rating,
            "cites": list(j.cites),
            "method": j.method,
            "reason": j.reason,
        }
        for j in judged
    ]
    return pack, [dataclasses.asdict(v) for v in verdicts], judgements


def make_api(tmp_path: Path, key: SigningKey, trust: list[x509.Certificate], **settings: Any) -> Api:
    """A server over a fresh data folder with everybody's password set."""
    clock = MovableClock(DAY)
    data = tmp_path / "data"
    app = create_app(
        Settings(
            data=str(data),
            clock=clock,
            key=key,
            body="Assay Demo Certification Body",
            trust=trust,
            **settings,
        )
    )
    services: Services = app.state.services
    people = tmp_path / "people.yaml"
    original = examples.people_file().read_text(encoding="utf-8")
    people.write_text(original + EXTRA_PEOPLE.split("people:", 1)[1], encoding="utf-8")
    services.engagements.import_people(load_people(people), None)
    for person in EVERYONE:
        token = services.accounts.invite(ADMIN, person)
        services.accounts.set_password(token, PASSWORD)
    pack, verdicts, judgements = submission(tmp_path / "submission")
    return Api(LiveServer(app), services, clock, data, pack, verdicts, judgements)


@pytest.fixture
def api(tmp_path: Path, signing_key: SigningKey, trust_roots: list[x509.Certificate]) -> Iterator[Api]:
    """A live server over a fresh store (SQLite), everybody's password set."""
    made = make_api(tmp_path, signing_key, trust_roots)
    try:
        yield made
    finally:
        made.close()
