"""Benchmark: the HTTP API under load, as concurrent clients use it (issue 16, "Speed").

    python -m bench.load [--database sqlite|postgresql] [--database-url URL] [--clients 50]
        [--requests 2000] [--solo-requests 2000] [--floor-pairs 10] [--certificates 20]
        [--seed 16] [--server-log FILE] [--no-explain]
    python -m bench.load --url URL --world world.json [--server-pid PID] [...]

The second form drives a server started separately (``assay serve ... --date 2026-06-30
--public-rate 0``) over a store that ``python -m bench.load_setup --data ... --out world.json``
prepared; ``--server-pid`` (a server on this machine) adds its CPU time to the figures.

Sets up its own world (:mod:`bench.load_setup`): in a temporary folder (SQLite), or in a fresh
schema of the PostgreSQL database ``--database-url`` names (default ``$ASSAY_TEST_DATABASE_URL``),
dropped afterwards, a store with the demo's people and more, every password set, 20 engagements
of the sample community taken to issued certificates (the register), and one open engagement per
client with a lead auditor of its own. Then starts a real server, ``python -m assay serve --data
... --public-rate 0 --date 2026-06-30`` on 127.0.0.1 (one uvicorn process; the date is the set-up
clock's, so sessions are valid), and waits for ``/v1/health``.

``--clients`` concurrent clients (asyncio, one httpx connection each, in this process), each
signed in once at the start as its lead auditor (not timed), share a fixed number of requests and
stop when they are done. Phases, one after another on the same server:

1. warm-up (counted for errors, not for the targets): each client reads each kind once, and two
   verdict+level pairs;
2. solo ``health``: ``--solo-requests`` of ``GET /v1/health`` only (the trivial endpoint);
3. solo ``search``: ``--solo-requests`` register searches only;
4. the mix, ``--requests`` requests drawn (seeded) in fixed proportions: 20 % ``health``; 30 %
   ``search``, ``GET /v1/register?community=..&page=..``; 20 % ``status``, ``GET
   /v1/certificates/{number}``; 20 % ``engagement``, ``GET /v1/engagements/{id}`` signed in;
   10 % ``verdict+level``: ``POST /v1/engagements/{id}/verdicts`` (one verdict, CSRF header) then
   ``GET /v1/engagements/{id}/levels?item=..`` (the new level of the item's characteristics,
   inferred on the server with durable_rules, not stored), timed together as one request;
5. ``--floor-pairs`` verdict+level pairs, then as many recorded evaluations (``POST
   /v1/engagements/{id}/evaluations``, every characteristic), by one client alone: their cost
   unqueued.

Reported per kind: count, errors (any non-2xx, or no answer; the first bodies are printed),
throughput (count / wall time of the phase), p50/p95/p99 latency; per phase, the CPU seconds of
the server process and of this one (they share the machine). Targets (issue 16, PostgreSQL with
50 clients): register search throughput at least 50 % of the trivial endpoint's (solo phases);
p95 of verdict+level at most 300 ms; no error responses. Exits 1 when one is missed. Then (unless
``--no-explain``) times evaluations of one engagement in this process on the same store: with a
fresh durable_rules inference each time, with one reused (as the server does), and with the
reference evaluator, to say where an evaluation's time goes.

The driver shares the machine with the server: on two cores the clients' own CPU (httpx), and
on a shared machine other work, limit the trivial endpoint more than the others, which flatters
the search-to-health ratio. The server CPU per request (and the ratio it implies, printed with
the targets) is the steadier figure. Run it on an otherwise idle machine; PostgreSQL for the
target: ``bash`` with ``ASSAY_CI_POSTGRES_PORT=54333; source .ci/postgres`` gives one, with its
URL in ``$ASSAY_TEST_DATABASE_URL`` (see docs/benchmarks.md).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import math
import os
import platform
import random
import re
import socket
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

if TYPE_CHECKING:
    from bench.load_setup import Lead, World

ROOT = Path(__file__).resolve().parent.parent
COOKIE = "__Host-assay-session"  # api.auth.COOKIE (not imported: that loads the whole app)
CSRF_HEADER = "X-CSRF-Token"  # api.auth.CSRF_HEADER
ANCHOR_ENV = "ASSAY_ANCHOR"  # audits.anchor.ANCHOR_ENV
DATABASE_ENV = "ASSAY_TEST_DATABASE_URL"
MIX = {"health": 20, "search": 30, "status": 20, "engagement": 20, "verdict+level": 10}
"""The issue's mix. A recorded evaluation (the lead's, of every characteristic) is not in it; its
cost is measured alone (``--floor-pairs`` evaluations by one client)."""
"""Percentages of the mix's requests."""
SEARCH_SHARE_TARGET = 0.50
VERDICT_P95_TARGET_MS = 300.0
SHOWN_ERRORS = 3
"""Error bodies printed per kind."""
KEEPALIVE = 4.0
"""Seconds a client keeps an idle connection (uvicorn closes them after 5)."""
TIMEOUT = 300.0
"""Seconds a client waits for an answer (queued evaluations can take long)."""


