"""Sample evidence packs of fictional communities (data, not code)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

SAMPLES = ("larkfield", "harbourton", "norbridge")
"""Fictional communities prepared for ISO/TS 37107:2019: early-stage, mid-way and advanced."""
Y4904_SAMPLE = "kestrelford"
"""A fictional mid-sized city prepared for ITU-T Y.4904, whose KPIs carry its performance matrix
(baseline, yearly series and a target per maturity level): what ``assay matrix`` reads."""
SAMPLE = "harbourton"
SAMPLE_AS_OF = dt.date(2026, 6, 30)
"""The assessment date the sample packs were prepared for."""


def sample_pack(name: str = SAMPLE) -> Path:
    """Folder of a sample evidence pack shipped with Assay."""
    return Path(__file__).resolve().parent / name


def people_file() -> Path:
    """The demo's people file: the sample community's submitter and a demo body's staff."""
    return Path(__file__).resolve().parent / "people.yaml"
