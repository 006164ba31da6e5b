"""Signing key password and PKCS#12 loading: every failure names the file or variable and the problem."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs12

from certificates.errors import SigningError, SigningKeyError
from certificates.keys import SigningKey, load_signing_key, read_password
from certificates.pki import TestPki, is_test_certificate

ENV = "ASSAY_TEST_SIGNING_PASSWORD"


def test_password_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV, "s3cret")
    assert read_password(ENV, None) == b"s3cret"


def test_password_from_file_drops_one_trailing_newline(tmp_path: Path) -> None:
    file = tmp_path / "password"
    file.write_bytes(b"s3cret\n")
    assert read_password(None, file) == b"s3cret"


def test_password_file_as_the_test_pki_writes_it(pki: TestPki) -> None:
    assert read_password(None, pki.signer_password) == pki.signer_password.read_bytes()


def test_missing_environment_variable_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV, raising=False)
    with pytest.raises(SigningKeyError, match=f"environment variable {ENV} .* is not set"):
        read_password(ENV, None)


def test_missing_password_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(SigningKeyError, match=r"password file nope\.password does not exist"):
        read_password(None, tmp_path / "nope.password")


@pytest.mark.parametrize("both", [True, False])
def test_exactly_one_password_source(tmp_path: Path, both: bool) -> None:
    with pytest.raises(SigningKeyError, match="environment variable or by file"):
        read_password(ENV if both else None, tmp_path / "x" if both else None)


def test_loads_the_test_signer(signing_key: SigningKey, pki: TestPki) -> None:
    assert signing_key.source == pki.signer_p12
    assert signing_key.certificate == pki.signer_certificate()
    assert signing_key.chain == (pki.root_certificate(),)
    assert signing_key.subject.startswith("CN=Assay TEST Certificate Signer")
    assert is_test_certificate(signing_key.certificate)


def test_cached_signer_signs_like_the_key(signing_key: SigningKey) -> None:
    signature = signing_key.signer.sign_raw(b"data", "sha256")
    assert len(signature) == signing_key.key_bytes


def test_wrong_password_names_the_file(pki: TestPki) -> None:
    with pytest.raises(SigningKeyError, match=r"wrong password for signer\.p12") as caught:
        load_signing_key(pki.signer_p12, b"not the password")
    assert str(pki.signer_p12) in str(caught.value)


@pytest.mark.parametrize("name", ["root.pem", "root.crl.pem", "signer.password"])
def test_not_a_pkcs12_file(pki: TestPki, name: str) -> None:
    with pytest.raises(SigningKeyError, match=rf"{name.replace('.', '[.]')} is not a PKCS#12 file"):
        load_signing_key(pki.folder / name, b"whatever")


def test_missing_key_file(tmp_path: Path) -> None:
    with pytest.raises(SigningKeyError, match=r"signing key file gone\.p12 does not exist"):
        load_signing_key(tmp_path / "gone.p12", b"x")


def test_pkcs12_without_private_key(pki: TestPki, tmp_path: Path) -> None:
    certificate_only = tmp_path / "certs.p12"
    data = pkcs12.serialize_key_and_certificates(
        b"certs", None, pki.signer_certificate(), None, serialization.BestAvailableEncryption(b"pw")
    )
    certificate_only.write_bytes(data)
    with pytest.raises(SigningKeyError, match=r"certs\.p12 holds no private key"):
        load_signing_key(certificate_only, b"pw")


def test_cached_signer_refuses_pss(signing_key: SigningKey, monkeypatch: pytest.MonkeyPatch) -> None:
    # PSS would need another padding than the one the cached signer applies.
    monkeypatch.setattr(signing_key.signer, "prefer_pss", True)
    with pytest.raises(SigningError, match="rsassa_pss is not supported"):
        signing_key.signer.sign_raw(b"data", "sha256")
