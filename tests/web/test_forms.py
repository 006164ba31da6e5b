"""Evidence-item forms generated from the item models: every field listed, sample items round-trip
through the form, bad input is reported on the field it concerns, the macro renders accessibly."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from functools import cache
from html.parser import HTMLParser
from typing import Any

import pytest
from jinja2 import Environment, PackageLoader, select_autoescape
from pydantic import TypeAdapter

import examples
from evidence_schemas.items import KIND_MODELS, EvidenceItem
from evidence_schemas.shapes import ListOf, Record, UnionOf, shape_of
from web.fieldwords import FIELD_WORDS, FORM_WORDS
from web.forms import (
    EMPTY_ROWS,
    KINDS,
    Field,
    FormValue,
    form_values,
    item_form,
    item_values,
    parse_item,
)

_ITEM = TypeAdapter(EvidenceItem)
_TEMPLATES = Environment(loader=PackageLoader("web", "templates"), autoescape=select_autoescape(["html"]))


@cache
def _sample_items() -> tuple[dict[str, Any], ...]:
    """Every item of the bundled sample packs written as JSON, in its canonical JSON form."""
    items: list[dict[str, Any]] = []
    for name in (*examples.SAMPLES, examples.Y4904_SAMPLE):
        path = examples.sample_pack(name) / "pack.json"
        if path.exists():
            for item in json.loads(path.read_text(encoding="utf-8"))["items"]:
                items.append(_ITEM.validate_json(json.dumps(item)).model_dump(mode="json"))
    return tuple(items)


def _sample(kind: str) -> dict[str, Any]:
    """The first sample item of a kind, with every optional part filled where a sample has them."""
    items = [item for item in _sample_items() if item["kind"] == kind]
    return max(items, key=lambda item: sum(1 for value in item.values() if value))


def _pairs(values: dict[str, FormValue]) -> list[tuple[str, str]]:
    """Form values as a browser submits them: one pair per value, ticked boxes repeated."""
    pairs: list[tuple[str, str]] = []
    for name, value in values.items():
        pairs.extend((name, v) for v in value) if isinstance(value, list) else pairs.append((name, value))
    return pairs


def _walk(fields: list[Field] | tuple[Field, ...]) -> Iterator[Field]:
    for field in fields:
        yield field
        yield from _walk(field.children)


def _submit(kind: str, changes: dict[str, str | None], lang: str = "en") -> dict[str, list[str]]:
    """The errors of a sample item's form submitted with some values changed (None: left out)."""
    item = _sample(kind)
    assert all(name.split(".")[0] in item for name in changes)
    values = item_values(item)
    for name, value in changes.items():
        if value is None:
            values.pop(name, None)
        else:
            values[name] = value
    parsed, errors = parse_item(kind, _pairs(values), item["attachments"], lang)
    assert parsed is None
    return errors


# --- vocabulary -------------------------------------------------------------------------------


def _model_words() -> set[str]:
    """Every field name, kind and option value of the item models and the models they hold."""
    words: set[str] = set()
    seen: set[str] = set()

    def visit(record: Record) -> None:
        if record.name in seen:
            return
        seen.add(record.name)
        for field in record.fields:
            words.add(field.name)
            shape = field.shape
            while isinstance(shape, ListOf):
                shape = shape.item
            if isinstance(shape, Record):
                visit(shape)
            elif isinstance(shape, UnionOf):
                for _, member in shape.members:
                    visit(member)
            elif shape.values:
                words.update(shape.values)

    for model in KIND_MODELS.values():
        visit(shape_of(model))
    return words | set(KIND_MODELS)


def test_kinds_are_the_union_s_kinds_in_order() -> None:
    assert tuple(KIND_MODELS) == KINDS
    assert KINDS[0] == "document"
    assert KINDS[-1] == "commitment"


def test_both_languages_label_every_field_kind_and_option() -> None:
    assert set(FIELD_WORDS) == {"en", "zh"} == set(FORM_WORDS)
    assert set(FIELD_WORDS["en"]) == set(FIELD_WORDS["zh"])
    assert set(FORM_WORDS["en"]) == set(FORM_WORDS["zh"])
    needed = _model_words()
    assert {"doc_type", "published", "level_5", "kpi", "partly_funded"} <= needed
    assert needed - set(FIELD_WORDS["en"]) == set()
    for lang in ("en", "zh"):
        assert all(FIELD_WORDS[lang].values())
        assert all(FORM_WORDS[lang][key] for key in FORM_WORDS[lang] if key != "gap")
    # Chinese labels are translations, not English left in place (names of standards aside).
    untranslated = {key for key, text in FIELD_WORDS["zh"].items() if re.fullmatch(r"[A-Za-z ()_-]+", text)}
    assert untranslated == set()


# --- the form lists the model -------------------------------------------------------------------


