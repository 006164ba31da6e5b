"""The rule-pack format: what a characteristic file may say, as pydantic models.

One file per characteristic holds levels 2-5 (level 1 is the floor and needs nothing). Each
level cites its Annex A cell, summarises it in the project's own words, may inherit another
level's requirements (``as_at``), and lists requirements. A requirement is exactly one of:

- ``evidence``: a predicate over evidence items (kind, attribute conditions, minimum count,
  freshness, auditor acceptance, and conditions that *every* item in scope must meet);
- ``all`` / ``any``: composition of requirements;
- ``not``: negation of a requirement.

Checks that need the catalogue or the evidence schemas (known kinds, attributes, operators
per attribute type) live in :mod:`engine.rulecheck`.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import cached_property
from typing import Any, Literal

from pydantic import Field, model_validator

from engine.catalogue import MAX_TEXT, Strict, Text

COMPARANDS = ("baseline", "target", "final_target", "level_2", "level_3", "level_4", "level_5")
"""What ``better_than`` and ``meets`` compare a KPI's latest observation with (``level_N``: the
target of level N in the KPI's ITU-T Y.4904 performance-matrix row)."""

OPERATORS: dict[str, str] = {
    "equals": "the value equals the given one",
    "one_of": "the value is one of the given ones",
    "contains_all": "the list holds every given value",
    "contains_any": "the list holds at least one given value",
    "gte": "the value is at least the given number or date",
    "lte": "the value is at most the given number or date",
    "exists": "the value is present (true) or absent (false); empty lists are absent",
    "better_than": "KPI only: latest observation strictly better than the baseline or target, "
    "direction-aware",
    "meets": "KPI only: latest observation at least as good as the baseline or target, direction-aware",
}
"""The condition operators and what each means."""


class Condition(Strict):
    """Conditions on one attribute; every operator given must hold.

    Operands are typed loosely here because their type depends on the attribute; the rule-pack
    checks (:mod:`engine.rulecheck`) hold each operand against its attribute's type.
    """

    equals: Any = None
    one_of: Any = None
    contains_all: Any = None
    contains_any: Any = None
    gte: Any = None
    lte: Any = None
    exists: Any = None
    better_than: Any = None
    meets: Any = None

    @model_validator(mode="before")
    @classmethod
    def _known_operators(cls, data: Any) -> Any:
        if isinstance(data, dict):
            unknown = sorted(str(k) for k in data if k not in OPERATORS)
            if unknown:
                raise ValueError(
                    f"unknown operator {', '.join(map(repr, unknown))} (known: {', '.join(OPERATORS)})"
                )
            if not data:
                raise ValueError("a condition needs at least one operator")
        return data

    def operators(self) -> tuple[tuple[str, Any], ...]:
        """The operators given, in vocabulary order."""
        return self._operators

    @cached_property
    def _operators(self) -> tuple[tuple[str, Any], ...]:
        # Read for every item a condition is checked on: worked out once per (frozen) condition.
        return tuple((op, getattr(self, op)) for op in OPERATORS if getattr(self, op) is not None)


class JudgementSpec(Strict):
    """The professional judgement a requirement asks of the auditor (a cell saying "effective",
    "clear evidence", "significant", "leading role", ...): the question the auditor answers by
    rating the requirement fully, largely, partially or not implemented, citing the items the
    rating rests on. The machine conditions still decide which items may be cited."""

    question: Text = Field(description="The question the auditor answers, in English and Chinese.")


