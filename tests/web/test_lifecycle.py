"""The demo's whole lifecycle through the pages, in a real browser (Debian's chromium through
Playwright), each step by the person it belongs to, on the store ``assay demo --serve`` builds:

the city adds an item (a refused form first, each problem beside its field), uploads an
attachment and sees its hash, and submits a version; the city's attempt to verify its own item
is refused with the reason; the auditor verifies the waiting items (the level panel redrawn in
place) and judges the waiting requirements; the lead evaluates; the reviewer decides; the
register administrator issues and downloads the signed PDF; the public verifies it.

Every page is looked at 1280 and 390 px wide in English and Chinese: no horizontal overflow, no
console error (a CSP violation is one), no serious or critical axe-core violation (axe vendored
under ``tests/web/vendor``), and a screenshot kept for review by eye (``ASSAY_ARTIFACTS``)."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from playwright.sync_api import Browser, ConsoleMessage, Page

import examples
from assay.demo import ADMIN, AUDITOR, LEAD, REVIEWER, SUBMITTER
from assay.demo_serve import Served
from tests.web.axe import axe

WIDTHS = (1280, 390)
ATTACHMENT = examples.sample_pack().parent / "norbridge" / "attachments" / "norbridge-compact.pdf"


class Person:
    """A person's browser session, looking at each page it reaches."""

    def __init__(self, browser: Browser, url: str, person: str, password: str, artefacts: Path) -> None:
        self.url, self.person, self.artefacts = url, person, artefacts
        self.context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.page.on("console", self._console)
        self.page.goto(f"{url}/sign-in")
        self.page.get_by_label("Your id").fill(person)
        self.page.get_by_label("Password").fill(password)
        self.page.get_by_role("button", name="Sign in").click()
        self.page.wait_for_url(f"{url}/work")

    def _console(self, message: ConsoleMessage) -> None:
        # A refused form answers 403 or 422 on purpose, and the browser logs that; any other
        # error (a CSP violation, a script error, a missing file) fails the test.
        expected = re.search(r"status of (403|422) ", message.text)
        if message.type == "error" and not expected:
            self.errors.append(f"{self.page.url}: {message.text}")

    def go(self, path: str) -> Page:
        response = self.page.goto(f"{self.url}{path}")
        assert response is not None, path
        assert response.status == 200, (path, response.status)
        return self.page

    def look(self, name: str, *, again: bool = True) -> None:
        """Check the page at both widths and, loading it ``again``, in both languages (a page a
        form post answered is looked at as it stands); screenshots kept."""
        page = self.page
        here = page.url
        for lang in ("en", "zh") if again else ("en",):
            if again:
                page.goto(f"{here}{'&' if '?' in here else '?'}lang={lang}")
            for width in WIDTHS:
                page.set_viewport_size({"width": width, "height": 900})
                overflow = page.evaluate(
                    "document.documentElement.scrollWidth - document.documentElement.clientWidth"
                )
                assert overflow <= 0, f"{name} ({lang}, {width} px) is {overflow} px too wide"
                page.screenshot(
                    path=str(self.artefacts / f"{self.person}-{name}-{lang}-{width}.png"), full_page=True
                )
            violations = axe(page)
            assert violations == [], f"{name} ({lang}): {violations}"
        page.set_viewport_size({"width": 1280, "height": 900})
        if again:
            page.goto(f"{here}{'&' if '?' in here else '?'}lang=en")
        assert self.errors == [], self.errors

    def close(self) -> None:
        assert self.errors == [], self.errors
        self.context.close()


