"""HTML forms for evidence items, generated from the item models (``evidence_schemas.items``).

``item_form`` lists the fields to render (``templates/fields.html``), ``parse_item`` turns the
submitted strings back into a validated item, and ``item_values`` fills the form from a stored
item. Every field, type and limit comes from the models through ``evidence_schemas.shapes``, so a
field added to a model appears in its form at once. Pure: no web framework, no I/O.

Form field names are dotted paths (``publication.status``, ``targets.2.value``), the same names
rule packs use, with the row number for lists of records.
"""

from __future__ import annotations

import json
import math
import re
import typing
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from evidence_schemas.items import KIND_MODELS, EvidenceItem
from evidence_schemas.shapes import FieldShape, ListOf, Record, Scalar, Shape, UnionOf, shape_of
from web.fieldwords import FIELD_WORDS, FORM_WORDS

InputType = Literal[
    "text",
    "textarea",
    "number",
    "date",
    "url",
    "checkbox",
    "select",
    "checkboxes",
    "lines",
    "json",
    "fieldset",
    "repeat",
]
"""How a field is entered: ``checkboxes`` is a list of choices, ``lines`` a textarea with one
value per line, ``json`` a textarea holding JSON, ``fieldset`` a nested record, ``repeat`` a list
of records (its children are the rows, each a ``fieldset``)."""

FormValue = str | list[str]
"""A form value: one string, or the ticked choices of a ``checkboxes`` field."""

KINDS: tuple[str, ...] = tuple(
    str(typing.get_args(model.model_fields["kind"].annotation)[0])
    for model in typing.get_args(typing.get_args(EvidenceItem)[0])
)
"""The evidence kinds, in the order of the ``EvidenceItem`` union."""

EMPTY_ROWS = 2
"""Empty rows offered under a list of records, so that a browser without script can add rows."""

_SKIPPED = ("kind", "attachments")
"""Set by the form itself (kind) or by the separate upload step (attachments)."""

_TRUE = ("true", "on", "1", "yes")
_FALSE = ("", "false", "off", "0", "no")
_LONG_TEXT = 300
"""Texts allowed to be longer than this get a textarea."""
_MAX_JSON_DEPTH = 32
"""Items nest a few levels; deeper JSON would hit the validator's own limit, reported on no field."""
_MAX_ROW_DIGITS = 6
"""Row numbers longer than this are not rows of any list the models allow; such names are ignored."""


@dataclass(frozen=True)
class Option:
    """One choice of a ``select`` or ``checkboxes`` field."""

    value: str
    label: str
    selected: bool


@dataclass(frozen=True)
class Field:
    """One thing to render: an input, a group of checkboxes, or a fieldset of children."""

    name: str
    """HTML name: the dotted path (``series.2.value``)."""
    id: str
    """HTML id, unique within the form."""
    label: str
    input: InputType
    required: bool = False
    """The browser insists on a value (only for fields required whatever else is filled in)."""
    value: str = ""
    help: str = ""
    """The schema's own description of the field."""
    help_lang: str | None = None
    """Language of ``help`` when it differs from the form's (descriptions are in English)."""
    hint: str = ""
    """How to fill it in, in the form's language."""
    errors: tuple[str, ...] = ()
    options: tuple[Option, ...] = ()
    min: str | None = None
    max: str | None = None
    step: str | None = None
    pattern: str | None = None
    """A pattern in the syntax of the HTML ``pattern`` attribute."""
    minlength: int | None = None
    maxlength: int | None = None
    children: tuple[Field, ...] = ()

    @property
    def help_id(self) -> str:
        """Id of the element holding hint and help."""
        return self.id + "-help"

    @property
    def error_id(self) -> str:
        """Id of the element holding the errors."""
        return self.id + "-error"

    @property
    def described_by(self) -> str:
        """Value of ``aria-describedby``: help, then errors (empty when neither)."""
        ids = [self.help_id] if self.help or self.hint else []
        if self.errors:
            ids.append(self.error_id)
        return " ".join(ids)


