"""One evaluation: an evidence pack against a rule pack on an assessment date.

``evaluate`` is a pure function of its inputs plus the injected clock and id source: it
normalises evidence, runs inference, builds the result and writes the audit trail in memory.
Files are the caller's business.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from engine.basis import MAX_CHARACTERISTICS_PER_ITEM
from engine.canonical import digest_of, pretty_json
from engine.errors import EvidencePackError, Problem
from engine.evidence import Evidence, normalise
from engine.outcomes import CharacteristicInference, JudgementFacts
from engine.projection import Projection, judge_promised, project
from engine.result import ProposedSample, Result, Sampling, build_result
from engine.rulepack import RulePack
from engine.sampling import SampleRule, samples, sampling_seed
from engine.sources import Clock, DigestIds, FixedClock, IdSource
from engine.trail import CLOSING_EVENT, Trail, TrailRecord
from evidence_schemas.pack import EvidencePack

ENGINE_ACTOR = "assay-engine"


class Inference(Protocol):
    """Something that infers levels: durable_rules, or the reference evaluator."""

    def infer(
        self, pack: RulePack, evidence: Evidence, only: Collection[str] | None = None
    ) -> dict[str, CharacteristicInference]:
        """Infer every encoded characteristic (or those in ``only``)."""
        ...


@dataclass(frozen=True)
class Evaluation:
    """A result and the trail that explains it."""

    result: Result
    trail: tuple[TrailRecord, ...]

    @property
    def head(self) -> str:
        """Hash of the trail's last record."""
        return self.trail[-1].hash


def evaluate(
    rules: RulePack,
    pack: EvidencePack,
    pack_digest: str,
    *,
    as_of: dt.date,
    clock: Clock,
    ids: IdSource,
    inference: Inference,
    actor: str = ENGINE_ACTOR,
    max_characteristics_per_item: int = MAX_CHARACTERISTICS_PER_ITEM,
    sample_size: SampleRule = SampleRule(),  # noqa: B008 - frozen, so one shared default is safe
) -> Evaluation:
    """Evaluate ``pack`` against ``rules`` on ``as_of``.

    An item carrying requirements in more than ``max_characteristics_per_item`` characteristics
    is flagged in the result's evidence basis (a certification scheme may set the number).
    Requirements ranging over a set get a sample for in-depth checking, sized by
    ``sample_size`` and seeded by the pack, the rules and the date (engine.sampling).

    Raises :class:`EvidencePackError` when the pack does not fit the rule pack's model.
    """
    check_fit(rules, pack)
    evaluation_id = ids.new_id("evaluation")
    evidence = normalise(pack, as_of)
    trail = Trail(clock)
    trail.append(actor, "evaluation.started", {"evaluation_id": evaluation_id, "as_of": as_of.isoformat()})
    trail.append(
        actor,
        "pack.received",
        {
            "pack": pack.id,
            "community": pack.community.id,
            "digest": pack_digest,
            "items": len(pack.items),
            "verifications": len(pack.verifications),
            "judgements": len(pack.judgements),
            "claims": len(pack.claims),
            "excluded": [{"id": e.id, "reason": e.reason} for e in evidence.excluded],
        },
    )
    trail.append(
        actor,
        "rulepack.loaded",
        {
            "rule_pack": rules.id,
            "digest": rules.digest,
            "files": list(rules.files),
            "characteristics": list(rules.characteristics),
        },
    )
    inferred = inference.infer(rules, evidence)
    _record_inference(trail, actor, rules, inferred, evidence.judgements)
    projection = project(pack, evidence)
    changed = [cid for cid in projection.counted if cid in rules.characteristics]
    projected = {**inferred, **inference.infer(rules, judge_promised(projection, rules), only=changed)}
    _record_projection(trail, actor, projection, projected, changed)
    proposed = samples(rules, evidence, sampling_seed(pack.items, rules.digest, as_of), sample_size)
    sampling = Sampling(
        rule=sample_size.describe(),
        samples=[ProposedSample(requirement=s.requirement, population=s.population, items=list(s.items))
                 for s in proposed],
    )  # fmt: skip
    trail.append(actor, "samples.proposed", sampling.model_dump(mode="json"))
    result = build_result(
        evaluation_id=evaluation_id,
        rules=rules,
        pack_id=pack.id,
        pack_digest=pack_digest,
        community=pack.community.name,
        claims=pack.claims,
        evidence=evidence,
        inferred=inferred,
        projection=projection,
        projected=projected,
        max_characteristics_per_item=max_characteristics_per_item,
        sampling=sampling,
    )
    trail.append(
        actor,
        CLOSING_EVENT,
        {
            "evaluation_id": evaluation_id,
            "result_digest": digest_of(result.model_dump(mode="json")),
            "records": len(trail.records) + 1,
        },
    )
    return Evaluation(result, tuple(trail.records))


