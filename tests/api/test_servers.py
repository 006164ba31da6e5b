"""Two ``assay serve`` processes on one PostgreSQL database: neither holds state of its own, so a
session made on one works on the other, and the lifecycle interleaved across them is the same
as on one server."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

import examples
from assay.services import Services, services_for
from audits.integrity import check_integrity
from audits.people import load_people
from certificates.pki import TestPki
from tests.api.conftest import (
    ADMIN,
    AUDITOR,
    DAY,
    EVERYONE,
    EXTRA_PEOPLE,
    LEAD,
    PASSWORD,
    REVIEWER,
    SUBMITTER,
    ZIP,
    Client,
    ServerProcess,
    certify,
    make_api,
    submission,
    zipped,
)
from tests.engagements.conftest import MovableClock
from tests.engagements.test_rerating import ADDED, CHANGED, corrected_pack


@dataclass
class Shared:
    """A PostgreSQL store prepared for servers: the demo's people with passwords, the sample."""

    services: Services
    anchor: Path
    attachments: Path
    pack: Path
    verdicts: list[dict[str, Any]]
    judgements: list[dict[str, Any]]

    def args(self) -> tuple[str, ...]:
        return (
            "--data",
            str(self.services.store.url.render_as_string(hide_password=False)),
            "--attachments",
            str(self.attachments),
        )

    def env(self) -> dict[str, str]:
        return {"ASSAY_ANCHOR": str(self.anchor)}


