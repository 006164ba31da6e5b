"""Hypothesis strategies for whole evidence packs, generated from the models' shapes.

Values respect every declared constraint (ranges, lengths, patterns, enumerations); a few
fix-ups satisfy the models' cross-field rules (ordered dates, unique ids, verdicts on known
items). Text includes what XML makes hard: markup characters, CR, tabs, edge whitespace.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from hypothesis import strategies as st
from pydantic import ValidationError

from evidence_schemas.pack import EvidencePack
from evidence_schemas.shapes import ListOf, Record, Scalar, Shape, UnionOf, shape_of

_NOT_IN_XML = frozenset(map(chr, [*range(0, 9), 11, 12, *range(14, 32), 0xFFFE, 0xFFFF]))
_ALPHABET = st.characters(blacklist_categories=["Cs"], blacklist_characters="".join(_NOT_IN_XML))
_TRICKY = st.sampled_from(["<", "&", "]]>", "\r", "\r\n", "\t", " ", '"', "'", "中", "é"])
_DATES = st.dates(min_value=dt.date(1990, 1, 1), max_value=dt.date(2060, 12, 31))


def _text(shape: Scalar) -> st.SearchStrategy[str]:
    if shape.pattern is not None:
        return st.from_regex(shape.pattern, fullmatch=True).filter(
            lambda s: (shape.max_length is None or len(s) <= shape.max_length) and _NOT_IN_XML.isdisjoint(s)
        )
    low, high = shape.min_length or 0, min(shape.max_length or 40, 40)
    return (
        st.lists(st.one_of(st.text(_ALPHABET, max_size=4), _TRICKY), max_size=6)
        .map("".join)
        .filter(lambda s: low <= len(s) <= high)
    )


def value(shape: Shape) -> st.SearchStrategy[Any]:
    """Values for one shape (before cross-field fix-ups)."""
    if isinstance(shape, Scalar):
        if shape.values:
            return st.sampled_from(shape.values)
        if shape.type == "string":
            return _text(shape)
        if shape.type == "boolean":
            return st.booleans()
        if shape.type == "date":
            return _DATES
        low = shape.minimum if shape.minimum is not None else -(10**6)
        high = shape.maximum if shape.maximum is not None else 10**6
        if shape.type == "integer":
            return st.integers(int(low), int(min(high, 10**6)))
        return st.floats(low, high, allow_nan=False, allow_infinity=False)
    if isinstance(shape, Record):
        return record(shape)
    if isinstance(shape, ListOf):
        low = shape.min_length or 0
        return st.lists(value(shape.item), min_size=low, max_size=max(low, min(shape.max_length or 3, 3)))
    assert isinstance(shape, UnionOf)
    return st.one_of(*(record(member).map(_tagged(shape.tag, tag)) for tag, member in shape.members))


def _tagged(field: str, tag: str) -> Callable[[dict[str, Any]], dict[str, Any]]:
    return lambda data: {**data, field: tag}


# Fields whose rules are code, not declared constraints.
OVERRIDES: dict[tuple[str, str], st.SearchStrategy[Any]] = {
    ("Attachment", "path"): st.from_regex(
        r"attachments/[a-z0-9-]{1,12}(/[a-z0-9-]{1,8})?\.(pdf|txt)", fullmatch=True
    ),
}


def record(shape: Record) -> st.SearchStrategy[dict[str, Any]]:
    """A dict for a record: required fields always, optional ones sometimes."""
    fields = {}
    for field in shape.fields:
        override = OVERRIDES.get((shape.name, field.name))
        strategy = override if override is not None else value(field.shape)
        fields[field.name] = strategy if field.required else st.one_of(st.none(), strategy)
    return st.fixed_dictionaries(fields).map(lambda d: {k: v for k, v in d.items() if v is not None})


@st.composite
def packs(draw: st.DrawFn) -> EvidencePack:
    """A valid evidence pack."""
    data = draw(record(shape_of(EvidencePack)))
    seen: set[str] = set()
    items = []
    for item in data.get("items", []):
        if item["id"] in seen:
            continue
        seen.add(item["id"])
        _fix_item(item)
        promises = []
        for promised in item.get("promises", []):
            if promised["id"] not in seen:  # ids are unique across items and promised items
                seen.add(promised["id"])
                _fix_item(promised)
                promised["attachments"] = []  # promised evidence does not exist yet
                promises.append(promised)
        if "promises" in item:
            item["promises"] = promises
        items.append(item)
    data["items"] = items
    _fix_links(items)
    decided: set[tuple[str, dt.date]] = set()
    verifications = []
    for verification in data.get("verifications", []):
        if not items:
            break
        verification["evidence_id"] = draw(st.sampled_from(sorted(i["id"] for i in items)))
        if (verification["evidence_id"], verification["date"]) not in decided:
            decided.add((verification["evidence_id"], verification["date"]))
            verifications.append(verification)
    data["verifications"] = verifications
    rated: set[tuple[str, dt.date]] = set()
    judgements = []
    for judgement in data.get("judgements", []):
        if not items:
            break
        cited = draw(st.lists(st.sampled_from(sorted(i["id"] for i in items)), min_size=1, max_size=3))
        judgement["cites"] = sorted(set(cited))
        judgement["examined"] = [i for i in judgement.get("examined", []) if i in judgement["cites"]]
        if (judgement["requirement"], judgement["date"]) not in rated:
            rated.add((judgement["requirement"], judgement["date"]))
            judgements.append(judgement)
    data["judgements"] = judgements
    claims: dict[str, Any] = {c["characteristic"]: c for c in data.get("claims", [])}
    data["claims"] = list(claims.values())
    try:
        return EvidencePack.model_validate(data)
    except ValidationError as exc:  # a rule the fix-ups missed: show it rather than hide it
        raise AssertionError(f"generated an invalid pack: {exc}") from None


def _fix_item(item: dict[str, Any]) -> None:
    period = item["period"]
    if "end" in period and period["end"] < period["start"]:
        period["start"], period["end"] = period["end"], period["start"]
    if item["submitted"] < item["collected"]:
        item["submitted"], item["collected"] = item["collected"], item["submitted"]
    item["offered_for"] = sorted(set(item["offered_for"]))
    item["attachments"] = list({a["path"]: a for a in item.get("attachments", [])}.values())
    publication = item.get("publication")
    if publication is not None and publication["status"] == "published":
        publication.setdefault("url", "https://pack.example/doc")
    for series in ("targets", "observations"):
        if series in item:
            item[series] = list({point["date"]: point for point in item[series]}.values())
    if "also_serves" in item:
        item["also_serves"] = sorted(set(item["also_serves"]) - {item["doc_type"]})
    matrix = item.get("maturity_targets")
    if matrix is not None:
        # A performance-matrix row needs a baseline and targets that never get easier.
        item.setdefault("baseline", {"value": 0, "date": dt.date(2020, 1, 1), "method": "survey"})
        values = sorted(matrix[f"level_{n}"] for n in range(2, 6))
        if item["direction"] == "lower_is_better":
            values.reverse()
        matrix.update({f"level_{n}": v for n, v in zip(range(2, 6), values, strict=True)})


def _fix_links(items: list[dict[str, Any]]) -> None:
    """Links reach other items of the pack (KPI records, for ``displays``); a commitment's updates
    are versions of existing items, one commitment per item."""
    kinds = {item["id"]: item["kind"] for item in items}
    existing = dict(kinds)
    kinds.update((p["id"], p["kind"]) for item in items for p in item.get("promises", []))
    free = sorted(i for i, kind in existing.items() if kind != "commitment")
    for item in items:
        changes = []
        for change in item.get("updates", []):
            same = [i for i in free if existing[i] == change["kind"]]
            if same:
                free.remove(same[0])
                _fix_item(change)
                changes.append({**change, "id": same[0], "attachments": []})
        if "updates" in item:
            item["updates"] = changes
    for holder in [
        *items,
        *(p for item in items for p in [*item.get("promises", []), *item.get("updates", [])]),
    ]:
        for link in ("based_on", "reports_on", "evaluates", "displays"):
            if link in holder:
                wanted = "kpi" if link == "displays" else None
                targets = sorted(i for i, k in kinds.items() if i != holder["id"] and wanted in (None, k))
                holder[link] = targets[: len(holder[link])]
