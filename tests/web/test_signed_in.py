"""The signed-in pages over plain HTTP (what a browser without script does): sign-in and its
guards, CSRF on every form, errors as pages, the language remembered per person, attachments
served safely, and ``assay demo --serve`` printing sign-ins that work."""

from __future__ import annotations

import html
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import openpyxl

from assay.demo import ADMIN, AUDITOR, LEAD, SUBMITTER
from assay.demo_serve import ROLES, Served
from assay.options import load_rules
from evidence_schemas.workbook import write_template

SAME_SITE = {"sec-fetch-site": "same-origin"}


class HttpBrowser:
    """An HTTP client keeping cookies as a browser on localhost does: httpx sends Secure cookies
    over HTTPS only, and the session cookie is Secure, so they are kept and sent here."""

    def __init__(self, url: str) -> None:
        self.http = httpx.Client(base_url=url, timeout=60, follow_redirects=False)
        self.cookies: dict[str, str] = {}

    def __enter__(self) -> HttpBrowser:
        return self

    def __exit__(self, *_: object) -> None:
        self.http.close()

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        cookie = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        headers = {**({"cookie": cookie} if cookie else {}), **kwargs.pop("headers", {})}
        response = self.http.request(method, path, headers=headers, **kwargs)
        for header in response.headers.get_list("set-cookie"):
            name, _, rest = header.partition("=")
            value = rest.split(";", 1)[0]
            if value and "max-age=0" not in header.lower():
                self.cookies[name] = value
            else:
                self.cookies.pop(name, None)
        return response

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", path, **kwargs)


def http_browser(url: str) -> HttpBrowser:
    return HttpBrowser(url)


def sign_in(client: HttpBrowser, person: str, password: str) -> httpx.Response:
    form = client.get("/sign-in")
    nonce = re.search(r'name="nonce" value="([^"]+)"', form.text)
    assert nonce is not None
    return client.post(
        "/sign-in",
        data={"nonce": nonce.group(1), "after": "/work", "person": person, "password": password},
        headers=SAME_SITE,
    )


def csrf_of(page: httpx.Response) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert found is not None, page.text[:500]
    return found.group(1)


def test_a_page_without_a_session_sends_the_browser_to_sign_in(demo: tuple[str, Served]) -> None:
    url, served = demo
    with http_browser(url) as client:
        page = client.get(f"/work/{served.engagement}/queue")
        assert page.status_code == 303
        assert page.headers["location"] == f"/sign-in?after=%2Fwork%2F{served.engagement}%2Fqueue"


def test_signing_in_refuses_a_wrong_password_a_stale_form_and_another_site(demo: tuple[str, Served]) -> None:
    url, served = demo
    with http_browser(url) as client:
        wrong = sign_in(client, AUDITOR, "not-the-password")
        assert wrong.status_code == 401
        assert "cannot sign in" in wrong.text
        stale = client.post(
            "/sign-in",
            data={"nonce": "made-up", "person": AUDITOR, "password": served.passwords[AUDITOR]},
            headers=SAME_SITE,
        )
        assert stale.status_code == 403
        assert "expired or came from elsewhere" in stale.text
        form = client.get("/sign-in")
        nonce = re.search(r'name="nonce" value="([^"]+)"', form.text)
        assert nonce is not None
        elsewhere = client.post(
            "/sign-in",
            data={"nonce": nonce.group(1), "person": AUDITOR, "password": served.passwords[AUDITOR]},
            headers={"sec-fetch-site": "cross-site"},
        )
        assert elsewhere.status_code == 403
        assert "__Host-assay-session" not in elsewhere.headers.get("set-cookie", "")


def test_every_form_needs_the_session_csrf_token(demo: tuple[str, Served]) -> None:
    url, served = demo
    with http_browser(url) as client:
        assert sign_in(client, AUDITOR, served.passwords[AUDITOR]).status_code == 303
        item = served.left[0]
        page = client.get(f"/work/{served.engagement}/items/{item}")
        assert page.status_code == 200
        verdict = {"verdict": "accepted", "method": "document_review", "reason": "Checked."}
        missing = client.post(f"/work/{served.engagement}/items/{item}/verdict", data=verdict)
        assert missing.status_code == 403
        assert "CSRF token missing or wrong" in missing.text
        assert missing.headers["content-type"].startswith("text/html")  # a page, not JSON
        wrong = client.post(f"/work/{served.engagement}/items/{item}/verdict", data={**verdict, "csrf": "x"})
        assert wrong.status_code == 403
        queue = client.get(f"/work/{served.engagement}/queue")
        assert item in queue.text  # nothing was recorded


