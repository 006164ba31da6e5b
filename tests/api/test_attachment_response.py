"""How a stored attachment is sent: a sandboxed download, except a real PDF that the web item
page frames (declared a PDF and starting like one), which alone is sent inline."""

from __future__ import annotations

import asyncio
import io

import examples
from api.engagements import attachment_response
from audits.reading import Download

PDF = (examples.sample_pack().parent / "norbridge" / "attachments" / "norbridge-compact.pdf").read_bytes()


def sent(data: bytes, media_type: str, *, frame_pdf: bool) -> tuple[dict[str, str], bytes]:
    response = attachment_response(
        Download(io.BytesIO(data), "plan 2026.pdf", media_type, len(data)), frame_pdf=frame_pdf
    )

    async def body() -> bytes:
        return b"".join([chunk async for chunk in response.body_iterator])  # type: ignore[misc]

    return dict(response.headers), asyncio.run(body())


def test_a_pdf_for_the_item_page_is_inline_sandboxed_and_framed_by_this_origin_only() -> None:
    headers, body = sent(PDF, "application/pdf", frame_pdf=True)
    assert body == PDF  # the bytes read to recognise it are sent too
    assert headers["content-disposition"] == 'inline; filename="plan_2026.pdf"'
    assert headers["content-security-policy"] == "sandbox; default-src 'none'; frame-ancestors 'self'"
    assert headers["x-frame-options"] == "SAMEORIGIN"
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["content-length"] == str(len(PDF))


def test_the_api_always_sends_a_download() -> None:
    headers, body = sent(PDF, "application/pdf", frame_pdf=False)
    assert body == PDF
    assert headers["content-disposition"] == 'attachment; filename="plan_2026.pdf"'
    assert headers["content-security-policy"] == "sandbox; default-src 'none'"
    assert "x-frame-options" not in headers


def test_a_file_declared_a_pdf_that_is_not_one_is_a_download() -> None:
    html = b"<html><script>alert(1)</script></html>"
    headers, body = sent(html, "application/pdf", frame_pdf=True)
    assert body == html
    assert headers["content-disposition"].startswith("attachment;")
    assert "frame-ancestors" not in headers["content-security-policy"]


def test_a_pdf_not_declared_one_is_a_download() -> None:
    headers, _ = sent(PDF, "application/octet-stream", frame_pdf=True)
    assert headers["content-disposition"].startswith("attachment;")
