"""What a server is started with: where the store is, how it signs, whom it trusts."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509

from certificates.keys import SigningKey
from engine.sources import Clock


@dataclass(frozen=True)
class Settings:
    """One server's configuration (nothing here changes while it runs)."""

    data: str
    """Data folder, SQLite file or database URL, as ``--data`` everywhere."""
    attachments: Path | None = None
    rules_dir: Path | None = None
    clock: Clock | None = None
    """The clock operations are dated by; None is the system clock (tests inject their own)."""
    key: SigningKey | None = None
    """The body's signing key; without one the server refuses to issue certificates."""
    body: str = ""
    """The certification body's name, as it signs."""
    certificates: Path | None = None
    """Folder issued PDFs are written to (default: DATA/certificates for a data folder)."""
    trust: Sequence[x509.Certificate] = field(default_factory=tuple)
    """Trust anchors that uploaded certificates are verified against."""
    public_rate: int = 120
    """Requests a minute each address may make to the public endpoints (0: unlimited)."""
    upload_limit: int = (4 << 30) + (64 << 20)
    """Bytes an evidence upload may have in all: the intake's total cap plus its manifest cap."""
    verify_limit: int = 32 << 20
    """Bytes an uploaded certificate PDF may have."""