# --- the form -----------------------------------------------------------------------------


def item_form(
    kind: str, values: Mapping[str, Any] | None, errors: Mapping[str, list[str]], lang: str
) -> list[Field]:
    """The fields of a ``kind`` item's form, filled with ``values`` (from ``item_values`` or the
    submitted form) and showing ``errors`` (from ``parse_item``; the ``""`` entry is the caller's
    to show above the form)."""
    builder = _Builder(values or {}, errors, lang)
    return [builder.field(f, (f.name,), True) for f in _record(kind).fields if f.name not in _SKIPPED]


class _Builder:
    def __init__(self, values: Mapping[str, Any], errors: Mapping[str, list[str]], lang: str) -> None:
        self.values = values
        self.errors = errors
        self.lang = lang if lang in FIELD_WORDS else "en"
        self.words = _Words(self.lang)
        self.rows = _row_numbers(values.keys())

    def field(self, shape: FieldShape, path: tuple[str, ...], enclosing_required: bool) -> Field:
        name = ".".join(path)
        required = shape.required and enclosing_required
        common: dict[str, Any] = {
            "name": name,
            "id": "f-" + name.replace(".", "-"),
            "label": self.words.label(path),
            "help": shape.description or "",
            "help_lang": None if self.lang == "en" or not shape.description else "en",
            "errors": tuple(self.errors.get(name, ())),
        }
        hint = ""
        if shape.required and not (isinstance(shape.shape, Scalar) and shape.shape.type == "boolean"):
            hint = self.words.form["required" if required else "required_if_used"]
        kind = shape.shape
        if isinstance(kind, Record):
            children = tuple(self.field(f, (*path, f.name), required) for f in kind.fields)
            return Field(input="fieldset", children=children, hint=hint, **common)
        if isinstance(kind, ListOf):
            return self.list_field(kind, path, required, hint, common)
        if isinstance(kind, UnionOf):  # no item has a bare union field; lists of them are handled
            raise TypeError(f"no form input for the union at {name}")
        return self.scalar(kind, name, required, hint, common, shape.required)

    def scalar(
        self, shape: Scalar, name: str, required: bool, hint: str, common: dict[str, Any], needed: bool
    ) -> Field:
        value = _first(self.values.get(name))
        if shape.values is not None:
            # "None" only where leaving it unset is an answer; inside an optional part it is not.
            blank = Option("", self.words.form["choose" if needed else "none"], value == "")
            choices = (Option(v, self.words.word(v), v == value) for v in shape.values)
            return Field(input="select", required=required, hint=hint, options=(blank, *choices), **common)
        if shape.type == "boolean":
            # Unticked boxes are not submitted, so a required bool is never required in the browser.
            return Field(input="checkbox", value="true" if value.strip().lower() in _TRUE else "", **common)
        if shape.type in ("integer", "number"):
            return Field(
                input="number",
                required=required,
                hint=hint,
                value=value,
                min=_number_text(shape.minimum),
                max=_number_text(shape.maximum),
                step="1" if shape.type == "integer" else "any",
                **common,
            )
        if shape.type == "date":
            return Field(input="date", required=required, hint=hint, value=value, **common)
        long_text = shape.pattern is None and (shape.max_length or 0) > _LONG_TEXT
        return Field(
            input="url" if _is_url(shape) else "textarea" if long_text else "text",
            required=required,
            hint=hint,
            value=value,
            pattern=_browser_pattern(shape.pattern) if shape.pattern else None,
            minlength=shape.min_length,
            maxlength=shape.max_length,
            **common,
        )

    def list_field(
        self, shape: ListOf, path: tuple[str, ...], required: bool, hint: str, common: dict[str, Any]
    ) -> Field:
        name = ".".join(path)
        item = _entry_shape(shape, name)
        raw = self.values.get(name)
        if isinstance(item, Record):
            numbers = sorted(self.rows.get(name, ()))
            limit = shape.max_length if shape.max_length is not None else len(numbers) + EMPTY_ROWS
            numbers = numbers[:limit]
            start = numbers[-1] + 1 if numbers else 0
            numbers += range(start, start + min(EMPTY_ROWS, limit - len(numbers)))
            label = self.words.label(path)
            rows = tuple(
                Field(
                    name=f"{name}.{n}",
                    id=f"f-{name.replace('.', '-')}-{n}",
                    label=self.words.form["row"].format(label=label, n=n + 1),
                    input="fieldset",
                    errors=tuple(self.errors.get(f"{name}.{n}", ())),
                    # Rows may be left empty, so nothing in them is required by the browser.
                    children=tuple(self.field(f, (*path, str(n), f.name), False) for f in item.fields),
                )
                for n in numbers
            )
            return Field(input="repeat", hint=self.words.form["repeat"], children=rows, **common)
        if isinstance(item, UnionOf):
            return Field(input="json", value=_first(raw), hint=self.words.join(hint, "json_items"), **common)
        if item.values is not None:
            ticked = _all(raw)
            options = tuple(Option(v, self.words.word(v), v in ticked) for v in item.values)
            return Field(input="checkboxes", hint=hint, options=options, **common)
        return Field(
            input="lines",
            required=required,
            value=_first(raw),
            hint=self.words.join(hint, "one_per_line"),
            **common,
        )


