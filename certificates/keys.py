"""The certification body's signing key: its password and its PKCS#12 file, read once.

The password comes from an environment variable or a file, never from the command line (a
command line shows in the process list and the shell history). The key is parsed once and kept
parsed: pyHanko's ``SimpleSigner`` re-parses it on every signature, which costs more than the
signature itself.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from asn1crypto import keys as asn1_keys
from asn1crypto import pkcs12 as asn1_pkcs12
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from pyhanko.sign.signers import SimpleSigner
from pyhanko_certvalidator.registry import SimpleCertificateStore

from certificates.errors import SigningError, SigningKeyError
from engine.errors import InputError, Problem

_HASHES: dict[str, hashes.HashAlgorithm] = {
    "sha256": hashes.SHA256(),
    "sha384": hashes.SHA384(),
    "sha512": hashes.SHA512(),
}


class CachedKeySigner(SimpleSigner):
    """A pyHanko ``SimpleSigner`` over an already parsed RSA key (RSA PKCS#1 v1.5 only)."""

    def __init__(self, private_key: rsa.RSAPrivateKey, cert: x509.Certificate, chain: list[x509.Certificate]):
        der_key = private_key.private_bytes(
            serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        # pyhanko-certvalidator leaves this constructor unannotated.
        store = SimpleCertificateStore.from_certs([_asn1_cert(c) for c in chain])  # type: ignore[no-untyped-call]
        super().__init__(
            signing_cert=_asn1_cert(cert),
            signing_key=asn1_keys.PrivateKeyInfo.load(der_key),
            cert_registry=store,
        )
        self._private_key = private_key

    def sign_raw(self, data: bytes, digest_algorithm: str) -> bytes:
        """Sign ``data`` with the cached key; RSA keys make PKCS#1 v1.5 signatures (PDF 1.7)."""
        mechanism = self.get_signature_mechanism_for_digest(digest_algorithm).signature_algo
        if mechanism != "rsassa_pkcs1v15":  # the CMS would announce a mechanism this signer does not use
            raise SigningError(
                f"signature mechanism {mechanism} is not supported; Assay signs RSA PKCS#1 v1.5"
            )
        return self._private_key.sign(data, padding.PKCS1v15(), _HASHES[digest_algorithm.lower()])


@dataclass(frozen=True)
class SigningKey:
    """A signing key loaded from a PKCS#12 file, parsed once."""

    source: Path
    """The PKCS#12 file it was read from."""
    signer: CachedKeySigner
    """pyHanko signer over the parsed key, its certificate and the chain."""
    certificate: x509.Certificate
    """The signer's certificate (``is_test_certificate`` tells a test one)."""
    chain: tuple[x509.Certificate, ...]
    """The other certificates in the file (the issuing CA chain)."""

    @property
    def subject(self) -> str:
        """The signer certificate's subject, RFC 4514 (``CN=...,O=...``)."""
        return self.certificate.subject.rfc4514_string()

    @property
    def key_bytes(self) -> int:
        """Size of a raw signature with this key, in bytes."""
        return (self._rsa_key().key_size + 7) // 8

    def _rsa_key(self) -> rsa.RSAPublicKey:
        key = self.certificate.public_key()
        assert isinstance(key, rsa.RSAPublicKey)  # load_signing_key accepts RSA only
        return key


def read_password(env: str | None, file: Path | None) -> bytes:
    """The PKCS#12 password from environment variable ``env`` or from ``file`` (exactly one is given).

    A file's single trailing newline is dropped: editors and ``echo`` add one.
    """
    if (env is None) == (file is None):
        raise _error(
            "signing key password", "give the password by environment variable or by file (one of them)"
        )
    if env is not None:
        value = os.environ.get(env)
        if value is None:
            raise _error(env, f"environment variable {env} with the signing key password is not set")
        return value.encode()
    assert file is not None
    try:
        data = file.read_bytes()
    except FileNotFoundError:
        raise _error(str(file), f"password file {file.name} does not exist") from None
    except OSError as exc:
        raise _error(str(file), f"password file {file.name} cannot be read: {exc.strerror}") from None
    return data.removesuffix(b"\n").removesuffix(b"\r")


def load_signing_key(p12: Path, password: bytes) -> SigningKey:
    """Load the signer key, certificate and chain from a PKCS#12 file; SigningKeyError says what is wrong."""
    try:
        data = p12.read_bytes()
    except FileNotFoundError:
        raise _error(str(p12), f"signing key file {p12.name} does not exist") from None
    except OSError as exc:
        raise _error(str(p12), f"signing key file {p12.name} cannot be read: {exc.strerror}") from None
    if not _is_pkcs12(data):
        raise _error(str(p12), f"{p12.name} is not a PKCS#12 file")
    try:
        key, cert, chain = pkcs12.load_key_and_certificates(data, password)
    except ValueError:
        # The structure parsed above, so what fails is the password (or a damaged MAC).
        raise _error(str(p12), f"wrong password for {p12.name} (or the file is damaged)") from None
    if key is None:
        raise _error(str(p12), f"{p12.name} holds no private key")
    if cert is None:
        raise _error(str(p12), f"{p12.name} holds no certificate for its private key")
    if not isinstance(key, rsa.RSAPrivateKey):
        # Other key types raise the signed PDF to version 2.0; Assay keeps PDF 1.7.
        raise _error(str(p12), f"{p12.name} holds a {type(key).__name__}; Assay signs with RSA keys")
    if key.public_key().public_numbers() != _public_numbers(cert):
        raise _error(str(p12), f"{p12.name}: the private key does not belong to the certificate")
    signer = CachedKeySigner(key, cert, chain)
    return SigningKey(source=p12, signer=signer, certificate=cert, chain=tuple(chain))


def _public_numbers(cert: x509.Certificate) -> rsa.RSAPublicNumbers | None:
    public = cert.public_key()
    return public.public_numbers() if isinstance(public, rsa.RSAPublicKey) else None


def _is_pkcs12(data: bytes) -> bool:
    """Whether ``data`` parses as a PKCS#12 PFX structure (no password needed to tell)."""
    try:
        pfx = asn1_pkcs12.Pfx.load(data, strict=True)
        return bool(pfx["version"].native == "v3" and pfx["auth_safe"]["content_type"].native)
    except Exception:  # asn1crypto raises several types on garbage
        return False


def _asn1_cert(cert: x509.Certificate) -> asn1_x509.Certificate:
    return asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))


def _error(where: str, message: str) -> SigningKeyError:
    return SigningKeyError([Problem(file=where, line=None, path="", message=message)])


def load_trust(path: Path) -> list[x509.Certificate]:
    """Certificates from a PEM file (a trust anchor); a bad file is an input error naming it."""
    try:
        return x509.load_pem_x509_certificates(path.read_bytes())
    except (OSError, ValueError) as exc:
        raise InputError([Problem(str(path), None, "", f"not a PEM certificate file: {exc}")]) from None
