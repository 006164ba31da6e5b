"""A test PKI, generated at run time: a root CA, a signer, a timestamping authority and a CRL.

Nothing of it is ever committed: tests and demos create one in a temporary folder. Every
certificate it makes is marked as a TEST certificate twice, machine-checkably (a certificate
policy with Assay's fixed test-policy OID) and for people ("TEST" in the subject), so a
certificate signed with it can never pass for a real one (the renderer prints a watermark).
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from pyhanko.sign.timestamps import TimeStamper
from pyhanko.sign.timestamps.dummy_client import DummyTimeStamper
from pyhanko_certvalidator.registry import SimpleCertificateStore

TEST_POLICY_OID = x509.ObjectIdentifier("2.25.215067576590577754633678798280371762130")
"""Certificate policy every test certificate carries (2.25 = UUID a1cc8232-7269-4d65-bbe9-4f87b23873d2)."""

CLOCK_SKEW = dt.timedelta(minutes=5)
"""Certificates start this long before ``now`` so a verifier whose clock is a little behind accepts them."""

CRL_URL = "http://pki.assay.invalid/root.crl"
"""Where leaf certificates say the root's CRL is. ``.invalid`` never resolves: verifiers get the CRL
given to them, and the distribution point makes them check it (pyHanko skips revocation checks for
certificates that declare no source)."""

ROOT_VALIDITY = dt.timedelta(days=3650)
LEAF_VALIDITY = dt.timedelta(days=730)
CRL_VALIDITY = dt.timedelta(days=30)

# 2048 bits: a throwaway test key, and signing stays fast.
_KEY_BITS = 2048


@dataclass(frozen=True)
class TestPki:
    """Where a generated test PKI lives; every path is inside ``folder``."""

    __test__ = False  # not a pytest test class, despite the name

    folder: Path
    """The folder everything was written to."""
    root: Path
    """``root.pem``: the self-signed test root CA, the trust anchor."""
    root_key: Path
    """``root-key.pem``: the root's private key, kept to issue CRLs (mode 0600)."""
    signer_p12: Path
    """``signer.p12``: signer certificate, key and root chain, password-protected."""
    signer_password: Path
    """``signer.password``: the signer PKCS#12 password (mode 0600)."""
    tsa_p12: Path
    """``tsa.p12``: the timestamping authority's certificate, key and root chain."""
    tsa_password: Path
    """``tsa.password``: the TSA PKCS#12 password (mode 0600)."""
    crl: Path
    """``root.crl.pem``: an empty CRL from the root, next update in 30 days."""

    @classmethod
    def in_folder(cls, folder: Path) -> TestPki:
        """The files of a test PKI in ``folder``, by their fixed names."""
        return cls(
            folder=folder,
            root=folder / "root.pem",
            root_key=folder / "root-key.pem",
            signer_p12=folder / "signer.p12",
            signer_password=folder / "signer.password",
            tsa_p12=folder / "tsa.p12",
            tsa_password=folder / "tsa.password",
            crl=folder / "root.crl.pem",
        )

    def root_certificate(self) -> x509.Certificate:
        """The root CA certificate."""
        return x509.load_pem_x509_certificate(self.root.read_bytes())

    def signer_certificate(self) -> x509.Certificate:
        """The signer's certificate, read from its PKCS#12 file."""
        return _p12_certificate(self.signer_p12, self.signer_password)

    def tsa_certificate(self) -> x509.Certificate:
        """The timestamping authority's certificate, read from its PKCS#12 file."""
        return _p12_certificate(self.tsa_p12, self.tsa_password)


def init_test_pki(folder: Path, now: dt.datetime, *, label: str = "Assay") -> TestPki:
    """Generate a test root, signer and TSA with their files in ``folder`` (created if missing).

    ``label`` starts every subject; a second PKI with another label is a foreign one.
    """
    folder.mkdir(parents=True, exist_ok=True)
    pki = TestPki.in_folder(folder)
    root_key = _new_key()
    root = _root_certificate(root_key, _name(label, f"{label} TEST Root CA"), now)
    pki.root.write_bytes(root.public_bytes(serialization.Encoding.PEM))
    _write_private(
        pki.root_key,
        root_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ),
    )
    # nonRepudiation (content commitment): pyHanko's default signer policy requires it.
    leaf_usage = _key_usage(digital_signature=True, content_commitment=True)
    signer_name = _name(label, f"{label} TEST Certificate Signer")
    _issue_to_p12(root, root_key, signer_name, now, leaf_usage, None, pki.signer_p12)
    tsa_eku = x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING])
    tsa_name = _name(label, f"{label} TEST Timestamping")
    _issue_to_p12(root, root_key, tsa_name, now, leaf_usage, tsa_eku, pki.tsa_p12)
    pki.crl.write_bytes(issue_crl(pki, now))
    return pki


def init_foreign_pki(folder: Path, now: dt.datetime) -> TestPki:
    """A second, unrelated test PKI: its root is not the Assay test root, so nothing it signs is trusted."""
    return init_test_pki(folder, now, label="Foreign")


