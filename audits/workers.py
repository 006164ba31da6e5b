"""Evaluations spread over worker processes, so that a native crash costs one evaluation, not the batch.

durable_rules is a C extension with open reports of segfaults (see shared/notes/durable-rules.md); a
crash inside it kills the whole process, which no ``try`` can catch. :func:`evaluate_batch` therefore
runs each evaluation in a worker process of a :class:`~concurrent.futures.ProcessPoolExecutor`. Each
worker loads the rule pack once (the pool initializer) and keeps one :class:`DurableInference`, whose
rulesets it compiles up front.

Start method: ``forkserver``, with this module (so the engine and durable_rules) preloaded in the
server. Never ``fork``: a child must not inherit the parent's durable_rules state (registered rulesets,
live sessions, a lock held by another thread). The fork server is a fresh interpreter that only imports
modules, registers nothing and starts no thread, so children forked from it start clean. Measured on
two cores (Python 3.11): the CPU a worker spends before its first job (interpreter, imports, loading
and compiling the bundled rule pack) is ~0.50 s with the preloaded fork server, ~0.72 s without the
preload and ~0.75-0.85 s with ``spawn``; a pool of 2 is ready in ~0.5 s (~0.7 s for the first pool,
which also starts the server) against ~0.8 s with ``spawn``, and the difference recurs at every
rebuild after a crash. As with ``spawn``, workers still import the caller's ``__main__`` module, so it
must keep its work under ``if __name__ == "__main__"``.

Crashes and retries. When a worker dies, the executor fails every unfinished future with
``BrokenProcessPool`` and terminates the other workers. Each worker writes the sequence number of
the job it is running into a shared slot, so after a breakage the batch knows which jobs were
actually running and which worker process ran each; exit codes come from the executor's (private)
table of worker processes, as no public API gives them. The rule:

- a job whose own worker died (any exit other than the SIGTERM the executor sends to the survivors) is
  *charged* an attempt; jobs running in the survivors and jobs merely queued are resubmitted uncharged;
- if no worker can be blamed (every exit looks like the executor's SIGTERM, or a worker died outside
  any job, e.g. in its initializer), every job in flight is charged, so a crash that no job explains
  still cannot loop forever;
- a job is :class:`Failed` once it has been charged ``attempts`` times, and every breakage charges at
  least one job, so a batch always ends.

``attempts`` on an outcome counts the times the job was started in a worker (a job interrupted while
a sibling crashed was run twice and says so, but is not charged for the sibling's crash). An ordinary
exception from the evaluator (an :class:`AssayError` for a bad pack, or a bug) is not retried: it is a
:class:`Failed` carrying the message.

Outcomes are yielded as they complete. At most ``2 * workers`` jobs are submitted at a time, so a long
batch is pickled as it goes, not up front. The evaluation is deterministic (:func:`evaluate_on`), so a
job's :class:`Done` is byte-identical whichever worker ran it and however often it was retried, except
for ``attempts`` and ``seconds``, which describe the run.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import multiprocessing
import os
import signal
import sys
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from multiprocessing.context import BaseContext
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from engine.basis import MAX_CHARACTERISTICS_PER_ITEM
from engine.durable_engine import DurableInference
from engine.errors import AssayError, EngineError, EvidencePackError, InputError, Problem, RulePackError
from engine.evaluation import evaluate_on, result_json
from engine.rulepack import RulePack, load_rule_pack
from engine.trail import jsonl
from evidence_schemas.pack import EvidencePack
from evidence_schemas.reader import pack_digest, parse_manifest

START_METHOD = "forkserver"
"""How worker processes start (see the module docstring for why not ``fork`` or ``spawn``)."""
IN_FLIGHT_PER_WORKER = 2
"""Jobs submitted at once per worker: one running and one ready, so no worker waits on the parent."""
WORKER_NICENESS = 10
"""How much lower a worker's scheduling priority is than its parent's."""
SWITCH_INTERVAL = 0.001
"""The parent's GIL switch interval while a batch runs (Python's default is 5 ms). The executor's
feeder thread moves jobs and results through pipes only when it holds the GIL; while the caller
stores results on the main thread, a worker blocked writing a large result into a full pipe waits
up to a whole interval per turn. Measured on the engagement benchmark: 7.0 s per 100 engagements
at 5 ms, 6.1 s at 1 ms, no better at 0.2 ms."""
_IDLE = 0
"""A worker slot's value between jobs (job sequence numbers start at 1)."""


