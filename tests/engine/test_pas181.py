"""The bundled PAS 181 pack: it validates through the CLI, and its catalogue has the seven
components and the five level names of seed 001."""

from __future__ import annotations

import pytest

import rules as bundled_rules
from assay.cli import run
from engine.catalogue import load_catalogue

PAS181 = bundled_rules.bundled("pas181")
COMPONENTS = [
    ("1.1", "Leadership environment", ["A", "B1", "B3", "B8", "D"]),
    ("1.2", "Customer/stakeholder focus", ["B9", "B10"]),
    ("1.3", "Service enablement", ["B2", "B3", "B5", "B7"]),
    ("1.4", "Service delivery", None),
    ("1.5", "Digital asset management", ["B6", "B13", "B14", "B11", "B12"]),
    ("1.6", "Physical asset management", None),
    ("1.7", "Performance management", ["C"]),
]
"""Id, title and PAS 181 references (None: seed 001 prints none) of each component."""


def test_validates_through_the_cli(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["rules", "validate", str(PAS181)]) == 0
    assert "pas181: valid, 7 characteristics" in capsys.readouterr().out


def test_catalogue_has_the_seven_components_and_five_levels() -> None:
    model = load_catalogue(PAS181 / "model.yaml")
    assert model.id == "pas181"
    names = [model.level_name(level) for level in (1, 2, 3, 4, 5)]
    assert [n.en for n in names] == ["Lagging", "Developing", "Competent", "Progressive", "Excelling"]
    assert all(n.zh.strip() for n in names)
    chars = model.characteristics()
    assert [(c.id, c.title.en, c.references.get("pas181")) for c in chars] == COMPONENTS
    assert set(model.reference_sets) == {"pas181", "iso37106"}
    assert not any("iso37106" in c.references for c in chars)  # left for the crosswalk author