def shared(database: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Shared:
    anchor, attachments = tmp_path / "assay.head", tmp_path / "attachments"
    monkeypatch.setenv("ASSAY_ANCHOR", str(anchor))
    services = services_for(database, attachments, None, clock=MovableClock(DAY))
    people = tmp_path / "people.yaml"
    listed = examples.people_file().read_text(encoding="utf-8") + EXTRA_PEOPLE.split("people:", 1)[1]
    people.write_text(listed, encoding="utf-8")
    services.engagements.import_people(load_people(people), None)
    for person in EVERYONE:
        services.accounts.set_password(services.accounts.invite(ADMIN, person), PASSWORD)
    pack, verdicts, judgements = submission(tmp_path / "submission")
    return Shared(services, anchor, attachments, pack, verdicts, judgements)


@pytest.mark.parametrize("database", ["postgresql"], indirect=True)
def test_two_servers_on_one_database_serve_one_lifecycle(
    database: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    prepared = shared(database, tmp_path, monkeypatch)
    services, pack, verdicts = prepared.services, prepared.pack, prepared.verdicts
    anchor, attachments = prepared.anchor, prepared.attachments
    args = ("--data", database, "--attachments", str(attachments))
    first = ServerProcess(*args, env={"ASSAY_ANCHOR": str(anchor)})
    second = ServerProcess(*args, env={"ASSAY_ANCHOR": str(anchor)})
    clients: list[httpx.Client] = []
    try:

        def on(server: ServerProcess, person: str | None = None, like: Client | None = None) -> Client:
            http = httpx.Client(base_url=server.url, timeout=120)
            clients.append(http)
            client = Client(http)
            if like is not None:  # the same session, sent to the other server
                client.session, client.csrf = like.session, like.csrf
            elif person is not None:
                assert client.sign_in(person).status_code == 200
            return client

        city_a = on(first, SUBMITTER)
        city_b = on(second, like=city_a)
        assert city_b.get("/v1/me").json()["id"] == SUBMITTER
        eid = city_a.post("/v1/engagements", json={"community": "harbourton", "name": "Harbourton"}).json()[
            "engagement"
        ]
        admin_b = on(second, ADMIN)
        team = {"lead": LEAD, "auditors": [AUDITOR], "reviewer": REVIEWER}
        assert admin_b.post(f"/v1/engagements/{eid}/team", json=team).status_code == 204
        files = [
            ("file", (p.relative_to(pack).as_posix(), p.read_bytes(), "application/octet-stream"))
            for p in sorted(pack.rglob("*"))
            if p.is_file()
        ]
        uploaded = city_b.post(f"/v1/engagements/{eid}/versions", files=files)
        assert uploaded.status_code == 201, uploaded.text
        lead_a, lead_b = on(first, LEAD), None
        lead_b = on(second, like=lead_a)
        half = len(verdicts) // 2
        # Interleaved: verdicts through both servers, each half on its own.
        assert lead_a.post(f"/v1/engagements/{eid}/verdicts", json=verdicts[:half]).status_code == 201
        assert lead_b.post(f"/v1/engagements/{eid}/verdicts", json=verdicts[half:]).status_code == 201
        evaluated = lead_a.post(f"/v1/engagements/{eid}/evaluations", json={})
        assert evaluated.status_code == 201, evaluated.text
        read_back = on(second, REVIEWER).get(f"/v1/engagements/{eid}/evaluations/0").json()
        assert read_back["levels"] == evaluated.json()["levels"]
        status = city_b.get(f"/v1/engagements/{eid}").json()
        assert status["evidence_versions"] == 1
        assert status["latest_evaluation"]["number"] == 1
        # Signing out on one server ends the session on both.
        assert city_b.post("/v1/sign-out").status_code == 204
        assert city_a.get("/v1/me").status_code == 401
        assert check_integrity(services.store).problems == []
    finally:
        for http in clients:
            http.close()
        first.stop()
        second.stop()
        services.store.close()


@pytest.mark.parametrize("database", ["postgresql"], indirect=True)
def test_two_servers_and_a_worker_re_rate_every_certificate_under_a_corrected_pack(
    database: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, engagement_pki: TestPki
) -> None:
    prepared = shared(database, tmp_path, monkeypatch)
    key = ("--key", str(engagement_pki.signer_p12), "--password-file", str(engagement_pki.signer_password))
    servers = [
        ServerProcess(*prepared.args(), *key, "--body", "Test Body", env=prepared.env()) for _ in range(2)
    ]
    clients: list[httpx.Client] = []
    try:

        def on(server: ServerProcess, person: str) -> Client:
            http = httpx.Client(base_url=server.url, timeout=120)
            clients.append(http)
            client = Client(http)
            assert client.sign_in(person).status_code == 200
            return client

        # Each person on one server or the other: the steps interleave across the two.
        people = {p: on(servers[n % 2], p) for n, p in enumerate((SUBMITTER, ADMIN, LEAD, AUDITOR, REVIEWER))}
        eid, number = certify(people, zipped(prepared.pack), prepared.verdicts, prepared.judgements)
        installed = people[ADMIN].post(
            "/v1/rule-packs", content=zipped(corrected_pack(tmp_path)), headers=ZIP
        )
        assert installed.status_code == 202, installed.text
        assert installed.json()["job"] == "rerate job procrastinate:1"
        assert people[REVIEWER].get("/v1/reratings").json() == []  # queued, not run: no worker yet
        worker = subprocess.run(
            [
                sys.executable,
                "-m",
                "assay",
                "worker",
                "--data",
                prepared.args()[1],
                "--once",
                "--date",
                str(DAY),
            ],
            env={**os.environ, **prepared.env()},
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        assert worker.returncode == 0, worker.stderr
        [rerating] = people[REVIEWER].get("/v1/reratings").json()
        assert (rerating["certificate"], rerating["engagement"]) == (number, eid)
        [changed] = rerating["changes"]["characteristics"]
        assert (changed["id"], changed["old_level"], changed["new_level"]) == (CHANGED, 2, 1)
        assert changed["causes"][0]["requirement"] == f"{CHANGED}/2/{ADDED}"
        # Both servers evaluate with the installed pack now; the certificate is untouched.
        other = on(servers[1], LEAD)
        assert other.get(f"/v1/certificates/{number}").json()["status"] == "issued"
        again = other.post(f"/v1/engagements/{eid}/evaluations", json={"surveillance": True})
        assert again.status_code == 201, again.text
        assert again.json()["levels"][CHANGED] == 1
        assert check_integrity(prepared.services.store).problems == []
    finally:
        for http in clients:
            http.close()
        for server in servers:
            server.stop()
        prepared.services.store.close()


def test_one_port_served_by_two_worker_processes(tmp_path: Path) -> None:
    # assay serve --workers 2: each request may reach either process; sign-in, reads and writes
    # work across them, since neither keeps anything of its own.
    made = make_api(tmp_path, None, [])  # type: ignore[arg-type]
    made.close()
    server = ServerProcess("--data", str(tmp_path / "data"), "--workers", "2")
    try:
        with httpx.Client(base_url=server.url, timeout=60) as http:
            city = Client(http)
            assert city.sign_in(SUBMITTER).status_code == 200
            made_ids = [
                city.post("/v1/engagements", json={"community": "harbourton", "name": "H"}) for _ in range(6)
            ]
            assert [r.status_code for r in made_ids] == [201] * 6
            listed = {e["id"] for e in city.get("/v1/engagements").json()}
            assert listed == {r.json()["engagement"] for r in made_ids}
        children = Path(f"/proc/{server.process.pid}/task/{server.process.pid}/children").read_text().split()
        assert len(children) >= 2  # the supervisor's worker processes
    finally:
        server.stop()
