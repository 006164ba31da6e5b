"""Evidence versions: what a community submitted, and the pack an evaluation sees.

A submission is stored as a new version (canonical JSON of the manifest, attachments in the
content-addressed folder); nothing is overwritten. Verdicts are not part of a submission: a
community never verifies its own evidence. Auditors' verdicts are stored apart, each tied to the
digest of the item as it stood when verified, so an item that changes in a later version counts
as unverified until an auditor looks at it again. The pack an evaluation sees is the latest
version plus the verdicts that still apply to it, and the auditors' judgements of requirements
(each bound to the digest of the items it cites: the engine voids one whose items changed).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from sqlalchemy import Row, func, select
from sqlalchemy.engine import Connection

from audits.binding import check_rows
from audits.blobs import Receiver, StagedBlob
from audits.schema import bindings, evaluations, judgements, pack_versions, verifications
from engine.canonical import canonical_json, digest, parse_json
from evidence_schemas.pack import EvidencePack, Judgement, Verification
from evidence_schemas.reader import read_pack


@dataclass(frozen=True)
class Assembled:
    """The pack an evaluation of an engagement sees now."""

    pack_json: bytes
    """Canonical JSON of the latest version with the verdicts that apply to it."""
    digest: str
    """Digest of ``pack_json`` (what the result names)."""
    version: int
    version_digest: str
    """Digest of the version as submitted."""
    verdicts: dict[str, str]
    """Evidence id -> latest applicable verdict."""
    last_verdict: int
    """Sequence number of the newest verdict on the engagement (0 before any): with ``version``,
    what :func:`changed_since` compares, as versions and verdicts are only ever added."""
    last_judgement: int = 0
    """Sequence number of the newest judgement on the engagement (0 before any), likewise."""

    @cached_property
    def pack(self) -> EvidencePack:
        """The pack as a model (parsed on first use: the worker pool only needs the JSON)."""
        return EvidencePack.model_validate_json(self.pack_json)


def item_digests(pack: EvidencePack) -> dict[str, str]:
    """Evidence id -> digest of the item's canonical JSON."""
    return _digests(pack.model_dump(mode="json"))


def manifest_digests(manifest: str | bytes) -> dict[str, str]:
    """Evidence id -> item digest, from a stored (canonical) manifest."""
    return _digests(parse_json(manifest))


def _digests(manifest: dict[str, Any]) -> dict[str, str]:
    # Stored manifests are canonical dumps of the model, so this equals item_digests of the
    # parsed pack without paying for pydantic validation on every verdict batch and evaluation.
    return {item["id"]: digest(canonical_json(item)) for item in manifest["items"]}


def latest_items(connection: Connection, engagement_id: str) -> tuple[int, dict[str, str]] | None:
    """The newest version's number and its items' digests, or None before the first submission."""
    row = latest_row(connection, engagement_id)
    if row is None:
        return None
    return row.version, manifest_digests(row.manifest)


def latest_row(connection: Connection, engagement_id: str) -> Any:
    """The newest ``pack_versions`` row of an engagement, or None before the first submission."""
    return connection.execute(
        select(pack_versions)
        .where(pack_versions.c.engagement_id == engagement_id)
        .order_by(pack_versions.c.version.desc())
        .limit(1)
    ).first()


def _version_row(connection: Connection, engagement_id: str, version: int) -> Any:
    """One stored ``pack_versions`` row, or None."""
    return connection.execute(
        select(pack_versions).where(
            pack_versions.c.engagement_id == engagement_id, pack_versions.c.version == version
        )
    ).first()


def version_pack(connection: Connection, engagement_id: str, version: int) -> EvidencePack:
    """The pack of one stored version."""
    manifest = connection.execute(
        select(pack_versions.c.manifest).where(
            pack_versions.c.engagement_id == engagement_id, pack_versions.c.version == version
        )
    ).scalar_one()
    return EvidencePack.model_validate_json(manifest)


@dataclass(frozen=True)
class Pinned:
    """Where an engagement stood when an evaluation was taken: the version it saw and the last
    verdict and judgement recorded by then (both only ever added, so a prefix is the past)."""

    version: int
    last_verdict: int
    last_judgement: int


