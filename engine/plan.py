"""An improvement plan: from a result to what each characteristic needs to reach its goal.

ISO/TS 37107:2019 asks communities to use the model to drive improvement (clause 5.2, following
the ISO 37104 cycle) and points them, per sub-dimension, to the standards that help (Table 3 and
Annex B). The plan does that for one evaluated community: for every characteristic below its
goal it lists the unmet requirements of the next level, the standards the catalogue cites for it
and where current commitments take it in two years (clause 5.1). Everything is read from the
result and the catalogue; nothing is re-evaluated. The plan is data, titles and summaries in
the language asked for; renderings and their labels live in ``assay.plan_cli`` and ``assay.plan_pdf``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Literal

from pydantic import Field

from engine.catalogue import Characteristic, MaturityModel, Text
from engine.errors import InputError, Problem
from engine.explain import Lang
from engine.outcomes import Status
from engine.result import CharacteristicResult, Frozen, LevelResult, Reference, RequirementResult, Result
from engine.rulepack import RulePack
from engine.spec import Requirement

LEAD_REFERENCES = "annex_b"
"""The reference set listed first: the supporting standards of ISO/TS 37107:2019 Annex B."""

GoalBasis = Literal["target", "claim", "target and claim"]
"""Where a characteristic's goal comes from: the plan's target, the community's claim, or both."""


class Alternative(Frozen):
    """One way of meeting an ``any`` requirement."""

    requirement: str = Field(description="Requirement node key, ``<characteristic>/<level>/<id>``.")
    summary: str = Field(description="What it asks for.")


class PlanAction(Frozen):
    """One unmet requirement to act on."""

    level: int = Field(description="Level the requirement belongs to (the next or one it inherits).")
    requirement: str = Field(description="Requirement node key, as in the result's blockers.")
    summary: str = Field(description="What the requirement asks for.")
    outcome: Status = Field(description="not_met, or indeterminate (evidence awaits verification).")
    missing: str = Field(description="What is missing, as the result states it.")
    alternatives: list[Alternative] = Field(description="For an ``any`` requirement, the ways to meet it.")


class References(Frozen):
    """What the catalogue cites for a characteristic under one of its reference sets."""

    key: str = Field(description="Reference set key, e.g. 'annex_b', 'iso37106', 'iso18091'.")
    title: str = Field(description="The catalogue's title of the set, in the plan's language.")
    items: list[str] = Field(description="Cited standards, sub-components or functions.")


class PlanProjection(Frozen):
    """Where current commitments take the characteristic in two years."""

    level: int = Field(description="Projected level, from the result.")
    commitments: list[str] = Field(description="Commitments behind it, from the result.")
    reaches_goal: bool = Field(description="Whether the projected level is the goal or above.")
    claimed: int | None = Field(description="Level the community claims for two years ahead.")


class PlanItem(Frozen):
    """A characteristic below its goal, and what it needs next."""

    id: str
    title: str
    dimension: str = Field(description="Dimension id.")
    verified_level: int
    claimed_now: int | None
    goal: int = Field(description="max(target, level claimed now).")
    basis: GoalBasis = Field(description="Which of target and claim set the goal.")
    next_level: int | None = Field(description="verified + 1, if the rule pack encodes it.")
    next_level_name: str | None
    next_level_summary: str | None = Field(description="The next level's cell in the project's words.")
    actions: list[PlanAction] = Field(description="Unmet requirements of the next level.")
    later_levels: list[int] = Field(description="Levels above the next one still needed for the goal.")
    standards: list[References] = Field(description="Standards that help, Annex B's first.")
    projection: PlanProjection | None


class OnTarget(Frozen):
    """A characteristic already at or above its goal."""

    id: str
    title: str
    dimension: str
    verified_level: int
    goal: int
    basis: GoalBasis


class NotEncoded(Frozen):
    """A characteristic the rule pack has no rules for."""

    id: str
    title: str


class Plan(Frozen):
    """An improvement plan for one community, from one result."""

    format: Literal["assay-plan/1"] = "assay-plan/1"
    community: str
    pack: Reference = Field(description="Evidence pack the result was evaluated from.")
    evaluation_id: str
    as_of: dt.date
    model: str = Field(description="Standard evaluated against.")
    rule_pack: Reference = Field(description="Rule pack of the result.")
    target: int = Field(description="Target level asked for (1-5).")
    lang: Lang = Field(description="Language of titles and summaries.")
    dimensions: dict[str, str] = Field(description="Dimension id -> title, in reading order.")
    items: list[PlanItem] = Field(description="Characteristics below their goal, in reading order.")
    on_target: list[OnTarget]
    not_encoded: list[NotEncoded]


