"""Reading an evidence pack from disk: manifest, schema, attachment hashes.

A pack is a folder holding ``pack.json`` and the attached files. Every problem found is
collected and raised together; a pack with any problem is not used at all.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from pydantic import TypeAdapter, ValidationError

from engine.canonical import digest_of
from engine.errors import EvidencePackError, Problem
from engine.sourcemap import SourceDoc, load_json
from evidence_schemas.pack import EvidencePack

MANIFEST = "pack.json"
_PACK = TypeAdapter(EvidencePack)


@dataclass(frozen=True)
class LoadedPack:
    """A validated pack and its digest."""

    pack: EvidencePack
    digest: str
    """Digest of the pack's canonical JSON; it names attachments by their SHA-256."""


def pack_digest(pack: EvidencePack) -> str:
    """Digest of a pack's canonical JSON form."""
    return digest_of(pack.model_dump(mode="json"))


def read_pack(location: Path) -> LoadedPack:
    """Read and check the pack at ``location`` (a folder, or its ``pack.json``)."""
    folder = location.parent if location.name == MANIFEST else location
    manifest = folder / MANIFEST
    if not manifest.is_file():
        raise EvidencePackError([Problem(str(location), None, "", f"no {MANIFEST} found")])
    doc = load_json(manifest)
    if doc.problems:
        raise EvidencePackError(doc.problems)
    try:
        pack = _PACK.validate_json(manifest.read_bytes())
    except ValidationError as exc:
        raise EvidencePackError(doc.validation_problems(exc)) from None
    problems = _check_attachments(pack, folder, doc)
    if problems:
        raise EvidencePackError(problems)
    return LoadedPack(pack, pack_digest(pack))


def _check_attachments(pack: EvidencePack, folder: Path, doc: SourceDoc) -> list[Problem]:
    problems = []
    root = folder.resolve()
    for i, item in enumerate(pack.items):
        for j, attachment in enumerate(item.attachments):
            where: list[str | int] = ["items", i, "attachments", j]
            path = (folder / attachment.path).resolve()
            if not path.is_relative_to(root):
                problems.append(doc.problem([*where, "path"], f"{attachment.path} leaves the pack"))
            elif not path.is_file():
                problems.append(doc.problem([*where, "path"], f"{attachment.path} is missing"))
            else:
                data = path.read_bytes()
                if len(data) != attachment.size:
                    message = f"{attachment.path} has {len(data)} bytes, not {attachment.size}"
                    problems.append(doc.problem([*where, "size"], message))
                if hashlib.sha256(data).hexdigest() != attachment.sha256:
                    message = f"{attachment.path} does not match its sha256"
                    problems.append(doc.problem([*where, "sha256"], message))
    return problems
