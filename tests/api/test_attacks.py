"""Bad and hostile requests: CSRF, session fixation, stolen or stale tokens, guessed ids,
malformed and oversized uploads, hostile archives, and a server killed in the middle of an upload.
Each gets one clear problem document and leaves what is stored as it was."""

from __future__ import annotations

import io
import json
import socket
import time
import zipfile
from pathlib import Path

import pytest
from cryptography import x509
from sqlalchemy import func, select

from api.auth import COOKIE, CSRF_HEADER
from api.uploads import LOCK, sweep, upload_folder
from assay.services import services_for
from audits.integrity import check_integrity
from audits.schema import pack_versions
from audits.store import open_store
from certificates.keys import SigningKey
from tests.api.conftest import (
    ADMIN,
    AUDITOR,
    LEAD,
    PASSWORD,
    REVIEWER,
    SUBMITTER,
    Api,
    ServerProcess,
    make_api,
)

ZIP = {"Content-Type": "application/zip"}


def _versions(api: Api) -> int:
    with api.services.store.read() as connection:
        return int(connection.execute(select(func.count()).select_from(pack_versions)).scalar_one())


def test_a_change_on_a_session_without_the_csrf_token_is_refused(api: Api) -> None:
    city = api.client(SUBMITTER)
    missing = city.post("/v1/engagements", json={"community": "harbourton", "name": "H"}, csrf=False)
    assert missing.status_code == 403
    assert missing.json()["type"] == "/problems/csrf"
    assert CSRF_HEADER in missing.json()["detail"]
    forged = city.post(
        "/v1/engagements", json={"community": "harbourton", "name": "H"}, headers={CSRF_HEADER: "0" * 64}
    )
    assert forged.status_code == 403
    assert city.get("/v1/engagements").json() == []  # a read needs no token; nothing was made
    assert city.get("/v1/me").json()["csrf_token"] == city.csrf  # a page can fetch it again


def test_the_session_cookie_is_secure_httponly_strict_and_host_only(api: Api) -> None:
    response = api.client().http.post("/v1/sign-in", json={"person": SUBMITTER, "password": PASSWORD})
    cookie = response.headers["set-cookie"]
    assert cookie.startswith(f"{COOKIE}=")
    for attribute in ("HttpOnly", "Secure", "SameSite=strict", "Path=/"):
        assert attribute.lower() in cookie.lower()
    assert "domain" not in cookie.lower()


def test_signing_in_always_starts_a_new_session_and_ends_the_one_presented(api: Api) -> None:
    city = api.client(SUBMITTER)
    planted = city.session
    again = city.sign_in(SUBMITTER)
    assert again.status_code == 200
    assert city.session != planted
    stale = api.client()
    stale.session = planted
    refused = stale.get("/v1/me")
    assert refused.status_code == 401
    assert "unknown, ended or expired" in refused.json()["detail"]
    assert refused.headers["www-authenticate"].startswith("Bearer")


def test_a_signed_out_session_stops_working(api: Api) -> None:
    city = api.client(SUBMITTER)
    assert city.post("/v1/sign-out").status_code == 204
    assert city.get("/v1/me").status_code == 401


def test_sign_in_is_throttled_per_account_and_a_form_post_cannot_sign_in(api: Api) -> None:
    anyone = api.client()
    for _ in range(5):
        wrong = anyone.http.post("/v1/sign-in", json={"person": LEAD, "password": "not the password, no"})
        assert wrong.status_code == 403
        assert wrong.json()["detail"] == "cannot sign in: wrong id or password"
    throttled = anyone.http.post("/v1/sign-in", json={"person": LEAD, "password": PASSWORD})
    assert throttled.status_code == 403
    assert "too many failed sign-ins from this account" in throttled.json()["detail"]
    form = anyone.http.post("/v1/sign-in", data={"person": SUBMITTER, "password": PASSWORD})
    assert form.status_code == 422
    assert "set-cookie" not in form.headers


def test_tokens_act_for_their_owner_within_their_scope_until_revoked_or_expired(api: Api) -> None:
    city = api.client(SUBMITTER)
    made = city.post("/v1/tokens", json={"scope": "read", "days": 1}).json()
    writer = city.post("/v1/tokens", json={"scope": "write", "days": 1}).json()
    machine = api.client()
    machine.token = made["token"]
    assert machine.get("/v1/me").json()["id"] == SUBMITTER
    refused = machine.post("/v1/engagements", json={"community": "harbourton", "name": "H"})
    assert refused.status_code == 403
    assert refused.json()["detail"] == "this API token may only read"
    machine.token = writer["token"]
    assert machine.post("/v1/engagements", json={"community": "harbourton", "name": "H"}).status_code == 201
    assert machine.post("/v1/tokens", json={"scope": "write"}).status_code == 403  # tokens make no tokens
    assert city.delete(f"/v1/tokens/{writer['id']}").status_code == 204
    revoked = machine.get("/v1/me")
    assert revoked.status_code == 401
    assert revoked.json()["detail"] == "cannot use an API token: the token is unknown, expired or revoked"
    machine.token = made["token"]
    api.clock.day = api.clock.day.replace(year=api.clock.day.year + 1)
    assert machine.get("/v1/me").status_code == 401
    machine.token = made["token"][:-4] + "AAAA"
    assert machine.get("/v1/me").status_code == 401


