"""Evaluations on worker processes: same bytes as in-process, each job once, crashes retried.

Crashes are injected with module-level evaluators (workers import them by name) that segfault
their own process. A job's key carries the marker file the crash-once evaluator uses to know its
first attempt: environment variables would not reach the workers, whose fork server keeps the
environment it started with.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

import examples
import rules as bundled_rules
from audits.workers import Done, Failed, Job, evaluate_batch, run_job
from engine.durable_engine import DurableInference
from engine.errors import RulePackError
from engine.evaluation import evaluate_on, result_json
from engine.rulepack import RulePack
from engine.trail import jsonl
from evidence_schemas.reader import pack_digest, read_pack

AS_OF = examples.SAMPLE_AS_OF
CRASH_ONCE = "crash-once:"
CRASH_ALWAYS = "crash-always"


def crash_once(job: Job, rules: RulePack) -> Done:
    """Segfault the worker on the first attempt at a ``crash-once:<marker>`` job, then evaluate."""
    if job.key.startswith(CRASH_ONCE):
        marker = Path(job.key.removeprefix(CRASH_ONCE))
        if not marker.exists():
            marker.touch()
            os.kill(os.getpid(), signal.SIGSEGV)
    return run_job(job, rules)


def crash_always(job: Job, rules: RulePack) -> Done:
    """Segfault the worker on every attempt at a ``crash-always`` job; evaluate the others."""
    if job.key.startswith(CRASH_ALWAYS):
        os.kill(os.getpid(), signal.SIGSEGV)
    return run_job(job, rules)


@pytest.fixture(scope="module")
def pack_json() -> bytes:
    """The sample pack as JSON, as a caller hands it over."""
    return read_pack(examples.sample_pack()).pack.model_dump_json().encode("utf-8")


@pytest.fixture(scope="module")
def expected(rule_pack: RulePack, durable: DurableInference) -> Done:
    """The sample pack evaluated in this process, directly with ``evaluate_on``."""
    pack = read_pack(examples.sample_pack()).pack
    digest = pack_digest(pack)
    evaluation = evaluate_on(rule_pack, pack, digest, AS_OF, durable)
    levels = {c.id: c.verified_level for c in evaluation.result.characteristics}
    return Done(
        "expected",
        digest,
        result_json(evaluation.result),
        jsonl(evaluation.trail),
        evaluation.head,
        levels,
        1,
        0,
    )


def same_evaluation(done: Done | Failed, expected: Done) -> bool:
    """Whether ``done`` is a success with exactly the expected content (whatever its run)."""
    return isinstance(done, Done) and (
        done.pack_digest,
        done.result_json,
        done.trail_jsonl,
        done.trail_head,
        done.levels,
    ) == (
        expected.pack_digest,
        expected.result_json,
        expected.trail_jsonl,
        expected.trail_head,
        expected.levels,
    )


def by_key(outcomes: Iterator[Done | Failed]) -> dict[str, Done | Failed]:
    """Outcomes by job key, checking that no key comes back twice."""
    seen: dict[str, Done | Failed] = {}
    for outcome in outcomes:
        assert outcome.key not in seen, f"{outcome.key} came back twice"
        seen[outcome.key] = outcome
    return seen


def test_results_equal_an_in_process_evaluation(pack_json: bytes, expected: Done) -> None:
    (done,) = evaluate_batch([Job("only", pack_json, AS_OF)], bundled_rules.bundled())
    assert isinstance(done, Done)
    assert same_evaluation(done, expected)
    assert done.result_json == expected.result_json  # spelled out: these are the certified bytes
    assert done.trail_head == expected.trail_head
    assert (done.key, done.attempts) == ("only", 1)
    assert done.seconds > 0
    assert done.levels["1.1.1"] == 4


def test_every_job_comes_back_once_and_jobs_are_pulled_lazily(pack_json: bytes, expected: Done) -> None:
    pulled: list[str] = []

    def jobs() -> Iterator[Job]:
        for i in range(6):
            pulled.append(f"job-{i}")
            # Two dates: the outcome must belong to its own job, not just to any job.
            yield Job(f"job-{i}", pack_json, AS_OF if i % 2 == 0 else dt.date(2025, 6, 30))

    outcomes = evaluate_batch(jobs(), bundled_rules.bundled(), workers=2)
    first = next(outcomes)
    assert len(pulled) <= 4  # in flight at most 2 per worker, not the whole batch
    seen = by_key(iter([first, *outcomes]))
    assert sorted(seen) == pulled == [f"job-{i}" for i in range(6)]
    assert all(isinstance(o, Done) and o.attempts == 1 for o in seen.values())
    for i in (0, 2, 4):
        assert same_evaluation(seen[f"job-{i}"], expected)
    earlier = [seen[f"job-{i}"] for i in (1, 3, 5)]
    assert all(isinstance(o, Done) for o in earlier)
    assert len({o.result_json for o in earlier if isinstance(o, Done)}) == 1
    assert not same_evaluation(earlier[0], expected)  # another date, another result


def test_a_bad_pack_fails_with_its_problem_and_the_others_succeed(pack_json: bytes, expected: Done) -> None:
    bad = json.loads(pack_json)
    del bad["community"]
    bad["claims"][0]["now"] = 9
    jobs = [
        Job("good-1", pack_json, AS_OF),
        Job("bad", json.dumps(bad).encode("utf-8"), AS_OF),
        Job("not-json", b"{", AS_OF),
        Job("good-2", pack_json, AS_OF),
    ]
    seen = by_key(evaluate_batch(jobs, bundled_rules.bundled(), workers=2))
    assert sorted(seen) == ["bad", "good-1", "good-2", "not-json"]
    bad_outcome, not_json = seen["bad"], seen["not-json"]
    assert isinstance(bad_outcome, Failed)
    assert bad_outcome.attempts == 1  # an exception is an answer, not a crash: never retried
    assert bad_outcome.reason.startswith("invalid evidence pack: 2 problems")
    assert "community" in bad_outcome.reason
    assert "claims[0].now" in bad_outcome.reason
    assert isinstance(not_json, Failed)
    assert not_json.reason.startswith("invalid evidence pack: 1 problem")
    assert same_evaluation(seen["good-1"], expected)
    assert same_evaluation(seen["good-2"], expected)


def test_a_crash_is_retried_and_costs_only_its_job(tmp_path: Path, pack_json: bytes, expected: Done) -> None:
    marker = tmp_path / "crashed-once"
    crashing = f"{CRASH_ONCE}{marker}"
    jobs = [Job("before", pack_json, AS_OF), Job(crashing, pack_json, AS_OF), Job("after", pack_json, AS_OF)]
    seen = by_key(evaluate_batch(jobs, bundled_rules.bundled(), workers=2, evaluator=crash_once))
    assert marker.exists()  # it did crash once
    retried = seen[crashing]
    assert isinstance(retried, Done)
    assert retried.attempts == 2
    assert same_evaluation(retried, expected)  # byte-identical after a retry
    for key in ("before", "after"):
        other = seen[key]
        # Unaffected: the right result. A job running beside the crash is rerun, uncharged.
        assert same_evaluation(other, expected)
        assert isinstance(other, Done)
        assert other.attempts in (1, 2)


def test_a_job_that_always_crashes_fails_after_its_attempts(pack_json: bytes, expected: Done) -> None:
    jobs = [Job(f"ok-{i}", pack_json, AS_OF) for i in range(3)]
    jobs.insert(1, Job(CRASH_ALWAYS, pack_json, AS_OF))
    seen = by_key(
        evaluate_batch(jobs, bundled_rules.bundled(), workers=2, attempts=3, evaluator=crash_always)
    )
    failed = seen[CRASH_ALWAYS]
    assert isinstance(failed, Failed)
    assert failed.attempts == 3
    assert failed.reason == "worker process died (signal SIGSEGV) on every one of 3 attempts"
    for i in range(3):
        assert same_evaluation(seen[f"ok-{i}"], expected)


def test_a_rule_pack_that_does_not_load_fails_the_batch(tmp_path: Path, pack_json: bytes) -> None:
    with pytest.raises(RulePackError, match=r"no model\.yaml"):
        list(evaluate_batch([Job("x", pack_json, AS_OF)], tmp_path))


def test_nonsense_sizes_are_refused(pack_json: bytes) -> None:
    with pytest.raises(ValueError, match="at least 1"):
        evaluate_batch([Job("x", pack_json, AS_OF)], bundled_rules.bundled(), workers=0)
