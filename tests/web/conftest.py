"""A live server with one issued certificate, for the page tests (built on the API tests' harness)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography import x509

from certificates.keys import SigningKey
from tests.api.conftest import ADMIN, AUDITOR, LEAD, REVIEWER, SUBMITTER, Api, certify, make_api


@pytest.fixture(scope="module")
def site(
    tmp_path_factory: pytest.TempPathFactory, signing_key: SigningKey, trust_roots: list[x509.Certificate]
) -> Iterator[tuple[Api, str, bytes]]:
    """A server whose register holds Harbourton's certificate: (server, number, its PDF)."""
    made = make_api(Path(tmp_path_factory.mktemp("site")), signing_key, trust_roots)
    try:
        people = {p: made.client(p) for p in (SUBMITTER, ADMIN, LEAD, AUDITOR, REVIEWER)}
        _, number = certify(people, made.pack_zip(), made.verdicts, made.judgements)
        pdf = made.client().get(f"/v1/certificates/{number}/pdf").content
        yield made, number, pdf
    finally:
        made.close()