def _row_numbers(names: Iterable[str]) -> dict[str, set[int]]:
    """List name -> the row numbers used under it (``targets.3.date`` gives ``targets``: 3)."""
    found: dict[str, set[int]] = {}
    for name in names:
        parts = name.split(".")
        for at, part in enumerate(parts[1:], start=1):
            if part.isdigit() and part.isascii() and len(part) <= _MAX_ROW_DIGITS:
                found.setdefault(".".join(parts[:at]), set()).add(int(part))
    return found


class _Words:
    def __init__(self, lang: str) -> None:
        self.fields = FIELD_WORDS[lang]
        self.form = FORM_WORDS[lang]

    def join(self, hint: str, key: str) -> str:
        """A hint followed by another sentence (Chinese puts no space between sentences)."""
        return self.form["gap"].join(s for s in (hint, self.form[key]) if s)

    def word(self, key: str) -> str:
        return self.fields.get(key, key.replace("_", " "))

    def label(self, path: Iterable[str]) -> str:
        """A field's label: qualified by its enclosing field where that reads better (``approval.by``)."""
        names = [p for p in path if not p.isdigit()]
        if len(names) >= 2 and f"{names[-2]}.{names[-1]}" in self.fields:
            return self.fields[f"{names[-2]}.{names[-1]}"]
        return self.word(names[-1])


# --- values ---------------------------------------------------------------------------------


def item_values(item_json: Mapping[str, Any]) -> dict[str, FormValue]:
    """The form values of a stored item (its JSON form), for editing it."""
    values: dict[str, FormValue] = {}
    _record_values(_record(str(item_json.get("kind"))), item_json, "", values, top=True)
    return values


def form_values(form: Mapping[str, list[str]] | list[tuple[str, str]]) -> dict[str, list[str]]:
    """Submitted form data as ``item_form`` values (to show the form again with its errors)."""
    if isinstance(form, Mapping):
        return {str(k): [str(v) for v in vs] for k, vs in form.items()}
    values: dict[str, list[str]] = {}
    for name, value in form:
        values.setdefault(name, []).append(value)
    return values


def _record_values(
    record: Record, data: Mapping[str, Any], prefix: str, out: dict[str, FormValue], top: bool = False
) -> None:
    for f in record.fields:
        if (top and f.name in _SKIPPED) or data.get(f.name) is None:
            continue
        name = prefix + f.name
        value = data[f.name]
        shape = f.shape
        if isinstance(shape, Record):
            _record_values(shape, value, name + ".", out)
        elif isinstance(shape, Scalar):
            if shape.type != "boolean" or value is True:
                out[name] = _scalar_text(value)
        elif not value or isinstance(shape, UnionOf):
            continue
        elif isinstance(item := _entry_shape(shape, name), Record):
            for n, row in enumerate(value):
                _record_values(item, row, f"{name}.{n}.", out)
        elif isinstance(item, UnionOf):
            out[name] = json.dumps(value, ensure_ascii=False, indent=2)
        elif item.values is not None:
            out[name] = [str(v) for v in value]
        else:
            out[name] = "\n".join(_scalar_text(v) for v in value)


