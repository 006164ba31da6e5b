"""Fixtures for engine tests."""

from __future__ import annotations

import pytest

from engine.durable_engine import DurableInference
from engine.evaluation import Inference
from engine.reference import ReferenceInference


@pytest.fixture(params=["durable", "reference"])
def inference(
    request: pytest.FixtureRequest, durable: DurableInference, reference: ReferenceInference
) -> Inference:
    """Each inference engine in turn: what holds must hold on both."""
    return durable if request.param == "durable" else reference