def _check_lists_record(fields: tuple[Field, ...] | list[Field], record: Record, prefix: str) -> None:
    assert [f.name for f in fields] == [prefix + f.name for f in record.fields]
    for field, shape in zip(fields, record.fields, strict=True):
        assert field.label
        if isinstance(shape.shape, Record):
            assert field.input == "fieldset"
            _check_lists_record(field.children, shape.shape, field.name + ".")
        elif isinstance(shape.shape, ListOf) and isinstance(shape.shape.item, Record):
            assert field.input == "repeat"
            assert len(field.children) == EMPTY_ROWS  # an empty form offers empty rows
            for n, row in enumerate(field.children):
                assert row.input == "fieldset"
                assert row.name == f"{field.name}.{n}"
                _check_lists_record(row.children, shape.shape.item, row.name + ".")


@pytest.mark.parametrize("kind", KINDS)
def test_the_form_lists_every_field_of_the_model(kind: str) -> None:
    record = shape_of(KIND_MODELS[kind])
    kept = Record(
        record.name,
        record.model,
        tuple(f for f in record.fields if f.name not in ("kind", "attachments")),
        record.description,
    )
    form = item_form(kind, None, {}, "en")
    _check_lists_record(form, kept, "")
    assert form[0].name == "id"
    assert form[0].input == "text"
    assert form[0].required
    assert all(f.name not in ("kind", "attachments") for f in _walk(form))


def test_inputs_follow_the_field_types() -> None:
    kpi = {f.name: f for f in _walk(item_form("kpi", None, {}, "en"))}
    assert kpi["direction"].input == "select"
    assert [o.value for o in kpi["direction"].options] == ["", "higher_is_better", "lower_is_better"]
    assert kpi["direction"].required
    assert kpi["signal"].options[0].label == "None"  # optional: can be left unset
    assert kpi["baseline.value"].input == "number"
    assert (kpi["baseline.value"].step, kpi["baseline.value"].min) == ("any", "-1000000000000")
    assert not kpi["baseline.value"].required  # the baseline as a whole is optional
    assert kpi["baseline.value"].hint == "Required if this part is filled in."
    assert (kpi["review.every_days"].step, kpi["review.every_days"].max) == ("1", "3660")
    assert kpi["period.start"].input == "date"
    assert kpi["dashboard.url"].input == "url"
    assert kpi["dashboard.public"].input == "checkbox"
    assert kpi["offered_for"].input == "lines"
    assert kpi["title"].maxlength == 300
    assert kpi["baseline.value"].help == "Baseline value, in the record's unit."
    document = {f.name: f for f in _walk(item_form("document", None, {}, "zh"))}
    assert document["outcome_areas"].input == "checkboxes"
    assert [o.label for o in document["outcome_areas"].options] == ["经济", "社会", "环境"]
    assert document["publication.status"].label == "发布状态"
    assert document["title"].help_lang == "en"  # descriptions are the schema's, in English
    commitment = {f.name: f for f in _walk(item_form("commitment", None, {}, "en"))}
    assert commitment["promises"].input == "json"


def test_patterns_are_valid_for_the_browser_and_still_match() -> None:
    form = {f.name: f for f in _walk(item_form("document", None, {}, "en"))}
    pattern = form["id"].pattern
    assert pattern == r"^[A-Za-z0-9][A-Za-z0-9._:\-]{0,63}$"  # '-' escaped for the v flag
    for item in _sample_items():
        assert re.fullmatch(pattern, item["id"])
    assert not re.fullmatch(pattern, "-starts-with-dash")
    assert form["languages"].input == "lines"


# --- round trip ---------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_sample_items_round_trip_through_the_form(kind: str) -> None:
    items = [item for item in _sample_items() if item["kind"] == kind]
    assert items
    for item in items:
        parsed, errors = parse_item(kind, _pairs(item_values(item)), item["attachments"])
        assert errors == {}
        assert parsed == item


def test_a_stored_item_fills_its_form() -> None:
    item = _sample("kpi")
    assert len(item["observations"]) >= 3
    form = {f.name: f for f in _walk(item_form("kpi", item_values(item), {}, "en"))}
    assert form["title"].value == item["title"]
    assert form["offered_for"].value == "\n".join(item["offered_for"])
    observations = form["observations"].children
    assert len(observations) == len(item["observations"]) + EMPTY_ROWS
    assert observations[0].children[1].value not in ("", None)
    assert observations[-1].children[0].value == ""
    assert observations[-1].label == f"Observations {len(observations)}"


