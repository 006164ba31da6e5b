"""A community's next evidence version, put together item by item in the web pages.

A draft is not evidence: nothing in it is stored in the database or bound by the trail until it
is submitted, and then it goes through :meth:`audits.engagements.Engagements.submit`, the same
intake a zip upload or ``assay engagement submit`` goes through, so it is read, hashed and
checked exactly as they are. Until then it is a folder on the server:

- ``draft.json``: the version the draft started from and the pack as it stands;
- ``files/<sha256>``: attachments uploaded into the draft (those carried over from the version it
  started from stay in the attachment store and are copied from there when it is submitted).

Only the community's submitters open, change or submit a draft; a refusal is a trail record as
for every operation. Changes to one engagement's draft are serialised by a lock on its folder.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import re
import shutil
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO, Any

from audits.authority import as_submitter
from audits.engagements import Engagements
from audits.errors import NotFoundError
from audits.operations import Operations
from audits.reading import latest_version
from audits.versions import version_pack
from engine.errors import InputError, Problem
from evidence_schemas.writer import atomic_write

FORMAT = "assay-evidence-pack/1"
CHUNK = 1 << 20
MEDIA_TYPE = re.compile(r"^[a-z]+/[a-z0-9.+-]+$")


@dataclass(frozen=True)
class Draft:
    """A draft as it stands: the version it started from (None: the first) and its pack."""

    engagement: str
    based_on: int | None
    pack: dict[str, Any]

    def item(self, item_id: str) -> dict[str, Any] | None:
        """The item with id ``item_id``, if the draft has it."""
        return next((i for i in self.pack["items"] if i.get("id") == item_id), None)


class Drafts(Operations):
    """Drafts of the next evidence version, one per engagement, under ``folder``."""

    folder: Path

    @classmethod
    def under(cls, operations: Operations, folder: Path) -> Drafts:
        """Drafts sharing ``operations``' store, attachments, clock and rule pack."""
        drafts = cls(operations.store, operations.blobs, operations.clock, operations.rules)
        drafts.folder = folder
        return drafts

    def open(self, person_id: str, engagement_id: str) -> Draft:
        """The engagement's draft; a new one starts from the latest version (or empty)."""
        with self._changing(person_id, engagement_id, "open the draft of") as (place, row):
            return self._load(place, row)

    def put_item(
        self, person_id: str, engagement_id: str, item: Mapping[str, Any], replacing: str | None
    ) -> Draft:
        """Add ``item`` (already checked against its schema), or replace item ``replacing`` with it;
        a replaced item keeps its attachments (the form does not carry them)."""
        with self._changing(person_id, engagement_id, "change the draft of") as (place, row):
            draft = self._load(place, row)
            items: list[dict[str, Any]] = list(draft.pack["items"])
            new = dict(item)
            old = draft.item(replacing) if replacing is not None else None
            if replacing is not None and old is None:
                raise NotFoundError(f"no item {replacing} in the draft of {engagement_id}")
            if new["id"] != replacing and draft.item(new["id"]) is not None:
                raise InputError([Problem("draft", None, "id", f"the draft already has an item {new['id']}")])
            if old is not None:
                if old.get("attachments"):
                    new["attachments"] = old["attachments"]
                items = [new if i is old else i for i in items]
            else:
                items.append(new)
            return self._save(place, draft, items=items)

    def remove_item(self, person_id: str, engagement_id: str, item_id: str) -> Draft:
        """Take item ``item_id`` out of the draft."""
        with self._changing(person_id, engagement_id, "change the draft of") as (place, row):
            draft = self._load(place, row)
            if draft.item(item_id) is None:
                raise NotFoundError(f"no item {item_id} in the draft of {engagement_id}")
            return self._save(place, draft, items=[i for i in draft.pack["items"] if i.get("id") != item_id])

    def attach(
        self,
        person_id: str,
        engagement_id: str,
        item_id: str,
        filename: str,
        media_type: str,
        source: IO[bytes],
        limit: int,
    ) -> dict[str, Any]:
        """Attach the file read from ``source`` (at most ``limit`` bytes) to item ``item_id``;
        returns the attachment as the pack records it, with the SHA-256 the intake will check."""
        with self._changing(person_id, engagement_id, "attach a file in the draft of") as (place, row):
            draft = self._load(place, row)
            item = draft.item(item_id)
            if item is None:
                raise NotFoundError(f"no item {item_id} in the draft of {engagement_id}")
            name = _safe_name(filename)
            files = place / "files"
            files.mkdir(exist_ok=True)
            partial = files / ".upload"
            digest, size = hashlib.sha256(), 0
            with partial.open("wb") as out:
                while chunk := source.read(CHUNK):
                    size += len(chunk)
                    if size > limit:
                        break
                    digest.update(chunk)
                    out.write(chunk)
            problems = []
            if size > limit:
                problems.append(f"the file is larger than {limit} bytes")
            if size == 0:
                problems.append("the file is empty")
            if problems:
                partial.unlink()
                raise InputError([Problem(filename or "upload", None, "file", p) for p in problems])
            sha = digest.hexdigest()
            os.replace(partial, files / sha)
            attachment = {
                "path": f"attachments/{_safe_name(item_id)}/{name}",
                "media_type": media_type
                if MEDIA_TYPE.match(media_type or "")
                else "application/octet-stream",
                "size": size,
                "sha256": sha,
            }
            kept = [a for a in item.get("attachments", []) if a["path"] != attachment["path"]]
            changed = {**item, "attachments": [*kept, attachment]}
            self._save(place, draft, items=[changed if i is item else i for i in draft.pack["items"]])
            return attachment

    def set_claims(self, person_id: str, engagement_id: str, claims: Sequence[Mapping[str, Any]]) -> Draft:
        """Replace the self-assessment claims (already checked against their schema)."""
        with self._changing(person_id, engagement_id, "change the draft of") as (place, row):
            draft = self._load(place, row)
            return self._save(place, draft, claims=[dict(c) for c in claims])

    def discard(self, person_id: str, engagement_id: str) -> None:
        """Throw the draft away (the next one starts from the latest version again)."""
        with self._changing(person_id, engagement_id, "discard the draft of") as (place, _):
            _empty(place)

    def submit(self, person_id: str, engagement_id: str, scratch: Path) -> int:
        """Submit the draft as the next evidence version, through the same intake as an upload;
        the draft is gone once the version is stored, and kept when the intake refuses it."""
        with self._changing(person_id, engagement_id, "submit the draft of") as (place, row):
            draft = self._load(place, row)
            atomic_write(scratch / "pack.json", json.dumps(draft.pack, ensure_ascii=False).encode())
            for item in draft.pack["items"]:
                for attached in item.get("attachments", []):
                    self._copy(place, attached, scratch)
            version = Engagements(self.store, self.blobs, self.clock, self.rules).submit(
                person_id, engagement_id, scratch
            )
            _empty(place)
            return version

    def _copy(self, place: Path, attached: Mapping[str, Any], scratch: Path) -> None:
        relative = PurePosixPath(str(attached.get("path", "")))
        if relative.is_absolute() or ".." in relative.parts:
            return  # the intake names the bad path; nothing is written outside the scratch folder
        target = scratch.joinpath(*relative.parts)
        target.parent.mkdir(parents=True, exist_ok=True)
        uploaded = place / "files" / str(attached.get("sha256", ""))
        if uploaded.is_file():
            shutil.copyfile(uploaded, target)
            return
        try:
            source = self._blobs().open(str(attached.get("sha256", "")))
        except (OSError, ValueError):
            return  # missing: the intake reports the attachment as not found
        with source, target.open("wb") as out:
            shutil.copyfileobj(source, out, CHUNK)

    @contextlib.contextmanager
    def _changing(self, person_id: str, engagement_id: str, operation: str) -> Iterator[tuple[Path, Any]]:
        """The draft's folder, locked, once ``person_id`` is checked as a submitter of the
        engagement's community; also the engagement row and the latest version's pack."""
        with self._operation(operation, engagement_id, person_id, read_only=True) as (connection, attempt):
            row = self._engagement(connection, attempt)
            self._refuse_unless(
                attempt, lambda: as_submitter(connection, person_id, row.community_id, operation)
            )
            latest = latest_version(connection, engagement_id)
            started = (
                version_pack(connection, engagement_id, latest).model_dump(mode="json") if latest else None
            )
        place = self.folder / _safe_name(engagement_id)
        place.mkdir(parents=True, exist_ok=True)
        with (place / ".lock").open("a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            yield place, (row, latest, started)

    @staticmethod
    def _load(place: Path, row: Any) -> Draft:
        engagement, latest, started = row
        stored = place / "draft.json"
        if stored.is_file():
            data = json.loads(stored.read_text(encoding="utf-8"))
            return Draft(engagement.id, data["based_on"], data["pack"])
        pack = started or {
            "format": FORMAT,
            "id": f"{engagement.id}-pack",
            "community": {"id": engagement.community_id, "name": engagement.community_name},
            "model": engagement.model,
            "items": [],
            "claims": [],
        }
        return Draft(engagement.id, latest or None, pack)

    @staticmethod
    def _save(place: Path, draft: Draft, **changes: Any) -> Draft:
        pack = {**draft.pack, **changes}
        saved = Draft(draft.engagement, draft.based_on, pack)
        data = {"based_on": draft.based_on, "pack": pack}
        atomic_write(place / "draft.json", json.dumps(data, ensure_ascii=False).encode())
        return saved


def _safe_name(name: str) -> str:
    """A file or folder name made of safe characters only (never empty, never a dot name)."""
    cleaned = "".join(c if c.isalnum() or c in "._-" else "_" for c in PurePosixPath(name or "").name)
    cleaned = cleaned.lstrip(".")[:120]
    return cleaned or "file"


def _empty(place: Path) -> None:
    for entry in place.iterdir():
        if entry.name == ".lock":
            continue
        if entry.is_dir():
            shutil.rmtree(entry)
        else:
            entry.unlink()
