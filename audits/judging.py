"""Auditors' judgements of requirements, and the worksheet they are made on.

A requirement whose rule asks for a professional judgement is rated by an auditor on the team,
fully, largely, partially or not implemented, citing the items it rests on. The machine
conditions still decide which items may be cited: each must be in the latest evidence version,
accepted by an auditor (the latest verdict) and meet the requirement's conditions on the day of
the judgement. A judgement is stored with the digest of the cited items as stored, so an item
changed in a later version voids it in evaluation. As with verdicts, a batch is recorded all or
none, every judgement is a trail record of its own, and a refusal names every problem.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import get_args

from sqlalchemy import insert, select
from sqlalchemy.engine import Connection

from audits.authority import as_auditor
from audits.binding import inserted
from audits.errors import RefusedError
from audits.operations import Operations, next_number
from audits.schema import engagements, judgements
from audits.store import append_trail
from audits.versions import assemble
from engine.evidence import Evidence, normalise
from engine.judging import Candidates, JudgedRequirement, candidates, find_requirement, judged_requirements
from engine.outcomes import ItemStatus
from engine.rulepack import RulePack
from engine.sampling import SampleRule, in_the_set, propose_sample, ranges_over_a_set, sampling_seed
from evidence_schemas.pack import EvidencePack, JudgementMethod, Rating, cited_digest

RATINGS: tuple[str, ...] = get_args(Rating)
METHODS: tuple[str, ...] = get_args(JudgementMethod)

_WHY_NOT: dict[ItemStatus, str] = {
    "rejected": "was rejected by an auditor",
    "unverified": "is not accepted by an auditor",
    "violates": "does not meet the conditions every item must meet",
    "stale": "is not current for the requirement (too old, or dated after the day of the judgement)",
}


@dataclass(frozen=True)
class JudgementEntry:
    """An auditor's judgement of one requirement, as given to :meth:`Judging.judge`."""

    requirement: str
    """``<characteristic>/<level>/<id>``."""
    rating: str
    cites: tuple[str, ...]
    method: str
    reason: str
    where: str = ""
    """Where the entry came from (``Judgements row 4``, ``entry 2``), to name it in a refusal."""
    examined: tuple[str, ...] = ()
    """Of the cited items, those examined in depth (the sample the worksheet proposes)."""


@dataclass(frozen=True)
class WorksheetRow:
    """One requirement to judge, with what the engine sees of it now."""

    candidates: Candidates
    question: str
    """The question in the language asked for."""
    titles: dict[str, str]
    """Evidence id -> title, for the candidates."""
    sample: tuple[str, ...] = ()
    """Where the requirement ranges over a set: the items to examine in depth (engine.sampling)."""


class Judging(Operations):
    """Recording auditors' judgements."""

    def judge(self, person_id: str, engagement_id: str, entries: Sequence[JudgementEntry]) -> list[int]:
        """Record an auditor's judgements on the latest evidence, all or none; returns their
        sequence numbers. Each judgement gets its own trail record."""
        with self._operation("judge requirements", engagement_id, person_id) as (connection, attempt):
            row = self._engagement(connection, attempt)
            acting = self._refuse_unless(
                attempt, lambda: as_auditor(connection, person_id, engagement_id, "judge requirements")
            )
            assembled = assemble(connection, engagement_id)
            if assembled is None:
                raise self._refusal(attempt, "no evidence has been submitted")
            rules = self.rules.only(*json.loads(row.scope))
            evidence = normalise(assembled.pack, self.today())
            problems = [] if entries else ["no judgements given"]
            twice = {k for k, n in Counter(e.requirement for e in entries).items() if n > 1}
            for entry in entries:
                named = f"{entry.where}: {entry.requirement}" if entry.where else entry.requirement
                found = _entry_problems(entry, rules, evidence, assembled.pack)
                if entry.requirement in twice:
                    found.append("judged more than once in this batch")
                problems += [f"{named}: {p}" for p in found]
            if problems:
                raise self._refusal(attempt, "; ".join(problems))
            by_id = {item.id: item for item in assembled.pack.items}
            first = next_number(connection, judgements.c.seq, judgements.c.engagement_id, engagement_id)
            rows, events = [], []
            today = self.today()
            for seq, entry in enumerate(entries, start=first):
                cites = sorted(set(entry.cites))
                examined = sorted(set(entry.examined))
                stored = {
                    "requirement": entry.requirement,
                    "rating": entry.rating,
                    "cites": cites,
                    "examined": examined,
                    "cited_digest": cited_digest(by_id[i] for i in cites),
                    "method": entry.method,
                    "reason": entry.reason.strip(),
                }
                rows.append(
                    {
                        **stored,
                        "cites": json.dumps(cites),
                        "examined": json.dumps(examined),
                        "engagement_id": engagement_id,
                        "seq": seq,
                        "auditor": person_id,
                        "judged_on": today,
                    }
                )
                events.append(
                    (
                        "requirement.judged",
                        {**stored, "engagement": engagement_id, "version": assembled.version, "seq": seq},
                        [inserted(judgements, rows[-1])],
                    )
                )
            connection.execute(insert(judgements), rows)
            append_trail(connection, self.clock, acting.actor, events)
            return list(range(first, first + len(rows)))


