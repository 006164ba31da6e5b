"""Evidence versions: what a community submitted, and the pack an evaluation sees.

A submission is stored as a new version (canonical JSON of the manifest, attachments in the
content-addressed folder); nothing is overwritten. Verdicts are not part of a submission: a
community never verifies its own evidence. Auditors' verdicts are stored apart, each tied to the
digest of the item as it stood when verified, so an item that changes in a later version counts
as unverified until an auditor looks at it again. The pack an evaluation sees is the latest
version plus the verdicts that still apply to it.
"""

from __future__ import annotations

import datetime as dt
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from sqlalchemy import select
from sqlalchemy.engine import Connection

from audits.blobs import Blobs
from audits.schema import pack_versions, verifications
from engine.canonical import canonical_json, digest_of
from evidence_schemas.pack import EvidencePack, Verification
from evidence_schemas.reader import MANIFESTS, pack_digest, read_pack


@dataclass(frozen=True)
class Assembled:
    """The pack an evaluation of an engagement sees now."""

    pack: EvidencePack
    """The latest version with the verdicts that apply to it."""
    digest: str
    """Digest of ``pack`` (what the result names)."""
    version: int
    version_digest: str
    """Digest of the version as submitted."""
    verdicts: dict[str, str]
    """Evidence id -> latest applicable verdict."""


def item_digests(pack: EvidencePack) -> dict[str, str]:
    """Evidence id -> digest of the item's canonical JSON."""
    return {item.id: digest_of(item.model_dump(mode="json")) for item in pack.items}


def latest_version(connection: Connection, engagement_id: str) -> tuple[int, EvidencePack, str] | None:
    """The newest version's number, pack and digest, or None before the first submission."""
    row = connection.execute(
        select(pack_versions)
        .where(pack_versions.c.engagement_id == engagement_id)
        .order_by(pack_versions.c.version.desc())
        .limit(1)
    ).first()
    if row is None:
        return None
    return row.version, EvidencePack.model_validate_json(row.manifest), row.pack_digest


def version_pack(connection: Connection, engagement_id: str, version: int) -> EvidencePack:
    """The pack of one stored version."""
    manifest = connection.execute(
        select(pack_versions.c.manifest).where(
            pack_versions.c.engagement_id == engagement_id, pack_versions.c.version == version
        )
    ).scalar_one()
    return EvidencePack.model_validate_json(manifest)


def assemble(connection: Connection, engagement_id: str) -> Assembled | None:
    """The latest version with its applicable verdicts; None before the first submission."""
    latest = latest_version(connection, engagement_id)
    if latest is None:
        return None
    version, pack, version_digest = latest
    current = item_digests(pack)
    rows = connection.execute(
        select(verifications)
        .where(verifications.c.engagement_id == engagement_id)
        .order_by(verifications.c.seq)
    ).all()
    applicable: dict[tuple[str, dt.date], Verification] = {}
    for row in rows:
        if current.get(row.evidence_id) != row.item_digest:
            continue  # verified as it stood in another version
        # One verdict per item and day: a later one on the same day replaces the earlier.
        applicable[(row.evidence_id, row.verified_on)] = Verification(
            evidence_id=row.evidence_id,
            verdict=row.verdict,
            method=row.method,
            reason=row.reason,
            auditor=row.auditor,
            date=row.verified_on,
        )
    chosen = sorted(applicable.values(), key=lambda v: (v.evidence_id, v.date))
    update: dict[str, Any] = {"verifications": chosen}
    evaluated = pack.model_copy(update=update)
    verdicts: dict[str, str] = {v.evidence_id: v.verdict for v in chosen}  # by date: the latest wins
    return Assembled(evaluated, pack_digest(evaluated), version, version_digest, verdicts)


@dataclass(frozen=True)
class Submission:
    """A checked pack ready to store: the manifest and where its attachment files are."""

    pack: EvidencePack
    digest: str
    location: Path


def read_submission(location: Path) -> Submission:
    """Read and check a pack (every problem at once, as :func:`read_pack` does)."""
    loaded = read_pack(location)
    return Submission(loaded.pack, loaded.digest, location)


def store_attachments(submission: Submission, blobs: Blobs) -> dict[str, int]:
    """Copy every attachment into the blob folder (re-hashing it); sha256 -> size."""
    stored: dict[str, int] = {}
    with _opener(submission.location) as open_file:
        for item in submission.pack.items:
            for attachment in item.attachments:
                if attachment.sha256 in stored:
                    continue
                with open_file(attachment.path) as handle:
                    label = f"{submission.location}/{attachment.path}"
                    stored[attachment.sha256] = blobs.put(handle, attachment.sha256, label)
    return stored


@contextmanager
def _opener(location: Path) -> Iterator[Callable[[str], IO[bytes]]]:
    """A function opening a pack's files by relative path, for a folder, manifest or zip."""
    if location.is_file() and location.name in MANIFESTS:
        location = location.parent
    if location.is_dir():
        root = location

        def from_folder(name: str) -> IO[bytes]:
            return (root / name).open("rb")

        yield from_folder
    else:
        with zipfile.ZipFile(location) as archive:

            def from_zip(name: str) -> IO[bytes]:
                return archive.open(name)

            yield from_zip


def changes(before: EvidencePack | None, after: EvidencePack) -> dict[str, list[str]]:
    """Items added, removed and changed from one version to the next."""
    old = item_digests(before) if before is not None else {}
    new = item_digests(after)
    return {
        "added": sorted(set(new) - set(old)),
        "removed": sorted(set(old) - set(new)),
        "changed": sorted(i for i in set(old) & set(new) if old[i] != new[i]),
    }


def manifest_json(pack: EvidencePack) -> str:
    """How a version is stored: canonical JSON text."""
    return canonical_json(pack.model_dump(mode="json")).decode("utf-8")
