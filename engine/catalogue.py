"""The maturity-model catalogue: dimensions, sub-dimensions, characteristics and level names.

A catalogue is data (``rules/<model>/model.yaml``); this module holds its schema and the checks
that the schema alone cannot express (unique ids, declared kinds and reference sets).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from engine.errors import Problem, RulePackError
from engine.sourcemap import SourceDoc, load_yaml

GroupScope = Literal["sub_dimension", "dimension"]
M = TypeVar("M", bound=BaseModel)


class Strict(BaseModel):
    """Base of catalogue and rule-pack models: frozen, unknown fields forbidden, no coercion."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False)


MAX_TEXT = 2000
"""Longest text a rule pack may carry in one language (the bundled packs' longest is under 400):
rule packs come from outside, and every text ends up in results, trails and certificates."""


class Text(Strict):
    """A short text in English and Chinese."""

    en: str = Field(min_length=1, max_length=MAX_TEXT, description="English.")
    zh: str = Field(min_length=1, max_length=MAX_TEXT, description="Chinese (simplified).")


class LevelName(Strict):
    """The name of one maturity level."""

    level: int = Field(ge=1, le=5, description="Level number, 1 (lowest) to 5.")
    name: Text = Field(description="Level name in both languages.")


class Characteristic(Strict):
    """One rated characteristic (the unit the maturity model assesses)."""

    id: str = Field(pattern=r"^[0-9]+(\.[0-9]+)*$", description="Stable id, e.g. '1.5.2'.")
    title: Text = Field(description="Title in both languages.")
    kind: str = Field(
        max_length=64, description="Key of the model's ``kinds`` this characteristic belongs to."
    )
    references: dict[str, list[str]] = Field(
        default_factory=dict,
        description="Reference set key (declared in ``reference_sets``) -> cited items.",
    )


class SubDimension(Strict):
    """A group of characteristics inside a dimension, used only for reporting."""

    id: str = Field(pattern=r"^[0-9]+(\.[0-9]+)*$", description="Stable id, e.g. '1.5'.")
    title: Text = Field(description="Title in both languages.")
    characteristics: list[Characteristic] = Field(min_length=1)


class Dimension(Strict):
    """A top-level dimension; holds sub-dimensions or, where the model has none, characteristics."""

    id: str = Field(pattern=r"^[0-9]+$", description="Stable id, e.g. '4'.")
    title: Text = Field(description="Title in both languages.")
    sub_dimensions: list[SubDimension] = Field(default_factory=list)
    characteristics: list[Characteristic] = Field(
        default_factory=list, description="Characteristics directly under the dimension."
    )

    def all_characteristics(self) -> Iterator[Characteristic]:
        """Characteristics in reading order."""
        for sub in self.sub_dimensions:
            yield from sub.characteristics
        yield from self.characteristics


class MaturityModel(Strict):
    """A maturity model edition (for example ISO/TS 37107:2019)."""

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9.-]*$", description="Model id, e.g. 'iso37107-2019'.")
    standard: str = Field(max_length=200, description="Citation of the standard, e.g. 'ISO/TS 37107:2019'.")
    title: Text
    sources: list[str] = Field(description="Which source documents the catalogue was taken from.")
    levels: list[LevelName] = Field(min_length=5, max_length=5)
    kinds: dict[str, Text] = Field(description="Kinds of characteristic, key -> description.")
    level_guides: dict[str, dict[int, Text]] = Field(
        description="Kind -> level (1-5) -> what the level means for that kind, in short."
    )
    reference_sets: dict[str, Text] = Field(description="Kinds of reference, key -> title.")
    cell_format: str = Field(
        default="Table A.1, {characteristic}, level {level}",
        pattern=r"^[^{}]*\{characteristic\}[^{}]*\{level\}[^{}]*$",
        max_length=200,
        description="How a level cites the source cell it encodes; a citation may add a remark in "
        "parentheses after it, e.g. 'seed 002, 1.1, level 2 (strategy, alignment)'.",
    )
    dimensions: list[Dimension] = Field(min_length=1)

    def characteristics(self) -> list[Characteristic]:
        """All characteristics in reading order."""
        return [c for d in self.dimensions for c in d.all_characteristics()]

    def characteristic(self, cid: str) -> Characteristic:
        """The characteristic with this id (KeyError if there is none)."""
        for c in self.characteristics():
            if c.id == cid:
                return c
        raise KeyError(cid)

    def level_guide(self, characteristic: Characteristic, level: int) -> Text:
        """What ``level`` means for a characteristic of its kind."""
        return self.level_guides[characteristic.kind][level]

    def level_name(self, level: int) -> Text:
        """Name of a level."""
        return next(n.name for n in self.levels if n.level == level)

    def groups(self) -> list[tuple[GroupScope, str, Text, list[str]]]:
        """Reporting groups: ``(scope, id, title, characteristic ids)`` for each sub-dimension
        and dimension, sub-dimensions first, each in reading order."""
        subs: list[tuple[GroupScope, str, Text, list[str]]] = [
            ("sub_dimension", s.id, s.title, [c.id for c in s.characteristics])
            for d in self.dimensions
            for s in d.sub_dimensions
        ]
        dims: list[tuple[GroupScope, str, Text, list[str]]] = [
            ("dimension", d.id, d.title, [c.id for c in d.all_characteristics()]) for d in self.dimensions
        ]
        return subs + dims


