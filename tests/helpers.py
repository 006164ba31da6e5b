"""Helpers shared by tests."""

from __future__ import annotations

import datetime as dt
import json
import os
import resource
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import examples
from engine.evaluation import Evaluation, Inference, evaluate
from engine.rulepack import RulePack
from engine.sources import DigestIds, FixedClock
from evidence_schemas.pack import EvidencePack
from evidence_schemas.reader import pack_digest

AS_OF = examples.SAMPLE_AS_OF


def run_evaluation(
    rules: RulePack, pack: EvidencePack, inference: Inference, as_of: dt.date = AS_OF
) -> Evaluation:
    """Evaluate deterministically, as the CLI does."""
    digest = pack_digest(pack)
    return evaluate(
        rules,
        pack,
        digest,
        as_of=as_of,
        clock=FixedClock.at_date(as_of),
        ids=DigestIds(f"{digest}|{rules.digest}|{as_of}"),
        inference=inference,
    )


def pack_of(items: list[dict[str, Any]], model: str, **fields: Any) -> EvidencePack:
    """A minimal pack of ``items`` for ``model`` (dates as ``datetime.date`` or ISO text), read
    the way packs are read from a file."""
    data = {"format": "assay-evidence-pack/1", "id": "p", "community": {"id": "c", "name": "C"}}
    return EvidencePack.model_validate_json(
        json.dumps({**data, "model": model, "items": items, **fields}, default=str)
    )


@contextmanager
def address_space_growth(limit: int) -> Iterator[None]:
    """Let the process's address space grow by at most ``limit`` bytes in the block (RLIMIT_AS
    set above what it holds now): a document that expands fails its test, not the machine.
    Relative, not absolute: what earlier tests left reserved in the same process (glibc's
    per-thread arenas, caches) must not count against the call being measured."""
    with open("/proc/self/statm", encoding="ascii") as statm:
        held = int(statm.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    cap = held + limit if hard == resource.RLIM_INFINITY else min(held + limit, hard)
    resource.setrlimit(resource.RLIMIT_AS, (cap, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))
