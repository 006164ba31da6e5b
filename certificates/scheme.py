"""Certification schemes: how long a certificate is valid and how often it is surveilled.

ISO/IEC 17021-1 has a certification cycle of three years with surveillance at least once a
calendar year; a scheme may be stricter, never looser. The default scheme is exactly that;
another scheme is a small YAML file (``--scheme FILE``).
"""

from __future__ import annotations

import calendar
import datetime as dt
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from certificates.errors import SchemeError
from engine.errors import Problem
from engine.sourcemap import load_yaml

MAX_VALIDITY_MONTHS = 36
MAX_SURVEILLANCE_MONTHS = 12


class Scheme(BaseModel):
    """A certification scheme's timing rules and numbering."""

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)

    id: str = Field(default="assay-mmssc", pattern=r"^[a-z0-9][a-z0-9.-]*$", description="Scheme id.")
    name: str = Field(default="Assay smart sustainable community maturity certification", min_length=1)
    number_prefix: str = Field(
        default="ASSAY", pattern=r"^[A-Z][A-Z0-9]{1,15}$", description="Certificate numbers start with it."
    )
    validity_months: int = Field(
        default=36, ge=1, le=MAX_VALIDITY_MONTHS, description="Months from issue to expiry."
    )
    surveillance_months: int = Field(
        default=12, ge=1, le=MAX_SURVEILLANCE_MONTHS, description="Months between surveillance audits."
    )
    max_characteristics_per_item: int = Field(
        default=3,
        ge=1,
        description="An evidence item carrying requirements in more characteristics is flagged for the "
        "reviewer (passed to evaluation).",
    )

    def expiry(self, issued_on: dt.date) -> dt.date:
        """Last day of validity: the day before the same date ``validity_months`` later."""
        return add_months(issued_on, self.validity_months) - dt.timedelta(days=1)

    def surveillance_due(self, issued_on: dt.date) -> list[dt.date]:
        """Surveillance dates: every ``surveillance_months`` from issue, before expiry."""
        expires = self.expiry(issued_on)
        dates = []
        step = self.surveillance_months
        while (due := add_months(issued_on, step)) < expires:
            dates.append(due)
            step += self.surveillance_months
        return dates


def add_months(day: dt.date, months: int) -> dt.date:
    """The same day ``months`` later, or the month's last day when it is shorter (31 Jan + 1)."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def load_scheme(path: Path) -> Scheme:
    """Read a scheme file; every problem is reported with file, line and field."""
    doc = load_yaml(path)
    if doc.problems:
        raise SchemeError(doc.problems)
    try:
        return Scheme.model_validate(doc.data)
    except ValidationError as exc:
        raise SchemeError(
            [
                Problem(str(path), doc.line_of(list(err["loc"])), ".".join(map(str, err["loc"])), err["msg"])
                for err in exc.errors()
            ]
        ) from None
