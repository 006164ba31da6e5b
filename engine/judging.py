"""What an auditor needs to judge a requirement: which requirements ask for a judgement, the items
that may be cited for one (each with its status against the requirement's machine conditions),
and the outcome of those conditions alone.

Pure, like the rest of ``engine``: it reads a rule pack and normalised evidence, nothing else.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from engine.evidence import Evidence, normalise
from engine.outcomes import ItemStatus, Outcome, leaf_outcome
from engine.reference import item_status
from engine.rulepack import RulePack
from engine.spec import EvidenceRule, Requirement
from evidence_schemas.pack import EvidencePack, Judgement, Rating, cited_digest


@dataclass(frozen=True)
class JudgedRequirement:
    """A requirement whose rule asks for the auditor's judgement."""

    key: str
    """``<characteristic>/<level>/<id>``."""
    characteristic: str
    level: int
    requirement: Requirement
    """The requirement node (its summary says what it asks for)."""
    rule: EvidenceRule
    """Its evidence predicate; ``rule.judgement`` holds the question."""


@dataclass(frozen=True)
class Candidate:
    """An item in scope of a judged requirement, and how it stands against the conditions."""

    id: str
    status: ItemStatus
    """``qualifies`` items may be cited; the others say why not."""


@dataclass(frozen=True)
class Candidates:
    """Everything in scope of one judged requirement on the evidence's date."""

    requirement: JudgedRequirement
    items: tuple[Candidate, ...]
    """Items offered for the characteristic that the predicate's kind and ``where`` select, by id."""
    machine: Outcome
    """The outcome of the machine conditions alone (as if no judgement were needed)."""


def judged_requirements(rules: RulePack) -> list[JudgedRequirement]:
    """Every requirement of ``rules`` that needs a judgement, in reading order."""
    found = []
    for cid, characteristic in rules.characteristics.items():
        for number in sorted(characteristic.levels):
            for top in characteristic.levels[number].requirements:
                for node in _preorder(top):
                    if node.evidence is not None and node.evidence.judgement is not None:
                        key = characteristic.node_key(number, node.id)
                        found.append(JudgedRequirement(key, cid, number, node, node.evidence))
    return found


def _preorder(node: Requirement) -> list[Requirement]:
    return [node, *(n for child in node.children() for n in _preorder(child))]


def find_requirement(rules: RulePack, key: str) -> Requirement | None:
    """The requirement node named by ``key`` in ``rules``, judged or not; None if there is none."""
    cid, _, rest = key.partition("/")
    level, _, node_id = rest.partition("/")
    characteristic = rules.characteristics.get(cid)
    if characteristic is None or not level.isdigit() or int(level) not in characteristic.levels:
        return None
    for top in characteristic.levels[int(level)].requirements:
        for node in _preorder(top):
            if node.id == node_id:
                return node
    return None


def candidates(evidence: Evidence, requirement: JudgedRequirement) -> Candidates:
    """The items in scope of ``requirement`` (see :func:`judged_requirements`) with their status,
    and the machine outcome, on the evidence's assessment date."""
    statuses: dict[str, ItemStatus] = {}
    for item in evidence.for_characteristic(requirement.characteristic):
        status = item_status(requirement.rule, item)
        if status is not None:
            statuses[item.id] = status
    machine = leaf_outcome(requirement.rule.model_copy(update={"judgement": None}), statuses)
    items = tuple(Candidate(i, s) for i, s in sorted(statuses.items()))
    return Candidates(requirement, items, machine)


Decide = Callable[[JudgedRequirement, list[str]], tuple[Rating, list[str]] | None]
"""Given a requirement and the ids of the items that meet its conditions, the rating and the items
to cite (None: left unjudged)."""


def judge_every_requirement(
    rules: RulePack, pack: EvidencePack, as_of: dt.date, *, decide: Decide, auditor: str, reason: str
) -> list[Judgement]:
    """An auditor who judges every requirement of ``rules`` that has an item to cite, as
    ``decide`` says, the day before ``as_of``. For cases, profiles, benchmarks and tests of thin
    evidence, where the point is the rules' or the engine's behaviour."""
    evidence = normalise(pack, as_of)
    by_id = {item.id: item for item in pack.items}
    found = []
    for requirement in judged_requirements(rules):
        qualifying = [c.id for c in candidates(evidence, requirement).items if c.status == "qualifies"]
        decided = decide(requirement, qualifying) if qualifying else None
        if decided is None:
            continue
        rating, cited = decided
        found.append(
            Judgement(
                requirement=requirement.key,
                rating=rating,
                cites=cited,
                cited_digest=cited_digest(by_id[i] for i in cited),
                method="document_review",
                reason=reason,
                auditor=auditor,
                date=as_of - dt.timedelta(days=1),
            )
        )
    return found