@dataclass(frozen=True)
class Job:
    """One evaluation to run: an evidence pack on an assessment date, under the caller's key."""

    key: str
    """The caller's id for the job, returned with the outcome."""
    pack_json: bytes
    """An :class:`EvidencePack` as JSON."""
    as_of: dt.date
    max_characteristics_per_item: int = MAX_CHARACTERISTICS_PER_ITEM
    """The scheme's threshold for flagging an item that carries too much (engine.basis)."""


@dataclass(frozen=True)
class Done:
    """A job evaluated."""

    key: str
    pack_digest: str
    """:func:`evidence_schemas.reader.pack_digest` of the parsed pack."""
    result_json: bytes
    """``result.json`` exactly as :func:`engine.evaluation.result_json` writes it."""
    trail_jsonl: str
    trail_head: str
    levels: dict[str, int | None]
    """Characteristic id -> verified level (None when not encoded or nothing verified)."""
    attempts: int
    """Times the job was started in a worker: 1 unless retried after a crash."""
    seconds: float
    """Wall time of the successful attempt inside the worker."""


@dataclass(frozen=True)
class Failed:
    """A job that gave no result: the evaluator raised, or its worker died on every attempt."""

    key: str
    reason: str
    attempts: int


Evaluator = Callable[[Job, RulePack], Done]
"""What a worker runs for a job; must be a module-level function (it is pickled by reference)."""


# --- worker side -------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Raised:
    """The evaluator raised; only the message crosses back (exceptions with custom constructors,
    like :class:`InputError`, do not survive unpickling, and a result that fails to unpickle
    would break the pool)."""

    message: str


@dataclass(frozen=True)
class _SetupFailed:
    """The worker could not load the rule pack: a failure of the whole batch, not of a job."""

    message: str
    problems: tuple[Problem, ...]


@dataclass
class _WorkerState:
    """What a worker process holds between jobs (set by :func:`_init_worker`)."""

    evaluator: Evaluator
    rules: RulePack | None
    failure: _SetupFailed | None
    slots: Any  # shared array of [pid, running job] pairs, one pair per worker
    slot: int


_state: _WorkerState | None = None
_inference: DurableInference | None = None


def process_inference() -> DurableInference:
    """This process's one :class:`DurableInference` (rulesets are process-global in durable_rules)."""
    global _inference
    if _inference is None:
        _inference = DurableInference()
    return _inference


def run_job(job: Job, rules: RulePack) -> Done:
    """The default evaluator: parse the pack and evaluate it reproducibly on durable_rules.

    Raises :class:`EvidencePackError` naming every problem when the JSON is not a valid pack.
    """
    started = time.perf_counter()
    pack = parse_pack(job.pack_json)
    digest = pack_digest(pack)
    evaluation = evaluate_on(
        rules,
        pack,
        digest,
        job.as_of,
        process_inference(),
        max_characteristics_per_item=job.max_characteristics_per_item,
    )
    return Done(
        key=job.key,
        pack_digest=digest,
        result_json=result_json(evaluation.result),
        trail_jsonl=jsonl(evaluation.trail),
        trail_head=evaluation.head,
        levels={c.id: c.verified_level for c in evaluation.result.characteristics},
        attempts=1,
        seconds=time.perf_counter() - started,
    )


def parse_pack(data: bytes) -> EvidencePack:
    """An evidence pack from JSON bytes; :class:`EvidencePackError` lists every problem."""
    try:
        return EvidencePack.model_validate_json(data)
    except ValidationError as exc:
        # Only on failure: re-read with the reader's line map for problems with line and field path.
        problems = parse_manifest(data, "pack.json", "json").problems
        raise EvidencePackError(problems or [Problem("pack.json", None, "", str(exc))]) from None


def _init_worker(rules_dir: Path, evaluator: Evaluator, slots: Any, claimed: Any) -> None:
    """Pool initializer: claim a slot, load the rule pack and compile its rulesets, once per process.

    Never raises: an initializer that raises kills its worker, which would look like a crash and be
    retried; the failure is kept and reported by the first job instead.
    """
    global _state
    # The parent stores what workers evaluate and feeds them the next jobs; when it waits for a
    # core, both workers soon run dry. A lower priority keeps the feeder ahead.
    os.nice(WORKER_NICENESS)
    with claimed.get_lock():
        slot = int(claimed.value)
        claimed.value += 1
    if slot < len(slots) // 2:
        slots[2 * slot] = os.getpid()
    rules: RulePack | None = None
    failure: _SetupFailed | None = None
    try:
        rules = load_rule_pack(rules_dir)
        process_inference().compile(rules)
    except InputError as exc:
        failure = _SetupFailed(str(exc), tuple(exc.problems))
    except Exception as exc:
        failure = _SetupFailed(f"{type(exc).__name__}: {exc}", ())
    _state = _WorkerState(evaluator, rules, failure, slots, slot)