def _scalar_text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else ""
    if isinstance(value, float):
        return _number_text(value) or ""
    return str(value)


# --- parsing --------------------------------------------------------------------------------


def parse_item(
    kind: str,
    form: Mapping[str, list[str]] | list[tuple[str, str]],
    attachments: list[dict[str, Any]],
    lang: str = "en",
) -> tuple[dict[str, Any] | None, dict[str, list[str]]]:
    """The item a submitted form describes, as JSON (``model_dump(mode="json")``), and no errors;
    or ``None`` and the errors by field name (``""``: the item as a whole), in ``lang``.

    Values are converted by the field's type, then the kind's model validates them strictly.
    Unknown names are ignored; a list reads at most one row more than its model allows (enough
    to report it too long). Raises ``ValueError`` only for an unknown ``kind``.
    """
    if kind not in KIND_MODELS:
        raise ValueError(f"unknown evidence kind {kind!r}; known: {', '.join(KINDS)}")
    reader = _Reader(form_values(form), lang if lang in FORM_WORDS else "en")
    record = _record(kind)
    data, _ = reader.record(record, "", top=True)
    data["kind"] = kind
    data["attachments"] = attachments
    try:
        item = KIND_MODELS[kind].model_validate_json(json.dumps(data))
    except ValidationError as invalid:
        for error in invalid.errors():
            name, message = reader.explain(record, error)
            if name not in reader.unconverted:  # already told why it could not be read
                reader.add(name, message)
    if reader.errors:
        return None, reader.errors
    return item.model_dump(mode="json"), {}


_ABSENT = object()


