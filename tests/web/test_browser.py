"""The public pages in a real browser (Debian's chromium through Playwright): each page at 1280
and 390 px wide, in both languages, without horizontal overflow or console errors (a CSP
violation is one) or serious axe-core violations, with JavaScript off as well as on;
screenshots kept for review by eye
(``ASSAY_ARTIFACTS`` names the folder, else the test's temporary one)."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Browser, ConsoleMessage

from tests.api.conftest import Api
from tests.web.axe import axe

WIDTHS = (1280, 390)


@pytest.mark.parametrize("script", [True, False], ids=["javascript", "no-javascript"])
def test_every_public_page_fits_and_renders_cleanly(
    site: tuple[Api, str, bytes], browser: Browser, artefacts: Path, script: bool
) -> None:
    api, number, _ = site
    pages = {
        "register": "/?community=harbour",
        "certificate": f"/certificates/{number}",
        "verify": "/verify",
        "benchmark": "/benchmark",
        "sign-in": "/sign-in",
    }
    errors: list[ConsoleMessage] = []

    def keep(message: ConsoleMessage) -> None:
        errors.append(message)  # Playwright tags handlers, so a plain function, not a builtin

    for width in WIDTHS:
        context = browser.new_context(viewport={"width": width, "height": 900}, java_script_enabled=script)
        try:
            page = context.new_page()
            page.on("console", keep)
            for lang in ("en", "zh"):
                for name, path in pages.items():
                    joiner = "&" if "?" in path else "?"
                    response = page.goto(f"{api.server.url}{path}{joiner}lang={lang}")
                    assert response is not None
                    assert response.status == 200, f"{name} {lang} {width}"
                    overflow = page.evaluate(
                        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
                    )
                    assert overflow <= 0, f"{name} ({lang}, {width} px) is {overflow} px too wide"
                    shot = artefacts / f"{name}-{lang}-{width}{'' if script else '-nojs'}.png"
                    page.screenshot(path=str(shot), full_page=True)
                    assert shot.stat().st_size > 1000
                    if script and width == WIDTHS[0]:
                        assert axe(page) == [], f"{name} ({lang})"
            failures = [message.text for message in errors if message.type == "error"]
            assert failures == [], failures
        finally:
            context.close()


def test_the_register_search_and_the_language_switch_work_by_hand(
    site: tuple[Api, str, bytes], browser: Browser
) -> None:
    api, number, _ = site
    page = browser.new_page()
    try:
        page.goto(f"{api.server.url}/")
        page.get_by_label("Community").fill("harbour")
        page.get_by_role("button", name="Search").click()
        page.get_by_role("link", name=number).click()
        assert page.get_by_role("heading", level=1).inner_text() == number
        page.get_by_role("link", name="中文").click()
        assert page.get_by_role("heading", name="成熟度概况").is_visible()
        page.get_by_role("link", name="证书登记册").first.click()
        assert page.get_by_role("heading", level=1).inner_text() == "证书登记册"  # remembered
    finally:
        page.close()
