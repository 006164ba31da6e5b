"""Errors of certification: bad schemes and keys, refused register changes, failed verification.

They join the engine's hierarchy so the CLI maps every error to its exit code in one place.
"""

from __future__ import annotations

from engine.errors import AssayError, InputError


class SchemeError(InputError):
    """A scheme file failed validation."""

    what = "scheme"


class SigningKeyError(InputError):
    """The signing key cannot be used: missing file, wrong password, no private key."""

    what = "signing key"


class SigningError(AssayError):
    """A certificate could not be signed: a PAdES level lacks its timestamper or validation data,
    or the signer refused (e.g. the signer certificate does not validate for B-LT)."""


class RegisterError(AssayError):
    """The register refused a change (unknown number, a transition its status forbids).

    Nothing was changed; the refusal names the certificate and the reason.
    """


class VerificationError(AssayError):
    """A certificate did not verify; the message gives every reason found."""

    def __init__(self, reasons: list[str]) -> None:
        self.reasons = reasons
        super().__init__("INVALID: " + "; ".join(reasons))