@dataclass
class Sample:
    """One timed request (or verdict+level pair)."""

    kind: str
    seconds: float
    status: int
    """The HTTP status (of the first failing request of a pair); 0 when there was no answer."""
    error: str | None = None
    parts: tuple[float, ...] = ()
    """For verdict+level: the verdict's and the evaluation's seconds."""
    after: str = ""
    """The same client's previous request (kind and status), to tell errors apart."""


@dataclass
class Phase:
    """The samples of one phase and what it cost."""

    name: str
    samples: list[Sample]
    wall: float
    server_cpu: float | None
    client_cpu: float


@dataclass
class Agent:
    """One client: its own connection, signed in as a lead auditor with an open engagement."""

    http: httpx.AsyncClient
    lead: Lead
    session: str = ""
    csrf: str = ""
    rng: random.Random = field(default_factory=random.Random)
    last: str = "sign-in"

    def headers(self, change: bool = False) -> dict[str, str]:
        """The session cookie (sent by hand: it is Secure, and this is plain HTTP on localhost),
        with the CSRF token on a change."""
        headers = {"Cookie": f"{COOKIE}={self.session}"}
        if change:
            headers[CSRF_HEADER] = self.csrf
        return headers

    async def sign_in(self, password: str) -> None:
        """Sign in (once, untimed); a refusal stops the benchmark."""
        response = await self.http.post(
            "/v1/sign-in", json={"person": self.lead.person, "password": password}
        )
        if response.status_code != 200:
            raise SystemExit(f"sign-in of {self.lead.person} failed: {response.status_code} {response.text}")
        self.session = response.headers["set-cookie"].split(";", 1)[0].split("=", 1)[1]
        self.csrf = response.json()["csrf_token"]


async def _request(agent: Agent, kind: str, world: World) -> Sample:
    """Make one request of ``kind`` and time it; failures are samples too."""
    began = time.perf_counter()
    parts: tuple[float, ...] = ()
    try:
        if kind == "health":
            response = await agent.http.get("/v1/health")
        elif kind == "search":
            response = await agent.http.get("/v1/register", params=agent.rng.choice(world.searches))
        elif kind == "status":
            response = await agent.http.get(f"/v1/certificates/{agent.rng.choice(world.certificates)}")
        elif kind == "engagement":
            response = await agent.http.get(
                f"/v1/engagements/{agent.lead.engagement}", headers=agent.headers()
            )
        elif kind == "verdict+level":
            url = f"/v1/engagements/{agent.lead.engagement}"
            response = await agent.http.post(
                f"{url}/verdicts", json=[world.verdict], headers=agent.headers(True)
            )
            verdict = time.perf_counter() - began
            if response.is_success:
                # The new level of the characteristics the verdict's item is offered for.
                item = {"item": world.verdict["evidence_id"]}
                response = await agent.http.get(f"{url}/levels", params=item, headers=agent.headers())
                if response.is_success and not response.json().get("levels"):
                    return Sample(
                        kind, time.perf_counter() - began, response.status_code, "no levels in answer"
                    )
            parts = (verdict, time.perf_counter() - began - verdict)
        elif kind == "evaluation":
            url = f"/v1/engagements/{agent.lead.engagement}/evaluations"
            response = await agent.http.post(url, json={}, headers=agent.headers(True))
        else:
            raise ValueError(kind)
    except httpx.HTTPError as exc:
        return Sample(kind, time.perf_counter() - began, 0, f"{type(exc).__name__}: {exc}")
    seconds = time.perf_counter() - began
    error = None if response.is_success else response.text
    return Sample(kind, seconds, response.status_code, error, parts)


