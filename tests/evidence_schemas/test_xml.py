"""The XML form: lossless round trips, the shipped XSD, and hostile XML refused."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from importlib import resources
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from pydantic import TypeAdapter

import examples
from engine.errors import EvidencePackError, Problem
from engine.sourcemap import json_lines, parse_yaml
from evidence_schemas.pack import EvidencePack
from evidence_schemas.reader import parse_manifest, read_pack
from evidence_schemas.writer import manifest_bytes
from evidence_schemas.xmlform import NAMESPACE, from_xml, to_xml
from evidence_schemas.xsd import generate
from tests.evidence_schemas.strategies import packs

PACK = TypeAdapter(EvidencePack)


def _from_xml(data: bytes) -> EvidencePack:
    doc = from_xml(data, "pack.xml")
    assert not doc.problems, doc.problems
    return PACK.validate_python(doc.data, strict=True)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)
@given(pack=packs())
def test_xml_json_xml_is_lossless(pack: EvidencePack) -> None:
    xml = to_xml(pack)
    from_xml_model = _from_xml(xml)
    assert from_xml_model == pack
    json = manifest_bytes(from_xml_model, "json")
    from_json_model = PACK.validate_json(json)
    assert from_json_model == pack
    assert to_xml(from_json_model) == xml


@pytest.mark.parametrize("name", examples.SAMPLES)
def test_sample_packs_convert_both_ways(name: str) -> None:
    pack = read_pack(examples.sample_pack(name)).pack
    assert _from_xml(to_xml(pack)) == pack
    assert PACK.validate_json(manifest_bytes(pack, "json")) == pack


def test_the_shipped_xsd_is_the_one_the_models_generate() -> None:
    shipped = resources.files("evidence_schemas").joinpath("evidence-pack.xsd").read_bytes()
    assert shipped == generate(), (
        "regenerate: python -m evidence_schemas.xsd > evidence_schemas/evidence-pack.xsd"
    )


def test_xsd_and_model_problems_are_listed_with_lines() -> None:
    text = to_xml(read_pack(examples.sample_pack()).pack).decode()
    text = text.replace("<doc_type>vision_strategy</doc_type>", "<doc_type>manifesto</doc_type>", 1)
    text = text.replace("<collected>2026-05-20</collected>", "<collected>20 May</collected>", 1)
    text = text.replace("<unit>jobs</unit>", "", 1)
    text = text.replace("<url>https://harbourton.example/2035</url>", "<url>ftp://nope</url>", 1)
    doc = from_xml(text.encode(), "pack.xml")
    lines = text.splitlines()
    by_path = {p.path: p for p in doc.problems}
    assert (
        "'20 May' is not a valid value of the atomic type 'xs:date'" in by_path["items[0].collected"].message
    )
    assert "'manifesto' is not an element of the set" in by_path["items[0].doc_type"].message
    assert "Missing child element(s)" in by_path["items[1]"].message
    for problem in doc.problems:
        assert problem.line is not None
        assert (
            problem.path.split(".")[-1].split("[")[0] in lines[problem.line - 1] or problem.path == "items[1]"
        )
    pack_problems = _read_xml_problems(text)
    assert any(
        p.path == "items[0].publication.url" and "should match pattern" in p.message for p in pack_problems
    )


def _read_xml_problems(text: str) -> list[Problem]:
    valid_text = text.replace("<doc_type>manifesto</doc_type>", "<doc_type>vision_strategy</doc_type>")
    valid_text = valid_text.replace("<collected>20 May</collected>", "<collected>2026-05-20</collected>")
    valid_text = valid_text.replace("<kpi>", "<kpi><unit>jobs</unit>", 1)
    return list(parse_manifest(valid_text.encode(), "pack.xml", "xml").problems)


# --- hostile XML ------------------------------------------------------------------------------

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE pack [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol9 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
<pack xmlns="urn:assay:evidence-pack:1"><id>&lol9;</id></pack>"""


@pytest.fixture
def web_server() -> Iterator[tuple[str, list[str]]]:
    """A loopback HTTP server that records every request it gets."""
    requests: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            requests.append(self.path)
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b'<!ENTITY leak "network">')

        def log_message(self, *args: object) -> None:
            return None

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", requests
    server.shutdown()
    server.server_close()  # its listening socket, or the test ends with a ResourceWarning
    thread.join()


def _refused(tmp_path: Path, data: bytes) -> str:
    (tmp_path / "pack.xml").write_bytes(data)
    with pytest.raises(EvidencePackError) as caught:
        read_pack(tmp_path)
    (problem,) = caught.value.problems
    return problem.message


def test_billion_laughs_is_refused(tmp_path: Path) -> None:
    assert _refused(tmp_path, BILLION_LAUGHS) == "DOCTYPE declarations are not allowed (no DTDs, no entities)"


def test_an_external_entity_cannot_read_a_local_file(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP SECRET", encoding="utf-8")
    xxe = (
        f'<?xml version="1.0"?><!DOCTYPE pack [<!ENTITY x SYSTEM "file://{secret}">]>'
        f'<pack xmlns="{NAMESPACE}"><id>&x;</id></pack>'
    ).encode()
    (tmp_path / "pack").mkdir()
    message = _refused(tmp_path / "pack", xxe)
    assert message == "DOCTYPE declarations are not allowed (no DTDs, no entities)"
    assert "TOP SECRET" not in message


def test_an_external_dtd_is_never_fetched(tmp_path: Path, web_server: tuple[str, list[str]]) -> None:
    address, requests = web_server
    external = (
        f'<?xml version="1.0"?><!DOCTYPE pack SYSTEM "{address}/pack.dtd">'
        f'<pack xmlns="{NAMESPACE}"><id>&leak;</id></pack>'
    ).encode()
    parameter = (
        f'<?xml version="1.0"?><!DOCTYPE pack [<!ENTITY % remote SYSTEM "{address}/p.dtd"> %remote;]>'
        f'<pack xmlns="{NAMESPACE}"/>'
    ).encode()
    for data in (external, parameter):
        message = _refused(tmp_path, data)
        assert "DOCTYPE declarations are not allowed" in message or "not well-formed" in message
    assert requests == []


def test_not_well_formed_and_wrong_root_are_named(tmp_path: Path) -> None:
    assert _refused(tmp_path, b"<pack><id>x</pack>").startswith("not well-formed XML:")
    assert _refused(tmp_path, b"<manifest/>") == f'the root must be <pack xmlns="{NAMESPACE}">'


def test_json_line_map_matches_the_yaml_reading() -> None:
    text = manifest_bytes(read_pack(examples.sample_pack("norbridge")).pack, "json").decode()
    assert json_lines(text) == parse_yaml(text, "x").lines
