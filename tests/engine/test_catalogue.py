"""The ISO/TS 37107:2019 catalogue: counts, ids, kinds, level names, references."""

from __future__ import annotations

from pathlib import Path

import pytest

import rules as bundled_rules
from engine.catalogue import MaturityModel, load_catalogue
from engine.errors import RulePackError

# Table 2 footnotes of the 2019 edition (seed 004).
INTEGRATED = {
    "1.1.2",
    "1.2.1",
    "1.2.3",
    "1.4.1",
    "1.5.1",
    "1.5.2",
    "1.5.3",
    "2.1.2",
    "2.4.2",
    "3.1.3",
}
OPEN = {"1.2.2", "1.3.1", "1.3.2", "1.4.2", "2.1.1", "2.2.1", "2.2.2", "2.3.1", "2.3.2", "2.4.1",
        "3.1.1", "3.1.2", "3.2.1", "3.2.2"}  # fmt: skip
PURPOSE = {"1.1.1", "4.1", "4.2", "4.3", "4.4", "4.5", "4.6"}


@pytest.fixture(scope="module")
def model() -> MaturityModel:
    return load_catalogue(bundled_rules.bundled() / "model.yaml")


def test_counts(model: MaturityModel) -> None:
    chars = model.characteristics()
    assert len(chars) == 32
    enablers = [c for d in model.dimensions if d.id in {"1", "2", "3"} for c in d.all_characteristics()]
    assert len(enablers) == 26
    purposes = next(d for d in model.dimensions if d.id == "4")
    assert [c.id for c in purposes.all_characteristics()] == [
        "4.1",
        "4.2",
        "4.3",
        "4.4",
        "4.5",
        "4.6",
    ]
    assert [d.id for d in model.dimensions] == ["1", "2", "3", "4"]
    assert len([s for d in model.dimensions for s in d.sub_dimensions]) == 11


def test_ids_unique_and_ordered(model: MaturityModel) -> None:
    ids = [c.id for c in model.characteristics()]
    groups = [g[1] for g in model.groups()]
    assert len(set(ids)) == len(ids)
    assert len(set(groups)) == len(groups)
    assert set(ids).isdisjoint(groups)
    assert ids[0] == "1.1.1"
    assert ids[25] == "3.2.3"
    assert ids[-1] == "4.6"


def test_kinds_follow_the_2019_footnotes(model: MaturityModel) -> None:
    kinds = {c.id: c.kind for c in model.characteristics()}
    assert {c for c, k in kinds.items() if k == "integrated_citizen_centric"} == INTEGRATED
    assert {c for c, k in kinds.items() if k == "open_collaborative"} == OPEN
    assert {c for c, k in kinds.items() if k == "purpose"} == PURPOSE
    assert {c for c, k in kinds.items() if k == "unclassified"} == {"3.2.3"}


def test_titles_and_level_names_in_both_languages(model: MaturityModel) -> None:
    assert [n.name.en for n in model.levels] == [
        "Initial", "Partially fulfilled", "Fulfilled", "Improving", "Sustainably optimising",
    ]  # fmt: skip
    assert [n.name.zh for n in model.levels] == ["初始", "部分实现", "实现", "改善", "持续优化"]
    assert model.characteristic("1.5.2").title.zh == "推动收益方案实施"
    assert model.characteristic("4.3").title.en == "Resilience"
    for char in model.characteristics():
        assert char.title.en
        assert char.title.zh


def test_references(model: MaturityModel) -> None:
    for char in model.characteristics():
        if char.id.startswith("4."):
            assert char.references["annex_b"] == ["ISO 37101", "ISO 37104"]
            assert char.references["iso18091"], char.id
        else:
            assert char.references["iso37106"], char.id
            assert "iso18091" not in char.references
    assert model.characteristic("3.2.3").references["iso37106"] == ["B14"]
    assert model.characteristic("1.5.1").references["iso37106"] == ["C"]
    assert "A.1.9 Resilience and civil protection" in model.characteristic("4.3").references["iso18091"]


def test_broken_catalogue_lists_every_problem(tmp_path: Path) -> None:
    text = (bundled_rules.bundled() / "model.yaml").read_text(encoding="utf-8")
    text = text.replace('id: "1.1.2"', 'id: "1.1.1"')  # duplicate id
    text = text.replace("kind: unclassified", "kind: architecture")  # unknown kind
    text = text.replace("references: {iso37106: [C],", "references: {iso37106x: [C],", 1)
    broken = tmp_path / "model.yaml"
    broken.write_text(text, encoding="utf-8")
    with pytest.raises(RulePackError) as caught:
        load_catalogue(broken)
    messages = [(p.path, p.message) for p in caught.value.problems]
    assert any("duplicate id '1.1.1'" in m and path.endswith("characteristics[1].id") for path, m in messages)
    assert any("unknown kind 'architecture'" in m for _, m in messages)
    assert any("unknown reference set 'iso37106x'" in m for _, m in messages)
    assert all(p.line is not None for p in caught.value.problems)
    assert len(caught.value.problems) == 3
