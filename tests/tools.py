"""External tools some tests run (poppler-utils, NSS tools, zbar, openssl, a PostgreSQL server).

Where a tool is missing the test is skipped with the package to install, so the suite runs on a
fresh machine with only pip; CI installs the tools and sets ``ASSAY_REQUIRE_TOOLS=1``, which
turns every such skip into a failure, so nothing is silently left out there.
"""

from __future__ import annotations

import os
import shutil
from typing import NoReturn

import pytest

PACKAGES = {
    "pdfsig": "poppler-utils",
    "pdftoppm": "poppler-utils",
    "pdftotext": "poppler-utils",
    "pdffonts": "poppler-utils",
    "pdfdetach": "poppler-utils",
    "certutil": "libnss3-tools",
    "zbarimg": "zbar-tools",
    "openssl": "openssl",
    "chromium": "chromium",
}
DATABASE_URL = "ASSAY_TEST_DATABASE_URL"
"""Environment variable naming the PostgreSQL database the store's tests may make schemas in."""


def missing(message: str) -> NoReturn:
    """Skip the test because something it needs is missing; fail it instead under CI."""
    if os.environ.get("ASSAY_REQUIRE_TOOLS") == "1":
        pytest.fail(message)
    pytest.skip(message)


def require_tool(name: str) -> str:
    """Path of the command ``name``; skips the test (fails under CI) when it is not installed."""
    path = shutil.which(name)
    if path is None:
        missing(f"{name} is not installed (apt-get install {PACKAGES.get(name, name)})")
    return path


def require_database_url() -> str:
    """The PostgreSQL URL in ``ASSAY_TEST_DATABASE_URL``; skips the test (fails under CI) when unset."""
    url = os.environ.get(DATABASE_URL, "")
    if not url:
        missing(
            f"PostgreSQL store tests need {DATABASE_URL}; "
            "`source .ci/postgres` starts a throwaway server and sets it"
        )
    return url
