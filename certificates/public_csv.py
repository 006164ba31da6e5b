"""The public register as CSV (RFC 4180), for spreadsheets and other tools.

One row per certificate, the same fields as the JSON export (:meth:`Register.export_public`),
flattened: dimensions as ``1:2 2:2 3:2 4:1`` (dimension id and level), surveillance dates joined
with ``;``. A community name or reason is text from outside: a cell that a spreadsheet would run
as a formula (starting ``=``, ``+``, ``-``, ``@``, a tab or a carriage return) is written with a
leading apostrophe, as OWASP advises against CSV injection.
"""

from __future__ import annotations

import csv
import io
from typing import Any

COLUMNS = (
    "number",
    "community",
    "scheme",
    "standard",
    "characteristics",
    "dimensions",
    "assessed_on",
    "issued_on",
    "expires_on",
    "surveillance_due",
    "status",
    "status_reason",
    "renews",
    "renewed_by",
)
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def register_csv(exported: dict[str, Any]) -> str:
    """The rows of an exported public register (``Register.export_public``) as CSV text."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for entry in exported["certificates"]:
        flat = {
            **entry,
            "dimensions": " ".join(f"{d['id']}:{d['level']}" for d in entry["dimensions"]),
            "surveillance_due": ";".join(entry["surveillance_due"]),
        }
        writer.writerow([_cell(flat[name]) for name in COLUMNS])
    return out.getvalue()


def _cell(value: Any) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_STARTS) else text
