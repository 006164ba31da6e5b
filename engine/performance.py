"""The ITU-T Y.4904 performance matrix: the level each KPI has reached, and its change from baseline.

Step 3 of the Y.4904 method has the city set, for every KPI it selected, a target value per
maturity level (its ``maturity_targets``; level 1 is the baseline collected). Step 4 assesses the
KPIs and step 5 compares them with the baseline. This module does both for one pack on one date,
KPI by KPI; the level of each KPI dimension (characteristics 2.1-2.3 of the ``itu-y4904`` pack) is
inferred by the rule engine from the same data, and :func:`check_matrix_pack` holds the pack
against the rule pack and the KPIs against the catalogue the pack ships (``kpis.yaml``).

A KPI's level is taken from its latest observation on or before the assessment date, and only
when an auditor accepted the KPI record (the latest verdict on or before that date): an
unverified or rejected record has no level, whatever its values.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import Field

from engine.catalogue import Strict, Text, load_data
from engine.errors import EvidencePackError, Problem, RulePackError
from engine.evaluation import check_fit
from engine.rulepack import RulePack
from evidence_schemas.items import Kpi
from evidence_schemas.pack import EvidencePack

KPI_CATALOGUE = "kpis.yaml"
DIMENSIONS = ("2.1", "2.2", "2.3")
"""The characteristics of the Y.4904 pack that KPI performance counts for."""


class CatalogueKpi(Strict):
    """One indicator of the shipped KPI catalogue."""

    id: str = Field(min_length=1, description="Indicator id in its catalogue, e.g. 'EC: ICT: ICT: 1C'.")
    catalogue: Literal["iso37120", "iso37122", "iso37123", "itu_y4903"] = Field(
        description="Catalogue the id comes from."
    )
    name: Text = Field(description="Indicator name in both languages.")
    unit: str = Field(min_length=1, description="Unit every value is reported in.")
    direction: Literal["higher_is_better", "lower_is_better"] = Field(description="Which way is better.")
    dimension: Literal["2.1", "2.2", "2.3"] = Field(description="KPI dimension characteristic.")
    topic: str = Field(min_length=1, description="Where the KPI sits in its source catalogue.")


class KpiCatalogue(Strict):
    """``kpis.yaml``."""

    kpis: list[CatalogueKpi] = Field(min_length=1)


def load_kpi_catalogue(rules_dir: Path) -> dict[tuple[str, str], CatalogueKpi]:
    """(catalogue, id) -> KPI, from a rule pack's ``kpis.yaml``; RulePackError lists problems."""
    parsed, doc = load_data(rules_dir / KPI_CATALOGUE, KpiCatalogue)
    found: dict[tuple[str, str], CatalogueKpi] = {}
    for i, kpi in enumerate(parsed.kpis):
        key = (kpi.catalogue, kpi.id)
        if key in found:
            raise RulePackError([doc.problem(["kpis", i, "id"], f"{kpi.id} is listed twice")])
        found[key] = kpi
    return found


@dataclass(frozen=True)
class KpiLevel:
    """One row of the assessed performance matrix."""

    evidence_id: str
    indicator: str
    name: str
    unit: str
    direction: str
    dimension: str
    baseline: float
    targets: dict[int, float]
    latest: tuple[dt.date, float] | None
    verdict: str | None
    """The auditor's latest verdict on the record ('accepted', 'rejected'), None if unverified."""
    level: int | None
    """Level reached (1 = baseline only), None when the record is not accepted."""
    gain: float | None
    """Direction-aware change of the latest value from the baseline (positive is better)."""

    @property
    def next_target(self) -> tuple[int, float] | None:
        """The next level and the value it needs, None at level 5 or without a level."""
        if self.level is None or self.level >= 5:
            return None
        return self.level + 1, self.targets[self.level + 1]