def _work(seq: int, job: Job) -> Done | _Raised | _SetupFailed:
    """Run one job in a worker, recording in its slot which job is running while it runs."""
    state = _state
    assert state is not None, "worker used without its initializer"
    if state.failure is not None:
        return state.failure
    assert state.rules is not None
    recorded = 2 * state.slot + 1 < len(state.slots)
    if recorded:
        state.slots[2 * state.slot + 1] = seq
    try:
        started = time.perf_counter()
        done = state.evaluator(job, state.rules)
        seconds = time.perf_counter() - started
    except Exception as exc:
        return _Raised(str(exc) if isinstance(exc, AssayError) else f"{type(exc).__name__}: {exc}")
    finally:
        if recorded:
            state.slots[2 * state.slot + 1] = _IDLE
    return dataclasses.replace(done, attempts=1, seconds=seconds)


# --- parent side -------------------------------------------------------------------------------


@dataclass
class _Task:
    """A job and its history in this batch."""

    seq: int
    job: Job
    runs: int = 0
    """Times started in a worker and interrupted by a breakage."""
    charged: int = 0
    """Breakages blamed on this job."""
    causes: list[str] = dataclasses.field(default_factory=list)


def _context() -> BaseContext:
    """The multiprocessing context workers start from (see ``START_METHOD``)."""
    ctx = multiprocessing.get_context(START_METHOD)
    if START_METHOD == "forkserver":
        # Import the engine once in the fork server rather than in every worker. It takes effect
        # only if the server is not running yet; it never changes what a worker computes.
        ctx.set_forkserver_preload([__name__])
    return ctx


def _exit_cause(code: int | None) -> str:
    """A worker's exit code in words: ``signal SIGSEGV``, ``exit code 3``."""
    if code is None:
        return "still running"
    if code < 0:
        try:
            return f"signal {signal.Signals(-code).name}"
        except ValueError:
            return f"signal {-code}"
    return f"exit code {code}"


class _Pool:
    """One executor and the shared slots its workers record running jobs in."""

    def __init__(self, ctx: BaseContext, workers: int, rules_dir: Path, evaluator: Evaluator) -> None:
        # [pid, running job seq] per worker; written only by the worker owning the slot and read
        # here only after the pool broke, when every worker is dead, so no lock is needed.
        self.slots = ctx.RawArray("q", 2 * workers)
        claimed = ctx.Value("i", 0)
        self.executor = ProcessPoolExecutor(
            workers,
            mp_context=ctx,
            initializer=_init_worker,
            initargs=(rules_dir, evaluator, self.slots, claimed),
        )

    def submit(self, task: _Task) -> Future[Done | _Raised | _SetupFailed]:
        return self.executor.submit(_work, task.seq, task.job)

    def post_mortem(self) -> tuple[dict[int, str], set[int], str]:
        """After a breakage: (job seq -> cause for jobs whose worker died, seqs that were running,
        a cause for the breakage as a whole). Shuts the executor down."""
        # ProcessPoolExecutor keeps no public record of its workers' exit codes; its private
        # ``_processes`` (pid -> Process) stays filled after a breakage until shutdown clears it.
        processes: dict[int, BaseProcess] = dict(getattr(self.executor, "_processes", None) or {})
        self.executor.shutdown(wait=True, cancel_futures=True)
        for process in processes.values():
            process.join(timeout=10)
        codes = {pid: process.exitcode for pid, process in processes.items()}
        # Survivors get SIGTERM from the executor; any other exit is a worker dying on its own.
        own = {pid for pid, code in codes.items() if code != -signal.SIGTERM}
        blamed: dict[int, str] = {}
        running: set[int] = set()
        for i in range(0, len(self.slots), 2):
            pid, seq = int(self.slots[i]), int(self.slots[i + 1])
            if seq == _IDLE:
                continue
            running.add(seq)
            if pid in own:
                blamed[seq] = _exit_cause(codes[pid])
        deaths = sorted({_exit_cause(codes[pid]) for pid in own}) or sorted(
            {_exit_cause(code) for code in codes.values()}
        )
        return blamed, running, ", ".join(deaths) or "unknown cause"

    def close(self) -> None:
        self.executor.shutdown(wait=True, cancel_futures=True)


