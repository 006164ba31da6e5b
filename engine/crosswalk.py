"""Crosswalks between maturity models: audit once, rate many.

``rules/crosswalks/iso37106.yaml`` says which ISO 37106 sub-components each model's
characteristics rest on. :func:`translate` re-offers a pack's items to another model's
characteristics that share a sub-component with the ones they were offered for, keeping every
item and verdict as they are: the evidence is verified once and evaluated against each model.
:func:`compare` then lines the models' verified levels up per sub-component, and gives the MMSSC
purposes their ISO 18091 colour (``iso18091.yaml``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import Field

from engine.canonical import canonical_json
from engine.catalogue import MaturityModel, Strict, Text, load_data
from engine.errors import Problem, RulePackError
from engine.result import Result
from evidence_schemas.items import Commitment, Kpi
from evidence_schemas.pack import EvidencePack

CROSSWALKS = Path(__file__).resolve().parent.parent / "rules" / "crosswalks"
"""The crosswalks shipped with Assay."""
MMSSC = "iso37107-2019"


class ModelLinks(Strict):
    """One model's links to ISO 37106: taken from its catalogue, or listed here."""

    from_catalogue: str | None = Field(default=None, description="Reference set of the catalogue to use.")
    characteristics: dict[str, list[str]] = Field(
        default_factory=dict, description="Characteristic id -> ISO 37106 sub-components."
    )


class Iso37106Crosswalk(Strict):
    """``iso37106.yaml``."""

    sub_components: dict[str, Text] = Field(description="Sub-component id -> title.")
    models: dict[str, ModelLinks] = Field(description="Model id -> its links.")


class Colour(Strict):
    """An ISO 18091 traffic-light colour and the level it corresponds to."""

    level: int = Field(ge=1, le=5)
    en: str
    zh: str


class Iso18091Colours(Strict):
    """``iso18091.yaml``."""

    colours: dict[str, Colour]


@dataclass(frozen=True)
class Crosswalk:
    """Model id -> characteristic id -> ISO 37106 sub-components, and the colours of ISO 18091."""

    titles: dict[str, Text]
    links: dict[str, dict[str, tuple[str, ...]]]
    colours: dict[str, Colour]


def load_crosswalk(models: Mapping[str, MaturityModel], folder: Path = CROSSWALKS) -> Crosswalk:
    """The crosswalk for ``models`` (id -> catalogue); RulePackError lists every problem."""
    data, doc = load_data(folder / "iso37106.yaml", Iso37106Crosswalk)
    colours, _ = load_data(folder / "iso18091.yaml", Iso18091Colours)
    problems: list[Problem] = []
    links: dict[str, dict[str, tuple[str, ...]]] = {}
    for model_id, model in sorted(models.items()):
        entry = data.models.get(model_id)
        if entry is None:
            problems.append(doc.problem(["models"], f"no links for model {model_id!r}"))
            continue
        known = {c.id for c in model.characteristics()}
        if entry.from_catalogue is not None:
            found = {c.id: c.references.get(entry.from_catalogue, []) for c in model.characteristics()}
        else:
            found = dict(entry.characteristics)
        for cid, refs in sorted(found.items()):
            if cid not in known:
                problems.append(
                    doc.problem(["models", model_id, "characteristics", cid], "unknown characteristic")
                )
            for ref in refs:
                if ref not in data.sub_components:
                    problems.append(
                        doc.problem(
                            ["models", model_id, "characteristics", cid], f"unknown sub-component {ref!r}"
                        )
                    )
        links[model_id] = {cid: tuple(refs) for cid, refs in found.items() if refs}
    if problems:
        raise RulePackError(problems)
    return Crosswalk(data.sub_components, links, colours.colours)


@dataclass(frozen=True)
class Translation:
    """A pack re-offered to another model, and what could not be carried over."""

    pack: EvidencePack
    dropped: tuple[str, ...]
    """Items offered for nothing the target model shares a sub-component with."""


