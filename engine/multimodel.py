"""One verified pack against several maturity models in one run, compared through the crosswalk."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import rules as bundled_rules
from engine.crosswalk import compare, load_crosswalk, translate
from engine.errors import InputError, Problem
from engine.evaluation import Evaluation, Inference, evaluate_on
from engine.performance import load_kpi_catalogue
from engine.rulepack import RulePack, load_rule_pack
from evidence_schemas.pack import EvidencePack
from evidence_schemas.reader import pack_digest


@dataclass(frozen=True)
class ModelRun:
    """One model's evaluation of the (translated) pack."""

    rules: RulePack
    evaluation: Evaluation
    dropped: tuple[str, ...]
    """Items the crosswalk could not offer to any of this model's characteristics."""


def evaluate_models(
    pack: EvidencePack, models: list[str], as_of: dt.date, inference: Inference
) -> tuple[dict[str, ModelRun], dict[str, Any]]:
    """Evaluate ``pack`` (prepared for its own model) against each bundled model in ``models``;
    returns each model's run and the crosswalk comparison."""
    known = bundled_rules.packs()
    unknown = [m for m in models if m not in known]
    if unknown:
        raise InputError(
            [
                Problem("--model", None, "", f"no bundled rule pack {m!r} (bundled: {', '.join(known)})")
                for m in unknown
            ]
        )
    packs = {m: load_rule_pack(bundled_rules.bundled(m)) for m in dict.fromkeys([pack.model, *models])}
    crosswalk = load_crosswalk({m: r.model for m, r in packs.items()})
    runs: dict[str, ModelRun] = {}
    for model in dict.fromkeys(models):
        rules = packs[model]
        routes = _kpi_routes(bundled_rules.bundled(model))
        translation = translate(pack, model, crosswalk, routes)
        digest = pack_digest(translation.pack)
        evaluation = evaluate_on(rules, translation.pack, digest, as_of, inference)
        runs[model] = ModelRun(rules, evaluation, translation.dropped)
    results = {m: r.evaluation.result for m, r in runs.items()}
    report = compare(results, crosswalk, {m: r.model for m, r in packs.items()})
    report["source"] = {"pack": pack.id, "model": pack.model, "digest": pack_digest(pack)}
    report["dropped"] = {m: list(r.dropped) for m, r in runs.items()}
    return runs, report


def _kpi_routes(folder: Path) -> dict[tuple[str, str], str]:
    """A model's KPI catalogue as routes for performance-matrix KPIs (none without one)."""
    if not (folder / "kpis.yaml").is_file():
        return {}
    return {key: kpi.dimension for key, kpi in load_kpi_catalogue(folder).items()}


def crosswalk_markdown(report: dict[str, Any]) -> str:
    """The comparison as Markdown: one row per ISO 37106 sub-component, then ISO 18091 colours."""
    models = sorted({m for row in report["sub_components"] for m in row["models"]})
    source = report["source"]
    lines = [
        "# Crosswalk: where the models agree",
        "",
        f"Evidence pack {source['pack']} ({source['model']}, {source['digest']}), "
        "verified once and evaluated against each model through ISO 37106.",
        "",
        "| ISO 37106 | " + " | ".join(models) + " | |",
        "|---|" + "---|" * len(models) + "---|",
    ]
    for row in report["sub_components"]:
        cells = []
        for m in models:
            entry = row["models"].get(m)
            if entry is None:
                cells.append("-")
            else:
                parts = ", ".join(
                    f"{c} {v if v is not None else '-'}" for c, v in sorted(entry["characteristics"].items())
                )
                cells.append(f"**{entry['level'] if entry['level'] is not None else '-'}** ({parts})")
        verdict = "agree" if row["agree"] else (f"diverge by {row['spread']}" if row["spread"] else "")
        lines.append(f"| {row['sub_component']} {row['title']} | " + " | ".join(cells) + f" | {verdict} |")
    if report.get("iso18091"):
        lines += ["", "## ISO 18091 diagnostic of the MMSSC purposes", ""]
        lines += [
            f"- {p['characteristic']}: level {p['level']}, {p['colour']}"
            + (f" (ISO 18091 {', '.join(p['functions'])})" if p["functions"] else "")
            for p in report["iso18091"]
        ]
    dropped = {m: d for m, d in report["dropped"].items() if d}
    if dropped:
        lines += ["", "## Evidence no characteristic of a model shares a sub-component with", ""]
        lines += [f"- {m}: {', '.join(d)}" for m, d in sorted(dropped.items())]
    return "\n".join(lines) + "\n"


def _level(level: int | None) -> str:
    return "-" if level is None else str(level)
