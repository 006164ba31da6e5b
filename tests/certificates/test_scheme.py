"""Certification schemes: validity, surveillance dates, month arithmetic, scheme files."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from certificates.errors import SchemeError
from certificates.scheme import Scheme, add_months, load_scheme


def test_the_default_scheme_is_three_years_with_yearly_surveillance() -> None:
    scheme = Scheme()
    issued = dt.date(2026, 11, 22)
    assert scheme.expiry(issued) == dt.date(2029, 11, 21)
    assert scheme.surveillance_due(issued) == [dt.date(2027, 11, 22), dt.date(2028, 11, 22)]


def test_a_stricter_scheme_surveils_more_often() -> None:
    scheme = Scheme(validity_months=24, surveillance_months=6)
    assert scheme.surveillance_due(dt.date(2026, 1, 31)) == [
        dt.date(2026, 7, 31),
        dt.date(2027, 1, 31),
        dt.date(2027, 7, 31),
    ]
    assert scheme.expiry(dt.date(2026, 1, 31)) == dt.date(2028, 1, 30)


@pytest.mark.parametrize(
    ("day", "months", "expected"),
    [
        (dt.date(2026, 1, 31), 1, dt.date(2026, 2, 28)),
        (dt.date(2028, 2, 29), 12, dt.date(2029, 2, 28)),
        (dt.date(2026, 12, 15), 1, dt.date(2027, 1, 15)),
        (dt.date(2026, 3, 31), 36, dt.date(2029, 3, 31)),
    ],
)
def test_add_months_keeps_the_day_or_takes_the_months_last(
    day: dt.date, months: int, expected: dt.date
) -> None:
    assert add_months(day, months) == expected


def test_a_scheme_file_is_read(tmp_path: Path) -> None:
    path = tmp_path / "scheme.yaml"
    path.write_text("id: city-gold\nname: City Gold\nnumber_prefix: CG\nsurveillance_months: 6\n")
    scheme = load_scheme(path)
    assert (scheme.id, scheme.number_prefix, scheme.surveillance_months, scheme.validity_months) == (
        "city-gold",
        "CG",
        6,
        36,
    )


def test_a_looser_scheme_is_refused_naming_every_problem(tmp_path: Path) -> None:
    path = tmp_path / "scheme.yaml"
    path.write_text("id: loose\nvalidity_months: 60\nsurveillance_months: 18\ncolour: red\n")
    with pytest.raises(SchemeError) as caught:
        load_scheme(path)
    found = {(p.line, p.path) for p in caught.value.problems}
    assert found == {(2, "validity_months"), (3, "surveillance_months"), (4, "colour")}
    assert "less than or equal to 36" in str(caught.value)
    assert "less than or equal to 12" in str(caught.value)