def test_a_refusal_is_shown_on_the_page_with_the_operation_reason(demo: tuple[str, Served]) -> None:
    url, served = demo
    with http_browser(url) as client:
        assert sign_in(client, SUBMITTER, served.passwords[SUBMITTER]).status_code == 303
        item = served.left[0]
        page = client.get(f"/work/{served.engagement}/items/{item}")
        refused = client.post(
            f"/work/{served.engagement}/items/{item}/verdict",
            data={
                "verdict": "accepted",
                "method": "document_review",
                "reason": "Ours.",
                "csrf": csrf_of(page),
            },
        )
        assert refused.status_code == 403
        assert f"{SUBMITTER}" in refused.text
        assert "may not" in refused.text


def test_the_language_a_person_chooses_follows_them_to_another_browser(demo: tuple[str, Served]) -> None:
    url, served = demo
    with http_browser(url) as first, http_browser(url) as second:
        assert sign_in(first, AUDITOR, served.passwords[AUDITOR]).status_code == 303
        assert "我的工作" in first.get("/work", params={"lang": "zh"}).text
        assert sign_in(second, AUDITOR, served.passwords[AUDITOR]).status_code == 303
        again = second.get("/work")
        assert 'lang="zh-Hans"' in again.text  # no cookie in this client: the store remembered
        assert "我的工作" in again.text
        first.get("/work", params={"lang": "en"})


def test_an_attachment_of_an_item_is_a_sandboxed_download(demo: tuple[str, Served]) -> None:
    url, served = demo
    with http_browser(url) as client:
        assert sign_in(client, AUDITOR, served.passwords[AUDITOR]).status_code == 303
        page = client.get(f"/work/{served.engagement}/items/vision-2035")
        links = re.findall(rf"/work/{served.engagement}/attachments/([0-9a-f]{{64}})", page.text)
        assert links, "the sample's vision document has an attachment"
        shown = client.get(f"/work/{served.engagement}/attachments/{links[0]}")
        assert shown.status_code == 200
        assert shown.headers["x-content-type-options"] == "nosniff"
        assert "sandbox" in shown.headers["content-security-policy"]
        # The sample's vision is a text file: a download, never rendered from this origin (a
        # PDF's inline answer is tested on attachment_response itself, tests/api).
        assert shown.headers["content-disposition"] == 'attachment; filename="vision-2035.txt"'
        assert shown.headers["content-security-policy"] == "sandbox; default-src 'none'"


def test_a_page_of_the_whole_sample_stays_small(demo: tuple[str, Served]) -> None:
    """The draft lists every item of the sample (120): its page is far under 200 KB."""
    url, served = demo
    with http_browser(url) as client:
        assert sign_in(client, SUBMITTER, served.passwords[SUBMITTER]).status_code == 303
        page = client.get(f"/work/{served.engagement}/draft")
        assert page.status_code == 200
        assert page.text.count("/draft/items/") >= 100
        assert len(page.content) < 200_000, len(page.content)


def test_demo_serve_prints_a_sign_in_for_each_role_that_works(tmp_path: Path) -> None:
    command = [
        sys.executable,
        "-m",
        "assay",
        "demo",
        "--serve",
        "--out",
        str(tmp_path / "demo"),
        "--port",
        "0",
    ]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        lines: list[str] = []
        deadline = time.monotonic() + 120
        while not any(line.startswith("Stop the server") for line in lines):
            assert time.monotonic() < deadline, lines
            line = process.stdout.readline()
            assert line, f"the demo stopped: {process.stderr.read() if process.stderr else ''}"
            lines.append(line.rstrip("\n"))
        address = re.search(r"http://127\.0\.0\.1:\d+", lines[0])
        assert address is not None, lines
        printed = dict(re.findall(r"^\s+(\S+)\s+password (\S+)", "\n".join(lines), re.MULTILINE))
        assert set(printed) == set(ROLES)
        for person, password in printed.items():
            with http_browser(address.group()) as client:
                signed = sign_in(client, person, password)
                assert signed.status_code == 303, (person, signed.text[:300])
                assert client.get("/work").status_code == 200
    finally:
        process.terminate()
        process.wait(timeout=30)
        for stream in (process.stdout, process.stderr):
            if stream is not None:
                stream.close()