def issue_crl(
    pki: TestPki, now: dt.datetime, revoked: Sequence[x509.Certificate] = (), *, number: int = 1
) -> bytes:
    """A PEM CRL from ``pki``'s root revoking ``revoked`` (as of ``now``), next update in 30 days."""
    root = pki.root_certificate()
    root_key = serialization.load_pem_private_key(pki.root_key.read_bytes(), password=None)
    assert isinstance(root_key, rsa.RSAPrivateKey)
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(root.subject)
        .last_update(now - CLOCK_SKEW)
        .next_update(now + CRL_VALIDITY)
        .add_extension(x509.CRLNumber(number), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(root_key.public_key()), critical=False
        )
    )
    for cert in revoked:
        entry = (
            x509.RevokedCertificateBuilder()
            .serial_number(cert.serial_number)
            .revocation_date(now - CLOCK_SKEW)
            .build()
        )
        builder = builder.add_revoked_certificate(entry)
    crl = builder.sign(root_key, hashes.SHA256())
    return crl.public_bytes(serialization.Encoding.PEM)


def dummy_timestamper(pki: TestPki) -> TimeStamper:
    """An in-process RFC 3161 timestamp authority using ``pki``'s TSA certificate (tests, demos; offline)."""
    key, cert, chain = pkcs12.load_key_and_certificates(
        pki.tsa_p12.read_bytes(), pki.tsa_password.read_bytes()
    )
    assert key is not None
    assert cert is not None
    der_key = key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    der = serialization.Encoding.DER
    # pyhanko-certvalidator leaves this constructor unannotated.
    embedded = SimpleCertificateStore.from_certs(  # type: ignore[no-untyped-call]
        [asn1_x509.Certificate.load(c.public_bytes(der)) for c in chain]
    )
    return DummyTimeStamper(
        tsa_cert=asn1_x509.Certificate.load(cert.public_bytes(der)),
        tsa_key=asn1_keys.PrivateKeyInfo.load(der_key),
        certs_to_embed=embedded,
    )


def is_test_certificate(cert: x509.Certificate) -> bool:
    """Whether ``cert`` carries Assay's test-certificate policy, i.e. comes from a generated test PKI."""
    try:
        policies = cert.extensions.get_extension_for_class(x509.CertificatePolicies).value
    except x509.ExtensionNotFound:
        return False
    return any(p.policy_identifier == TEST_POLICY_OID for p in policies)


def _key_usage(
    *,
    digital_signature: bool = False,
    content_commitment: bool = False,
    key_cert_sign: bool = False,
    crl_sign: bool = False,
) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=digital_signature,
        content_commitment=content_commitment,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=key_cert_sign,
        crl_sign=crl_sign,
        encipher_only=False,
        decipher_only=False,
    )


def _new_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=_KEY_BITS)


def _name(label: str, common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, f"{label} TEST - not a valid certificate"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _builder(
    subject: x509.Name, issuer: x509.Name, key: rsa.RSAPublicKey, now: dt.datetime, validity: dt.timedelta
) -> x509.CertificateBuilder:
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - CLOCK_SKEW)
        .not_valid_after(now + validity)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key), critical=False)
        .add_extension(
            x509.CertificatePolicies([x509.PolicyInformation(TEST_POLICY_OID, None)]), critical=False
        )
    )


def _root_certificate(key: rsa.RSAPrivateKey, name: x509.Name, now: dt.datetime) -> x509.Certificate:
    ca_usage = _key_usage(key_cert_sign=True, crl_sign=True)
    return (
        _builder(name, name, key.public_key(), now, ROOT_VALIDITY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(ca_usage, critical=True)
        .sign(key, hashes.SHA256())
    )


def _issue_to_p12(
    root: x509.Certificate,
    root_key: rsa.RSAPrivateKey,
    subject: x509.Name,
    now: dt.datetime,
    usage: x509.KeyUsage,
    eku: x509.ExtendedKeyUsage | None,
    target: Path,
) -> None:
    """Issue a leaf certificate from the root; write it with its key and the root as a PKCS#12 file."""
    key = _new_key()
    builder = (
        _builder(subject, root.subject, key.public_key(), now, LEAF_VALIDITY)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(usage, critical=True)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(root_key.public_key()), critical=False
        )
        .add_extension(_crl_distribution_point(), critical=False)
    )
    if eku is not None:
        builder = builder.add_extension(eku, critical=True)
    cert = builder.sign(root_key, hashes.SHA256())
    password = secrets.token_urlsafe(24).encode()
    data = pkcs12.serialize_key_and_certificates(
        target.stem.encode(), key, cert, [root], serialization.BestAvailableEncryption(password)
    )
    target.write_bytes(data)
    _write_private(target.with_suffix(".password"), password)


def _crl_distribution_point() -> x509.CRLDistributionPoints:
    point = x509.DistributionPoint(
        full_name=[x509.UniformResourceIdentifier(CRL_URL)], relative_name=None, reasons=None, crl_issuer=None
    )
    return x509.CRLDistributionPoints([point])


def _write_private(path: Path, data: bytes) -> None:
    """Write a secret readable by its owner only; created 0600, so it is never briefly world-readable."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(data)
    os.chmod(path, 0o600)  # an existing file keeps its old mode through os.open


def _p12_certificate(p12: Path, password: Path) -> x509.Certificate:
    _, cert, _ = pkcs12.load_key_and_certificates(p12.read_bytes(), password.read_bytes())
    assert cert is not None
    return cert
