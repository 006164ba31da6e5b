"""Shared fixtures: the bundled rule pack, the sample pack, one durable_rules runtime, a database."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509

import examples
import rules as bundled_rules
from audits.errors import StoreError
from audits.store import scratch_schema
from certificates.keys import SigningKey, load_signing_key, read_password
from certificates.pki import TestPki, init_test_pki
from engine.durable_engine import DurableInference
from engine.reference import ReferenceInference
from engine.rulepack import RulePack, load_rule_pack
from evidence_schemas.pack import EvidencePack
from evidence_schemas.reader import read_pack
from tests.tools import DATABASE_URL, require_database_url


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--regen-golden", action="store_true", help="rewrite tests/golden/ from the current output"
    )


@pytest.fixture(scope="session", autouse=True)
def _own_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Commands run by the tests (in process or as subprocesses) keep their checked-pack record
    in the session's own folder, never in the user's cache."""
    before = os.environ.get("ASSAY_CACHE_DIR")
    os.environ["ASSAY_CACHE_DIR"] = str(tmp_path_factory.mktemp("assay-cache"))
    yield
    if before is None:
        del os.environ["ASSAY_CACHE_DIR"]
    else:
        os.environ["ASSAY_CACHE_DIR"] = before


@pytest.fixture
def regen_golden(request: pytest.FixtureRequest) -> bool:
    """Whether golden files are being regenerated rather than compared."""
    return bool(request.config.getoption("--regen-golden"))


@pytest.fixture(scope="session")
def rule_pack() -> RulePack:
    """The bundled ISO/TS 37107:2019 rule pack."""
    return load_rule_pack(bundled_rules.bundled())


@pytest.fixture(scope="session")
def durable() -> DurableInference:
    """One durable_rules inference for the whole session (rulesets cannot be unregistered)."""
    return DurableInference()


@pytest.fixture(scope="session")
def reference() -> ReferenceInference:
    """The plain-Python reference inference."""
    return ReferenceInference()


@pytest.fixture
def sample_pack() -> EvidencePack:
    """The bundled Harbourton sample pack."""
    return read_pack(examples.sample_pack()).pack


@pytest.fixture
def sample_copy(tmp_path: Path) -> Path:
    """A writable copy of the sample pack folder."""
    target = tmp_path / "pack"
    shutil.copytree(examples.sample_pack(), target)
    return target


@pytest.fixture
def edit_manifest() -> Callable[[Path, Callable[[dict[str, Any]], None]], None]:
    """Edit a pack folder's pack.json in place with a function on its JSON."""

    def edit(folder: Path, change: Callable[[dict[str, Any]], None]) -> None:
        manifest = folder / "pack.json"
        data = json.loads(manifest.read_text(encoding="utf-8"))
        change(data)
        manifest.write_text(json.dumps(data, indent=2), encoding="utf-8")

    return edit


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """Where a new, empty store can be opened (``open_store(database)``), once on each database.

    ``sqlite``: a data folder in ``tmp_path``. ``postgresql``: the database in
    ``ASSAY_TEST_DATABASE_URL`` with a fresh schema of the test's own as the only schema on the
    search path (psycopg passes the URL's ``options`` to the server), dropped with everything in
    it afterwards. Unset, the PostgreSQL variant skips (fails under ``ASSAY_REQUIRE_TOOLS=1``).
    """
    if request.param == "sqlite":
        yield str(tmp_path / "data")
        return
    try:
        with scratch_schema(require_database_url(), "t_") as url:
            yield url
    except StoreError as exc:
        pytest.fail(f"{DATABASE_URL}: {exc}")


@pytest.fixture(scope="session")
def engagement_pki(tmp_path_factory: pytest.TempPathFactory) -> TestPki:
    """A test PKI made at run time (valid from now) for issuing engagements' certificates
    (engagement and API tests)."""
    return init_test_pki(tmp_path_factory.mktemp("engagement-pki"), dt.datetime.now(dt.UTC))


@pytest.fixture(scope="session")
def signing_key(engagement_pki: TestPki) -> SigningKey:
    """The test signer's key."""
    return load_signing_key(engagement_pki.signer_p12, read_password(None, engagement_pki.signer_password))


@pytest.fixture(scope="session")
def trust_roots(engagement_pki: TestPki) -> list[x509.Certificate]:
    """The test root, as a verifier trusts it."""
    return [engagement_pki.root_certificate()]