def test_claims_come_from_an_uploaded_workbook_and_a_bad_one_is_named(
    demo: tuple[str, Served], tmp_path: Path
) -> None:
    url, served = demo
    rules = load_rules(None)
    template = tmp_path / "claims.xlsx"
    write_template(template, rules.model, rules)
    book = openpyxl.load_workbook(template)
    sheet = book["Self-assessment"]
    for row in range(2, 2 + len(rules.model.characteristics())):
        sheet[f"I{row}"], sheet[f"J{row}"] = 2, 3  # every level claimed: now 2, in two years 3
    book.save(template)
    with http_browser(url) as client:
        assert sign_in(client, SUBMITTER, served.passwords[SUBMITTER]).status_code == 303
        page = client.get(f"/work/{served.engagement}/draft/claims")
        target = f"/work/{served.engagement}/draft/claims/workbook"
        bad = client.post(
            target,
            data={"csrf": csrf_of(page)},
            files={"workbook": ("claims.xlsx", b"not a workbook", "application/octet-stream")},
        )
        assert bad.status_code == 422
        assert "claims.xlsx: not an .xlsx workbook" in bad.text  # the file uploaded, not a server path
        assert str(tmp_path) not in bad.text
        good = client.post(
            target,
            data={"csrf": csrf_of(page)},
            files={"workbook": ("claims.xlsx", template.read_bytes(), "application/octet-stream")},
        )
        assert good.status_code == 303, good.text[:500]
        claims = client.get(f"/work/{served.engagement}/draft").text
        assert "32 characteristics claimed" in claims


def test_the_rerating_report_is_for_the_body_alone(demo: tuple[str, Served]) -> None:
    url, served = demo
    with http_browser(url) as admin, http_browser(url) as city:
        assert sign_in(admin, ADMIN, served.passwords[ADMIN]).status_code == 303
        report = admin.get("/reratings")
        assert report.status_code == 200
        assert "No re-rating has been made." in report.text
        assert sign_in(city, SUBMITTER, served.passwords[SUBMITTER]).status_code == 303
        refused = city.get("/reratings")
        assert refused.status_code == 403
        assert "only the body's reviewers and register administrators" in html.unescape(refused.text)


def test_an_auditor_raises_a_finding_the_lead_closes_it(demo: tuple[str, Served]) -> None:
    url, served = demo
    eid, item = served.engagement, served.left[1]
    statement = "Review interval of the board not documented"
    with http_browser(url) as auditor, http_browser(url) as lead:
        assert sign_in(auditor, AUDITOR, served.passwords[AUDITOR]).status_code == 303
        page = auditor.get(f"/work/{eid}/items/{item}")
        form = {"csrf": csrf_of(page), "evidence_id": item, "severity": "minor", "statement": statement}
        bad = auditor.post(f"/work/{eid}/findings", data={**form, "due_on": "someday"})
        assert bad.status_code == 422
        assert "due_on" in bad.text
        raised = auditor.post(f"/work/{eid}/findings", data={**form, "due_on": "2026-09-30"})
        assert raised.status_code == 303, raised.text[:300]
        queue = auditor.get(f"/work/{eid}/queue").text
        assert statement in queue
        found = re.search(r"/findings/(\d+)/close", queue)
        assert found is None  # only the lead closes findings: the auditor gets no form
        assert sign_in(lead, LEAD, served.passwords[LEAD]).status_code == 303
        queue_page = lead.get(f"/work/{eid}/queue")
        found = re.search(r"/findings/(\d+)/close", queue_page.text)
        assert found is not None
        closed = lead.post(
            f"/work/{eid}/findings/{found.group(1)}/close",
            data={
                "csrf": csrf_of(queue_page),
                "evidence": "vision-2035\n",
                "note": "Interval now documented.",
            },
        )
        assert closed.status_code == 303, closed.text[:300]
        assert statement not in lead.get(f"/work/{eid}/queue").text


def test_a_complaint_is_recorded_and_resolved_on_the_administration_page(demo: tuple[str, Served]) -> None:
    url, served = demo
    eid = served.engagement
    with http_browser(url) as admin:
        assert sign_in(admin, ADMIN, served.passwords[ADMIN]).status_code == 303
        page = admin.get(f"/work/{eid}/admin")
        complaint = {"kind": "complaint", "party": "A resident", "subject": "The engagement page is slow"}
        recorded = admin.post(f"/work/{eid}/cases", data={"csrf": csrf_of(page), **complaint})
        assert recorded.status_code == 303, recorded.text[:300]
        page = admin.get(f"/work/{eid}/admin")
        assert "The engagement page is slow" in page.text
        found = re.search(r"/cases/(\d+)/resolve", page.text)
        assert found is not None
        resolved = admin.post(
            f"/work/{eid}/cases/{found.group(1)}/resolve",
            data={"csrf": csrf_of(page), "resolution": "Answered: pages are within target."},
        )
        assert resolved.status_code == 303, resolved.text[:300]
        assert "Answered: pages are within target." in admin.get(f"/work/{eid}/admin").text
