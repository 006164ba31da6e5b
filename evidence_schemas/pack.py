"""The evidence pack: the community, its items, auditors' verifications and judgements, and its
claims."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable
from typing import Literal

from pydantic import Field, model_validator

from engine.canonical import digest_of
from evidence_schemas.common import CharacteristicId, EvidenceId, LongText, Schema, ShortText
from evidence_schemas.items import Commitment, EvidenceItem


class Verification(Schema):
    """An auditor's decision on one evidence item. Never made by the city."""

    evidence_id: EvidenceId = Field(description="The item decided on.")
    verdict: Literal["accepted", "rejected"] = Field(description="The decision.")
    method: Literal["document_review", "interview", "observation", "system_demonstration"] = Field(
        description="How the auditor checked the item."
    )
    reason: LongText = Field(description="Why: what was checked and found.")
    auditor: ShortText = Field(description="Who decided.")
    date: dt.date = Field(
        description="When. The latest verification of an item on or before the "
        "assessment date is the one that counts."
    )


Rating = Literal["fully", "largely", "partially", "not"]
"""How far a requirement is implemented: fully and largely meet it, partially and not do not."""

JudgementMethod = Literal[
    "document_review", "interview", "observation", "system_demonstration", "sample_examined"
]
"""How an auditor formed a judgement."""


class Judgement(Schema):
    """An auditor's judgement of whether the evidence satisfies one requirement.

    Rated as CMMI appraisals and C2M2 characterise practices. Kept apart from item verification,
    which only says an item is authentic, complete and current. Never made by the city."""

    requirement: str = Field(
        pattern=r"^[0-9]+(\.[0-9]+)*/[2-5]/[a-z0-9][a-z0-9-]{0,62}$",
        max_length=100,
        description="The requirement judged: '<characteristic>/<level>/<requirement id>', e.g. "
        "'1.2.2/4/leaders-in-governance'.",
    )
    rating: Rating = Field(
        description="Implemented fully, largely, partially or not: fully and largely meet the "
        "requirement, partially and not do not."
    )
    cites: list[EvidenceId] = Field(
        min_length=1, max_length=1000, description="The items the judgement rests on (accepted items)."
    )
    cited_digest: str = Field(
        pattern=r"^sha256:[0-9a-f]{64}$",
        description="Digest of the cited items as judged (evidence_schemas.pack.cited_digest); when an "
        "item changes, the judgement no longer counts and the requirement needs judging again.",
    )
    method: JudgementMethod = Field(description="How the auditor formed the judgement.")
    examined: list[EvidenceId] = Field(
        default_factory=list,
        max_length=1000,
        exclude_if=lambda value: not value,
        description="Where the requirement ranges over a set: the items examined in depth (the sample "
        "the engine proposed, engine.sampling), each of them among the cited items.",
    )
    reason: LongText = Field(description="Why: the objective evidence seen; what is missing when not met.")
    auditor: ShortText = Field(description="Who judged.")
    date: dt.date = Field(
        description="When. The latest judgement of a requirement on or before the assessment date "
        "is the one that counts."
    )


LINKS = {"based_on": None, "reports_on": None, "evaluates": None, "displays": "kpi"}
"""Link fields between items -> the kind they must point to (None: any kind)."""


def _link_problems(items: list[EvidenceItem]) -> list[str]:
    """Links that point nowhere, at the item itself or at the wrong kind, and commitment updates
    that name no existing item of their kind (or one another commitment already updates)."""
    kinds = {item.id: item.kind for item in items}
    promised = [p for item in items if isinstance(item, Commitment) for p in item.promises]
    kinds.update((p.id, p.kind) for p in promised)
    problems = []
    changes = [(c, item) for c in items if isinstance(c, Commitment) for item in c.updates]
    for holder in [*items, *promised, *(item for _, item in changes)]:
        for field, kind in LINKS.items():
            for target in getattr(holder, field, ()):
                if target == holder.id:
                    problems.append(f"item {holder.id}: {field} names the item itself")
                elif target not in kinds:
                    problems.append(f"item {holder.id}: {field} names {target}, which is not in the pack")
                elif kind is not None and kinds[target] != kind:
                    problems.append(
                        f"item {holder.id}: {field} names {target}, a {kinds[target]}, not a {kind}"
                    )
    changed: dict[str, str] = {}
    existing = {item.id: item.kind for item in items}
    for commitment, item in changes:
        if existing.get(item.id) in (None, "commitment"):
            problems.append(f"commitment {commitment.id} updates {item.id}, which is not an existing item")
        elif existing[item.id] != item.kind:
            problems.append(
                f"commitment {commitment.id} updates {item.id}, a {existing[item.id]}, as a {item.kind}"
            )
        elif changed.setdefault(item.id, commitment.id) != commitment.id:
            problems.append(f"commitments {changed[item.id]} and {commitment.id} both update {item.id}")
    return problems