def build_plan(result: Result, rules: RulePack, target: int, lang: Lang = "en", *, source: str = "") -> Plan:
    """The improvement plan of ``result`` for ``target`` (pure; raises :class:`InputError`).

    ``rules`` supplies the catalogue (titles, references) and the Chinese texts; it must be
    the rule pack the result was evaluated with. ``source`` names the result in problems.
    """
    problems = _check(result, rules, target, source or "result")
    if problems:
        raise InputError(problems)
    model = rules.model
    by_id = {c.id: c for c in result.characteristics}
    items: list[PlanItem] = []
    on_target: list[OnTarget] = []
    not_encoded: list[NotEncoded] = []
    for dimension, char in _reading_order(model):
        found = by_id[char.id]
        title = _local(char.title, lang)
        if found.status != "evaluated" or found.verified_level is None:
            not_encoded.append(NotEncoded(id=char.id, title=title))
            continue
        claimed = found.claim.now if found.claim is not None else None
        goal, basis = _goal(target, claimed)
        if found.verified_level >= goal:
            on_target.append(
                OnTarget(
                    id=char.id,
                    title=title,
                    dimension=dimension,
                    verified_level=found.verified_level,
                    goal=goal,
                    basis=basis,
                )
            )
        else:
            items.append(_item(found, char, dimension, rules, goal, basis, lang))
    dimensions = {d.id: _local(d.title, lang) for d in model.dimensions}
    return Plan(
        community=result.pack.community,
        pack=Reference(id=result.pack.id, digest=result.pack.digest),
        evaluation_id=result.evaluation_id,
        as_of=result.as_of,
        model=result.model,
        rule_pack=result.rule_pack,
        target=target,
        lang=lang,
        dimensions=dimensions,
        items=items,
        on_target=on_target,
        not_encoded=not_encoded,
    )


def target_problems(target: int) -> list[Problem]:
    """What is wrong with a target level (it must be 1-5), naming the ``--target`` option."""
    if 1 <= target <= 5:
        return []
    return [Problem("--target", None, "", f"the target must be a level from 1 to 5, not {target}")]


def _check(result: Result, rules: RulePack, target: int, source: str) -> list[Problem]:
    problems = target_problems(target)
    if result.rule_pack.id != rules.id:
        problems.append(
            Problem(
                source,
                None,
                "rule_pack.id",
                f"the result was evaluated with rule pack {result.rule_pack.id!r}, but the catalogue "
                f"given (--rules) is {rules.id!r}",
            )
        )
        return problems
    known = {c.id for c in rules.model.characteristics()}
    given = [c.id for c in result.characteristics]
    for index, cid in enumerate(given):
        if cid not in known:
            problems.append(
                Problem(source, None, f"characteristics[{index}].id", f"{cid!r} is not in the catalogue")
            )
    for cid in sorted(known - set(given)):
        problems.append(Problem(source, None, "characteristics", f"characteristic {cid!r} is missing"))
    return problems


def _reading_order(model: MaturityModel) -> Iterator[tuple[str, Characteristic]]:
    """(dimension id, characteristic) in the catalogue's order, which is by dimension and id."""
    for dimension in model.dimensions:
        for char in dimension.all_characteristics():
            yield dimension.id, char


def _goal(target: int, claimed: int | None) -> tuple[int, GoalBasis]:
    if claimed is None or claimed < target:
        return target, "target"
    if claimed == target:
        return target, "target and claim"
    return claimed, "claim"


def _item(
    found: CharacteristicResult,
    char: Characteristic,
    dimension: str,
    rules: RulePack,
    goal: int,
    basis: GoalBasis,
    lang: Lang,
) -> PlanItem:
    assert found.verified_level is not None  # callers pass evaluated characteristics only
    texts = _Texts(rules, char.id, lang)
    levels = {level.level: level for level in found.levels}
    nxt = found.next_level
    next_result = levels.get(nxt) if nxt is not None else None
    projection = None
    if found.projected is not None:
        projection = PlanProjection(
            level=found.projected.level,
            commitments=list(found.projected.commitments),
            reaches_goal=found.projected.level >= goal,
            claimed=found.claim.in_two_years if found.claim is not None else None,
        )
    start = (nxt if nxt is not None else found.verified_level) + 1
    return PlanItem(
        id=char.id,
        title=_local(char.title, lang),
        dimension=dimension,
        verified_level=found.verified_level,
        claimed_now=found.claim.now if found.claim is not None else None,
        goal=goal,
        basis=basis,
        next_level=nxt,
        next_level_name=None if nxt is None else _local(rules.model.level_name(nxt), lang),
        next_level_summary=None if next_result is None else texts.level(next_result),
        actions=[] if nxt is None else _actions(char.id, nxt, levels, texts),
        later_levels=list(range(start, goal + 1)),
        standards=_references(rules.model, char, lang),
        projection=projection,
    )


