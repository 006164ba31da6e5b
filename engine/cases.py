"""Test cases beside the rules: for every level, evidence that reaches it and evidence that
falls just short.

A case file (``cases/<characteristic>.yaml``) names evidence building blocks once and, per
level, two runs:

- ``reach``: a minimal set of items that reaches exactly that level;
- ``miss``: the same set missing one requirement, which falls one level below; ``unmet``
  names the requirement that must then block the level.

Blocks are partial evidence items: id, title, issuer, dates and ``offered_for`` default to
sensible values, so a block says only what matters to the rule. Every item in a run is
accepted by an auditor unless the run lists it under ``unverified`` or ``rejected``.

The auditor of a case is satisfied unless the run says otherwise: every requirement that needs a
judgement is rated ``fully``, citing the run's items that meet its machine conditions. A run
rates a requirement differently with ``ratings`` (requirement id -> rating; ``partially`` or
``not`` makes a miss whose ``unmet`` is that requirement) or leaves it ``unjudged``. Cases check
that the rules do what their authors meant, so filling in the satisfied auditor from the rules is
sound here; whether the rules read the standard right is for independent profiles to show.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, TypeAdapter, ValidationError

from engine.catalogue import Strict
from engine.errors import Problem, RulePackError
from engine.evaluation import Evaluation, Inference, evaluate_on
from engine.judging import JudgedRequirement, judge_every_requirement, judged_requirements
from engine.rulepack import RulePack
from engine.sourcemap import characteristic_files
from evidence_schemas.items import EvidenceItem
from evidence_schemas.pack import Community, EvidencePack, Judgement, Rating, Verification
from evidence_schemas.reader import pack_digest

CASES_DIR = "cases"
_ITEM = TypeAdapter(EvidenceItem)


class Run(Strict):
    """One run: which blocks to include and how the auditor decided on them."""

    items: list[str] = Field(description="Block names to include.")
    unverified: list[str] = Field(default_factory=list, description="Blocks left unverified.")
    rejected: list[str] = Field(default_factory=list, description="Blocks the auditor rejected.")
    ratings: dict[str, Rating] = Field(
        default_factory=dict, description="Judged requirement id -> rating (default: fully)."
    )
    unjudged: list[str] = Field(
        default_factory=list, description="Judged requirement ids the auditor has not judged yet."
    )


class Miss(Run):
    """A run that must fall one level short, blocked by ``unmet``."""

    unmet: str = Field(description="Requirement id that must block the level.")


class LevelCases(Strict):
    """The two runs of one level."""

    reach: Run
    miss: Miss


class CaseFile(Strict):
    """All cases of one characteristic."""

    characteristic: str
    as_of: dt.date
    blocks: dict[str, dict[str, Any]] = Field(description="Block name -> partial evidence item.")
    levels: dict[int, LevelCases]


@dataclass(frozen=True)
class CaseResult:
    """How one run came out."""

    characteristic: str
    level: int
    run: str
    """``reach`` or ``miss``."""
    expected: int
    verified: int
    failures: tuple[str, ...]
    """Why the run did not come out as expected (empty when it did)."""

    @property
    def ok(self) -> bool:
        """Whether the run came out as expected."""
        return not self.failures


def load_cases(folder: Path) -> dict[str, CaseFile]:
    """Load every case file of a rule pack; raises :class:`RulePackError` on any problem."""
    problems: list[Problem] = []
    files: dict[str, CaseFile] = {}
    for doc, case in characteristic_files(folder / CASES_DIR, CaseFile, problems):
        for name, block in case.blocks.items():
            try:
                _ITEM.validate_python(block_item(case, name, block), strict=True)
            except ValidationError as exc:
                problems += doc.validation_problems(exc, ["blocks", name])
        for number, runs in case.levels.items():
            for run_name in ("reach", "miss"):
                run: Run = getattr(runs, run_name)
                for listed in (run.items, run.unverified, run.rejected):
                    for name in listed:
                        if name not in case.blocks:
                            problems.append(
                                doc.problem(["levels", number, run_name], f"unknown block {name!r}")
                            )
        files[case.characteristic] = case
    if problems:
        raise RulePackError(problems)
    return files


def block_item(case: CaseFile, name: str, block: dict[str, Any]) -> dict[str, Any]:
    """A block as a whole evidence item (unvalidated): the block over the case's defaults."""
    day = dt.timedelta(days=1)
    defaults: dict[str, Any] = {
        "id": name,
        "title": name.replace("-", " "),
        "issuer": "Case City Council",
        "period": {"start": case.as_of - 365 * day, "end": case.as_of - 30 * day},
        "collected": case.as_of - 10 * day,
        "submitted": case.as_of - 5 * day,
        "offered_for": [case.characteristic],
    }
    return {**defaults, **block}


