"""The XML form of an evidence pack, mapped one to one onto the pydantic model.

Mapping (derived from ``shapes``): a record is an element with one child element per field
(absent when the value is None or an empty list); a list is a wrapper element with one
``item`` child per entry, or, for evidence items, one child per item named by its kind
(``<document>``, ``<kpi>``...); scalars are text (ISO dates, ``true``/``false``, numbers in
their shortest exact form). All elements are in the namespace :data:`NAMESPACE`.

Reading is safe by construction: no DTD is loaded, no entity is expanded, nothing is fetched
from the network, and any document carrying a DOCTYPE is refused outright (that covers the
billion-laughs expansion, external entities reading local files, and external DTDs).
Documents are checked against the shipped XSD before they are converted, and every problem
keeps its line number.
"""

from __future__ import annotations

import datetime as dt
from functools import cache
from importlib import resources
from typing import Any

from lxml import etree

from engine.errors import Problem
from engine.sourcemap import PathKey, SourceDoc, dotted
from evidence_schemas.pack import EvidencePack
from evidence_schemas.shapes import ListOf, Record, Scalar, Shape, UnionOf, shape_of

NAMESPACE = "urn:assay:evidence-pack:1"
ROOT = "pack"
ITEM = "item"
XSD_FILE = "evidence-pack.xsd"


def _q(name: str) -> str:
    return f"{{{NAMESPACE}}}{name}"


# --- writing ------------------------------------------------------------------------------


def to_xml(pack: EvidencePack) -> bytes:
    """The pack as an XML document (UTF-8, indented)."""
    root = etree.Element(_q(ROOT), nsmap={None: NAMESPACE})
    _fill(root, shape_of(EvidencePack), pack.model_dump(mode="json"), skip=None)
    etree.indent(root, space="  ")
    text: bytes = etree.tostring(root, xml_declaration=True, encoding="utf-8")
    return text + b"\n"


def _fill(element: etree._Element, record: Record, data: dict[str, Any], skip: str | None) -> None:
    for field in record.fields:
        value = data.get(field.name)
        if field.name == skip or value is None or value == []:
            continue
        _put(etree.SubElement(element, _q(field.name)), field.shape, value)


def _put(element: etree._Element, shape: Shape, value: Any) -> None:
    if isinstance(shape, Scalar):
        element.text = _text(shape, value)
    elif isinstance(shape, Record):
        _fill(element, shape, value, skip=None)
    elif isinstance(shape, ListOf):
        for entry in value:
            if isinstance(shape.item, UnionOf):
                tag = entry[shape.item.tag]
                member = dict(shape.item.members)[tag]
                _fill(etree.SubElement(element, _q(tag)), member, entry, skip=shape.item.tag)
            else:
                _put(etree.SubElement(element, _q(ITEM)), shape.item, entry)
    else:
        raise TypeError(f"a union must sit in a list: {shape!r}")


def _text(shape: Scalar, value: Any) -> str:
    if shape.type == "boolean":
        return "true" if value else "false"
    if shape.type == "number":
        return repr(float(value))  # shortest text that reads back as the same double
    return str(value)


# --- reading ------------------------------------------------------------------------------


def parser() -> etree.XMLParser:
    """An XML parser that loads no DTD, expands no entity and never touches the network."""
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_blank_text=False,
    )


@cache
def schema() -> etree.XMLSchema:
    """The shipped XSD (``evidence_schemas/evidence-pack.xsd``)."""
    text = resources.files("evidence_schemas").joinpath(XSD_FILE).read_bytes()
    return etree.XMLSchema(etree.fromstring(text, parser()))


