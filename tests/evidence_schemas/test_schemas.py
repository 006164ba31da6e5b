"""The evidence models themselves: documented, and every kind the issue names is there."""

from __future__ import annotations

from evidence_schemas.items import KIND_MODELS
from evidence_schemas.pack import EvidencePack
from evidence_schemas.shapes import ListOf, Record, UnionOf, shape_of


def _records(record: Record, seen: dict[str, Record]) -> dict[str, Record]:
    if record.name in seen:
        return seen
    seen[record.name] = record
    for field in record.fields:
        shape = field.shape.item if isinstance(field.shape, ListOf) else field.shape
        if isinstance(shape, Record):
            _records(shape, seen)
        elif isinstance(shape, UnionOf):
            for _, member in shape.members:
                _records(member, seen)
    return seen


def test_every_field_of_every_model_is_documented() -> None:
    records = _records(shape_of(EvidencePack), {})
    assert len(records) >= 25
    undocumented = [
        f"{r.name}.{f.name}" for r in records.values() for f in r.fields if not (f.description or "").strip()
    ]
    assert undocumented == []
    assert all(r.description for r in records.values())


def test_the_evidence_kinds() -> None:
    assert list(KIND_MODELS) == [
        "document",
        "kpi",
        "governance",
        "engagement",
        "platform",
        "programme",
        "commitment",
    ]
    common = {"id", "title", "issuer", "period", "collected", "submitted", "attachments", "offered_for"}
    for model in KIND_MODELS.values():
        assert common <= set(model.model_fields)