def case_pack(case: CaseFile, run: Run, rules: RulePack) -> EvidencePack:
    """The evidence pack of one run, with the run's auditor's verdicts and judgements."""
    items = [_ITEM.validate_python(block_item(case, n, case.blocks[n]), strict=True) for n in run.items]
    verifications = [
        Verification(
            evidence_id=name,
            verdict="rejected" if name in run.rejected else "accepted",
            method="document_review",
            reason="case run",
            auditor="Case Auditor",
            date=case.as_of - dt.timedelta(days=1),
        )
        for name in run.items
        if name not in run.unverified
    ]
    pack = EvidencePack(
        format="assay-evidence-pack/1",
        id=f"case-{case.characteristic}",
        community=Community(id="case-city", name="Case City"),
        model=rules.model.id,
        items=items,
        verifications=verifications,
    )
    return pack.model_copy(update={"judgements": _judgements(case, run, rules, pack)})


def _judgements(case: CaseFile, run: Run, rules: RulePack, pack: EvidencePack) -> list[Judgement]:
    """The run's auditor: each judged requirement rated as the run says (default fully), citing
    the items that meet its conditions; none where no item does."""

    def decide(requirement: JudgedRequirement, qualifying: list[str]) -> tuple[Rating, list[str]] | None:
        node_id = requirement.requirement.id
        return None if node_id in run.unjudged else (run.ratings.get(node_id, "fully"), qualifying)

    return judge_every_requirement(
        rules.only(case.characteristic),
        pack,
        case.as_of,
        decide=decide,
        auditor="Case Auditor",
        reason="case run",
    )


def run_cases(rules: RulePack, cases: dict[str, CaseFile], inference: Inference) -> list[CaseResult]:
    """Run every case; a characteristic encoded without cases is itself a failure."""
    results = []
    for cid in rules.characteristics:
        case = cases.get(cid)
        if case is None:
            results.append(CaseResult(cid, 0, "-", 0, 0, (f"{cid} has no case file",)))
            continue
        for number in sorted(rules.characteristics[cid].levels):
            runs = case.levels.get(number)
            if runs is None:
                results.append(CaseResult(cid, number, "-", number, 0, (f"level {number} has no cases",)))
                continue
            results.append(run_case(rules, case, number, "reach", inference))
            results.append(run_case(rules, case, number, "miss", inference))
    return results


def run_case(
    rules: RulePack, case: CaseFile, level: int, name: Literal["reach", "miss"], inference: Inference
) -> CaseResult:
    """Run one case (``reach`` or ``miss`` of ``level``) and check it came out as expected."""
    run: Run = getattr(case.levels[level], name)
    evaluation = evaluate_run(rules.only(case.characteristic), case, run, inference)
    result = next(c for c in evaluation.result.characteristics if c.id == case.characteristic)
    verified = result.verified_level or 0
    expected = level if name == "reach" else level - 1
    judged = {r.requirement.id for r in judged_requirements(rules.only(case.characteristic))}
    failures = [
        f"{name} is not a requirement needing judgement in {case.characteristic}"
        for name in sorted({*run.ratings, *run.unjudged} - judged)
    ]
    if verified != expected:
        failures.append(f"expected level {expected}, verified {verified}")
    if isinstance(run, Miss):
        key = f"{case.characteristic}/{level}/{run.unmet}"
        blocking = [b.requirement for b in result.blockers]
        if key not in blocking:
            failures.append(f"{run.unmet} does not block level {level} (blockers: {blocking or 'none'})")
    return CaseResult(case.characteristic, level, name, expected, verified, tuple(failures))


def evaluate_run(rules: RulePack, case: CaseFile, run: Run, inference: Inference) -> Evaluation:
    """Evaluate one run (deterministic: fixed clock, digest ids)."""
    pack = case_pack(case, run, rules)
    return evaluate_on(rules, pack, pack_digest(pack), case.as_of, inference)
