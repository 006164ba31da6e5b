"""Benchmark: many engagements stored, verified and evaluated, evaluations on worker processes.

    python -m bench.engagements [--engagements 1000] [--items 200] [--workers 2] [--database URL]

Per engagement: application, team assignment, one evidence submission of ``--items`` synthetic
items (``bench.synthetic``), one batch of auditors' verdicts (about 70 % of the items), then an
evaluation by durable_rules on a worker process, recorded in the store by the parent. Packs are
written to disk before the clock starts (a city prepares its pack before submitting it). The
store is SQLite in a fresh temporary folder, or the PostgreSQL database ``--database`` names, in
a fresh schema dropped afterwards.
"""

from __future__ import annotations

import argparse
import json
import secrets
import statistics
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import create_engine, make_url
from sqlalchemy.pool import NullPool

import rules as bundled_rules
from audits.blobs import Blobs
from audits.decisions import Decisions
from audits.engagements import Engagements, Verdict
from audits.people import PersonEntry
from audits.store import open_store
from audits.versions import Assembled, assemble
from audits.workers import Done, Job, evaluate_batch
from bench.synthetic import AS_OF, evidence
from engine.canonical import canonical_json
from engine.rulepack import load_rule_pack
from engine.sources import FixedClock

PEOPLE = [
    PersonEntry(id="city", name="City Submitter", organisation="Bench City", community="bench"),
    PersonEntry(id="lead", name="Lead Auditor", organisation="Body", roles=["auditor"]),
    PersonEntry(id="reviewer", name="Reviewer", organisation="Body", roles=["reviewer"]),
    PersonEntry(id="admin", name="Administrator", organisation="Body", roles=["register_administrator"]),
]


def _packs(folder: Path, count: int, items: int) -> list[tuple[Path, list[Verdict]]]:
    """One pack folder per engagement (its own seed) and the verdicts auditors will record."""
    prepared = []
    for n in range(count):
        pack = evidence(items, seed=n)
        verdicts = [Verdict(v.evidence_id, v.verdict, v.method, v.reason) for v in pack.verifications]
        submitted = pack.model_copy(update={"verifications": [], "id": f"bench-{n:04d}"})
        target = folder / f"pack-{n:04d}"
        target.mkdir()
        (target / "pack.json").write_bytes(canonical_json(submitted.model_dump(mode="json")))
        prepared.append((target, verdicts))
    return prepared


def _location(database: str | None, folder: Path) -> tuple[str, str | None]:
    """Where the store goes, and the PostgreSQL schema to drop afterwards."""
    if database is None:
        return str(folder / "data"), None
    schema = f"bench_{secrets.token_hex(6)}"
    engine = create_engine(database, poolclass=NullPool)
    with engine.begin() as connection:
        connection.exec_driver_sql(f"CREATE SCHEMA {schema}")
    engine.dispose()
    url = make_url(database).update_query_dict({"options": f"-csearch_path={schema}"})
    return url.render_as_string(hide_password=False), schema


def _drop(database: str, schema: str) -> None:
    engine = create_engine(database, poolclass=NullPool)
    with engine.begin() as connection:
        connection.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--engagements", type=int, default=1000)
    parser.add_argument("--items", type=int, default=200)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--database", default=None, help="PostgreSQL URL (default: SQLite in a temp folder)")
    args = parser.parse_args()
    rules_dir = bundled_rules.bundled()
    rules = load_rule_pack(rules_dir)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        prepared = _packs(folder, args.engagements, args.items)
        location, schema = _location(args.database, folder)
        try:
            store = open_store(location)
            services = (store, Blobs(folder / "attachments"), FixedClock.at_date(AS_OF), rules)
            engagements, decisions = Engagements(*services), Decisions(*services)
            engagements.import_people(PEOPLE, None)

            store_times: list[float] = []
            snapshots: dict[str, Assembled] = {}

            def jobs() -> Iterator[Job]:
                # Pulled lazily by evaluate_batch as workers free up, so storing the next
                # engagement overlaps with evaluating the previous ones.
                for pack, verdicts in prepared:
                    began = time.perf_counter()
                    eid = engagements.create("city", "bench", "Bench City", [])
                    engagements.assign("admin", eid, lead="lead", auditors=[], reviewer="reviewer")
                    engagements.submit("city", eid, pack)
                    engagements.verify("lead", eid, verdicts)
                    with store.read() as connection:
                        assembled = assemble(connection, eid)
                    assert assembled is not None
                    store_times.append(time.perf_counter() - began)
                    snapshots[eid] = assembled
                    yield Job(eid, assembled.pack_json, AS_OF)

            start = time.perf_counter()
            cpu0 = time.process_time()
            seconds, failed = [], 0
            for outcome in evaluate_batch(jobs(), rules_dir, workers=args.workers):
                if isinstance(outcome, Done):
                    decisions.record_evaluation(
                        "lead",
                        outcome.key,
                        snapshots.pop(outcome.key),
                        outcome.result_json,
                        outcome.trail_jsonl,
                    )
                    seconds.append(outcome.seconds)
                else:
                    failed += 1
            total = time.perf_counter() - start
            parent_cpu = time.process_time() - cpu0
            backend = store.url.get_backend_name()
            store.close()
        finally:
            if schema is not None and args.database is not None:
                _drop(args.database, schema)
    print(
        json.dumps(
            {
                "database": backend,
                "engagements": args.engagements,
                "items_each": args.items,
                "workers": args.workers,
                "total_s": round(total, 2),
                "store_median_ms": round(statistics.median(store_times) * 1000, 1),
                "evaluation_median_ms": round(statistics.median(seconds) * 1000, 1) if seconds else None,
                "parent_cpu_s": round(parent_cpu, 2),
                "evaluations": len(seconds),
                "failed": failed,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
