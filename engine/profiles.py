"""Profiles beside the rules: realistic cities' evidence and the level an independent auditor
reads from the standard, to measure how often the rules agree.

Cases (:mod:`engine.cases`) are minimal sets derived from the rules; they show the rules do what
their authors meant. Profiles are written from the standard and the evidence schema alone, by a
reader who has not seen the rules, so they show whether the rules read the standard right. A
profile file (``profiles/<characteristic>.yaml``) holds several profiles, each:

- ``items``: evidence items as in a pack (``offered_for`` defaults to the characteristic), with
  the noise real packs have;
- ``rejected`` / ``pending``: items the auditor rejected, or has not verified yet (the rest are
  accepted);
- ``readings``: the auditor's reading of what an item shows against the cells, ``fully``,
  ``largely``, ``partially`` or ``not``, for every level or per level (unread items: ``fully``);
- ``expected`` and ``reason``: the level the writer reads, citing the cell;
- ``difference``: set by the engineers only, never the writer: why the rules knowingly read it
  otherwise. A profile with a difference still counts as a disagreement.

The rules need the auditor's judgement of some requirements; the profile's auditor judges each of
them by the readings of the items that meet its conditions (see :func:`profile_judgements`).
"""

from __future__ import annotations

import datetime as dt
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import Field, TypeAdapter, ValidationError

from engine.catalogue import Strict
from engine.errors import Problem, RulePackError
from engine.evaluation import Inference, evaluate_on
from engine.judging import JudgedRequirement, judge_every_requirement
from engine.rulepack import RulePack
from engine.sourcemap import characteristic_files
from evidence_schemas.items import EvidenceItem
from evidence_schemas.pack import Community, EvidencePack, Judgement, Rating, Verification
from evidence_schemas.reader import pack_digest

PROFILES_DIR = "profiles"
_ITEM = TypeAdapter(EvidenceItem)
_SATISFIED = ("fully", "largely")
_ORDER: tuple[Rating, ...] = ("fully", "largely", "partially", "not")


class Profile(Strict):
    """One city's evidence for one characteristic and the level an independent auditor reads."""

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{0,62}$", description="Unique within the file.")
    city: str = Field(min_length=1, description="The city, in a line.")
    as_of: dt.date = Field(description="Assessment date.")
    expected: int = Field(ge=1, le=5, description="The level the writer reads from the standard.")
    reason: str = Field(min_length=1, description="Why, citing the cell.")
    items: list[dict[str, Any]] = Field(min_length=1, max_length=40, description="Evidence items.")
    rejected: list[str] = Field(default_factory=list, description="Items the auditor rejected.")
    pending: list[str] = Field(default_factory=list, description="Items not verified yet.")
    readings: dict[str, Rating | dict[int, Rating]] = Field(
        default_factory=dict, description="Item id -> the auditor's reading, for every level or per level."
    )
    difference: str | None = Field(
        default=None, description="Engineers only: why the rules knowingly read it otherwise."
    )

    def reading(self, item: str, level: int) -> Rating:
        """The auditor's reading of ``item`` against the cell of ``level`` (default fully)."""
        given = self.readings.get(item, "fully")
        return given if isinstance(given, str) else given.get(level, "fully")


class ProfileFile(Strict):
    """The profiles of one characteristic."""

    characteristic: str
    profiles: list[Profile] = Field(min_length=1)


@dataclass(frozen=True)
class ProfileResult:
    """How one profile came out."""

    characteristic: str
    profile: str
    expected: int
    verified: int
    difference: str | None

    @property
    def agrees(self) -> bool:
        """Whether the rules read the level the profile's writer read."""
        return self.verified == self.expected


def load_profiles(folder: Path) -> dict[str, ProfileFile]:
    """Every profile file of a rule pack (none: empty); raises :class:`RulePackError` listing
    every problem with file, line and field."""
    problems: list[Problem] = []
    files: dict[str, ProfileFile] = {}
    for doc, loaded in characteristic_files(folder / PROFILES_DIR, ProfileFile, problems):
        seen: set[str] = set()
        for index, profile in enumerate(loaded.profiles):
            where: list[str | int] = ["profiles", index]
            if profile.id in seen:
                problems.append(doc.problem([*where, "id"], f"profile id {profile.id!r} is used twice"))
            seen.add(profile.id)
            ids = []
            for number, item in enumerate(profile.items):
                try:
                    ids.append(_ITEM.validate_python(_item(loaded, item), strict=True).id)
                except ValidationError as exc:
                    problems += doc.validation_problems(exc, [*where, "items", number])
            for field, names in (
                ("rejected", profile.rejected),
                ("pending", profile.pending),
                ("readings", list(profile.readings)),
            ):
                for name in (n for n in names if n not in ids):
                    problems.append(doc.problem([*where, field], f"{name!r} is not an item of the profile"))
        files[loaded.characteristic] = loaded
    if problems:
        raise RulePackError(problems)
    return files