def test_the_demo_lifecycle_through_the_pages(
    demo: tuple[str, Served], browser: Browser, artefacts: Path
) -> None:
    url, served = demo
    eid = served.engagement

    def person(who: str) -> Person:
        return Person(browser, url, who, served.passwords[who], artefacts)

    # The city: a refused item form, then a good item, an attachment, and the version submitted.
    city = person(SUBMITTER)
    city.look("work")
    city.go(f"/work/{eid}")
    city.look("overview")
    city.go(f"/work/{eid}/draft")
    city.look("draft")
    city.go(f"/work/{eid}/draft/claims")
    city.look("claims")
    page = city.go(f"/work/{eid}/draft/new?kind=document")
    city.look("new-document")
    page.get_by_label("Id", exact=True).fill("web-action-plan")
    page.get_by_label("Issuer").fill("Harbourton City Council")
    page.get_by_role("button", name="Save the item").click()
    title = page.get_by_label("Title", exact=True)
    assert title.get_attribute("aria-invalid") == "true"  # each problem beside its own field
    described = str(title.get_attribute("aria-describedby")).split()
    message = page.locator(f"#{described[-1]}").inner_text()
    assert "required" in message, message
    assert page.get_by_label("Collected on").get_attribute("aria-invalid") == "true"
    city.look("document-refused", again=False)
    page.get_by_label("Title", exact=True).fill("Digital action plan 2026")
    fill_dates(page)
    page.get_by_label("Offered for characteristics").fill("1.1.1")
    page.get_by_label("Document type").select_option("plan")
    page.get_by_label("Publication status").select_option("internal")
    page.get_by_role("button", name="Save the item").click()
    page.wait_for_url(f"{url}/work/{eid}/draft/items/web-action-plan")
    page.get_by_label("File to attach").set_input_files(str(ATTACHMENT))
    page.get_by_role("button", name="Upload").click()
    expected = hashlib.sha256(ATTACHMENT.read_bytes()).hexdigest()
    page.get_by_role("status").filter(has_text=expected).wait_for()
    city.look("document-attached")
    city.go(f"/work/{eid}/draft")
    page.get_by_role("button", name="Submit this version").click()
    page.wait_for_url(re.compile(rf"{url}/work/{eid}/dashboard\?submitted=2"))
    assert page.get_by_role("row").count() > 10
    city.look("dashboard")
    # Verifying its own item is refused, with the reason.
    page = city.go(f"/work/{eid}/items/web-action-plan")
    page.get_by_label("Accepted").check()
    page.get_by_label("Reason").fill("Looks fine to me")
    page.get_by_role("button", name="Record the verdict").click()
    refusal = page.locator("#levels .problem")
    refusal.wait_for()
    assert SUBMITTER in refusal.inner_text(), refusal.inner_text()
    assert "may not" in refusal.inner_text(), refusal.inner_text()
    city.close()

    # The auditor: every waiting item verified, every waiting requirement judged.
    auditor = person(AUDITOR)
    page = auditor.go(f"/work/{eid}/queue")
    auditor.look("queue")
    waiting = [link.inner_text() for link in page.locator("#items").get_by_role("link").all()]
    assert {*served.left, "web-action-plan"} <= set(waiting), waiting  # the sample leaves others too
    for number, item in enumerate(waiting):
        page = auditor.go(f"/work/{eid}/items/{item}")
        if number == 0 or item == "web-action-plan":
            auditor.look(f"item-{item}")
        page.get_by_label("Accepted").check()
        page.get_by_label("Reason").fill("Checked against the attachment and the council minutes.")
        page.get_by_role("button", name="Record the verdict").click()
        page.locator("#levels .ok").wait_for()  # the level panel redrawn in place
    page = auditor.go(f"/work/{eid}/queue")
    requirements = [link.inner_text() for link in page.locator("#requirements").get_by_role("link").all()]
    assert requirements, "the demo leaves requirements to judge"
    judged = 0
    for number, key in enumerate(requirements):
        page = auditor.go(f"/work/{eid}/requirement?key={key}")
        if number == 0:
            auditor.look("requirement")
        page.get_by_label("Rating").select_option("largely")
        page.get_by_label("Reason", exact=True).fill("Seen in the plan and confirmed at interview.")
        page.get_by_role("button", name="Record the judgement").click()
        page.locator("#levels .ok, #levels .problem").first.wait_for()
        if page.locator("input[name=cites]:checked").count() or "recorded=1" in page.url:
            assert "recorded=1" in page.url, page.locator("#levels").inner_text()
            judged += 1
        else:  # nothing qualifies to cite: the operation says so, and the requirement stays
            assert "cites no items" in page.locator("#levels .problem").inner_text()
    assert judged >= 1
    page = auditor.go(f"/work/{eid}/queue")
    assert page.get_by_role("heading", name="Items awaiting a verdict (0)").is_visible()
    auditor.close()

    # The lead evaluates.
    lead = person(LEAD)
    page = lead.go(f"/work/{eid}")
    page.get_by_role("button", name="Evaluate the latest evidence").click()
    page.get_by_text("the reviewer decides on the latest evaluation").wait_for()
    lead.look("evaluated")
    lead.close()

    # The reviewer decides.
    reviewer = person(REVIEWER)
    page = reviewer.go(f"/work/{eid}/decision")
    assert "intact" in page.locator("dl.facts").inner_text()
    reviewer.look("decision")
    page.get_by_label("Outcome").select_option("certify")
    page.get_by_label("Reason").fill("The verified profile rests on verified evidence.")
    page.get_by_role("button", name="Record the decision").click()
    page.get_by_text("the register administrator issues the certificate").wait_for()
    reviewer.close()

    # The register administrator issues and downloads the signed PDF.
    admin = person(ADMIN)
    page = admin.go(f"/work/{eid}/admin")
    admin.look("admin")
    page.get_by_role("button", name="Issue and sign the certificate").click()
    notice = page.get_by_role("status")
    notice.wait_for()
    with page.expect_download() as downloading:
        notice.get_by_role("link", name="Download the signed PDF").click()
    pdf = artefacts / "certificate.pdf"
    downloading.value.save_as(pdf)  # the context's own copy goes when the context closes
    assert pdf.read_bytes().startswith(b"%PDF-")
    admin.look("issued")
    admin.close()

    # The public verifies it.
    public = browser.new_page()
    try:
        public.goto(f"{url}/verify")
        public.get_by_label("Certificate PDF").set_input_files(str(pdf))
        public.get_by_role("button", name="Check").click()
        assert public.get_by_role("heading", name="This certificate is valid.").is_visible()
        assert axe(public) == []
    finally:
        public.close()

    # The register administrator suspends it, with the reason, and reinstates it.
    admin = person(ADMIN)
    page = admin.go(f"/work/{eid}/admin")
    for operation, status in (("suspend", "suspended"), ("reinstate", "reinstated")):
        page.get_by_label("Change its status").select_option(operation)
        page.get_by_label("Reason").first.fill(f"Test of {operation} from the pages.")
        page.get_by_role("button", name="Apply").click()
        page.locator(f"span.status.{status}").first.wait_for()
    page = admin.go("/reratings")
    admin.look("reratings")
    admin.close()