def cited_digest(items: Iterable[EvidenceItem]) -> str:
    """Digest binding a judgement to the items it cites, as they were: their canonical JSON by id."""
    return digest_of({item.id: item.model_dump(mode="json") for item in sorted(items, key=lambda i: i.id)})


class Claim(Schema):
    """The city's self-assessed level of one characteristic."""

    characteristic: CharacteristicId = Field(description="The characteristic claimed.")
    now: int = Field(ge=1, le=5, description="Level claimed now.")
    in_two_years: int | None = Field(
        default=None, ge=1, le=5, description="Level claimed in two years on current plans."
    )


class Community(Schema):
    """The community the pack is about."""

    id: EvidenceId = Field(description="Stable id of the community.")
    name: ShortText = Field(description="Name.")
    country: str | None = Field(default=None, pattern=r"^[A-Z]{2}$", description="ISO 3166 code.")


class EvidencePack(Schema):
    """A complete evidence pack as the engine consumes it."""

    format: Literal["assay-evidence-pack/1"] = Field(description="Format tag and version.")
    id: EvidenceId = Field(description="Pack id.")
    community: Community = Field(description="The community the pack is about.")
    model: str = Field(
        pattern=r"^[a-z0-9][a-z0-9.-]*$",
        max_length=64,
        description="Maturity model the pack is prepared for, e.g. 'iso37107-2019'.",
    )
    items: list[EvidenceItem] = Field(
        default_factory=list, max_length=100_000, description="The evidence, any kinds."
    )
    verifications: list[Verification] = Field(
        default_factory=list, max_length=200_000, description="Auditors' decisions on items."
    )
    claims: list[Claim] = Field(
        default_factory=list, max_length=1000, description="The city's self-assessed levels."
    )
    # Left out of the canonical form when empty, so packs without judgements (and their digests,
    # which results, engagement versions and certificates pin) read the same as before.
    judgements: list[Judgement] = Field(
        default_factory=list,
        max_length=200_000,
        exclude_if=lambda value: not value,
        description="Auditors' judgements of requirements.",
    )

    @model_validator(mode="after")
    def _consistent(self) -> EvidencePack:
        problems = []
        ids = [item.id for item in self.items]
        promised = [p.id for item in self.items if item.kind == "commitment" for p in item.promises]
        duplicates = sorted(i for i, n in Counter(ids + promised).items() if n > 1)
        if duplicates:
            problems.append(f"duplicate item ids: {', '.join(duplicates)}")
        problems += _link_problems(self.items)
        unknown = sorted({v.evidence_id for v in self.verifications} - set(ids))
        if unknown:
            problems.append(f"verifications of items not in the pack: {', '.join(unknown)}")
        decided: dict[tuple[str, dt.date], str] = {}
        conflicts = set()
        for v in self.verifications:
            earlier = decided.setdefault((v.evidence_id, v.date), v.verdict)
            if earlier != v.verdict:
                conflicts.add(f"{v.evidence_id} on {v.date}")
        if conflicts:
            problems.append(f"conflicting verdicts on one date: {', '.join(sorted(conflicts))}")
        unsampled = sorted({i for j in self.judgements for i in j.examined if i not in j.cites})
        if unsampled:
            problems.append(f"judgements examined items they do not cite: {', '.join(unsampled)}")
        uncited = sorted({i for j in self.judgements for i in j.cites} - set(ids))
        if uncited:
            problems.append(f"judgements cite items not in the pack: {', '.join(uncited)}")
        rated: dict[tuple[str, dt.date], str] = {}
        clashes = set()
        for j in self.judgements:
            if rated.setdefault((j.requirement, j.date), j.rating) != j.rating:
                clashes.add(f"{j.requirement} on {j.date}")
        if clashes:
            problems.append(f"conflicting judgements on one date: {', '.join(sorted(clashes))}")
        twice = sorted(c for c, n in Counter(c.characteristic for c in self.claims).items() if n > 1)
        if twice:
            problems.append(f"characteristics claimed twice: {', '.join(twice)}")
        if problems:
            raise ValueError("; ".join(problems))
        return self