def test_empty_optional_values_are_absent_and_empty_rows_dropped() -> None:
    item = _sample("document")
    assert item["approval"] is not None
    values = item_values(item)
    for name in [n for n in values if n.startswith("approval.")]:
        values[name] = ""
    values["target_groups"] = "\n  \n"
    pairs = [*_pairs(values), ("kind", "kpi"), ("attachments", "x"), ("nonsense.3.x", "1")]
    parsed, errors = parse_item("document", pairs, item["attachments"])
    assert errors == {}
    assert parsed is not None
    assert parsed["approval"] is None
    assert parsed["kind"] == "document"  # the form's kind, not a submitted one
    assert "target_groups" not in parsed  # left out of the canonical form when empty
    kpi = _sample("kpi")
    values = item_values(kpi)
    values |= {"targets.0.date": "", "targets.0.value": "", "targets.7.date": "2031-01-01"}
    values["targets.7.value"] = "5"
    parsed, errors = parse_item("kpi", _pairs(values), kpi["attachments"])
    assert errors == {}
    assert parsed is not None
    assert parsed["targets"][-1] == {"date": "2031-01-01", "value": 5.0}
    assert len(parsed["targets"]) == len(kpi["targets"])  # one row emptied, one added


def test_a_commitment_s_promises_and_updates_are_json() -> None:
    commitment = next(i for i in _sample_items() if i["kind"] == "commitment" and i["promises"])
    updated = {**_sample("kpi"), "attachments": []}
    values = item_values({**commitment, "updates": [updated]})
    assert json.loads(str(values["updates"])) == [updated]
    parsed, errors = parse_item("commitment", _pairs(values), commitment["attachments"])
    assert errors == {}
    assert parsed is not None
    assert parsed["updates"] == [updated]
    assert parsed["promises"] == commitment["promises"]


# --- errors -------------------------------------------------------------------------------------


def test_a_non_number_in_a_number_field_is_an_error_on_that_field() -> None:
    errors = _submit("kpi", {"baseline.value": "abc", "review.every_days": "1.5"})
    assert errors["baseline.value"] == ["Baseline / Value: must be a number"]
    assert errors["review.every_days"] == ["Review / Review interval (days): must be a whole number"]
    assert set(errors) == {"baseline.value", "review.every_days"}
    assert _submit("kpi", {"baseline.value": "nan"})["baseline.value"] == [
        "Baseline / Value: must be a finite number"
    ]
    assert _submit("kpi", {"dashboard.public": "maybe"}) == {
        "dashboard.public": ["Dashboard / Public: must be ticked or left unticked"]
    }
    assert _submit("kpi", {"baseline.value": "2e12"})["baseline.value"] == [
        "Baseline / Value: must be at most 1000000000000"
    ]


def test_a_missing_required_field_is_named() -> None:
    errors = _submit("document", {"title": None, "publication.status": ""})
    assert errors == {
        "title": ["Title: is required"],
        "publication.status": ["Publication / Publication status: is required"],
    }
    assert _submit("document", {"offered_for": " \n"}) == {
        "offered_for": ["Offered for characteristics: is required"]
    }


def test_a_bad_date_is_named() -> None:
    errors = _submit("document", {"collected": "2026-02-30", "period.end": "next year"})
    assert errors["collected"] == ["Collected on: must be a date written YYYY-MM-DD"]
    assert errors["period.end"] == ["Period covered / End: must be a date written YYYY-MM-DD"]


def test_a_model_validator_error_lands_on_its_part_or_the_item() -> None:
    errors = _submit("document", {"publication.status": "published", "publication.url": ""})
    assert errors == {"publication": ["Publication: a published document needs its public url"]}
    item = _sample("document")
    errors = _submit("document", {"submitted": "2000-01-01", "collected": item["collected"]})
    assert errors == {"": ["submitted is before collected"]}


def test_too_long_text_and_bad_forms_are_named() -> None:
    errors = _submit("document", {"title": "x" * 301, "id": "has space", "offered_for": "1.2\nx.y"})
    assert errors["title"] == ["Title: must be at most 300 characters"]
    assert errors["id"] == ["Id: is not in the expected form"]
    assert errors["offered_for"] == ["Offered for characteristics: entry 2: is not in the expected form"]
    errors = _submit("document", {"sdgs": "3\nthree", "outcome_areas": "economic"})
    assert errors == {"sdgs": ["Sustainable Development Goals: entry 2: must be a whole number"]}


def test_an_error_in_a_row_names_the_row_as_submitted() -> None:
    kpi = _sample("kpi")
    values = item_values(kpi)
    values |= {"targets.5.date": "2040-01-01", "targets.5.value": "-2e12"}
    values |= {"targets.0.date": "", "targets.0.value": ""}  # dropped, so rows renumber inside
    parsed, errors = parse_item("kpi", _pairs(values), kpi["attachments"])
    assert parsed is None
    assert errors == {"targets.5.value": ["Targets 6 / Value: must be at least -1000000000000"]}
    form = {f.name: f for f in _walk(item_form("kpi", form_values(_pairs(values)), errors, "en"))}
    assert form["targets.5.value"].errors == ("Targets 6 / Value: must be at least -1000000000000",)
    assert form["targets.5.value"].value == "-2e12"  # shown as typed
    assert form["targets"].children[-1].name == "targets.7"  # rows 6 and 7 offered empty