class EvidenceRule(Strict):
    """A predicate over evidence items of one kind.

    Items in scope are those of ``kind``, offered for this characteristic, matching ``where``
    and not rejected by an auditor. Each is then classified: it *violates* when it fails
    ``every``; else it is *stale* when older than ``max_age_days``; else it *awaits
    verification* when ``accepted`` is required and no auditor has accepted it; else it
    *qualifies*. Met: no violations and at least ``min_count`` qualify. Indeterminate: no
    violations, too few qualify, but enough would if the stale or unverified ones were
    resolved. Otherwise not met.

    With ``judgement``, only the items the auditor's judgement cites count, and the rating
    decides: see :func:`engine.outcomes.leaf_outcome`.
    """

    kind: str = Field(max_length=64, description="Evidence kind (document, kpi, governance, ...).")
    where: dict[str, Condition] = Field(
        default_factory=dict,
        description="Attribute path -> condition selecting the items in scope.",
    )
    every: dict[str, Condition] = Field(
        default_factory=dict, description="Conditions every item in scope must meet."
    )
    min_count: int = Field(default=1, ge=1, le=1000, description="Distinct items needed.")
    max_age_days: int | None = Field(
        default=None, ge=0, le=36600, description="Freshness: maximum age on the assessment date."
    )
    age_of: str = Field(
        default="collected", max_length=200, description="Date attribute the age is measured from."
    )
    accepted: bool = Field(default=False, description="Only items an auditor accepted qualify.")
    judgement: JudgementSpec | None = Field(
        default=None, description="The auditor's judgement this requirement needs, with its question."
    )
    kind_only_because: str | None = Field(
        default=None,
        min_length=20,
        max_length=MAX_TEXT,
        exclude_if=lambda value: value is None,
        description="Required exactly when the predicate checks nothing beyond the item's kind and "
        "type (engine.coverage.kind_only): why no attribute of the evidence can carry the cell.",
    )


class Requirement(Strict):
    """One requirement node: an evidence predicate or a composition."""

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{0,62}$", description="Unique within the file.")
    summary: Text = Field(description="What it asks for, in the project's own words.")
    evidence: EvidenceRule | None = None
    all: list[Requirement] | None = Field(default=None, min_length=1)
    any: list[Requirement] | None = Field(default=None, min_length=1)
    not_: Requirement | None = Field(default=None, alias="not")
    met_by: list[str] = Field(
        default_factory=list,
        exclude_if=lambda value: not value,
        description="Higher-level requirements of the same characteristic that meet this one too, "
        "'LEVEL/ID' (the same practice at a later stage): met when it or one of them is.",
    )

    @model_validator(mode="after")
    def _one_form(self) -> Requirement:
        given = [name for name in ("evidence", "all", "any", "not_") if getattr(self, name) is not None]
        if len(given) != 1:
            named = ", ".join(g.rstrip("_") for g in given) or "none"
            raise ValueError(f"give exactly one of evidence, all, any, not (given: {named})")
        return self

    @property
    def form(self) -> Literal["evidence", "all", "any", "not"]:
        """Which of the four forms this node has."""
        if self.evidence is not None:
            return "evidence"
        if self.all is not None:
            return "all"
        if self.any is not None:
            return "any"
        return "not"

    def children(self) -> list[Requirement]:
        """Sub-requirements (empty for an evidence predicate)."""
        if self.all is not None:
            return self.all
        if self.any is not None:
            return self.any
        return [self.not_] if self.not_ is not None else []

    def walk(self) -> Iterator[Requirement]:
        """This node and all below it, children before parents (the order outcomes settle)."""
        for child in self.children():
            yield from child.walk()
        yield self


class Level(Strict):
    """The criteria of one level (2-5) of one characteristic."""

    cell: str = Field(max_length=200, description="The Annex A cell encoded, in the model's cell format.")
    summary: Text = Field(description="The cell in the project's own words.")
    as_at: int | None = Field(
        default=None, description="The cell says 'as at level N': level N's criteria apply too."
    )
    requirements: list[Requirement] = Field(min_length=1)


class CharacteristicRules(Strict):
    """Everything a rule pack says about one characteristic."""

    characteristic: str = Field(max_length=20, description="Characteristic id; the file is named after it.")
    levels: dict[int, Level] = Field(description="Level number (2-5) -> criteria.")

    def node_key(self, level: int, requirement_id: str) -> str:
        """Stable key of a requirement node: ``<characteristic>/<level>/<id>``."""
        return f"{self.characteristic}/{level}/{requirement_id}"