def evaluate_on(
    rules: RulePack,
    pack: EvidencePack,
    pack_digest: str,
    as_of: dt.date,
    inference: Inference,
    *,
    max_characteristics_per_item: int = MAX_CHARACTERISTICS_PER_ITEM,
) -> Evaluation:
    """The reproducible evaluation: the clock stands at the assessment date and ids derive from
    the inputs' digests, so identical inputs give byte-identical results and trails."""
    return evaluate(
        rules,
        pack,
        pack_digest,
        as_of=as_of,
        clock=FixedClock.at_date(as_of),
        ids=DigestIds(f"{pack_digest}|{rules.digest}|{as_of.isoformat()}"),
        inference=inference,
        max_characteristics_per_item=max_characteristics_per_item,
    )


def result_json(result: Result) -> bytes:
    """``result.json`` exactly as written and certified (its digest goes on the certificate)."""
    return pretty_json(result.model_dump(mode="json")).encode("utf-8")


def check_fit(rules: RulePack, pack: EvidencePack, *, manifest: str = "pack.json") -> None:
    """The pack must be for this model and name only its characteristics; problems name
    ``manifest``, the manifest as read.

    A pack for another model is refused with that one problem: each of its characteristics would
    otherwise be reported unknown too, burying the cause under problems that only follow from it.
    """
    if pack.model != rules.model.id:
        message = f"pack is for {pack.model!r}, rule pack is {rules.model.id!r} ({rules.model.standard})"
        raise EvidencePackError([Problem(manifest, None, "model", message)])
    problems = []
    known = {c.id for c in rules.model.characteristics()}
    for i, item in enumerate(pack.items):
        for j, cid in enumerate(item.offered_for):
            if cid not in known:
                problems.append(
                    Problem(
                        manifest,
                        None,
                        f"items[{i}].offered_for[{j}]",
                        f"{item.id} is offered for unknown characteristic {cid!r}",
                    )
                )
    for i, claim in enumerate(pack.claims):
        if claim.characteristic not in known:
            problems.append(
                Problem(
                    manifest,
                    None,
                    f"claims[{i}].characteristic",
                    f"claim for unknown characteristic {claim.characteristic!r}",
                )
            )
    if problems:
        raise EvidencePackError(problems)


def _record_projection(
    trail: Trail,
    actor: str,
    projection: Projection,
    projected: Mapping[str, CharacteristicInference],
    changed: list[str],
) -> None:
    trail.append(
        actor,
        "projection.started",
        {
            "until": projection.until.isoformat(),
            "commitments_left_out": [{"id": c, "reason": r} for c, r in projection.left_out],
        },
    )
    for cid in changed:
        inference = projected[cid]
        trail.append(
            actor,
            "projection.inferred",
            {
                "characteristic": cid,
                "commitments": list(projection.counted[cid]),
                "projected_level": inference.rating.verified,
                "levels": [
                    {"level": n, "own": lo.own.status, "criteria": lo.criteria.status}
                    for n, lo in sorted(inference.levels.items())
                ],
            },
        )


def _record_inference(
    trail: Trail,
    actor: str,
    rules: RulePack,
    inferred: Mapping[str, CharacteristicInference],
    judgements: Mapping[str, JudgementFacts],
) -> None:
    for cid, spec in rules.characteristics.items():
        inference = inferred[cid]
        for number, level in sorted(spec.levels.items()):
            for top in level.requirements:
                for node in top.walk():
                    key = spec.node_key(number, node.id)
                    outcome = inference.nodes[key]
                    payload: dict[str, Any] = {
                        "characteristic": cid,
                        "level": number,
                        "requirement": key,
                        "outcome": outcome.status,
                        "evidence": list(outcome.evidence),
                        "pending": [p.id for p in outcome.pending],
                        "violations": list(outcome.violations),
                        "rejected": list(outcome.rejected),
                        "missing": outcome.missing,
                    }
                    if outcome.through is not None:  # met through a later stage of the practice
                        payload["through"] = outcome.through
                    judgement = judgements.get(key) if node.evidence and node.evidence.judgement else None
                    if judgement is not None:  # the auditor's judgement the outcome rests on
                        payload["judgement"] = {
                            "rating": judgement.rating,
                            "cites": list(judgement.cites),
                            "method": judgement.method,
                            "auditor": judgement.auditor,
                            "date": judgement.date,
                        }
                    trail.append(actor, "requirement.evaluated", payload)
        trail.append(
            actor,
            "level.inferred",
            {
                "characteristic": cid,
                "verified_level": inference.rating.verified,
                "capped": list(inference.rating.capped),
                "levels": [
                    {"level": n, "own": lo.own.status, "criteria": lo.criteria.status}
                    for n, lo in sorted(inference.levels.items())
                ],
            },
        )