def test_lists_are_read_only_up_to_their_limit() -> None:
    kpi = _sample("kpi")
    values = {k: v for k, v in item_values(kpi).items() if not k.startswith("targets.")}
    for n in range(1_005):
        values[f"targets.{n}.date"] = f"{2030 + n // 365}-01-{1 + n % 28:02d}"
        values[f"targets.{n}.value"] = "1"
    values["offered_for"] = "\n".join(f"1.{n}" for n in range(45))
    values["targets.99999999999.value"] = "1"  # not a row number any list allows: ignored
    parsed, errors = parse_item("kpi", _pairs(values), kpi["attachments"])
    assert parsed is None
    assert errors["targets"] == ["Targets: may have at most 1000 entries"]
    assert errors["offered_for"] == ["Offered for characteristics: may have at most 40 entries"]


def test_bad_json_in_promises_is_named() -> None:
    errors = _submit("commitment", {"promises": "[{"})
    assert list(errors) == ["promises"]
    assert errors["promises"][0].startswith("Promised evidence: is not valid JSON (")
    nested = "[" * 900 + "]" * 900  # deeper than any item: refused before validation
    assert _submit("commitment", {"promises": nested}) == {
        "promises": ["Promised evidence: is not valid JSON (nested more than 32 deep)"]
    }
    assert _submit("commitment", {"promises": "[[]]"}) == {
        "promises": ["Promised evidence: entry 1: must be a JSON object"]
    }
    broken = [{k: v for k, v in _sample("kpi").items() if k != "unit"} | {"attachments": []}]
    errors = _submit("commitment", {"promises": json.dumps(broken)})
    assert errors == {"promises": ["Promised evidence: entry 1 / KPI record / Unit: is required"]}


def test_errors_come_in_the_form_s_language() -> None:
    errors = _submit("document", {"title": None, "collected": "x"}, lang="zh")
    assert errors["title"] == ["标题：为必填项"]
    assert errors["collected"] == ["收集日期：必须是 YYYY-MM-DD 格式的日期"]


def test_an_unknown_kind_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown evidence kind 'memo'"):
        parse_item("memo", [], [])
    with pytest.raises(ValueError, match="unknown evidence kind"):
        item_form("memo", None, {}, "en")


# --- rendering ----------------------------------------------------------------------------------


class _Page(HTMLParser):
    """The tags of a rendered form, with their attributes."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def _render(fields: list[Field]) -> str:
    template = _TEMPLATES.from_string('{% from "fields.html" import fields %}<form>{{ fields(form) }}</form>')
    return template.render(form=fields)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("lang", ["en", "zh"])
def test_the_macro_labels_every_input(kind: str, lang: str) -> None:
    item = _sample(kind)
    values: dict[str, FormValue] = {**item_values(item), "title": "<script>x</script>", "id": "a b"}
    parsed, errors = parse_item(kind, _pairs(values), item["attachments"], lang)
    assert parsed is None
    html = _render(item_form(kind, values, errors, lang))
    assert "style=" not in html
    assert "<script" not in html
    assert "&lt;script&gt;x&lt;/script&gt;" in html  # autoescaped
    page = _Page()
    page.feed(html)
    ids = [attrs.get("id") for _, attrs in page.tags if attrs.get("id")]
    assert len(ids) == len(set(ids))
    labelled = {attrs["for"] for tag, attrs in page.tags if tag == "label"}
    inputs = [attrs for tag, attrs in page.tags if tag in ("input", "select", "textarea")]
    assert inputs
    assert all(attrs["id"] in labelled for attrs in inputs)
    for tag, attrs in page.tags:
        for described in (attrs.get("aria-describedby") or "").split():
            assert described in ids, (tag, described)
    invalid = [attrs for attrs in inputs if attrs.get("aria-invalid") == "true"]
    assert [attrs["name"] for attrs in invalid] == ["id"]
    assert "f-id-error" in str(invalid[0]["aria-describedby"])
    assert html.count("<fieldset") == html.count("<legend>")
    assert 'class="error"' in html
    assert 'class="help"' in html


def test_repeat_rows_render_as_fieldsets() -> None:
    html = _render(item_form("kpi", item_values(_sample("kpi")), {}, "en"))
    assert '<fieldset class="repeat" id="f-targets"' in html
    assert "<legend>Targets 1</legend>" in html
    assert 'name="targets.0.date"' in html
    assert re.search(r'<textarea id="f-offered_for" name="offered_for"[^>]*>\n1\.', html)