def test_nobody_acts_as_someone_else(api: Api) -> None:
    city = api.client(SUBMITTER)
    response = city.post("/v1/engagements", json={"community": "harbourton", "name": "H", "person": ADMIN})
    assert response.status_code == 422
    assert response.json()["problems"][0]["path"] == "body.person"


def test_malformed_json_names_every_problem(api: Api) -> None:
    lead = api.client(LEAD)
    response = lead.post(
        "/v1/engagements/ENG-1/verdicts",
        json=[{"evidence_id": "", "verdict": "maybe", "method": "guess"}, 7],
    )
    assert response.status_code == 422
    paths = {p["path"] for p in response.json()["problems"]}
    assert {"body.0.evidence_id", "body.0.verdict", "body.0.method", "body.0.reason", "body.1"} <= paths
    broken = lead.post(
        "/v1/engagements/ENG-1/verdicts", content=b"[{", headers={"Content-Type": "application/json"}
    )
    assert broken.status_code == 422
    assert broken.headers["content-type"] == "application/problem+json"


def _engagement(api: Api) -> tuple[str, object]:
    city = api.client(SUBMITTER)
    return api.apply(city), city


def test_a_hostile_zip_is_refused_with_every_problem_and_nothing_stored(api: Api) -> None:
    eid, city = _engagement(api)
    buffer = io.BytesIO(api.pack_zip())
    with zipfile.ZipFile(buffer, "a") as archive:
        archive.writestr("../outside.txt", b"x")
        archive.writestr("/abs.txt", b"y")
    response = city.post(  # type: ignore[attr-defined]
        f"/v1/engagements/{eid}/versions",
        content=buffer.getvalue(),
        headers={"Content-Type": "application/zip"},
    )
    assert response.status_code == 422
    found = {(p["file"].rsplit("/", 1)[-1], p["message"]) for p in response.json()["problems"]}
    assert ("outside.txt", "entry path is absolute or leaves the pack") in found
    assert ("abs.txt", "entry path is absolute or leaves the pack") in found
    assert all("/tmp" not in p["file"] and "upload-" not in p["file"] for p in response.json()["problems"])
    assert _versions(api) == 0
    assert list((api.data / "uploads").iterdir()) == []


def test_a_pack_with_a_wrong_hash_or_not_a_zip_is_refused(api: Api) -> None:
    eid, city = _engagement(api)
    (api.pack / "attachments" / "vision-2035.txt").write_bytes(b"edited after hashing")
    wrong = city.post(f"/v1/engagements/{eid}/versions", files=api.multipart())  # type: ignore[attr-defined]
    assert wrong.status_code == 422
    assert any("vision-2035.txt" in p["file"] + p["message"] for p in wrong.json()["problems"])
    junk = city.post(  # type: ignore[attr-defined]
        f"/v1/engagements/{eid}/versions",
        content=b"PK\x03\x04 not really",
        headers={"Content-Type": "application/zip"},
    )
    assert junk.status_code == 422
    assert "not a readable zip" in junk.json()["problems"][0]["message"]
    text = city.post(  # type: ignore[attr-defined]
        f"/v1/engagements/{eid}/versions", content=b"hello", headers={"Content-Type": "text/plain"}
    )
    assert text.status_code == 415
    assert _versions(api) == 0


@pytest.mark.parametrize(
    ("filename", "message"),
    [("../pack.json", "is not a path inside the pack"), ("/etc/pack.json", "is not a path inside the pack")],
)
def test_multipart_names_that_leave_the_pack_are_refused(api: Api, filename: str, message: str) -> None:
    eid, city = _engagement(api)
    files = [("file", (filename, b"{}", "application/json"))]
    response = city.post(f"/v1/engagements/{eid}/versions", files=files)  # type: ignore[attr-defined]
    assert response.status_code == 400
    assert message in response.json()["detail"]
    assert not (api.data / "etc").exists()
    assert _versions(api) == 0


def test_a_multipart_upload_without_a_manifest_or_twice_a_file_is_refused(api: Api) -> None:
    eid, city = _engagement(api)
    only = [("file", ("attachments/a.txt", b"a", "text/plain"))]
    missing = city.post(f"/v1/engagements/{eid}/versions", files=only)  # type: ignore[attr-defined]
    assert missing.status_code == 400
    assert missing.json()["detail"] == "the upload has no pack.json or pack.xml part"
    twice = city.post(f"/v1/engagements/{eid}/versions", files=only + only)  # type: ignore[attr-defined]
    assert twice.json()["detail"] == "the file attachments/a.txt is sent twice"