def _entry_problems(
    entry: JudgementEntry, rules: RulePack, evidence: Evidence, pack: EvidencePack
) -> list[str]:
    problems = []
    judged = {r.key: r for r in judged_requirements(rules)}
    requirement = judged.get(entry.requirement)
    if requirement is None:
        if find_requirement(rules, entry.requirement) is None:
            problems.append(f"not a requirement of rule pack {rules.id} in the engagement's scope")
        else:
            problems.append("needs no judgement (its rule asks for none)")
    if entry.rating not in RATINGS:
        problems.append(f"rating must be one of {', '.join(RATINGS)}, not {entry.rating!r}")
    if entry.method not in METHODS:
        problems.append(f"method must be one of {', '.join(METHODS)}, not {entry.method!r}")
    if not entry.reason.strip():
        problems.append("a reason is required")
    if not entry.cites:
        problems.append("cites no items: a judgement rests on accepted items")
    uncited = sorted(set(entry.examined) - set(entry.cites))
    if uncited:
        problems.append(f"examined {', '.join(uncited)}, which the judgement does not cite")
    if requirement is not None:
        problems += _citation_problems(entry.cites, requirement, evidence, {i.id for i in pack.items})
    return problems


def _citation_problems(
    cites: Sequence[str], requirement: JudgedRequirement, evidence: Evidence, present: set[str]
) -> list[str]:
    scope = {c.id: c.status for c in candidates(evidence, requirement).items}
    offered = {item.id for item in evidence.for_characteristic(requirement.characteristic)}
    excluded = {e.id for e in evidence.excluded}
    problems = []
    for item in sorted(set(cites)):
        if item not in present:
            problems.append(f"cites {item}, not an item of the latest evidence version")
        elif item in excluded:
            problems.append(f"cites {item}, collected after the day of the judgement")
        elif item not in offered:
            problems.append(f"cites {item}, which is not offered for {requirement.characteristic}")
        elif item not in scope:
            problems.append(
                f"cites {item}, which is out of the requirement's scope ({requirement.rule.kind})"
            )
        elif scope[item] != "qualifies":
            problems.append(f"cites {item}, which {_WHY_NOT[scope[item]]}")
    return problems


def worksheet(
    connection: Connection, rules: RulePack, engagement_id: str, day: dt.date, lang: str
) -> list[WorksheetRow]:
    """Every requirement in the engagement's scope that needs a judgement, with its question,
    the machine outcome on the latest evidence and verdicts on ``day``, and the candidate items
    (none before any evidence is submitted)."""
    scope = connection.execute(select(engagements.c.scope).where(engagements.c.id == engagement_id)).scalar()
    if scope is None:
        raise RefusedError(f"no engagement {engagement_id}")
    assembled = assemble(connection, engagement_id)
    pack = assembled.pack if assembled is not None else None
    evidence = normalise(pack, day) if pack is not None else Evidence(day, {}, ())
    titles = {item.id: item.title for item in pack.items} if pack is not None else {}
    seed = sampling_seed(pack.items if pack is not None else (), rules.digest, day)
    rows = []
    for requirement in judged_requirements(rules.only(*json.loads(scope))):
        assert requirement.rule.judgement is not None
        question = getattr(requirement.rule.judgement.question, lang)
        found = candidates(evidence, requirement)
        sample: tuple[str, ...] = ()
        if ranges_over_a_set(requirement.rule):
            population = [c.id for c in found.items if in_the_set(c.status)]
            sample = propose_sample(seed, requirement.key, population, SampleRule())
        rows.append(WorksheetRow(found, question, {c.id: titles[c.id] for c in found.items}, sample))
    return rows
