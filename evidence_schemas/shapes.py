"""The shape of the evidence models, read once from their pydantic definitions.

Three things are derived from it and so can never drift from the models: the XML form of a
pack (``xmlform``), its XSD (``xsd``), and the attributes rules may test
(``engine.attributes``).
"""

from __future__ import annotations

import datetime as dt
import types
import typing
from dataclasses import dataclass
from functools import cache
from typing import Any, Literal, Union

import annotated_types
from pydantic import BaseModel
from pydantic.fields import FieldInfo

ScalarType = Literal["string", "integer", "number", "boolean", "date"]


@dataclass(frozen=True)
class Scalar:
    """A single value."""

    type: ScalarType
    values: tuple[str, ...] | None = None
    """Allowed values of an enumeration."""
    minimum: float | None = None
    maximum: float | None = None
    min_length: int | None = None
    max_length: int | None = None
    pattern: str | None = None
    """Regular expression a string must match, if any."""


@dataclass(frozen=True)
class ListOf:
    """A list; in XML a wrapper element holding one child per entry."""

    item: Shape
    min_length: int | None = None
    max_length: int | None = None


@dataclass(frozen=True)
class UnionOf:
    """One of several records, told apart by a tag field (``kind``)."""

    tag: str
    members: tuple[tuple[str, Record], ...]
    """Tag value -> record shape, in declaration order."""


@dataclass(frozen=True)
class FieldShape:
    """One field of a record."""

    name: str
    shape: Shape
    required: bool
    description: str | None


@dataclass(frozen=True)
class Record:
    """A pydantic model."""

    name: str
    """The model's class name (the XSD type name)."""
    model: type[BaseModel]
    fields: tuple[FieldShape, ...]
    description: str | None

    def field(self, name: str) -> FieldShape | None:
        """The field called ``name``, if any."""
        return next((f for f in self.fields if f.name == name), None)


Shape = Scalar | Record | ListOf | UnionOf


@cache
def shape_of(model: type[BaseModel]) -> Record:
    """The shape of a model (computed once per model class)."""
    fields = []
    for name, info in model.model_fields.items():
        shape = _shape(info.annotation, [*info.metadata])
        fields.append(FieldShape(name, shape, info.is_required(), info.description))
    doc = (model.__doc__ or "").strip().split("\n")[0] or None
    return Record(model.__name__, model, tuple(fields), doc)


def _shape(annotation: Any, metadata: list[Any]) -> Shape:
    annotation, metadata = _unwrap(annotation, metadata)
    origin = typing.get_origin(annotation)
    if origin is list:
        (item,) = typing.get_args(annotation)
        return ListOf(
            _shape(item, []),
            _limit(metadata, annotated_types.MinLen, "min_length"),
            _limit(metadata, annotated_types.MaxLen, "max_length"),
        )
    if origin in (Union, types.UnionType):
        members = [a for a in typing.get_args(annotation) if a is not type(None)]
        tag = next(
            (m.discriminator for m in metadata if isinstance(m, FieldInfo) and m.discriminator), "kind"
        )
        records = [shape_of(m) for m in members]
        return UnionOf(str(tag), tuple((_tag_value(r, str(tag)), r) for r in records))
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return shape_of(annotation)
    return _scalar(annotation, metadata)


def _unwrap(annotation: Any, metadata: list[Any]) -> tuple[Any, list[Any]]:
    """Strip Annotated (collecting its metadata) and Optional."""
    while True:
        if typing.get_origin(annotation) is typing.Annotated:
            annotation, *extra = typing.get_args(annotation)
            for item in extra:
                metadata = [*metadata, *(item.metadata if isinstance(item, FieldInfo) else [item])]
                if isinstance(item, FieldInfo) and item.discriminator:
                    metadata.append(item)
            continue
        if typing.get_origin(annotation) in (Union, types.UnionType):
            args = [a for a in typing.get_args(annotation) if a is not type(None)]
            if len(args) == 1:
                annotation = args[0]
                continue
        return annotation, metadata


def _scalar(annotation: Any, metadata: list[Any]) -> Scalar:
    values: tuple[str, ...] | None = None
    if typing.get_origin(annotation) is Literal:
        values = tuple(str(v) for v in typing.get_args(annotation))
        kind: ScalarType = "string"
    elif annotation is bool:
        kind = "boolean"
    elif annotation is int:
        kind = "integer"
    elif annotation is float:
        kind = "number"
    elif annotation is dt.date:
        kind = "date"
    elif annotation is str:
        kind = "string"
    else:
        raise TypeError(f"no scalar shape for {annotation!r}")  # a new field type needs one here
    patterns = [m.pattern for m in metadata if isinstance(getattr(m, "pattern", None), str)]
    return Scalar(
        kind,
        values,
        _limit(metadata, annotated_types.Ge, "ge"),
        _limit(metadata, annotated_types.Le, "le"),
        _limit(metadata, annotated_types.MinLen, "min_length"),
        _limit(metadata, annotated_types.MaxLen, "max_length"),
        patterns[-1] if patterns else None,
    )


def _limit(metadata: list[Any], kind: type, attribute: str) -> Any:
    """The tightest bound of one kind (a field may narrow its type's bound)."""
    found = [getattr(m, attribute) for m in metadata if isinstance(m, kind)]
    if not found:
        return None
    return max(found) if kind in (annotated_types.Ge, annotated_types.MinLen) else min(found)


def _tag_value(record: Record, tag: str) -> str:
    field = record.field(tag)
    if field is None or not isinstance(field.shape, Scalar) or not field.shape.values:
        raise TypeError(f"{record.name} has no literal {tag!r}")
    (value,) = field.shape.values
    return value
