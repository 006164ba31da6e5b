"""The result of an evaluation: what was verified, why, and why not the next level.

Built from inference by :func:`build_result`; serialised as ``result.json``. Identical inputs
and assessment date give an identical result, byte for byte (no wall clock, no random ids, no
dict-order accidents: every list is in the catalogue's or an explicit sort order).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from engine.basis import (
    MAX_CHARACTERISTICS_PER_ITEM,
    EvidenceBasis,
    LevelBasis,
    carried_by_item,
    evidence_basis,
    level_bases,
    overused_items,
)
from engine.catalogue import MaturityModel
from engine.evidence import Evidence
from engine.outcomes import CharacteristicInference, Outcome, Status
from engine.projection import Projection
from engine.rulepack import RulePack
from engine.spec import CharacteristicRules, Requirement
from evidence_schemas.pack import Claim

AGGREGATION_RULE = (
    "level = the lowest verified level among the group's evaluated characteristics (a group is "
    "as mature as its least mature characteristic); mean = their arithmetic mean, rounded to 2 "
    "decimals; characteristics the rule pack does not encode are left out and counted"
)


class Frozen(BaseModel):
    """Base of result models."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class PendingItem(Frozen):
    """An item that would count once verified or current."""

    id: str = Field(description="Evidence id.")
    reason: str = Field(description="Why it does not count yet.")


class RequirementResult(Frozen):
    """Outcome of one requirement node, with the evidence behind it."""

    id: str = Field(description="Requirement id, unique within the characteristic.")
    summary: str = Field(description="What the requirement asks for.")
    form: Literal["evidence", "all", "any", "not"] = Field(description="Kind of node.")
    outcome: Status = Field(description="met, not_met or indeterminate.")
    evidence: list[str] = Field(description="Items behind the outcome.")
    pending: list[PendingItem] = Field(description="Items not counted yet, and why.")
    violations: list[str] = Field(description="Items failing what every item must meet.")
    rejected: list[str] = Field(description="Items in scope an auditor rejected.")
    missing: str | None = Field(description="What is missing, when not met.")
    through: str | None = Field(
        default=None,
        exclude_if=lambda value: value is None,
        description="Met through this higher-level requirement of the same practice (met_by), if so.",
    )
    children: list[RequirementResult] = Field(description="Sub-requirements, in rule order.")


class LevelResult(Frozen):
    """One level of one characteristic."""

    level: int
    name: str = Field(description="Level name.")
    cell: str = Field(description="The Annex A cell the level encodes.")
    summary: str = Field(description="The cell in the project's words.")
    as_at: int | None = Field(description="Level whose criteria this level inherits.")
    own: Status = Field(description="Outcome of the level's own requirements.")
    criteria: Status = Field(description="Own requirements and inherited criteria together.")
    credited: bool = Field(description="Counted in the verified level (this and all below met).")
    note: str | None = Field(description="Why a met level is not credited, if so.")
    basis: LevelBasis | None = Field(
        default=None, description="What the level rests on, and its thin spots (absent in older results)."
    )
    requirements: list[RequirementResult]


class Blocker(Frozen):
    """An unmet requirement standing between the verified level and the next."""

    level: int = Field(description="Level the requirement belongs to (the next or an inherited one).")
    requirement: str = Field(description="Requirement node key.")
    outcome: Status
    missing: str = Field(description="What is missing.")


ClaimVerdict = Literal["confirmed", "over-claimed", "under-claimed", "not-assessed"]


class ClaimCheck(Frozen):
    """The city's claims against the verified and the projected level."""

    now: int = Field(description="Level claimed now.")
    in_two_years: int | None = Field(description="Level claimed in two years.")
    verdict: ClaimVerdict = Field(
        description="Claim now against the verified level; not-assessed when nothing was verified."
    )
    in_two_years_verdict: ClaimVerdict | None = Field(
        description="Claim in two years against the projected level (None when nothing is claimed)."
    )


class ProjectionResult(Frozen):
    """A characteristic's level in two years on current plans."""

    level: int = Field(description="Projected level (the verified level when no plan bears on it).")
    commitments: list[str] = Field(description="Commitments whose promised evidence counted.")


class CharacteristicResult(Frozen):
    """Everything found about one characteristic."""

    id: str
    title: str
    kind: str = Field(description="Kind of characteristic in the model.")
    status: Literal["evaluated", "not_encoded"] = Field(
        description="not_encoded: the rule pack has no rules for it, so no level is given."
    )
    verified_level: int | None
    capped: list[int] = Field(description="Levels whose own requirements are met but not credited.")
    projected: ProjectionResult | None = Field(description="Level in two years on current plans.")
    claim: ClaimCheck | None
    next_level: int | None = Field(description="The level above the verified one, if any.")
    blockers: list[Blocker] = Field(description="Why not the next level.")
    levels: list[LevelResult]