class _Reader:
    def __init__(self, form: dict[str, list[str]], lang: str) -> None:
        self.form = form
        self.words = _Words(lang)
        self.rows = _row_numbers(form.keys())
        self.errors: dict[str, list[str]] = {}
        self.unconverted: set[str] = set()
        self.row_of: dict[str, list[int]] = {}
        """List name -> the submitted row number of each row kept (empty rows are dropped)."""

    def add(self, name: str, message: str) -> None:
        self.errors.setdefault(name, []).append(message)

    def fail(self, name: str, word: str, entry: int | None = None, **values: object) -> None:
        """An error for a value that could not be read (``entry``: which line of a list)."""
        self.unconverted.add(name)
        where = [self.where(name)]
        if entry is not None:
            where.append(self.words.form["entry"].format(n=entry + 1))
        message = self.words.form[word].format(**values)
        self.add(name, self.words.form["separator"].join([*where, message]))

    def where(self, name: str) -> str:
        """The field's labels from the outside in (``Targets 3 / Value``)."""
        parts = name.split(".")
        shown: list[str] = []
        for at, part in enumerate(parts):
            if part.isdigit():
                shown[-1] = self.words.form["row"].format(label=shown[-1], n=int(part) + 1)
            else:
                shown.append(self.words.label(parts[: at + 1]))
        return " / ".join(shown)

    def record(self, record: Record, prefix: str, top: bool = False) -> tuple[dict[str, Any], bool]:
        """The record's values, and whether anything in it was filled in."""
        data: dict[str, Any] = {}
        filled = False
        for f in record.fields:
            if top and f.name in _SKIPPED:
                continue
            value, used = self.value(f, prefix + f.name)
            filled = filled or used
            if value is not _ABSENT:
                data[f.name] = value
        return data, filled

    def value(self, field: FieldShape, name: str) -> tuple[Any, bool]:
        shape = field.shape
        if isinstance(shape, Record):
            data, filled = self.record(shape, name + ".")
            # An optional record left empty is absent; a required one goes in, for its errors.
            return (data if filled or field.required else _ABSENT), filled
        if isinstance(shape, ListOf):
            return self.list_value(shape, name)
        if isinstance(shape, UnionOf):
            raise TypeError(f"no form input for the union at {name}")
        raw = _first(self.form.get(name))
        if shape.type == "boolean":
            # An unticked box is not submitted: absent means false.
            if raw.strip().lower() not in _TRUE + _FALSE:
                self.fail(name, "not_bool")
                return _ABSENT, True
            return raw.strip().lower() in _TRUE, raw.strip().lower() in _TRUE
        if not raw.strip():
            return _ABSENT, False
        return self.convert(shape, raw, name), True

    def convert(self, shape: Scalar, raw: str, name: str, entry: int | None = None) -> Any:
        """A non-empty string as the scalar's JSON value (``_ABSENT`` after an error)."""
        if shape.type not in ("integer", "number"):
            return raw  # dates stay ISO strings: strict JSON validation reads them
        word = "not_whole" if shape.type == "integer" else "not_number"
        try:
            number: float = int(raw.strip()) if shape.type == "integer" else float(raw.strip())
        except ValueError:  # also the integers too long to convert
            number = math.nan
        else:
            if not math.isfinite(number):
                word = "not_finite"
        if not math.isfinite(number):
            self.fail(name, word, entry)
            return _ABSENT
        return number

    def list_value(self, shape: ListOf, name: str) -> tuple[Any, bool]:
        cap = shape.max_length + 1 if shape.max_length is not None else None
        item = _entry_shape(shape, name)
        found: list[Any] = []
        if isinstance(item, Record):
            kept: list[int] = []
            for n in sorted(self.rows.get(name, ())):
                row, filled = self.record(item, f"{name}.{n}.")
                if filled:
                    found.append(row)
                    kept.append(n)
                if cap is not None and len(found) >= cap:
                    break
            self.row_of[name] = kept
        elif isinstance(item, UnionOf):
            text = _first(self.form.get(name))
            if not text.strip():
                return _ABSENT, False
            try:
                parsed = json.loads(text)
            except (ValueError, RecursionError) as bad:
                self.fail(name, "bad_json", detail=str(bad) if isinstance(bad, ValueError) else "too deep")
                return _ABSENT, True
            if not isinstance(parsed, list):
                self.fail(name, "not_list")
                return _ABSENT, True
            if _depth(parsed) > _MAX_JSON_DEPTH:
                self.fail(name, "bad_json", detail=f"nested more than {_MAX_JSON_DEPTH} deep")
                return _ABSENT, True
            return parsed, True
        elif item.values is not None:
            found = [v for v in self.form.get(name, []) if v.strip()][:cap]
        else:
            lines = [line.strip() for line in _first(self.form.get(name)).splitlines()]
            for line in [line for line in lines if line][:cap]:
                value = self.convert(item, line, name, entry=len(found))
                if value is not _ABSENT:
                    found.append(value)
        # Empty lists are left out: the default applies, or "required" names the field.
        return (found, True) if found else (_ABSENT, False)

    def explain(self, record: Record, error: ErrorDetails) -> tuple[str, str]:
        """The form name an error belongs to, and its message in plain words."""
        loc = error["loc"]
        shape: Shape = record
        parts: list[str] = []
        at = 0
        while at < len(loc):
            step = loc[at]
            if isinstance(shape, Record) and isinstance(step, str):
                inner = shape.field(step)
                if inner is None or (not parts and step in _SKIPPED):
                    break
                parts.append(step)
                shape = inner.shape
            elif isinstance(shape, ListOf) and isinstance(shape.item, Record) and isinstance(step, int):
                kept = self.row_of.get(".".join(parts), [])
                parts.append(str(kept[step] if step < len(kept) else step))
                shape = shape.item
            else:
                break
            at += 1
        name = ".".join(parts)
        rest = [
            self.words.form["entry"].format(n=step + 1) if isinstance(step, int) else self.words.word(step)
            for step in loc[at:]
        ]
        where = [self.where(name)] if name else []
        sep = self.words.form["separator"]
        return name, sep.join([*where, *([" / ".join(rest)] if rest else []), self.plain(error)])

    def plain(self, error: ErrorDetails) -> str:
        """Pydantic's message in plain words (a model's own ``ValueError`` text is kept as is)."""
        kind = error["type"]
        context = error.get("ctx") or {}
        words = self.words.form
        simple = {
            "missing": "missing",
            "finite_number": "not_finite",
            "int_type": "not_whole",
            "int_from_float": "not_whole",
            "float_type": "not_number",
            "bool_type": "not_bool",
            "string_pattern_mismatch": "pattern",
            "literal_error": "choice",
            "extra_forbidden": "unknown_field",
            "list_type": "not_list",
            "dict_type": "not_object",
            "model_type": "not_object",
        }
        if kind in simple:
            return words[simple[kind]]
        if kind.startswith("date_"):
            return words["not_date"]
        if kind == "string_too_short":
            least = context.get("min_length", 1)
            return words["empty"] if least == 1 else words["too_short_text"].format(n=least)
        bounds = {
            "string_too_long": ("too_long_text", "max_length"),
            "too_short": ("too_few", "min_length"),
            "too_long": ("too_many", "max_length"),
            "greater_than_equal": ("min", "ge"),
            "less_than_equal": ("max", "le"),
        }
        if kind in bounds and bounds[kind][1] in context:
            word, key = bounds[kind]
            bound = context[key]
            return words[word].format(n=_number_text(bound) if isinstance(bound, float) else bound)
        return str(error["msg"]).removeprefix("Value error, ")