def test_an_upload_over_the_cap_stops_at_the_cap(
    tmp_path: Path, signing_key: SigningKey, trust_roots: list[x509.Certificate]
) -> None:
    small = make_api(tmp_path, signing_key, trust_roots, upload_limit=4096)
    try:
        city = small.client(SUBMITTER)
        eid = small.apply(city)

        def chunks() -> object:
            for _ in range(64):
                yield b"\0" * 1024

        response = city.post(
            f"/v1/engagements/{eid}/versions", content=chunks(), headers={"Content-Type": "application/zip"}
        )
        assert response.status_code == 413
        assert response.json()["detail"] == "an upload may have at most 4096 bytes"
        assert _versions(small) == 0
    finally:
        small.close()


def test_a_server_killed_mid_upload_stores_nothing_and_sweeps_the_upload(tmp_path: Path) -> None:
    data = tmp_path / "data"
    made = make_api(tmp_path, None, [])  # type: ignore[arg-type]
    city = made.client(SUBMITTER)
    eid = made.apply(city)
    made.close()
    server = ServerProcess("--data", str(data))
    try:
        body = made.pack_zip()
        with socket.create_connection(("127.0.0.1", server.port)) as raw:
            raw.sendall(
                (
                    f"POST /v1/engagements/{eid}/versions HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                    f"Content-Type: application/zip\r\nContent-Length: {len(body)}\r\n"
                    f"Cookie: {COOKIE}={city.session}\r\n{CSRF_HEADER}: {city.csrf}\r\n\r\n"
                ).encode()
                + body[: len(body) // 2]
            )
            deadline = time.monotonic() + 30
            while not any((data / "uploads").glob("upload-*/pack.zip")):
                assert time.monotonic() < deadline, "the upload never reached the server"
                time.sleep(0.05)
            server.kill()
    finally:
        server.stop()
    assert any((data / "uploads").glob("upload-*"))  # the half upload is still on disk...
    store = open_store(str(data))
    try:
        with store.read() as connection:
            assert connection.execute(select(func.count()).select_from(pack_versions)).scalar_one() == 0
        assert check_integrity(store).problems == []
    finally:
        store.close()
    from api.app import create_app
    from api.settings import Settings

    restarted = create_app(Settings(data=str(data)))  # ...until the next start sweeps it
    restarted.state.services.store.close()
    assert list((data / "uploads").iterdir()) == []
    services_for(str(data), None, None).store.close()


def test_errors_are_problem_documents_never_tracebacks(api: Api) -> None:
    anyone = api.client()
    missing = anyone.get("/v1/no-such-thing")
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"
    body = json.loads(missing.text)
    assert set(body) >= {"type", "title", "status", "detail"}
    assert missing.headers["x-content-type-options"] == "nosniff"
    assert missing.headers["cache-control"] == "no-store"
    absent = anyone.get("/v1/certificates/XX-2026-000001")
    assert absent.status_code == 404
    assert absent.json()["detail"] == "certificate XX-2026-000001 is not in the register"
    page = anyone.get("/v1/register", params={"per_page": 1000})
    assert page.status_code == 422
    assert page.json()["problems"][0]["path"] == "query.per_page"


def test_the_public_endpoints_are_rate_limited_per_address(
    tmp_path: Path, signing_key: SigningKey, trust_roots: list[x509.Certificate]
) -> None:
    limited = make_api(tmp_path, signing_key, trust_roots, public_rate=5)
    try:
        anyone = limited.client()
        codes = [anyone.get("/v1/register").status_code for _ in range(7)]
        assert codes == [200] * 5 + [429, 429]
        refused = anyone.get("/v1/health")
        assert refused.json()["detail"].startswith("at most 5 requests a minute from one address")
        assert int(refused.headers["retry-after"]) >= 1
    finally:
        limited.close()


def test_the_roles_reach_over_http_as_in_the_operations(api: Api) -> None:
    city, admin, lead = api.client(SUBMITTER), api.client(ADMIN), api.client(LEAD)
    eid = api.apply(city)
    admin.post(
        f"/v1/engagements/{eid}/team", json={"lead": LEAD, "auditors": [AUDITOR], "reviewer": REVIEWER}
    )
    # The same refusal the command line prints, and it is on the trail.
    refused = lead.post(f"/v1/engagements/{eid}/decisions", json={"outcome": "certify", "reason": "x"})
    assert refused.status_code == 403
    assert refused.json()["detail"].startswith(f"{LEAD} may not decide on {eid}: they audited it")
    with api.services.store.read() as connection:
        rows = connection.exec_driver_sql("SELECT event, actor FROM trail").all()
    assert ("engagement.refused", LEAD) in {(event, actor.split(" ")[0]) for event, actor in rows}


def test_the_start_up_sweep_leaves_uploads_in_progress_elsewhere_alone(tmp_path: Path) -> None:
    # Servers sharing a data folder each sweep at start-up: only abandoned uploads may go.
    root = tmp_path / "uploads"
    abandoned = root / "upload-dead"
    abandoned.mkdir(parents=True)
    (abandoned / LOCK).touch()
    with upload_folder(root) as receiving:
        assert sweep(root) == [abandoned]
        assert receiving.is_dir()
    assert not receiving.exists()