def assemble(connection: Connection, engagement_id: str, *, pinned: Pinned | None = None) -> Assembled | None:
    """The latest version with its applicable verdicts; None before the first submission.

    With ``pinned``, the pack as it was assembled then (a re-rating re-evaluates it): that
    version with the verdicts and judgements recorded up to then, by the same rules."""
    latest = (
        latest_row(connection, engagement_id)
        if pinned is None
        else _version_row(connection, engagement_id, pinned.version)
    )
    if latest is None:
        return None
    query = select(verifications).where(verifications.c.engagement_id == engagement_id)
    if pinned is not None:
        query = query.where(verifications.c.seq <= pinned.last_verdict)
    rows = connection.execute(query.order_by(verifications.c.seq)).all()
    # An evaluation rests on these rows: each must be what its trail record bound.
    check_rows(connection, pack_versions, [latest])
    check_rows(connection, verifications, rows)
    manifest = parse_json(latest.manifest)
    current = _digests(manifest)
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
    # Equal to the canonical dump of the pack model with these verifications (a test checks).
    manifest["verifications"] = [v.model_dump(mode="json") for v in chosen]
    judged, last_judgement = _judgements(
        connection, engagement_id, set(current), None if pinned is None else pinned.last_judgement
    )
    if judged:  # left out when empty, as the model's canonical dump does
        manifest["judgements"] = [j.model_dump(mode="json") for j in judged]
    data = canonical_json(manifest)
    verdicts: dict[str, str] = {v.evidence_id: v.verdict for v in chosen}  # by date: the latest wins
    last = rows[-1].seq if rows else 0
    return Assembled(data, digest(data), latest.version, latest.pack_digest, verdicts, last, last_judgement)


def _judgements(
    connection: Connection, engagement_id: str, present: set[str], until: int | None = None
) -> tuple[list[Judgement], int]:
    """The judgements an evaluation of the latest version sees, and the newest sequence number.

    One per requirement and day (a later one the same day replaces the earlier). A judgement
    citing an item the latest version no longer has cannot stand, and neither can any earlier
    judgement of that requirement (it was superseded): the requirement needs judging again. A
    judgement whose cited items changed is kept, so the evaluation reports it void and why.
    """
    query = select(judgements).where(judgements.c.engagement_id == engagement_id)
    if until is not None:  # recorded up to a pinned evaluation
        query = query.where(judgements.c.seq <= until)
    rows = connection.execute(query.order_by(judgements.c.seq)).all()
    check_rows(connection, judgements, rows)
    applicable: dict[tuple[str, dt.date], Judgement] = {}
    for row in rows:
        cites = list(json.loads(row.cites))
        if not set(cites) <= present:
            for key in [k for k in applicable if k[0] == row.requirement]:
                del applicable[key]
            continue
        applicable[(row.requirement, row.judged_on)] = Judgement(
            requirement=row.requirement,
            rating=row.rating,
            cites=cites,
            cited_digest=row.cited_digest,
            examined=list(json.loads(row.examined)),
            method=row.method,
            reason=row.reason,
            auditor=row.auditor,
            date=row.judged_on,
        )
    chosen = [applicable[k] for k in sorted(applicable)]
    return chosen, (rows[-1].seq if rows else 0)


def changed_since(connection: Connection, assembled: Assembled, engagement_id: str) -> list[str]:
    """What was added since ``assembled`` was taken, in words (empty: it is current)."""
    version = connection.execute(
        select(func.max(pack_versions.c.version)).where(pack_versions.c.engagement_id == engagement_id)
    ).scalar()
    last = connection.execute(
        select(func.max(verifications.c.seq)).where(verifications.c.engagement_id == engagement_id)
    ).scalar()
    judged = connection.execute(
        select(func.max(judgements.c.seq)).where(judgements.c.engagement_id == engagement_id)
    ).scalar()
    changes = []
    if version != assembled.version:
        changes.append(f"evidence version {version} was submitted")
    if (last or 0) != assembled.last_verdict:
        changes.append(f"{(last or 0) - assembled.last_verdict} verdict(s) were recorded")
    if (judged or 0) != assembled.last_judgement:
        changes.append(f"{(judged or 0) - assembled.last_judgement} judgement(s) were recorded")
    return changes


