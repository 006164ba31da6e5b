"""Structured fuzzing of what comes from outside (issue 15, part 5): manifests in JSON and XML,
zips and YAML rule files, each damaged the ways attackers and broken tools damage them. Every
one must end in exit 2 with a message naming the file, never a traceback, under a memory cap."""

from __future__ import annotations

import io
import json
import shutil
import tracemalloc
import zipfile

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import examples
import rules as bundled_rules
from assay.cli import run
from tests.helpers import address_space_growth

SAMPLE = examples.sample_pack("harbourton")
MANIFEST = (SAMPLE / "pack.json").read_text(encoding="utf-8")
RULE_FILE = (bundled_rules.bundled() / "characteristics" / "3.2.1.yaml").read_text(encoding="utf-8")
FUZZ = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)

# What is spliced into a valid document: deep nesting, huge numbers and strings, repeated keys,
# YAML's aliases, tags and merge keys, markup, control characters.
_JSON_SPLICES = st.sampled_from(
    [
        "[" * 3000,
        "]" * 50,
        "9" * 5000,
        '"format": "x", "format": "y", ',
        '"title": "' + "t" * 100_000 + '", ',
        "1e999999",
        "-0.0e-400",
        "\x00",
        '"\\ud800"',
        "{}" * 1000,
        "null",
        '{"a": ' * 400,
    ]
)
_YAML_SPLICES = st.sampled_from(
    [
        "&a [*a]",
        "!!python/name:os.system x",
        "!!python/object/apply:os.system [ls]",
        "<<: *nowhere",
        "[" * 20_000,
        "{" * 70 + "}" * 70,
        "*undefined",
        "? [a, b]\n: c",
        "\t\t- x",
        "%YAML 9.9",
        "!!binary AAAA",
        "a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
        "c: [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b, *b, *b, *b, *b, *b, *b, *b, *b, *b, *b]",
    ]
)


def _splice(text: str, at: float, cut: int, inserted: str) -> str:
    position = int(at * len(text))
    return text[:position] + inserted + text[position + cut :]


PEAK_CAP = 256 << 20
"""Python memory one damaged input may take at its peak (traced): a bomb must be refused long
before it is expanded. The address-space growth limit is the backstop for what is not traced."""


def _exits_cleanly(capsys: pytest.CaptureFixture[str], argv: list[str], named: str) -> None:
    tracemalloc.start()
    try:
        with address_space_growth(3 << 30):
            code = run(argv)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < PEAK_CAP, f"{peak >> 20} MiB at the peak"
    err = capsys.readouterr().err
    assert "Traceback" not in err
    if code != 0:  # a splice can land where it changes nothing that matters (inside a reason)
        assert code == 2, err
        assert named in err, err


def _validate_manifest(
    factory: pytest.TempPathFactory, capsys: pytest.CaptureFixture[str], name: str, text: str
) -> None:
    """``assay pack validate`` on the sample's attachments with this manifest."""
    folder = factory.mktemp("pack")
    shutil.copytree(SAMPLE / "attachments", folder / "attachments")
    (folder / name).write_text(text, encoding="utf-8")
    _exits_cleanly(capsys, ["pack", "validate", str(folder)], name)


@FUZZ
@given(at=st.floats(0, 1), cut=st.integers(0, 40), inserted=_JSON_SPLICES)
def test_a_damaged_json_manifest(
    tmp_path_factory: pytest.TempPathFactory,
    capsys: pytest.CaptureFixture[str],
    at: float,
    cut: int,
    inserted: str,
) -> None:
    _validate_manifest(tmp_path_factory, capsys, "pack.json", _splice(MANIFEST, at, cut, inserted))


_XML_SPLICES = st.sampled_from(
    [
        "<a>" * 3000,
        "<!DOCTYPE x [<!ENTITY a 'aaaa'>]>",
        "&a;",
        "<size>" + "9" * 5000 + "</size>",
        "]]>",
        "\x01",
    ]
)


@FUZZ
@given(at=st.floats(0, 1), cut=st.integers(0, 40), inserted=_XML_SPLICES)
def test_a_damaged_xml_manifest(
    tmp_path_factory: pytest.TempPathFactory,
    capsys: pytest.CaptureFixture[str],
    at: float,
    cut: int,
    inserted: str,
) -> None:
    from evidence_schemas.reader import read_pack
    from evidence_schemas.xmlform import to_xml

    xml = to_xml(read_pack(SAMPLE).pack).decode("utf-8")
    _validate_manifest(tmp_path_factory, capsys, "pack.xml", _splice(xml, at, cut, inserted))


@FUZZ
@given(data=st.data())
def test_a_damaged_zip(
    tmp_path_factory: pytest.TempPathFactory, capsys: pytest.CaptureFixture[str], data: st.DataObject
) -> None:
    buffer = io.BytesIO()
    method = data.draw(st.sampled_from([zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED]))
    with zipfile.ZipFile(buffer, "w", method) as archive:
        archive.writestr("pack.json", json.dumps(json.loads(MANIFEST)))
        for path in sorted((SAMPLE / "attachments").iterdir()):
            archive.write(path, f"attachments/{path.name}")
    raw = bytearray(buffer.getvalue())
    for _ in range(data.draw(st.integers(1, 8))):
        position = data.draw(st.integers(0, len(raw) - 1))
        raw[position] = data.draw(st.integers(0, 255))
    if data.draw(st.booleans()):
        raw = raw[: data.draw(st.integers(0, len(raw)))]
    target = tmp_path_factory.mktemp("zip") / "pack.zip"
    target.write_bytes(bytes(raw))
    _exits_cleanly(capsys, ["pack", "validate", str(target)], "pack.zip")


@FUZZ
@given(at=st.floats(0, 1), cut=st.integers(0, 40), inserted=_YAML_SPLICES)
def test_a_damaged_rule_file(
    tmp_path_factory: pytest.TempPathFactory,
    capsys: pytest.CaptureFixture[str],
    at: float,
    cut: int,
    inserted: str,
) -> None:
    folder = tmp_path_factory.mktemp("rules") / "pack"
    shutil.copytree(bundled_rules.bundled(), folder)
    (folder / "characteristics" / "3.2.1.yaml").write_text(
        _splice(RULE_FILE, at, cut, inserted), encoding="utf-8"
    )
    _exits_cleanly(capsys, ["rules", "validate", str(folder)], "3.2.1.yaml")
