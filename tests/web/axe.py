"""axe-core (vendored beside this file with its licence) run in a page by the browser tests."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Page

AXE = Path(__file__).parent / "vendor" / "axe-4.14.1.min.js"
SERIOUS = ("serious", "critical")


def axe(page: Page) -> list[str]:
    """axe-core's serious and critical violations on the page, as 'rule: targets' lines. Run
    through the DevTools protocol, which the page's CSP does not govern (no script is added)."""
    page.evaluate(AXE.read_text(encoding="utf-8") + "\n;0")
    found = page.evaluate("async () => (await axe.run(document, {resultTypes: ['violations']})).violations")
    return [f"{v['id']}: {[n['target'] for n in v['nodes']][:3]}" for v in found if v["impact"] in SERIOUS]
