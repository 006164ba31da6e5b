"""The public pages over HTTP: the register, a certificate's page, verifying a PDF; in English and
Chinese, with a script-free Content-Security-Policy."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import web
from api.auth import COOKIE
from tests.api.conftest import ADMIN, AUDITOR, LEAD, OTHER_CITY, REVIEWER, SUBMITTER, Api, certify
from web.render import CSP, LANGUAGE_COOKIE
from web.words import CHART_WORDS, WORDS


def test_both_languages_have_every_label() -> None:
    assert set(WORDS["en"]) == set(WORDS["zh"])
    assert all(WORDS["zh"][key] for key in WORDS["zh"])
    assert set(CHART_WORDS["en"]) == set(CHART_WORDS["zh"])


def test_every_label_a_template_names_exists() -> None:
    """A label a template names outright (``w.key``, ``w['key']``) is in the words; labels looked
    up by a value (``w['kind_' + kind]``) are covered by the pages' own tests."""
    templates = Path(web.__file__).parent / "templates"
    named = set()
    for template in templates.glob("*.html"):
        text = template.read_text(encoding="utf-8")
        named |= set(re.findall(r"\bw\.([a-z_]+)\b(?!\()", text))
        named |= set(re.findall(r"\bw\['([a-z_]+)'\]", text))
    assert named, "no template names a label"
    assert sorted(named - set(WORDS["en"])) == []


def test_the_register_page_lists_and_searches_certificates(site: tuple[Api, str, bytes]) -> None:
    api, number, _ = site
    anyone = api.client()
    page = anyone.get("/", params={"community": "harbour"})
    assert page.status_code == 200
    assert page.headers["content-security-policy"] == CSP
    assert "script-src 'self';" in CSP  # scripts only from this server's files...
    assert "unsafe-inline" not in CSP  # ...and never inline
    assert "<script" not in page.text  # the public pages load no script at all
    assert f'href="/certificates/{number}?lang=en"' in page.text
    assert "Harbourton" in page.text
    none = anyone.get("/", params={"community": "nowhere"})
    assert WORDS["en"]["no_matches"] in none.text
    suspended = anyone.get("/", params={"status": "suspended"})
    assert number not in suspended.text


def test_a_certificate_page_shows_its_status_profile_and_digest(site: tuple[Api, str, bytes]) -> None:
    api, number, _ = site
    page = api.client().get(f"/certificates/{number}")
    assert page.status_code == 200
    assert '<svg xmlns="http://www.w3.org/2000/svg"' in page.text
    assert page.text.count("<title>") >= 32 + 1  # every characteristic's bar is titled
    status = api.client().get(f"/v1/certificates/{number}").json()
    assert WORDS["en"]["status_" + status["status"]] in page.text
    assert "sha256:" in page.text
    missing = api.client().get("/certificates/XX-2026-000009")
    assert missing.status_code == 404
    assert "XX-2026-000009" in missing.text


def test_the_language_switch_is_remembered(site: tuple[Api, str, bytes]) -> None:
    api, number, _ = site
    anyone = api.client()
    chinese = anyone.get(f"/certificates/{number}", params={"lang": "zh"})
    assert WORDS["zh"]["profile"] in chinese.text
    assert '<html lang="zh-Hans">' in chinese.text
    cookie = chinese.headers["set-cookie"]
    assert cookie.startswith(f"{LANGUAGE_COOKIE}=zh")
    again = anyone.get("/", headers={"Cookie": f"{LANGUAGE_COOKIE}=zh"})
    assert WORDS["zh"]["register"] in again.text
    assert COOKIE not in cookie


def test_verifying_a_pdf_gives_the_verdict_in_words(site: tuple[Api, str, bytes]) -> None:
    api, number, pdf = site
    anyone = api.client()
    valid = anyone.post("/verify", files={"pdf": (f"{number}.pdf", pdf, "application/pdf")})
    assert valid.status_code == 200
    assert WORDS["en"]["valid"] in valid.text
    tampered = pdf.replace(b"Harbourton", b"Harbourtom", 1)
    invalid = anyone.post("/verify", files={"pdf": ("x.pdf", tampered, "application/pdf")})
    assert WORDS["en"]["invalid"] in invalid.text
    assert "<li>" in invalid.text  # each failed check named
    empty = anyone.post("/verify", files={"pdf": ("x.pdf", b"", "application/pdf")})
    assert empty.status_code == 422
    assert "no PDF was given" in empty.text


def test_the_benchmark_compares_the_certified_communities(
    site: tuple[Api, str, bytes], tmp_path: Path
) -> None:
    """Left for last: it certifies a second community in the module's register."""
    api, _, _ = site
    alone = api.client().get("/benchmark")
    assert alone.status_code == 200
    assert WORDS["en"]["benchmark_needs_two"] in alone.text
    eastvale = tmp_path / "eastvale"
    shutil.copytree(api.pack, eastvale)
    manifest = json.loads((eastvale / "pack.json").read_text(encoding="utf-8"))
    manifest["community"] = {"id": "eastvale", "name": "Eastvale"}
    (eastvale / "pack.json").write_text(json.dumps(manifest), encoding="utf-8")
    people = {p: api.client(p) for p in (ADMIN, LEAD, AUDITOR, REVIEWER)} | {
        SUBMITTER: api.client(OTHER_CITY)
    }
    certify(people, api.pack_zip(eastvale), api.verdicts, api.judgements, community=("eastvale", "Eastvale"))
    page = api.client().get("/benchmark", params={"lang": "zh"})
    assert page.status_code == 200
    assert page.text.count('<svg xmlns="http://www.w3.org/2000/svg"') == 1
    assert "Eastvale" in page.text
    assert "Harbourton" in page.text
    assert "战略管理" in page.text  # dimension titles in the page's language
