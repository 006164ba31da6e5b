"""The generated test PKI: its files, key usages, test marking, secrets' modes and validity."""

from __future__ import annotations

import datetime as dt
import stat
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from certificates.pki import (
    TEST_POLICY_OID,
    TestPki,
    init_test_pki,
    is_test_certificate,
    issue_crl,
)

NOW = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def fixed_pki(tmp_path_factory: pytest.TempPathFactory) -> TestPki:
    """A PKI made at a fixed ``now``, so validity bounds are exact."""
    return init_test_pki(tmp_path_factory.mktemp("fixed-pki"), NOW)


def _all_certificates(pki: TestPki) -> list[x509.Certificate]:
    return [pki.root_certificate(), pki.signer_certificate(), pki.tsa_certificate()]


def test_writes_every_file(fixed_pki: TestPki) -> None:
    names = {p.name for p in fixed_pki.folder.iterdir()}
    assert names == {
        "root.pem",
        "root-key.pem",
        "signer.p12",
        "signer.password",
        "tsa.p12",
        "tsa.password",
        "root.crl.pem",
    }


@pytest.mark.parametrize("name", ["signer.password", "tsa.password", "root-key.pem"])
def test_secrets_are_owner_only(fixed_pki: TestPki, name: str) -> None:
    mode = stat.S_IMODE((fixed_pki.folder / name).stat().st_mode)
    assert mode == 0o600


def test_passwords_are_random(fixed_pki: TestPki, pki: TestPki) -> None:
    passwords = {
        p.read_bytes() for p in (fixed_pki.signer_password, fixed_pki.tsa_password, pki.signer_password)
    }
    assert len(passwords) == 3
    assert all(len(p) >= 24 for p in passwords)


def test_signer_key_usage_suits_pyhanko(fixed_pki: TestPki) -> None:
    usage = fixed_pki.signer_certificate().extensions.get_extension_for_class(x509.KeyUsage)
    assert usage.critical
    assert usage.value.digital_signature
    assert usage.value.content_commitment  # nonRepudiation
    assert not usage.value.key_cert_sign


def test_tsa_has_critical_timestamping_eku(fixed_pki: TestPki) -> None:
    eku = fixed_pki.tsa_certificate().extensions.get_extension_for_class(x509.ExtendedKeyUsage)
    assert eku.critical
    assert list(eku.value) == [ExtendedKeyUsageOID.TIME_STAMPING]


def test_root_is_a_ca_and_issues_the_leaves(fixed_pki: TestPki) -> None:
    root = fixed_pki.root_certificate()
    constraints = root.extensions.get_extension_for_class(x509.BasicConstraints)
    assert constraints.critical
    assert constraints.value.ca
    assert root.issuer == root.subject
    for leaf in (fixed_pki.signer_certificate(), fixed_pki.tsa_certificate()):
        leaf.verify_directly_issued_by(root)
        assert not leaf.extensions.get_extension_for_class(x509.BasicConstraints).value.ca


def test_every_certificate_is_marked_test(fixed_pki: TestPki) -> None:
    for cert in _all_certificates(fixed_pki):
        assert is_test_certificate(cert)
        policies = cert.extensions.get_extension_for_class(x509.CertificatePolicies).value
        assert [p.policy_identifier for p in policies] == [TEST_POLICY_OID]
        organisation = cert.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value
        common_name = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value
        assert "TEST" in str(organisation)
        assert "TEST" in str(common_name)


def test_test_policy_oid_is_a_uuid_oid() -> None:
    arcs = TEST_POLICY_OID.dotted_string.split(".")
    assert arcs[:2] == ["2", "25"]
    assert int(arcs[2]) < 2**128


def test_a_certificate_without_the_policy_is_not_a_test_one(tmp_path: Path) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Real Body TEST")])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(NOW)
        .not_valid_after(NOW + dt.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    # "TEST" in a name proves nothing: only the policy OID marks a test certificate.
    assert not is_test_certificate(cert)


def test_nothing_is_valid_before_now_minus_skew(fixed_pki: TestPki) -> None:
    for cert in _all_certificates(fixed_pki):
        assert cert.not_valid_before_utc == NOW - dt.timedelta(minutes=5)


def test_validity_periods(fixed_pki: TestPki) -> None:
    root, signer, tsa = _all_certificates(fixed_pki)
    assert root.not_valid_after_utc == NOW + dt.timedelta(days=3650)
    assert signer.not_valid_after_utc == NOW + dt.timedelta(days=730)
    assert tsa.not_valid_after_utc == NOW + dt.timedelta(days=730)


def test_crl_is_empty_signed_by_root_for_30_days(fixed_pki: TestPki) -> None:
    crl = x509.load_pem_x509_crl(fixed_pki.crl.read_bytes())
    root_key = fixed_pki.root_certificate().public_key()
    assert isinstance(root_key, rsa.RSAPublicKey)
    assert crl.is_signature_valid(root_key)
    assert crl.issuer == fixed_pki.root_certificate().subject
    assert len(crl) == 0
    assert crl.next_update_utc == NOW + dt.timedelta(days=30)


def test_issue_crl_revokes_the_given_certificate(fixed_pki: TestPki) -> None:
    signer = fixed_pki.signer_certificate()
    crl = x509.load_pem_x509_crl(issue_crl(fixed_pki, NOW, [signer], number=2))
    revoked = crl.get_revoked_certificate_by_serial_number(signer.serial_number)
    assert revoked is not None
    assert len(crl) == 1
    assert crl.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number == 2


def test_foreign_pki_has_another_root(pki: TestPki, foreign_pki: TestPki) -> None:
    ours, theirs = pki.root_certificate(), foreign_pki.root_certificate()
    assert ours.public_key() != theirs.public_key()
    assert ours.subject != theirs.subject
    assert is_test_certificate(foreign_pki.signer_certificate())
    foreign_pki.signer_certificate().verify_directly_issued_by(theirs)
    assert foreign_pki.signer_certificate().issuer != ours.subject