def evaluate_batch(
    jobs: Iterable[Job],
    rules_dir: Path,
    *,
    workers: int = 2,
    attempts: int = 3,
    evaluator: Evaluator | None = None,
) -> Iterator[Done | Failed]:
    """Evaluate ``jobs`` against the rule pack in ``rules_dir`` on ``workers`` processes.

    Yields one :class:`Done` or :class:`Failed` per job as each completes (not in job order). A job
    whose worker process dies is retried until it has been blamed for ``attempts`` crashes (see the
    module docstring for who is blamed). Raises :class:`RulePackError` if the workers cannot load
    the rule pack. ``evaluator`` replaces :func:`run_job` (tests inject crashes with it).
    """
    if workers < 1 or attempts < 1:  # checked now, not at the first ``next``
        raise ValueError("workers and attempts must be at least 1")
    # Resolved: the workers' working directory is the fork server's, not necessarily the caller's.
    return _batch(iter(jobs), rules_dir.resolve(), workers, attempts, evaluator or run_job)


def _batch(
    source: Iterator[Job], rules_dir: Path, workers: int, attempts: int, run: Evaluator
) -> Iterator[Done | Failed]:
    """The batch itself; processes start at the first ``next``."""
    ctx = _context()
    retry: deque[_Task] = deque()  # resubmitted before new jobs, so a retried job is not starved
    in_flight: dict[Future[Done | _Raised | _SetupFailed], _Task] = {}
    next_seq = 1
    pool = _Pool(ctx, workers, rules_dir, run)
    interval = sys.getswitchinterval()
    sys.setswitchinterval(min(interval, SWITCH_INTERVAL))
    try:
        while True:
            broken = False
            while len(in_flight) < IN_FLIGHT_PER_WORKER * workers:
                if retry:
                    task = retry.popleft()
                else:
                    job = next(source, None)
                    if job is None:
                        break
                    task = _Task(next_seq, job)
                    next_seq += 1
                try:
                    in_flight[pool.submit(task)] = task
                except BrokenProcessPool:  # broke since the last wait: submit refuses at once
                    retry.appendleft(task)
                    broken = True
                    break
            if not in_flight and not broken:
                return
            if not broken:
                finished, _ = wait(in_flight, return_when=FIRST_COMPLETED)
                broken = any(isinstance(f.exception(), BrokenProcessPool) for f in finished)
            if broken:
                # Every future still pending is failing with BrokenProcessPool: let them all settle,
                # so results that made it out before the breakage are kept.
                wait(in_flight)
            for future in [f for f in in_flight if f.done()]:
                if isinstance(future.exception(), BrokenProcessPool):
                    continue
                task = in_flight.pop(future)
                yield _outcome(task, future)
            if broken:
                yield from _after_breakage(pool, in_flight, retry, attempts)
                in_flight.clear()
                pool = _Pool(ctx, workers, rules_dir, run)
    finally:
        sys.setswitchinterval(interval)
        pool.close()


def _outcome(task: _Task, future: Future[Done | _Raised | _SetupFailed]) -> Done | Failed:
    """A finished future's outcome; raises if the worker could not load the rule pack."""
    attempts = task.runs + 1
    error = future.exception()
    if error is not None:  # e.g. the evaluator returned something that cannot be pickled
        return Failed(task.job.key, f"{type(error).__name__}: {error}", attempts)
    value = future.result()
    if isinstance(value, _SetupFailed):
        if value.problems:
            raise RulePackError(list(value.problems))
        raise EngineError(f"worker could not load the rule pack: {value.message}")
    if isinstance(value, _Raised):
        return Failed(task.job.key, value.message, attempts)
    return dataclasses.replace(value, attempts=attempts)


def _after_breakage(
    pool: _Pool,
    lost: dict[Future[Done | _Raised | _SetupFailed], _Task],
    retry: deque[_Task],
    attempts: int,
) -> Iterator[Failed]:
    """Charge the breakage to the jobs that caused it, fail those out of attempts, requeue the rest."""
    blamed, running, cause = pool.post_mortem()
    tasks = sorted(lost.values(), key=lambda t: t.seq)
    if not blamed:  # nobody to blame: everything in flight pays, so the batch still ends
        blamed = {t.seq: cause for t in tasks}
        running |= set(blamed)
    requeue = []
    for task in tasks:
        if task.seq in running:
            task.runs += 1
        if task.seq in blamed:
            task.charged += 1
            task.causes.append(blamed[task.seq])
        if task.charged >= attempts:
            causes = ", ".join(sorted(set(task.causes)))
            if task.runs != task.charged:  # it also ran beside other jobs' crashes
                tally = f"on {task.charged} of {task.runs} attempts"
            elif task.runs == 1:
                tally = "on its only attempt"
            else:
                tally = f"on every one of {task.runs} attempts"
            yield Failed(task.job.key, f"worker process died ({causes}) {tally}", task.runs)
        else:
            requeue.append(task)
    retry.extendleft(reversed(requeue))
