"""One durable_rules inference per server process, shared by its requests.

Compiling and registering the 32 rulesets costs more than evaluating them (measured: 0.53 s of a
0.85 s evaluation), and durable_rules' ruleset names are process-global, so a server compiles each
pack once and keeps it. One evaluation runs at a time per process: the runtime is not known to be
safe under concurrent sessions from many threads, and evaluation is CPU-bound under the GIL anyway.
"""

from __future__ import annotations

import threading
from collections.abc import Collection

from engine.durable_engine import DurableInference
from engine.evidence import Evidence
from engine.outcomes import CharacteristicInference
from engine.rulepack import RulePack


class SharedInference:
    """A :class:`DurableInference` behind a lock (an :class:`engine.evaluation.Inference`)."""

    def __init__(self) -> None:
        self._inference = DurableInference()
        self._lock = threading.Lock()

    def infer(
        self, pack: RulePack, evidence: Evidence, only: Collection[str] | None = None
    ) -> dict[str, CharacteristicInference]:
        """Infer as :meth:`DurableInference.infer`, one call at a time."""
        with self._lock:
            return self._inference.infer(pack, evidence, only)