def assess_matrix(pack: EvidencePack, as_of: dt.date) -> list[KpiLevel]:
    """Every KPI of the pack's performance matrix, in dimension and evidence-id order."""
    verdicts: dict[str, tuple[dt.date, str]] = {}
    for v in pack.verifications:
        if v.date <= as_of and (v.evidence_id not in verdicts or verdicts[v.evidence_id][0] <= v.date):
            verdicts[v.evidence_id] = (v.date, v.verdict)
    rows = []
    for item in pack.items:
        if not isinstance(item, Kpi) or item.maturity_targets is None or item.baseline is None:
            continue
        dimensions = [c for c in item.offered_for if c in DIMENSIONS]
        seen = [p for p in item.observations if p.date <= as_of]
        latest = max(seen, key=lambda p: p.date) if seen else None
        verdict = verdicts.get(item.id, (None, None))[1]
        sign = 1 if item.direction == "higher_is_better" else -1
        targets = item.maturity_targets.by_level()
        level = None
        if verdict == "accepted":
            level = 1
            if latest is not None:
                # Targets never get easier from level to level (the schema checks), so the
                # highest level met is reached with every level below it.
                met = [n for n, target in targets.items() if sign * (latest.value - target) >= 0]
                level = max(met, default=1)
        # Rounded to the millionths the engine compares in, so 91.2 - 76.5 reads 14.7.
        gain = round(sign * (latest.value - item.baseline.value), 6) if latest is not None else None
        for dimension in dimensions or ["-"]:
            rows.append(
                KpiLevel(
                    evidence_id=item.id,
                    indicator=item.indicator.id,
                    name=item.indicator.name,
                    unit=item.unit,
                    direction=item.direction,
                    dimension=dimension,
                    baseline=item.baseline.value,
                    targets=targets,
                    latest=(latest.date, latest.value) if latest is not None else None,
                    verdict=verdict,
                    level=level,
                    gain=gain,
                )
            )
    return sorted(rows, key=lambda r: (r.dimension, r.evidence_id))


def check_matrix_pack(
    pack: EvidencePack,
    rules: RulePack,
    catalogue: dict[tuple[str, str], CatalogueKpi],
    *,
    manifest: str,
) -> None:
    """The pack must be for the rule pack's model, name only its characteristics, and hold its
    matrix KPIs to the catalogue; EvidencePackError lists every problem, naming ``manifest``
    (the manifest as read, :attr:`LoadedPack.source`).

    A pack for another model is refused with that one problem: each of its characteristics would
    otherwise be reported unknown too, burying the cause under problems that only follow from it.
    """
    if pack.model != rules.model.id:
        message = (
            f"pack is for {pack.model!r}, rule pack is {rules.model.id!r}: the performance matrix is "
            f"read from packs prepared for {rules.model.standard}"
        )
        raise EvidencePackError([Problem(manifest, None, "model", message)])
    problems = _catalogue_problems(pack, catalogue, manifest=manifest)
    try:
        check_fit(rules, pack, manifest=manifest)
    except EvidencePackError as exc:
        problems += exc.problems
    if problems:
        raise EvidencePackError(problems)


def _catalogue_problems(
    pack: EvidencePack, catalogue: dict[tuple[str, str], CatalogueKpi], *, manifest: str
) -> list[Problem]:
    # Matrix KPIs from a shipped catalogue must match it (unit, direction, dimension), and every
    # matrix KPI must be offered for exactly one KPI dimension.
    problems = []
    for i, item in enumerate(pack.items):
        if not isinstance(item, Kpi) or item.maturity_targets is None:
            continue
        where = f"items[{i}]"
        dimensions = [c for c in item.offered_for if c in DIMENSIONS]
        if len(dimensions) != 1:
            problems.append(
                Problem(
                    manifest,
                    None,
                    f"{where}.offered_for",
                    f"{item.id}: a performance-matrix KPI is offered for exactly one of "
                    f"{', '.join(DIMENSIONS)}, not {dimensions or 'none'}",
                )
            )
        if item.indicator.catalogue == "local":
            continue
        known = catalogue.get((item.indicator.catalogue, item.indicator.id))
        if known is None:
            problems.append(
                Problem(
                    manifest,
                    None,
                    f"{where}.indicator.id",
                    f"{item.id}: {item.indicator.id!r} is not in the {item.indicator.catalogue} part of "
                    "the KPI catalogue (kpis.yaml); report it as a local KPI",
                )
            )
            continue
        for field, theirs, ours in (
            ("unit", item.unit, known.unit),
            ("direction", item.direction, known.direction),
        ):
            if theirs != ours:
                problems.append(
                    Problem(
                        manifest,
                        None,
                        f"{where}.{field}",
                        f"{item.id}: {known.id} is in {ours}, not {theirs}",
                    )
                )
        if dimensions and dimensions != [known.dimension]:
            problems.append(
                Problem(
                    manifest,
                    None,
                    f"{where}.offered_for",
                    f"{item.id}: {known.id} counts for {known.dimension}, not {dimensions[0]}",
                )
            )
    return problems