@dataclass(frozen=True)
class Submission:
    """A checked pack ready to store: the manifest and where its attachment files are."""

    pack: EvidencePack
    manifest: bytes
    """Canonical JSON of ``pack``: what is stored, and what ``digest`` is of."""
    digest: str
    location: Path


def read_submission(location: Path, receiving: Receiver | None = None) -> Submission:
    """Read and check a pack (every problem at once, as :func:`read_pack` does); with
    ``receiving``, each attachment is copied as it is hashed (see :class:`audits.blobs.Receiver`)."""
    loaded = read_pack(location, copy=receiving)
    return Submission(loaded.pack, loaded.canonical, loaded.digest, location)


def attachment_files(pack: EvidencePack) -> dict[str, tuple[str, int]]:
    """Each attached file's path -> (sha256, size), as the checked manifest declares them."""
    return {a.path: (a.sha256, a.size) for item in pack.items for a in item.attachments}


def commit_staged(staged: Sequence[StagedBlob]) -> dict[str, int]:
    """Rename staged copies into the blob folder; sha256 -> size."""
    for copy in staged:
        copy.commit()
    return {copy.sha256: copy.size for copy in staged}


def changes(before: dict[str, str], after: dict[str, str]) -> dict[str, list[str]]:
    """Items added, removed and changed from one version to the next, given each version's
    item digests (:func:`item_digests`, :func:`manifest_digests`)."""
    return {
        "added": sorted(set(after) - set(before)),
        "removed": sorted(set(before) - set(after)),
        "changed": sorted(i for i in set(before) & set(after) if before[i] != after[i]),
    }


def as_evaluated(connection: Connection, evaluation: Row[Any]) -> tuple[Assembled | None, str | None]:
    """The pack ``evaluation`` (an ``evaluations`` row) saw, rebuilt from the rows the trail had
    bound before the evaluation's own record, and proven by the digest it stored; or None and why
    not. Re-rating re-evaluates it; the OSCAL export reports it."""
    eid = evaluation.engagement_id
    at = bound_at(connection, evaluations, [f"{eid}/{evaluation.number}"]).get(f"{eid}/{evaluation.number}")
    if at is None:
        return None, f"evaluation {evaluation.number} has no trail record to date it by"
    pinned = Pinned(
        evaluation.pack_version,
        last_before(connection, verifications, eid, at),
        last_before(connection, judgements, eid, at),
    )
    assembled = assemble(connection, eid, pinned=pinned)
    if assembled is None or assembled.digest != evaluation.pack_digest:
        rebuilt = "nothing" if assembled is None else assembled.digest
        return None, (
            f"the evidence as evaluation {evaluation.number} saw it could not be rebuilt "
            f"(pinned {evaluation.pack_digest}, rebuilt {rebuilt})"
        )
    return assembled, None


def last_before(connection: Connection, table: Any, engagement_id: str, seq: int) -> int:
    """The engagement's newest row of ``table`` (verifications, judgements) bound to the trail
    before record ``seq``: rows are only ever added, in order, so those before it are a prefix."""
    numbers = (
        connection.execute(select(table.c.seq).where(table.c.engagement_id == engagement_id)).scalars().all()
    )
    bound = bound_at(connection, table, [f"{engagement_id}/{n}" for n in numbers])
    return max((n for n in numbers if bound.get(f"{engagement_id}/{n}", seq) < seq), default=0)


def bound_at(connection: Connection, table: Any, keys: Sequence[str]) -> dict[str, int]:
    """Row key -> the trail record that wrote the row (the bindings index, checked by
    ``trail verify --store`` against the trail itself)."""
    found: dict[str, int] = {}
    for start in range(0, len(keys), 500):  # bounded IN lists
        chunk = list(keys[start : start + 500])
        query = select(bindings.c.row_key, bindings.c.seq).where(
            bindings.c.table_name == table.name, bindings.c.row_key.in_(chunk)
        )
        found.update({row.row_key: row.seq for row in connection.execute(query)})
    return found