def _item(file: ProfileFile, item: dict[str, Any]) -> dict[str, Any]:
    return {"offered_for": [file.characteristic], **item}


def profile_pack(file: ProfileFile, profile: Profile, rules: RulePack) -> EvidencePack:
    """The evidence pack of one profile, with its auditor's verdicts and judgements."""
    items = [_ITEM.validate_python(_item(file, i), strict=True) for i in profile.items]
    verdict_day = profile.as_of - dt.timedelta(days=1)
    verifications = [
        Verification(
            evidence_id=item.id,
            verdict="rejected" if item.id in profile.rejected else "accepted",
            method="document_review",
            reason="profile",
            auditor="Profile Auditor",
            date=verdict_day,
        )
        for item in items
        if item.id not in profile.pending
    ]
    pack = EvidencePack(
        format="assay-evidence-pack/1",
        id=f"profile-{file.characteristic}-{profile.id}",
        community=Community(id="profile-city", name=profile.city[:120]),
        model=rules.model.id,
        items=items,
        verifications=verifications,
    )
    return pack.model_copy(update={"judgements": profile_judgements(file, profile, rules, pack)})


def profile_judgements(
    file: ProfileFile, profile: Profile, rules: RulePack, pack: EvidencePack
) -> list[Judgement]:
    """The profile's auditor judges each requirement that asks for it by the readings of the
    items that meet its conditions: it cites those read fully or largely (rating fully when all
    are read fully, else largely); where none is, it cites them all and gives the best reading."""

    def decide(requirement: JudgedRequirement, qualifying: list[str]) -> tuple[Rating, list[str]]:
        read = {i: profile.reading(i, requirement.level) for i in qualifying}
        cited = [i for i in qualifying if read[i] in _SATISFIED] or qualifying
        rating = min((read[i] for i in cited), key=_ORDER.index)
        if rating == "fully" and any(read[i] == "largely" for i in cited):
            rating = "largely"
        return rating, cited

    return judge_every_requirement(
        rules.only(file.characteristic), pack, profile.as_of, decide=decide,
        auditor="Profile Auditor", reason="profile reading",
    )  # fmt: skip


def run_profiles(rules: RulePack, files: dict[str, ProfileFile], inference: Inference) -> list[ProfileResult]:
    """Every profile of the characteristics ``rules`` encodes, in file and profile order."""
    results = []
    for cid, file in sorted(files.items()):
        if cid not in rules.characteristics:
            continue
        part = rules.only(cid)
        for profile in file.profiles:
            pack = profile_pack(file, profile, rules)
            evaluation = evaluate_on(part, pack, pack_digest(pack), profile.as_of, inference)
            result = next(c for c in evaluation.result.characteristics if c.id == cid)
            verified = result.verified_level or 0
            results.append(ProfileResult(cid, profile.id, profile.expected, verified, profile.difference))
    return results


def agreement(results: list[ProfileResult]) -> float:
    """Share of profiles whose verified level is the expected one (0 when there are none)."""
    return sum(r.agrees for r in results) / len(results) if results else 0.0


def main(argv: list[str]) -> int:
    """``python -m engine.profiles check FOLDER``: check the profiles of a rule pack folder
    against the evidence schema only (it reads no rule file)."""
    if len(argv) != 2 or argv[0] != "check":
        sys.stderr.write("usage: python -m engine.profiles check RULE_PACK_FOLDER\n")
        return 2
    try:
        files = load_profiles(Path(argv[1]))
    except RulePackError as exc:
        sys.stderr.write(f"{exc}\n")
        return 2
    count = sum(len(f.profiles) for f in files.values())
    sys.stdout.write(f"{count} profiles in {len(files)} files: valid\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