def fill_dates(page: Page) -> None:
    """The item's dates: the period it covers, when collected and submitted."""
    day = examples.SAMPLE_AS_OF.isoformat()
    for label in ("Start", "Collected on", "Submitted on"):
        page.get_by_label(label, exact=True).fill(day)


def test_the_demo_writes_no_password_anywhere(demo: tuple[str, Served]) -> None:
    """The generated passwords are printed, never written: the store keeps only their hashes."""
    _, served = demo
    for path in served.data.parent.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            leaked = [p for p in served.passwords.values() if p.encode() in data]
            assert leaked == [], path


def test_the_signed_in_pages_read_with_javascript_off(demo: tuple[str, Served], browser: Browser) -> None:
    """Reading needs no script: sign in and open each role's pages in a browser with it off."""
    url, served = demo
    context = browser.new_context(java_script_enabled=False, viewport={"width": 390, "height": 900})
    try:
        page = context.new_page()
        page.goto(f"{url}/sign-in")
        page.get_by_label("Your id").fill(ADMIN)
        page.get_by_label("Password").fill(served.passwords[ADMIN])
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(f"{url}/work")
        eid = served.engagement
        for path in (f"/work/{eid}", f"/work/{eid}/queue", f"/work/{eid}/dashboard", f"/work/{eid}/admin"):
            response = page.goto(f"{url}{path}")
            assert response is not None
            assert response.status == 200, path
            assert page.get_by_role("heading", level=1).is_visible(), path
            overflow = page.evaluate(
                "document.documentElement.scrollWidth - document.documentElement.clientWidth"
            )
            assert overflow <= 0, path
    finally:
        context.close()