def _references(model: MaturityModel, char: Characteristic, lang: Lang) -> list[References]:
    """The characteristic's references, set by set: Annex B's supporting standards first (what
    Table 3 points communities to), then the others in the catalogue's order."""
    keys = sorted(model.reference_sets, key=lambda k: k != LEAD_REFERENCES)  # stable: order kept
    return [
        References(key=key, title=_local(model.reference_sets[key], lang), items=list(char.references[key]))
        for key in keys
        if char.references.get(key)
    ]


def _local(text: Text, lang: Lang) -> str:
    return text.zh if lang == "zh" else text.en


def next_actions(
    found: CharacteristicResult, rules: RulePack, lang: Lang = "en"
) -> tuple[str | None, list[PlanAction]]:
    """What one characteristic's next level asks for, in ``lang``: the level's cell in the
    project's words, and its unmet requirements (each in plain words, with what the result says
    is missing). (None, []) at the top level or where the next level is not encoded."""
    nxt = found.next_level
    levels = {level.level: level for level in found.levels}
    if nxt is None or nxt not in levels:
        return None, []
    texts = _Texts(rules, found.id, lang)
    return texts.level(levels[nxt]), _actions(found.id, nxt, levels, texts)


def _actions(cid: str, level: int, levels: dict[int, LevelResult], texts: _Texts) -> list[PlanAction]:
    """Unmet requirements of ``level`` and of the levels it inherits (``as_at``).

    Inherited levels are normally met already (rating is cumulative), so they add nothing;
    they are walked anyway so that the list is exactly what stands in the way.
    """
    actions: list[PlanAction] = []
    seen: set[int] = set()
    current: int | None = level
    while current is not None and current in levels and current not in seen:
        seen.add(current)
        for node in levels[current].requirements:
            actions += _unmet(cid, current, node, texts)
        current = levels[current].as_at
    return actions


def _unmet(cid: str, level: int, node: RequirementResult, texts: _Texts) -> list[PlanAction]:
    """The nodes to act on below ``node``, top down.

    Only unmet nodes are followed, so an alternative of an ``any`` that is already met is never
    listed. An unmet ``all`` stands for its unmet parts; an unmet ``any`` is one action, with
    its alternatives, since meeting one of them is enough.
    """
    if node.outcome == "met":
        return []
    if node.form == "all":
        return [a for child in node.children for a in _unmet(cid, level, child, texts)]
    key = f"{cid}/{level}/{node.id}"
    alternatives = []
    if node.form == "any":
        alternatives = [
            Alternative(requirement=f"{cid}/{level}/{c.id}", summary=texts.requirement(level, c))
            for c in node.children
        ]
    return [
        PlanAction(
            level=level,
            requirement=key,
            summary=texts.requirement(level, node),
            outcome=node.outcome,
            missing=node.missing or "not met",
            alternatives=alternatives,
        )
    ]


class _Texts:
    """Summaries in the plan's language: the result's English, or the rule pack's Chinese.

    The result holds English only. For Chinese, the rule pack's text for the same node is used;
    where the pack no longer has that node, the result's English stands rather than nothing.
    """

    def __init__(self, rules: RulePack, cid: str, lang: Lang) -> None:
        self._spec = rules.characteristics.get(cid) if lang == "zh" else None

    def level(self, level: LevelResult) -> str:
        if self._spec is not None and level.level in self._spec.levels:
            return self._spec.levels[level.level].summary.zh
        return level.summary

    def requirement(self, level: int, node: RequirementResult) -> str:
        if self._spec is not None and level in self._spec.levels:
            for top in self._spec.levels[level].requirements:
                found = _find(top, node.id)
                if found is not None:
                    return found.summary.zh
        return node.summary


def _find(node: Requirement, rid: str) -> Requirement | None:
    return next((n for n in node.walk() if n.id == rid), None)