def translate(
    pack: EvidencePack,
    target: str,
    crosswalk: Crosswalk,
    kpi_routes: Mapping[tuple[str, str], str] | None = None,
) -> Translation:
    """``pack`` for model ``target``: each item offered for the target's characteristics that share
    an ISO 37106 sub-component with those it was offered for.

    ``kpi_routes`` ((catalogue, indicator id) -> characteristic) sends a performance-matrix KPI to
    the one characteristic its catalogue names (ITU-T Y.4904's KPI dimensions), instead of to
    every characteristic resting on benefits realisation. Claims and the auditor's judgements are
    of one model's characteristics and requirements, so they are dropped: the other model's
    requirements await their own judgements.
    """
    if pack.model == target:
        return Translation(pack, ())
    source, goal = crosswalk.links[pack.model], crosswalk.links[target]
    by_ref: dict[str, set[str]] = {}
    for cid, refs in goal.items():
        for ref in refs:
            by_ref.setdefault(ref, set()).add(cid)
    routes = dict(kpi_routes or {})
    routed = set(routes.values())

    def offered(item: Any) -> list[str]:
        cids = {t for c in item.offered_for for r in source.get(c, ()) for t in by_ref.get(r, ())}
        if routed and isinstance(item, Kpi):
            cids -= routed
            route = routes.get((item.indicator.catalogue, item.indicator.id))
            if item.maturity_targets is not None and route is not None:
                cids.add(route)
        return sorted(cids)

    items, dropped = [], []
    for item in pack.items:
        data = item.model_dump(mode="json")
        data["offered_for"] = offered(item)
        if isinstance(item, Commitment):
            promised = [(p, offered(p)) for p in item.promises]
            data["promises"] = [{**p.model_dump(mode="json"), "offered_for": o} for p, o in promised if o]
        if data["offered_for"]:
            items.append(data)
        else:
            dropped.append(item.id)
    kept = {i["id"] for i in items}
    body = pack.model_dump(mode="json")
    body |= {
        "model": target,
        "items": items,
        "claims": [],
        "judgements": [],
        "verifications": [v for v in body["verifications"] if v["evidence_id"] in kept],
    }
    # Through JSON: the models are strict, and JSON mode is how packs are always read.
    return Translation(EvidencePack.model_validate_json(canonical_json(body)), tuple(dropped))


def compare(
    results: Mapping[str, Result], crosswalk: Crosswalk, models: Mapping[str, MaturityModel]
) -> dict[str, Any]:
    """Per ISO 37106 sub-component, each model's characteristics and levels there, its level
    (the lowest of them), and whether the models agree; plus ISO 18091 colours of MMSSC purposes
    with the ISO 18091 functions each purpose cites (``models``: the catalogues)."""
    rows = []
    for ref, title in sorted(crosswalk.titles.items(), key=lambda kv: _ref_order(kv[0])):
        rated: dict[str, Any] = {}
        for model_id, result in sorted(results.items()):
            links = crosswalk.links[model_id]
            levels = {c.id: c.verified_level for c in result.characteristics if ref in links.get(c.id, ())}
            if levels:
                known = [v for v in levels.values() if v is not None]
                rated[model_id] = {"characteristics": levels, "level": min(known) if known else None}
        compared = [m["level"] for m in rated.values() if m["level"] is not None]
        rows.append(
            {
                "sub_component": ref,
                "title": title.en,
                "models": rated,
                "agree": len(compared) > 1 and len(set(compared)) == 1,
                "spread": max(compared) - min(compared) if len(compared) > 1 else None,
            }
        )
    report: dict[str, Any] = {"sub_components": [r for r in rows if r["models"]]}
    if MMSSC in results:
        report["iso18091"] = _colours(results[MMSSC], crosswalk, models[MMSSC])
    return report


def _colours(result: Result, crosswalk: Crosswalk, model: MaturityModel) -> list[dict[str, Any]]:
    by_level = sorted(crosswalk.colours.items(), key=lambda kv: kv[1].level)
    out = []
    for c in result.characteristics:
        if c.kind != "purpose" or c.verified_level is None:
            continue
        # Levels above the highest colour keep it (green): ISO 18091 has no colour beyond it.
        colour = [name for name, spec in by_level if spec.level <= c.verified_level][-1]
        functions = model.characteristic(c.id).references.get("iso18091", [])
        out.append(
            {"characteristic": c.id, "level": c.verified_level, "colour": colour, "functions": functions}
        )
    return out


def _ref_order(ref: str) -> tuple[int, int]:
    return (1, 0) if ref == "C" else (0, int(ref[1:]))
