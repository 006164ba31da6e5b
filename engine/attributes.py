"""The attributes rules may test, per evidence kind, and the normalised value of each.

Attribute paths and types are read from the evidence models (``evidence_schemas.items``), so
the vocabulary cannot drift from the schema. Besides the stored fields there are derived
attributes: ``<list>.count`` for every list, and for KPI records the latest observation on or
before the assessment date (``latest.value``, ``latest.date``) with direction-aware gains
against the baseline and targets.

Values are normalised here, once, for both evaluators: dates become day numbers, numbers
become fixed-point integers in millionths (:data:`SCALE`), empty lists and missing values are
left out (so they fail every comparison). Types never mix, which keeps durable_rules'
coercions ('99' > 100, '1' == 1) out of play, and no float reaches durable_rules: its JSON
parser rejects numbers such as ``1e-05`` (an exponent without a decimal point), which is how
Python writes 0.00001.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any, Literal, get_args

from pydantic import BaseModel

from evidence_schemas.items import (
    KIND_MODELS,
    DatedValue,
    Document,
    Governance,
    Kpi,
    Members,
    Platform,
    Programme,
)
from evidence_schemas.pack import LINKS
from evidence_schemas.shapes import ListOf, Record, Scalar, shape_of

AttrType = Literal["string", "number", "boolean", "date", "list", "object"]
Value = str | int | bool | tuple[str | int, ...]
SCALE = 1_000_000
"""Numbers are compared in millionths of their unit."""
MAX_MAGNITUDE = 10**12
"""Largest number the engine compares (scaled, it still fits durable_rules' 64-bit integers)."""


def fixed(number: float) -> int:
    """A number as an integer count of millionths (ties round to even, deterministically)."""
    return round(number * SCALE)


_SKIPPED = {"kind", "id", "offered_for"}  # routing fields, not evidence content


@dataclass(frozen=True)
class Attribute:
    """One attribute a rule may test."""

    path: str
    """Dotted path, e.g. ``publication.status``."""
    type: AttrType
    """``list`` is a list of strings or numbers; ``object`` a nested record (exists only)."""
    values: tuple[str | int, ...] | None = None
    """Allowed values for enumerations (or list items), else None."""
    item_type: AttrType | None = None
    """For ``list``: the type of its items."""
    derived: bool = False
    """Computed by the engine rather than stored in the pack."""


KPI_GAINS = ("baseline", "target", "final_target", "level_2", "level_3", "level_4", "level_5")
"""What a KPI's latest observation can be compared with: its baseline, the target due by then,
its final target, and the targets of its ITU-T Y.4904 performance-matrix row."""


TYPE_FIELDS = ("doc_type", "engagement_type", "platform_type")
"""The fields that say which sort of item of a kind it is."""


def sorts_of(item: BaseModel) -> tuple[str, ...]:
    """What an item is, as a link's ``.types`` reports it: its kind, its type, and for a document
    every sort it also serves as."""
    fields = type(item).model_fields
    sorts = {_kind(item), *(str(getattr(item, name)) for name in TYPE_FIELDS if name in fields)}
    if isinstance(item, Document):
        sorts.update(item.also_serves)
    return tuple(sorted(sorts))


@cache
def catalogue() -> dict[str, dict[str, Attribute]]:
    """Evidence kind -> attribute path -> attribute. Computed once from the static models."""
    result: dict[str, dict[str, Attribute]] = {}
    for kind, model in KIND_MODELS.items():
        attrs: dict[str, Attribute] = {}
        _collect(shape_of(model), "", attrs)
        if model is Kpi:
            attrs["latest"] = Attribute("latest", "object", derived=True)
            attrs["latest.value"] = Attribute("latest.value", "number", derived=True)
            attrs["latest.date"] = Attribute("latest.date", "date", derived=True)
        if model is Document:
            types = attrs["doc_type"].values
            attrs["serves"] = Attribute("serves", "list", types, "string", derived=True)
        for link in LINKS:
            if link in attrs:
                attrs[link + ".types"] = Attribute(
                    link + ".types", "list", _all_sorts(), "string", derived=True
                )
        path = _SECTOR_LISTS.get(kind)
        if path is not None:
            attrs[path] = Attribute(path, "list", tuple(Members.model_fields), "string", derived=True)
            attrs[path + ".count"] = Attribute(path + ".count", "number", derived=True)
        if model is Platform:
            attrs["datasets.open.count"] = Attribute("datasets.open.count", "number", derived=True)
            attrs["datasets.licences"] = Attribute("datasets.licences", "list", None, "string", derived=True)
        result[kind] = dict(sorted(attrs.items()))
    return result


_SECTOR_LISTS = {"programme": "partners.sectors", "governance": "members.sectors"}
"""Derived lists of sectors: a programme's partners' sectors, a body's members' sectors."""


@cache
def _all_sorts() -> tuple[str, ...]:
    sorts = set(KIND_MODELS)
    for model in KIND_MODELS.values():
        for name in TYPE_FIELDS:
            if name in model.model_fields:
                sorts.update(get_args(model.model_fields[name].annotation))
    return tuple(sorted(sorts))


def _collect(record: Record, prefix: str, attrs: dict[str, Attribute]) -> None:
    for field in record.fields:
        if not prefix and field.name in _SKIPPED:
            continue
        path = prefix + field.name
        shape = field.shape
        if isinstance(shape, ListOf):
            attrs[path + ".count"] = Attribute(path + ".count", "number", derived=True)
            if isinstance(shape.item, Scalar):
                item_type, values = _scalar(shape.item)
                attrs[path] = Attribute(path, "list", values, item_type)
            else:
                attrs[path] = Attribute(path, "object")
        elif isinstance(shape, Record):
            attrs[path] = Attribute(path, "object")
            _collect(shape, path + ".", attrs)
        elif isinstance(shape, Scalar):
            kind, values = _scalar(shape)
            attrs[path] = Attribute(path, kind, values)


def _scalar(shape: Scalar) -> tuple[AttrType, tuple[str | int, ...] | None]:
    if shape.type in ("integer", "number"):
        return "number", shape.values
    kinds: dict[str, AttrType] = {"string": "string", "boolean": "boolean", "date": "date"}
    return kinds[shape.type], shape.values


# --- normalised values ----------------------------------------------------------------------


def item_values(
    item: BaseModel, as_of: dt.date, linked: Mapping[str, tuple[str, ...]] | None = None
) -> dict[str, Value]:
    """Attribute path -> normalised value for one item; absent attributes are left out.

    Dates are day numbers (``date.toordinal()``); ``age:<path>`` holds each date's age in days
    on ``as_of``; ``gain:<what>`` holds a KPI's direction-aware gain (positive is better).
    ``linked`` maps the ids of the items that are evidence on ``as_of`` (not excluded, not
    rejected) to what they are (:func:`sorts_of`): a link counts, in ``<link>.count`` and
    ``<link>.types``, only when it reaches one of them.
    """
    values: dict[str, Value] = {}
    _flatten(item, "", values)
    _derived_values(item, linked or {}, values)
    if isinstance(item, Kpi):
        _kpi_values(item, as_of, values)
    if isinstance(item, Governance):
        _governance_values(item, as_of, values)
    today = as_of.toordinal()
    for path, attr in catalogue()[_kind(item)].items():
        if attr.type == "date" and path in values:
            day = values[path]
            assert isinstance(day, int)
            if day <= today:  # a date after the assessment date is never current
                values["age:" + path] = today - day
    # A period without an end is ongoing (the schema's meaning): current. One ending after the
    # assessment date describes days not yet lived, so, like any date after it, it has no age.
    start = values.get("period.start")
    if isinstance(start, int) and start <= today and "period.end" not in values:
        values["age:period.end"] = 0
    return values


def _derived_values(item: BaseModel, linked: Mapping[str, tuple[str, ...]], values: dict[str, Value]) -> None:
    if isinstance(item, Document):
        values["serves"] = tuple(sorted({item.doc_type, *item.also_serves}))
    fields = type(item).model_fields  # getattr on a field a model lacks is slow in pydantic
    for link in LINKS:
        if link not in fields:
            continue
        targets = getattr(item, link)
        values.pop(link + ".count", None)
        reached = [linked[t] for t in targets if t in linked]
        if reached:
            values[link + ".count"] = fixed(len(reached))
            values[link + ".types"] = tuple(sorted({sort for sorts in reached for sort in sorts}))
    if isinstance(item, Programme) and item.partners:
        sectors = tuple(sorted({p.sector for p in item.partners}))
        values["partners.sectors"] = sectors
        values["partners.sectors.count"] = fixed(len(sectors))
    if isinstance(item, Governance):
        seated = tuple(name for name in Members.model_fields if getattr(item.members, name) > 0)
        if seated:
            values["members.sectors"] = seated
            values["members.sectors.count"] = fixed(len(seated))
    if isinstance(item, Platform) and item.datasets:
        values["datasets.open.count"] = fixed(sum(d.open for d in item.datasets))
        values["datasets.licences"] = tuple(sorted({d.licence for d in item.datasets}))


def _governance_values(body: Governance, as_of: dt.date, values: dict[str, Value]) -> None:
    """Meetings and decisions count only once held or taken (on or before ``as_of``)."""
    for path, held in (
        ("meetings", [d for d in body.meetings if d <= as_of]),
        ("decisions", [d for d in body.decisions if d.date <= as_of]),
    ):
        values.pop(path, None)
        values.pop(path + ".count", None)
        if held:
            values[path] = True if path == "decisions" else tuple(_scalar_value(d) for d in held)
            values[path + ".count"] = fixed(len(held))


def _kind(item: BaseModel) -> str:
    kind = getattr(item, "kind", None)
    assert isinstance(kind, str)
    return kind


def _flatten(model: BaseModel, prefix: str, values: dict[str, Value]) -> None:
    for name in type(model).model_fields:
        if not prefix and name in _SKIPPED:
            continue
        value = getattr(model, name)
        path = prefix + name
        if value is None:
            continue
        if isinstance(value, BaseModel):
            values[path] = True  # present, for 'exists'
            _flatten(value, path + ".", values)
        elif isinstance(value, list):
            if value:
                values[path + ".count"] = fixed(len(value))
                first = value[0]
                if isinstance(first, BaseModel):
                    values[path] = True
                else:
                    values[path] = tuple(_scalar_value(v) for v in value)
        else:
            values[path] = _scalar_value(value)


def _scalar_value(value: Any) -> str | int | bool:
    if isinstance(value, dt.date):
        return value.toordinal()
    if isinstance(value, bool | str):
        return value
    if isinstance(value, int | float):
        return fixed(value)
    raise TypeError(f"unexpected value {value!r}")


def _kpi_values(kpi: Kpi, as_of: dt.date, values: dict[str, Value]) -> None:
    seen = [point for point in kpi.observations if point.date <= as_of]
    if not seen:
        return
    latest = max(seen, key=lambda point: point.date)
    now = fixed(latest.value)
    values["latest"] = True
    values["latest.value"] = now
    values["latest.date"] = latest.date.toordinal()
    # Gains are exact integer differences, signed so that positive always means better.
    sign = 1 if kpi.direction == "higher_is_better" else -1
    if kpi.baseline is not None:
        values["gain:baseline"] = sign * (now - fixed(kpi.baseline.value))
    due = [t for t in kpi.targets if t.date <= latest.date]
    if due:
        values["gain:target"] = sign * (now - fixed(_last(due).value))
    if kpi.targets:
        values["gain:final_target"] = sign * (now - fixed(_last(kpi.targets).value))
    if kpi.maturity_targets is not None:
        for level, target in kpi.maturity_targets.by_level().items():
            values[f"gain:level_{level}"] = sign * (now - fixed(target))


def _last(points: list[DatedValue]) -> DatedValue:
    return max(points, key=lambda point: point.date)


def literal_value(value: Any) -> Any:
    """A rule literal normalised like item values (dates to day numbers, numbers to millionths)."""
    if isinstance(value, list):
        return [literal_value(v) for v in value]
    if isinstance(value, dt.date):
        return value.toordinal()
    if isinstance(value, int | float) and not isinstance(value, bool):
        return fixed(value)
    return value
