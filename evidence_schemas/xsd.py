"""The XSD of the XML form, generated from the evidence models.

The generated schema is committed as ``evidence_schemas/evidence-pack.xsd`` so that anyone can
validate a pack without Assay; a test fails when it no longer matches the models. Regenerate:

    python -m evidence_schemas.xsd > evidence_schemas/evidence-pack.xsd

It checks structure, types, enumerations, ranges and lengths; patterns and cross-field rules
(a published document needs its URL) are checked by the models, with line numbers too.
"""

from __future__ import annotations

import sys

from lxml import etree

from evidence_schemas.pack import EvidencePack
from evidence_schemas.shapes import FieldShape, ListOf, Record, Scalar, UnionOf, shape_of
from evidence_schemas.xmlform import ITEM, NAMESPACE, ROOT

XS = "http://www.w3.org/2001/XMLSchema"
_BASE = {
    "string": "xs:string",
    "integer": "xs:long",
    "number": "xs:double",
    "boolean": "xs:boolean",
    "date": "xs:date",
}


def _xs(name: str) -> str:
    return f"{{{XS}}}{name}"


def generate() -> bytes:
    """The XSD document."""
    root = etree.Element(
        _xs("schema"),
        nsmap={"xs": XS, None: NAMESPACE},
        targetNamespace=NAMESPACE,
        elementFormDefault="qualified",
    )
    _document(root, "Evidence pack for Assay (generated from the pydantic models; do not edit).")
    pack = shape_of(EvidencePack)
    etree.SubElement(root, _xs("element"), name=ROOT, type=pack.name)
    done: set[str] = set()
    _record_type(root, pack, None, done)
    etree.indent(root, space="  ")
    text: bytes = etree.tostring(root, xml_declaration=True, encoding="utf-8")
    return text + b"\n"


def _document(parent: etree._Element, text: str | None) -> None:
    if text:
        annotation = etree.SubElement(parent, _xs("annotation"))
        etree.SubElement(annotation, _xs("documentation")).text = text


def _record_type(schema: etree._Element, record: Record, skip: str | None, done: set[str]) -> None:
    if record.name in done:
        return
    done.add(record.name)
    complex_type = etree.SubElement(schema, _xs("complexType"), name=record.name)
    _document(complex_type, record.description)
    group = etree.SubElement(complex_type, _xs("all"))
    for field in record.fields:
        if field.name != skip:
            _field_element(schema, group, field, done)


def _field_element(schema: etree._Element, group: etree._Element, field: FieldShape, done: set[str]) -> None:
    element = etree.SubElement(group, _xs("element"), name=field.name)
    if not field.required:
        element.set("minOccurs", "0")
    _document(element, field.description)
    shape = field.shape
    if isinstance(shape, Record):
        element.set("type", shape.name)
        _record_type(schema, shape, None, done)
    elif isinstance(shape, Scalar):
        _scalar_type(element, shape)
    elif isinstance(shape, ListOf):
        wrapper = etree.SubElement(element, _xs("complexType"))
        if isinstance(shape.item, UnionOf):
            choice = etree.SubElement(wrapper, _xs("choice"), minOccurs="0", maxOccurs="unbounded")
            for tag, member in shape.item.members:
                etree.SubElement(choice, _xs("element"), name=tag, type=member.name)
                _record_type(schema, member, shape.item.tag, done)
        else:
            sequence = etree.SubElement(wrapper, _xs("sequence"))
            item = etree.SubElement(sequence, _xs("element"), name=ITEM, maxOccurs="unbounded")
            item.set("minOccurs", str(shape.min_length or 0))
            if isinstance(shape.item, Record):
                item.set("type", shape.item.name)
                _record_type(schema, shape.item, None, done)
            elif isinstance(shape.item, Scalar):
                _scalar_type(item, shape.item)


def _scalar_type(element: etree._Element, shape: Scalar) -> None:
    facets: list[tuple[str, str]] = [("enumeration", v) for v in shape.values or ()]
    for facet, bound in (("minInclusive", shape.minimum), ("maxInclusive", shape.maximum)):
        if bound is not None:
            facets.append((facet, repr(float(bound)) if shape.type == "number" else str(int(bound))))
    for facet, length in (("minLength", shape.min_length), ("maxLength", shape.max_length)):
        if length is not None and shape.type == "string":
            facets.append((facet, str(length)))
    if not facets:
        element.set("type", _BASE[shape.type])
        return
    simple = etree.SubElement(element, _xs("simpleType"))
    restriction = etree.SubElement(simple, _xs("restriction"), base=_BASE[shape.type])
    for facet, value in facets:
        etree.SubElement(restriction, _xs(facet), value=value)


if __name__ == "__main__":
    sys.stdout.buffer.write(generate())
