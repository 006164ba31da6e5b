"""Attribute catalogue and normalised values (what both evaluators see)."""

from __future__ import annotations

import datetime as dt

from engine.attributes import SCALE, catalogue, fixed, item_values
from evidence_schemas.items import Kpi

AS_OF = dt.date(2026, 6, 30)


def kpi(**fields: object) -> Kpi:
    base: dict[str, object] = {
        "kind": "kpi", "id": "k", "title": "t", "issuer": "i",
        "period": {"start": dt.date(2024, 1, 1)}, "collected": dt.date(2026, 6, 1),
        "submitted": dt.date(2026, 6, 2), "offered_for": ["1.5.2"],
        "indicator": {"id": "x", "catalogue": "local", "name": "x"}, "unit": "%",
        "direction": "higher_is_better",
    }  # fmt: skip
    return Kpi.model_validate({**base, **fields})


def test_catalogue_reads_paths_and_types_from_the_schema() -> None:
    attrs = catalogue()
    assert attrs["document"]["publication.status"].values == ("published", "internal", "draft")
    assert attrs["document"]["sdgs"].type == "list"
    assert attrs["document"]["sdgs"].item_type == "number"
    assert attrs["kpi"]["targets"].type == "object"
    assert attrs["kpi"]["targets.count"].derived
    assert attrs["kpi"]["latest.date"].type == "date"
    assert "offered_for" not in attrs["kpi"]
    assert "kind" not in attrs["document"]


def test_values_are_normalised() -> None:
    values = item_values(kpi(baseline={"value": 10, "date": dt.date(2024, 1, 1), "method": "m"}), AS_OF)
    assert values["baseline.date"] == dt.date(2024, 1, 1).toordinal()
    assert values["age:baseline.date"] == (AS_OF - dt.date(2024, 1, 1)).days
    assert values["age:collected"] == 29
    assert values["baseline"] is True
    assert "targets" not in values  # an empty list is absent
    assert "dashboard" not in values
    assert "latest" not in values  # no observation yet


def test_latest_ignores_observations_after_the_assessment_date() -> None:
    values = item_values(
        kpi(observations=[
            {"date": dt.date(2026, 3, 31), "value": 5},
            {"date": dt.date(2026, 9, 30), "value": 9},
        ]),
        AS_OF,
    )  # fmt: skip
    assert values["latest.value"] == 5 * SCALE  # numbers are compared in millionths
    assert values["latest.date"] == dt.date(2026, 3, 31).toordinal()


def test_gains_are_direction_aware() -> None:
    base = {"value": 25.0, "date": dt.date(2024, 1, 1), "method": "m"}
    targets = [{"date": dt.date(2026, 1, 1), "value": 20.0}, {"date": dt.date(2030, 1, 1), "value": 15.0}]
    obs = [{"date": dt.date(2026, 3, 31), "value": 18.0}]
    down = item_values(
        kpi(direction="lower_is_better", baseline=base, targets=targets, observations=obs), AS_OF
    )
    assert down["gain:baseline"] == 7 * SCALE  # 25 min -> 18 min is better when lower is better
    assert down["gain:target"] == 2 * SCALE  # due target (20) met
    assert down["gain:final_target"] == -3 * SCALE  # final target (15) not met yet
    up = item_values(
        kpi(direction="higher_is_better", baseline=base, targets=targets, observations=obs), AS_OF
    )
    assert up["gain:baseline"] == -7 * SCALE


def test_no_target_due_means_no_target_gain() -> None:
    values = item_values(
        kpi(
            targets=[{"date": dt.date(2027, 1, 1), "value": 1}],
            observations=[{"date": dt.date(2026, 1, 1), "value": 0}],
        ),
        AS_OF,
    )
    assert "gain:target" not in values
    assert values["gain:final_target"] == -1 * SCALE


def test_numbers_become_exact_integers_with_no_float_left() -> None:
    values = item_values(
        kpi(baseline={"value": 0.1, "date": dt.date(2024, 1, 1), "method": "m"},
            observations=[{"date": dt.date(2026, 1, 1), "value": 0.00001}]),
        AS_OF,
    )  # fmt: skip
    assert values["baseline.value"] == 100_000
    assert values["latest.value"] == 10  # 0.00001: durable_rules cannot parse Python's '1e-05'
    assert values["gain:baseline"] == 10 - 100_000
    assert not any(isinstance(v, float) for v in values.values())
    assert fixed(0.1 + 0.2) == 300_000