def load_data(path: Path, schema: type[M], display: str | None = None) -> tuple[M, SourceDoc]:
    """A YAML data file of the rules (catalogue, KPI catalogue, crosswalk) validated against
    ``schema``, with its line map; raises :class:`RulePackError` listing every problem."""
    doc = load_yaml(path, display)
    if doc.problems:
        raise RulePackError(doc.problems)
    try:
        return schema.model_validate(doc.data), doc
    except ValidationError as exc:
        raise RulePackError(doc.validation_problems(exc)) from None


def load_catalogue(path: Path, display: str | None = None) -> MaturityModel:
    """Load and check ``model.yaml``; raises :class:`RulePackError` listing every problem."""
    model, doc = load_data(path, MaturityModel, display)
    problems = check_catalogue(model, doc)
    if problems:
        raise RulePackError(problems)
    return model


def check_catalogue(model: MaturityModel, doc: SourceDoc) -> list[Problem]:
    """Checks beyond the schema: unique ids, known kinds and reference sets, levels 1-5."""
    problems: list[Problem] = []
    if sorted(n.level for n in model.levels) != [1, 2, 3, 4, 5]:
        problems.append(doc.problem(["levels"], "levels must be 1, 2, 3, 4 and 5, once each"))
    for kind in model.kinds:
        guides = model.level_guides.get(kind, {})
        if sorted(guides) != [1, 2, 3, 4, 5]:
            problems.append(doc.problem(["level_guides", kind], "needs a guide for each of levels 1-5"))
    for kind in model.level_guides:
        if kind not in model.kinds:
            problems.append(doc.problem(["level_guides", kind], f"unknown kind {kind!r}"))
    seen: dict[str, str] = {}

    def claim(cid: str, path: list[str | int]) -> None:
        if cid in seen:
            problems.append(doc.problem(path, f"duplicate id {cid!r} (already used at {seen[cid]})"))
        else:
            seen[cid] = ".".join(str(p) for p in path)

    for di, dim in enumerate(model.dimensions):
        dpath: list[str | int] = ["dimensions", di]
        claim(dim.id, [*dpath, "id"])
        if not dim.sub_dimensions and not dim.characteristics:
            problems.append(doc.problem(dpath, "a dimension needs sub-dimensions or characteristics"))
        for si, sub in enumerate(dim.sub_dimensions):
            spath: list[str | int] = [*dpath, "sub_dimensions", si]
            claim(sub.id, [*spath, "id"])
            if not sub.id.startswith(dim.id + "."):
                problems.append(doc.problem([*spath, "id"], f"{sub.id!r} is not inside dimension {dim.id!r}"))
            for ci, char in enumerate(sub.characteristics):
                cpath: list[str | int] = [*spath, "characteristics", ci]
                problems += _check_characteristic(model, char, sub.id, cpath, doc)
                claim(char.id, [*cpath, "id"])
        for ci, char in enumerate(dim.characteristics):
            cpath = [*dpath, "characteristics", ci]
            problems += _check_characteristic(model, char, dim.id, cpath, doc)
            claim(char.id, [*cpath, "id"])
    return problems


def _check_characteristic(
    model: MaturityModel, char: Characteristic, parent: str, path: list[str | int], doc: SourceDoc
) -> list[Problem]:
    problems = []
    if not char.id.startswith(parent + "."):
        problems.append(doc.problem([*path, "id"], f"{char.id!r} is not inside {parent!r}"))
    if char.kind not in model.kinds:
        known = ", ".join(sorted(model.kinds))
        problems.append(doc.problem([*path, "kind"], f"unknown kind {char.kind!r} (known: {known})"))
    for key in char.references:
        if key not in model.reference_sets:
            known = ", ".join(sorted(model.reference_sets))
            problems.append(
                doc.problem([*path, "references", key], f"unknown reference set {key!r} (known: {known})")
            )
    return problems