class GroupSummary(Frozen):
    """Summary of a sub-dimension or dimension."""

    scope: Literal["sub_dimension", "dimension"]
    id: str
    title: str
    level: int | None = Field(description="Lowest verified level among evaluated characteristics.")
    mean: float | None = Field(description="Mean verified level, 2 decimals.")
    evaluated: int
    not_encoded: int


class Summaries(Frozen):
    """Group summaries and the rule that made them."""

    rule: str = Field(description="The aggregation rule, in words.")
    groups: list[GroupSummary]


class Reference(Frozen):
    """What an input was, by id and digest."""

    id: str
    digest: str


class PackReference(Reference):
    """The evidence pack evaluated."""

    community: str = Field(description="Community name.")


class Excluded(Frozen):
    """An item left out of inference, or a commitment left out of the projection."""

    id: str
    reason: str


class ProposedSample(Frozen):
    """Items the auditor examines in depth for a requirement that ranges over a set."""

    requirement: str = Field(description="Requirement node key.")
    population: int = Field(description="How many items the requirement ranges over.")
    items: list[str] = Field(description="The sample, sorted.")


class Sampling(Frozen):
    """The samples proposed for in-depth checking, seeded so nobody chooses them (engine.sampling)."""

    rule: str = Field(description="The scheme's sample-size rule, in words.")
    samples: list[ProposedSample] = Field(description="Per requirement ranging over a set, reading order.")


class Result(Frozen):
    """Result of evaluating one evidence pack against one rule pack on one date."""

    format: Literal["assay-result/1"] = "assay-result/1"
    evaluation_id: str
    as_of: dt.date
    model: str = Field(description="Standard evaluated against.")
    rule_pack: Reference
    pack: PackReference
    excluded_evidence: list[Excluded]
    projection_until: dt.date = Field(description="Commitments due by this day count (24 months ahead).")
    commitments_left_out: list[Excluded] = Field(description="Commitments the projection ignores, and why.")
    characteristics: list[CharacteristicResult]
    summaries: Summaries
    basis: EvidenceBasis | None = Field(
        default=None,
        description="Requirements carried per item, and items flagged (absent in older results).",
    )
    sampling: Sampling | None = Field(
        default=None, description="Samples proposed for in-depth checking (absent in older results)."
    )


def build_result(
    *,
    evaluation_id: str,
    rules: RulePack,
    pack_id: str,
    pack_digest: str,
    community: str,
    claims: list[Claim],
    evidence: Evidence,
    inferred: Mapping[str, CharacteristicInference],
    projection: Projection,
    projected: Mapping[str, CharacteristicInference],
    max_characteristics_per_item: int = MAX_CHARACTERISTICS_PER_ITEM,
    sampling: Sampling | None = None,
) -> Result:
    """Assemble the result from inference (pure; no clock, no I/O).

    Items carrying requirements in more than ``max_characteristics_per_item`` characteristics
    are flagged in the evidence basis.
    """
    model = rules.model
    encoded = {
        c.id: rules.characteristics[c.id]
        for c in model.characteristics()
        if c.id in rules.characteristics and c.id in inferred
    }
    by_item = carried_by_item(encoded, inferred)
    overused = overused_items(by_item, max_characteristics_per_item)
    context = _BasisContext(evidence, overused, max_characteristics_per_item)
    claim_by_id = {c.characteristic: c for c in claims}
    characteristics = []
    for char in model.characteristics():
        claim = claim_by_id.get(char.id)
        spec = rules.characteristics.get(char.id)
        inference = inferred.get(char.id)
        if spec is None or inference is None:
            characteristics.append(
                CharacteristicResult(
                    id=char.id,
                    title=char.title.en,
                    kind=char.kind,
                    status="not_encoded",
                    verified_level=None,
                    capped=[],
                    projected=None,
                    claim=_claim(claim, None, None),
                    next_level=None,
                    blockers=[],
                    levels=[],
                )
            )
        else:
            ahead = ProjectionResult(
                level=projected[char.id].rating.verified,
                commitments=list(projection.counted.get(char.id, ())),
            )
            characteristics.append(
                _characteristic(model, spec, inference, ahead, claim, char.title.en, char.kind, context)
            )
    return Result(
        evaluation_id=evaluation_id,
        as_of=evidence.as_of,
        model=model.standard,
        rule_pack=Reference(id=rules.id, digest=rules.digest),
        pack=PackReference(id=pack_id, digest=pack_digest, community=community),
        excluded_evidence=[Excluded(id=e.id, reason=e.reason) for e in evidence.excluded],
        projection_until=projection.until,
        commitments_left_out=[Excluded(id=c, reason=r) for c, r in projection.left_out],
        characteristics=characteristics,
        summaries=Summaries(rule=AGGREGATION_RULE, groups=_groups(model, characteristics)),
        basis=evidence_basis(by_item, overused, max_characteristics_per_item),
        sampling=sampling,
    )


