"""External tools some tests run (poppler-utils, NSS tools, zbar, openssl).

Where a tool is missing the test is skipped with the package to install, so the suite runs on a
fresh machine with only pip; CI installs the tools and sets ``ASSAY_REQUIRE_TOOLS=1``, which
turns every such skip into a failure, so nothing is silently left out there.
"""

from __future__ import annotations

import os
import shutil

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
}


def require_tool(name: str) -> str:
    """Path of the command ``name``; skips the test (fails under CI) when it is not installed."""
    path = shutil.which(name)
    if path is None:
        message = f"{name} is not installed (apt-get install {PACKAGES.get(name, name)})"
        if os.environ.get("ASSAY_REQUIRE_TOOLS") == "1":
            pytest.fail(message)
        pytest.skip(message)
    return path