def _cpu_seconds(pid: int | None) -> float | None:
    """User + system CPU seconds of process ``pid`` and its live children (the worker processes
    of ``--workers``; all their threads), from /proc; None elsewhere."""
    if pid is None:
        return None
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    own = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        children = []
    return own + sum(_cpu_seconds(int(child)) or 0.0 for child in children)


async def _phase(name: str, agents: list[Agent], kinds: list[str], world: World, pid: int | None) -> Phase:
    """Run ``kinds`` (one request each, in order of taking) on the agents until none is left."""
    samples: list[Sample] = []
    taken = iter(kinds)

    async def work(agent: Agent) -> None:
        for kind in taken:  # shared: each agent takes the next request when it is free
            sample = await _request(agent, kind, world)
            sample.after, agent.last = agent.last, f"{kind} {sample.status}"
            samples.append(sample)

    server0, client0 = _cpu_seconds(pid), time.process_time()
    began = time.perf_counter()
    await asyncio.gather(*(work(agent) for agent in agents))
    wall = time.perf_counter() - began
    server1 = _cpu_seconds(pid)
    server = server1 - server0 if server0 is not None and server1 is not None else None
    return Phase(name, samples, wall, server, time.process_time() - client0)


def _schedule(total: int, weights: dict[str, int], rng: random.Random) -> list[str]:
    """``total`` kinds in exactly the proportions of ``weights`` (largest remainders), shuffled."""
    whole = sum(weights.values())
    counts = {kind: total * weight // whole for kind, weight in weights.items()}
    by_remainder = sorted(weights, key=lambda kind: -(total * weights[kind] % whole))
    for kind in by_remainder[: total - sum(counts.values())]:
        counts[kind] += 1
    kinds = [kind for kind, count in counts.items() for _ in range(count)]
    rng.shuffle(kinds)
    return kinds


async def _drive(url: str, world: World, args: argparse.Namespace, pid: int | None) -> list[Phase]:
    rng = random.Random(args.seed)
    # An idle connection is dropped here before uvicorn's 5 s keep-alive timeout closes it: a
    # request sent on a connection the server is closing fails ("disconnected without a response").
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1, keepalive_expiry=KEEPALIVE)
    agents = [
        Agent(
            httpx.AsyncClient(base_url=url, timeout=TIMEOUT, limits=limits),
            world.leads[n % len(world.leads)],
            rng=random.Random(rng.random()),
        )
        for n in range(args.clients)
    ]
    try:
        await asyncio.gather(*(agent.sign_in(world.password) for agent in agents))
        warm = ["health", "search", "status", "engagement"] * args.clients + ["verdict+level"] * 2
        phases = [await _phase("warm-up", agents, warm, world, pid)]
        for kind in ("health", "search"):
            phases.append(await _phase(kind, agents, [kind] * args.solo_requests, world, pid))
        phases.append(await _phase("mix", agents, _schedule(args.requests, MIX, rng), world, pid))
        if args.floor_pairs:
            alone = ["verdict+level"] * args.floor_pairs
            phases.append(await _phase("verdict+level, 1 client", agents[:1], alone, world, pid))
            evaluations = ["evaluation"] * args.floor_pairs
            phases.append(await _phase("evaluation, 1 client", agents[:1], evaluations, world, pid))
        return phases
    finally:
        for agent in agents:
            await agent.http.aclose()


# --- figures ------------------------------------------------------------------------------------


def _percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile of ``values`` (not empty)."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


@dataclass
class Figures:
    """Count, errors, throughput and latency of one kind in one phase."""

    count: int
    errors: int
    per_second: float
    p50: float
    p95: float
    p99: float


def _figures(samples: list[Sample], wall: float) -> Figures:
    ms = [s.seconds * 1000 for s in samples]
    errors = sum(s.error is not None for s in samples)
    if not ms:
        return Figures(0, 0, 0.0, math.nan, math.nan, math.nan)
    return Figures(
        len(ms), errors, len(ms) / wall, _percentile(ms, 50), _percentile(ms, 95), _percentile(ms, 99)
    )