@dataclass(frozen=True)
class _BasisContext:
    """What every level's evidence basis is judged against."""

    evidence: Evidence
    overused: Mapping[str, int]
    threshold: int


def _characteristic(
    model: MaturityModel,
    spec: CharacteristicRules,
    inference: CharacteristicInference,
    projected: ProjectionResult,
    claim: Claim | None,
    title: str,
    kind: str,
    context: _BasisContext,
) -> CharacteristicResult:
    verified = inference.rating.verified
    bases = level_bases(
        spec,
        inference,
        context.evidence,
        verified=verified,
        overused=context.overused,
        threshold=context.threshold,
    )
    levels = []
    for number, level in sorted(spec.levels.items()):
        outcome = inference.levels[number]
        credited = number <= verified
        note = None
        if number in inference.rating.capped:
            note = f"level {number} requirements met, capped at {verified} by level {verified + 1}"
        levels.append(
            LevelResult(
                level=number,
                name=model.level_name(number).en,
                cell=level.cell,
                summary=level.summary.en,
                as_at=level.as_at,
                own=outcome.own.status,
                criteria=outcome.criteria.status,
                credited=credited,
                note=note,
                basis=bases[number],
                requirements=[_requirement(spec, number, r, inference) for r in level.requirements],
            )
        )
    next_level = verified + 1 if verified + 1 in spec.levels else None
    blockers = _blockers(spec, next_level, inference) if next_level is not None else []
    return CharacteristicResult(
        id=spec.characteristic,
        title=title,
        kind=kind,
        status="evaluated",
        verified_level=verified,
        capped=list(inference.rating.capped),
        projected=projected,
        claim=_claim(claim, verified, projected.level),
        next_level=next_level,
        blockers=blockers,
        levels=levels,
    )


def _requirement(
    spec: CharacteristicRules, level: int, node: Requirement, inference: CharacteristicInference
) -> RequirementResult:
    outcome: Outcome = inference.nodes[spec.node_key(level, node.id)]
    return RequirementResult(
        id=node.id,
        summary=node.summary.en,
        form=node.form,
        outcome=outcome.status,
        evidence=list(outcome.evidence),
        pending=[PendingItem(id=p.id, reason=p.reason) for p in outcome.pending],
        violations=list(outcome.violations),
        rejected=list(outcome.rejected),
        missing=outcome.missing,
        through=outcome.through,
        children=[_requirement(spec, level, c, inference) for c in node.children()],
    )


def _blockers(spec: CharacteristicRules, level: int, inference: CharacteristicInference) -> list[Blocker]:
    """Unmet evidence predicates of ``level`` and of every level it inherits."""
    blockers = []
    current: int | None = level
    while current is not None:
        for top in spec.levels[current].requirements:
            for node in top.walk():
                key = spec.node_key(current, node.id)
                outcome = inference.nodes[key]
                # Leaves say what is missing; a 'not' says what must not hold. Composites
                # only repeat their children, so they are not listed.
                if node.form in ("evidence", "not") and outcome.status != "met":
                    blockers.append(
                        Blocker(
                            level=current,
                            requirement=key,
                            outcome=outcome.status,
                            missing=outcome.missing or "not met",
                        )
                    )
        current = spec.levels[current].as_at
    return blockers


def _claim(claim: Claim | None, verified: int | None, projected: int | None) -> ClaimCheck | None:
    if claim is None:
        return None
    later = None if claim.in_two_years is None else _compare(claim.in_two_years, projected)
    return ClaimCheck(
        now=claim.now,
        in_two_years=claim.in_two_years,
        verdict=_compare(claim.now, verified),
        in_two_years_verdict=later,
    )


def _compare(claimed: int, found: int | None) -> ClaimVerdict:
    if found is None:
        return "not-assessed"
    if claimed == found:
        return "confirmed"
    return "over-claimed" if claimed > found else "under-claimed"


def _groups(model: MaturityModel, results: list[CharacteristicResult]) -> list[GroupSummary]:
    verified = {r.id: r.verified_level for r in results}
    groups = []
    for scope, gid, title, members in model.groups():
        known = [level for m in members if (level := verified[m]) is not None]
        groups.append(
            GroupSummary(
                scope=scope,
                id=gid,
                title=title.en,
                level=min(known) if known else None,
                mean=round(sum(known) / len(known), 2) if known else None,
                evaluated=len(known),
                not_encoded=len(members) - len(known),
            )
        )
    return groups