# --- helpers ----------------------------------------------------------------------------------


def _record(kind: str) -> Record:
    if kind not in KIND_MODELS:
        raise ValueError(f"unknown evidence kind {kind!r}; known: {', '.join(KINDS)}")
    return shape_of(KIND_MODELS[kind])


def _entry_shape(shape: ListOf, name: str) -> Record | UnionOf | Scalar:
    if isinstance(shape.item, ListOf):  # no model has a list of lists
        raise TypeError(f"no form input for the list of lists at {name}")
    return shape.item


def _depth(value: object) -> int:
    """How deeply lists and objects nest in a JSON value (iterative: no recursion limit)."""
    deepest = 0
    stack: list[tuple[object, int]] = [(value, 1)]
    while stack:
        found, level = stack.pop()
        if isinstance(found, dict):
            found = list(found.values())
        if isinstance(found, list):
            deepest = max(deepest, level)
            stack.extend((inner, level + 1) for inner in found)
    return deepest


def _first(value: object) -> str:
    if isinstance(value, list | tuple):
        return str(value[0]) if value else ""
    return "" if value is None else str(value)


def _all(value: object) -> list[str]:
    if isinstance(value, list | tuple):
        return [str(v) for v in value]
    return [str(value)] if value else []


def _number_text(value: float | None) -> str | None:
    """A number as people write it: ``40``, not ``40.0``; exact (``repr``) otherwise."""
    if value is None:
        return None
    if float(value).is_integer() and abs(value) < 1e16:
        return str(int(value))
    return repr(float(value))


def _is_url(shape: Scalar) -> bool:
    return shape.pattern is not None and shape.pattern.startswith("^https?://")


_CLASS = re.compile(r"\[(\^?)((?:\\.|[^\]\\])*)\]")


def _browser_pattern(pattern: str) -> str:
    """``pattern`` for the HTML attribute, which browsers compile with the ``v`` flag: there a
    literal ``-`` at the edge of a character class must be escaped, or the pattern is ignored."""

    def escape(found: re.Match[str]) -> str:
        negate, body = found.group(1), found.group(2)
        if body.startswith("-"):
            body = "\\" + body
        if body.endswith("-") and not body.endswith("\\-"):
            body = body[:-1] + "\\-"
        return f"[{negate}{body}]"

    return _CLASS.sub(escape, pattern)
