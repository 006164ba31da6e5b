"""Golden audits: the three sample communities over all 32 characteristics, byte for byte.

Regenerate after an intended change with ``python -m pytest tests/engine/test_golden.py
--regen-golden`` and review the diff like any other change.
"""

from __future__ import annotations

import difflib
from pathlib import Path

import pytest

import examples
from assay.evaluate_cli import output_files
from engine.durable_engine import DurableInference
from engine.rulepack import RulePack
from evidence_schemas.reader import read_pack
from tests.helpers import run_evaluation

GOLDEN = Path(__file__).resolve().parents[1] / "golden"
FILES = ("result.json", "summary.md")


@pytest.mark.parametrize("name", examples.SAMPLES)
def test_golden_audit(name: str, rule_pack: RulePack, durable: DurableInference, regen_golden: bool) -> None:
    evaluation = run_evaluation(rule_pack, read_pack(examples.sample_pack(name)).pack, durable)
    produced = output_files(evaluation)
    for file in FILES:
        golden = GOLDEN / name / file
        actual = produced[file].decode("utf-8")
        if regen_golden:
            golden.parent.mkdir(parents=True, exist_ok=True)
            golden.write_text(actual, encoding="utf-8")
            continue
        expected = golden.read_text(encoding="utf-8") if golden.exists() else ""
        if actual != expected:
            diff = difflib.unified_diff(
                expected.splitlines(),
                actual.splitlines(),
                f"golden/{name}/{file}",
                "produced",
                lineterm="",
                n=2,
            )
            pytest.fail(
                f"{name}/{file} differs from the golden file (--regen-golden rewrites it):\n"
                + "\n".join(diff)
            )
    assert len(evaluation.result.characteristics) == 32