def _row(name: str, f: Figures, *extra: str) -> str:
    cells = [name, str(f.count), str(f.errors), f"{f.per_second:.1f}", f"{f.p50:.1f}", f"{f.p95:.1f}"]
    return "| " + " | ".join([*cells, f"{f.p99:.1f}", *extra]) + " |"


def _cpu(seconds: float | None) -> str:
    return "n/a" if seconds is None else f"{seconds:.1f}"


def report(phases: list[Phase], args: argparse.Namespace, database: str) -> bool:
    """Print the tables and the target checks; True when every target is met."""
    by_name = {phase.name: phase for phase in phases}
    mix = by_name["mix"]
    print()
    print(f"### Mix: {len(mix.samples)} requests, {args.clients} clients, {mix.wall:.1f} s wall")
    print()
    print("| kind | count | errors | req/s | p50 ms | p95 ms | p99 ms |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for kind in MIX:
        print(_row(kind, _figures([s for s in mix.samples if s.kind == kind], mix.wall)))
    print(_row("**all**", _figures(mix.samples, mix.wall)))
    pairs = [s.parts for s in mix.samples if s.kind == "verdict+level" and s.parts]
    if pairs:
        verdict = [p[0] * 1000 for p in pairs]
        level = [p[1] * 1000 for p in pairs]
        print()
        print(
            f"verdict+level split: verdict p50 {_percentile(verdict, 50):.1f} ms, p95 "
            f"{_percentile(verdict, 95):.1f} ms; evaluation p50 {_percentile(level, 50):.1f} ms, "
            f"p95 {_percentile(level, 95):.1f} ms"
        )
    print()
    print("### Phases (solo phases: one kind only, same clients)")
    print()
    print(
        "| phase | count | errors | req/s | p50 ms | p95 ms | p99 ms | wall s | server CPU s "
        "| server CPU ms/req | bench CPU s |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for phase in phases:
        figures = _figures(phase.samples, phase.wall)
        each = None if phase.server_cpu is None else phase.server_cpu * 1000 / max(1, figures.count)
        cpu = (_cpu(phase.server_cpu), "n/a" if each is None else f"{each:.2f}", _cpu(phase.client_cpu))
        print(_row(phase.name, figures, f"{phase.wall:.1f}", *cpu))
    errors = [s for phase in phases for s in phase.samples if s.error is not None]
    shown: dict[str, int] = {}
    for sample in errors:
        if shown.get(sample.kind, 0) < SHOWN_ERRORS:
            shown[sample.kind] = shown.get(sample.kind, 0) + 1
            print(
                f"error ({sample.kind}, status {sample.status}, after {sample.after}): "
                f"{sample.error[:300] if sample.error else ''}"
            )
    health = _figures(by_name["health"].samples, by_name["health"].wall)
    search = _figures(by_name["search"].samples, by_name["search"].wall)
    share = search.per_second / health.per_second if health.per_second else 0.0
    level_p95 = _figures([s for s in mix.samples if s.kind == "verdict+level"], mix.wall).p95
    checks = [
        (
            f"register search throughput {search.per_second:.0f} req/s = {share:.0%} of health's "
            f"{health.per_second:.0f} req/s (solo phases)",
            f">= {SEARCH_SHARE_TARGET:.0%}",
            share >= SEARCH_SHARE_TARGET,
        ),
        (
            f"verdict+level p95 {level_p95:.0f} ms (mix, {database}, {args.clients} clients)",
            f"<= {VERDICT_P95_TARGET_MS:.0f} ms",
            level_p95 <= VERDICT_P95_TARGET_MS,
        ),
        (f"error responses: {len(errors)} (all phases, warm-up included)", "none", not errors),
    ]
    print()
    print("### Targets")
    print()
    for text, target, met in checks:
        print(f"- {'met' if met else 'MISSED'}: {text} (target {target})")
    health_cpu, search_cpu = by_name["health"].server_cpu, by_name["search"].server_cpu
    if health_cpu and search_cpu:
        health_ms, search_ms = (cpu * 1000 / args.solo_requests for cpu in (health_cpu, search_cpu))
        print(
            f"- context: server CPU per request {search_ms:.2f} ms for a search, {health_ms:.2f} ms for "
            f"health: were the server's CPU the only limit, search would reach {health_ms / search_ms:.0%} "
            "of health's throughput"
        )
    return all(met for _, _, met in checks)


# --- the world and the server --------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


@contextmanager
def serving(
    data: str, attachments: Path | None, day: str, log: Path, workers: int = 1
) -> Iterator[tuple[str, int]]:
    """``python -m assay serve`` over ``data`` on a free port of 127.0.0.1 until the block ends;
    yields its URL and process id once ``/v1/health`` answers."""
    port = _free_port()
    argv = [sys.executable, "-m", "assay", "serve", "--data", data, "--host", "127.0.0.1"]
    argv += ["--port", str(port), "--public-rate", "0", "--date", day, "--workers", str(workers)]
    if attachments is not None:
        argv += ["--attachments", str(attachments)]
    url = f"http://127.0.0.1:{port}"
    with log.open("wb") as out:
        server = subprocess.Popen(argv, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 120
        while True:
            if server.poll() is not None:
                raise SystemExit(f"the server exited ({server.returncode}):\n{log.read_text()[-3000:]}")
            try:
                if httpx.get(f"{url}/v1/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit(f"the server did not answer in 120 s:\n{log.read_text()[-3000:]}")
            time.sleep(0.1)
        yield url, server.pid
    finally:
        server.terminate()  # uvicorn shuts down gracefully on SIGTERM
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        summary = log_summary(log.read_text(errors="replace"))
        if summary:
            print(f"server log ({log}): {summary}")


def log_summary(text: str) -> str:
    """What a server log reports: each message line (numbers masked) with the outermost exception
    logged under it, and how often; empty for a quiet log. uvicorn logs a failed request's
    traceback again ("Exception in ASGI application") after the app's own line."""
    counts: dict[str, int] = {}
    message, raised = "", ""
    for line in [*text.splitlines(), "(end)"]:
        if not line.strip() or line[0].isspace() or line.startswith(("Traceback", "[SQL", "(Background")):
            continue
        if line.startswith(("The above exception", "During handling of the above")):
            continue
        if re.match(r"[A-Za-z_][\w.]*(Error|Exception)\b", line):
            raised = line  # the last one under a message is the outermost
            continue
        if message:
            entry = f"{re.sub(r'[0-9]+', 'N', message)}: {raised[:160] or '(no exception)'}"
            counts[entry] = counts.get(entry, 0) + 1
        message, raised = line.strip(), ""
    return "; ".join(f"{count} x {entry}" for entry, count in counts.items())


@contextmanager
def fresh_schema(database_url: str) -> Iterator[str]:
    """A fresh schema in the PostgreSQL database, dropped afterwards (:func:`audits.store.scratch_schema`)."""
    from audits.errors import StoreError
    from audits.store import scratch_schema

    try:
        with scratch_schema(database_url, "bench_load_") as url:
            yield url
    except StoreError as exc:
        raise SystemExit(f"--database-url: {exc}") from None


def explain(data: str, attachments: Path | None, world: World, rounds: int = 3) -> None:
    """Time evaluations of one open engagement in this process, on the store the server used:
    a fresh durable_rules inference each time (as ``POST .../evaluations`` does), one reused,
    and the reference evaluator. Medians of ``rounds``, after one untimed of each."""
    import statistics

    from assay.services import services_for
    from certificates.scheme import Scheme
    from engine.durable_engine import DurableInference
    from engine.reference import ReferenceInference
    from engine.sources import FixedClock

    found = services_for(data, attachments, None, clock=FixedClock.at_date(dt.date.fromisoformat(world.day)))
    lead = world.leads[0]
    reused = DurableInference()
    engines: dict[str, Any] = {
        "durable_rules, fresh (as the endpoint)": DurableInference,
        "durable_rules, one reused": lambda: reused,
        "reference": ReferenceInference,
    }
    limit = Scheme().max_characteristics_per_item
    try:
        print()
        print(f"### One evaluation in process ({lead.engagement}, same store), median of {rounds}")
        print()
        for name, make in engines.items():
            times = []
            for n in range(rounds + 1):
                began = time.perf_counter()
                found.decisions.evaluate(
                    lead.person, lead.engagement, make(), max_characteristics_per_item=limit
                )
                if n:
                    times.append((time.perf_counter() - began) * 1000)
            print(f"- {name}: {statistics.median(times):.0f} ms (min {min(times):.0f} ms)")
    finally:
        found.store.close()


def main() -> int:
    warnings.simplefilter("ignore")  # pyHanko's import warns about DSA; nothing here uses it
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument(
        "--database-url",
        default=os.environ.get(DATABASE_ENV),
        help=f"PostgreSQL URL (default ${DATABASE_ENV})",
    )
    parser.add_argument("--clients", type=int, default=50, help="concurrent clients")
    parser.add_argument("--requests", type=int, default=2000, help="requests in the mix")
    parser.add_argument("--solo-requests", type=int, default=2000, help="requests in each solo phase")
    parser.add_argument("--certificates", type=int, default=20, help="certificates in the register")
    parser.add_argument("--seed", type=int, default=16)
    parser.add_argument("--url", default=None, help="drive this server instead (needs --world)")
    parser.add_argument(
        "--server-pid", type=int, default=None, help="with --url: its process id, for its CPU time"
    )
    parser.add_argument(
        "--world", type=Path, default=None, help="world JSON from bench.load_setup (with --url)"
    )
    parser.add_argument("--server-log", type=Path, default=None, help="keep the server's log here")
    parser.add_argument("--floor-pairs", type=int, default=10, help="verdict+level pairs by one client alone")
    parser.add_argument("--workers", type=int, default=1, help="server processes (assay serve --workers)")
    parser.add_argument("--no-explain", action="store_true", help="skip the in-process evaluation timings")
    args = parser.parse_args()
    from bench.load_setup import World, build_world

    cores = os.cpu_count()
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"bench.load: {args.clients} clients, mix {args.requests}, solo {args.solo_requests} each")
    print(f"machine: {cores} cores, load average {load} at start; Python {platform.python_version()}")
    if args.url is not None:
        if args.world is None:
            parser.error("--url needs --world (python -m bench.load_setup --out FILE)")
        world = World.from_json(args.world.read_text(encoding="utf-8"))
        phases = asyncio.run(_drive(args.url, world, args, args.server_pid))
        met = report(phases, args, f"server at {args.url}")
        return 0 if met else 1
    if args.database == "postgresql" and not args.database_url:
        parser.error(f"--database postgresql needs --database-url (or ${DATABASE_ENV})")
    with tempfile.TemporaryDirectory(prefix="assay-bench-load-") as tmp:
        folder = Path(tmp)
        os.environ["ASSAY_CACHE_DIR"] = str(folder / "cache")  # the server inherits it
        with _database(args) as url:
            data, attachments = (url, folder / "attachments") if url else (str(folder / "data"), None)
            if url:
                os.environ[ANCHOR_ENV] = str(folder / "store.head")  # for set-up and the server
            began = time.perf_counter()
            world = build_world(
                data, attachments, folder / "work", leads=args.clients, certified=args.certificates
            )
            print(
                f"set-up: {args.database}, {world.counts['people']} people, {len(world.certificates)} "
                f"certificates, {len(world.leads)} open engagements in {time.perf_counter() - began:.0f} s"
            )
            log = args.server_log or folder / "server.log"
            with serving(data, attachments, world.day, log, args.workers) as (server_url, pid):
                began = time.perf_counter()
                phases = asyncio.run(_drive(server_url, world, args, pid))
                print(f"load phases: {time.perf_counter() - began:.0f} s (sign-in and warm-up included)")
            met = report(phases, args, args.database)
            if not args.no_explain:
                explain(data, attachments, world)
    return 0 if met else 1


@contextmanager
def _database(args: argparse.Namespace) -> Iterator[str | None]:
    """The URL of a fresh PostgreSQL schema, or None for SQLite in the temporary folder."""
    if args.database != "postgresql":
        yield None
        return
    with fresh_schema(args.database_url) as url:
        yield url


if __name__ == "__main__":
    sys.exit(main())