def from_xml(data: bytes, name: str) -> SourceDoc:
    """Parse and check an XML manifest; the document's data is ready for the pack model.

    Problems (syntax, DOCTYPE, XSD) are returned in the document, each with its line.
    """
    try:
        root = etree.fromstring(data, parser())
    except etree.XMLSyntaxError as exc:
        line = exc.lineno if exc.lineno else None
        return SourceDoc(name, None, problems=[Problem(name, line, "", f"not well-formed XML: {exc.msg}")])
    doc = SourceDoc(name, None)
    if root.getroottree().docinfo.doctype:
        doc.problems.append(
            Problem(name, 1, "", "DOCTYPE declarations are not allowed (no DTDs, no entities)")
        )
        return doc
    if root.tag != _q(ROOT):
        doc.problems.append(
            Problem(name, root.sourceline, "", f'the root must be <{ROOT} xmlns="{NAMESPACE}">')
        )
        return doc
    doc.data = _read_record(root, shape_of(EvidencePack), (), None, tag=None)
    doc.locate = lambda: _lines(root)
    checker = schema()
    if not checker.validate(root):
        for error in checker.error_log:
            line = error.line or None
            doc.problems.append(Problem(name, line, _path_at(doc, line), _xsd_message(error.message)))
    return doc


def _path_at(doc: SourceDoc, line: int | None) -> str:
    """The deepest field path starting on ``line`` (XSD errors only carry a line)."""
    doc.line_of(())  # builds the line map
    candidates = [path for path, at in doc.lines.items() if at == line]
    return dotted(max(candidates, key=len)) if candidates else ""


def _xsd_message(message: str) -> str:
    return message.replace(f"{{{NAMESPACE}}}", "")


def _lines(root: etree._Element) -> dict[PathKey, int]:
    """The line of every field, from a second walk over the tree (only when needed)."""
    lines: dict[PathKey, int] = {}
    _read_record(root, shape_of(EvidencePack), (), lines, tag=None)
    return lines


Lines = dict[PathKey, int] | None  # where to record lines, or None not to


def _read_record(
    element: etree._Element, record: Record, path: PathKey, lines: Lines, tag: tuple[str, str] | None
) -> dict[str, Any]:
    if lines is not None:
        lines.setdefault(path, element.sourceline or 0)
    result: dict[str, Any] = {}
    for child in _elements(element):
        name = etree.QName(child).localname
        child_path = (*path, name)
        if lines is not None:
            lines.setdefault(child_path, child.sourceline or 0)
        field = record.field(name)
        # An unknown element is kept as text, so the model reports it as an unknown field.
        result[name] = child.text if field is None else _read(child, field.shape, child_path, lines)
    if tag is not None:
        result[tag[0]] = tag[1]
    return result


def _read(element: etree._Element, shape: Shape, path: PathKey, lines: Lines) -> Any:
    if isinstance(shape, Scalar):
        return _scalar(shape, element.text or "")
    if isinstance(shape, Record):
        return _read_record(element, shape, path, lines, tag=None)
    if isinstance(shape, ListOf):
        entries = []
        for index, child in enumerate(_elements(element)):
            entry_path = (*path, index)
            if lines is not None:
                lines.setdefault(entry_path, child.sourceline or 0)
            if isinstance(shape.item, UnionOf):
                kind = etree.QName(child).localname
                member = dict(shape.item.members).get(kind)
                if member is None:
                    entries.append({shape.item.tag: kind})
                    continue
                entries.append(_read_record(child, member, entry_path, lines, tag=(shape.item.tag, kind)))
            else:
                entries.append(_read(child, shape.item, entry_path, lines))
        return entries
    raise TypeError(f"a union must sit in a list: {shape!r}")


def _elements(element: etree._Element) -> list[etree._Element]:
    return [child for child in element if isinstance(child.tag, str)]  # skip comments and PIs


def _scalar(shape: Scalar, text: str) -> Any:
    """Text to a typed value; text that does not convert stays text, for the model to reject."""
    if shape.type == "string":
        return text
    value = text.strip()
    try:
        if shape.type == "integer":
            return int(value)
        if shape.type == "number":
            return float(value)
        if shape.type == "date":
            return dt.date.fromisoformat(value)
    except ValueError:
        return text
    return {"true": True, "1": True, "false": False, "0": False}.get(value, text)
