"""Benchmark: each web page against the API call behind it, in the same run (issue 17).

    python -m bench.pages [--items 200] [--rounds 30]

Builds the store ``assay demo --serve`` builds, submits a second version grown to ``--items``
items (the sample's plus synthetic ones from :mod:`bench.synthetic`), and serves it on 127.0.0.1.
Then, signed in as the person each page is for, it requests every page and its API call
alternately (page, API, page, API, ...), ``--rounds`` times each after one warm-up, and prints
the median of each, their ratio, and the page's size.

Targets: every page renders in at most 5x the time of the API call behind it; a page for a
200-item engagement is under 200 KB of HTML. Exits 1 if a target is missed.
"""

from __future__ import annotations

import argparse
import json
import socket
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import quote

import httpx
import uvicorn

import examples
from api.auth import COOKIE
from assay.demo import AUDITOR, SUBMITTER
from assay.demo_serve import prepare, served_app
from assay.options import load_rules
from audits.blobs import Blobs
from audits.engagements import Engagements
from audits.store import open_store
from bench.synthetic import evidence
from engine.sources import FixedClock

MAX_RATIO, MAX_BYTES = 5.0, 200_000


def _grow(served_root: Path, data: Path, engagement: str, items: int) -> int:
    """Submit the sample grown to ``items`` items as the next version; its item count."""
    submission = served_root / "submission"
    manifest = json.loads((submission / "pack.json").read_text(encoding="utf-8"))
    extra = max(items - len(manifest["items"]), 0)
    for item in evidence(extra).model_dump(mode="json")["items"]:
        manifest["items"].append({**item, "id": f"bench-{item['id']}"})
    (submission / "pack.json").write_text(json.dumps(manifest), encoding="utf-8")
    rules = load_rules(None)
    store = open_store(data)
    try:
        clock = FixedClock.at_date(examples.SAMPLE_AS_OF)
        Engagements(store, Blobs(data / "attachments"), clock, rules).submit(
            SUBMITTER, engagement, submission
        )
    finally:
        store.close()
    return len(manifest["items"])


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--items", type=int, default=200, help="items in the engagement's latest version")
    parser.add_argument("--rounds", type=int, default=30, help="timed requests of each page and API call")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder) / "demo"
        served = prepare(root, load_rules(None))
        count = _grow(root, served.data, served.engagement, args.items)
        app = served_app(served, public_rate=0)
        listening = socket.socket()
        listening.bind(("127.0.0.1", 0))
        server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off"))
        thread = threading.Thread(target=server.run, kwargs={"sockets": [listening]}, daemon=True)
        thread.start()
        while not server.started:
            time.sleep(0.01)
        url = f"http://127.0.0.1:{listening.getsockname()[1]}"
        try:
            return _measure(url, served.engagement, served.passwords, served.left[0], count, args.rounds)
        finally:
            server.should_exit = True
            thread.join(timeout=10)
            app.state.services.store.close()


def _measure(url: str, eid: str, passwords: dict[str, str], item: str, count: int, rounds: int) -> int:
    clients = {}
    for person in (SUBMITTER, AUDITOR):
        http = httpx.Client(base_url=url, timeout=120)
        signed = http.post("/v1/sign-in", json={"person": person, "password": passwords[person]})
        signed.raise_for_status()
        http.headers["cookie"] = f"{COOKIE}={_cookie(signed)}"
        clients[person] = http
    key = (
        clients[AUDITOR].get(f"/v1/engagements/{eid}/worksheet").json()[0]["candidates"]["requirement"]["key"]
    )
    pairs: list[tuple[str, str | None, str, str]] = [
        ("register", None, "/?community=harbour", "/v1/register?community=harbour"),
        ("overview", AUDITOR, f"/work/{eid}", f"/v1/engagements/{eid}"),
        ("dashboard", SUBMITTER, f"/work/{eid}/dashboard", f"/v1/engagements/{eid}/levels"),
        ("draft", SUBMITTER, f"/work/{eid}/draft", f"/v1/engagements/{eid}/versions/0"),
        ("queue", AUDITOR, f"/work/{eid}/queue", f"/v1/engagements/{eid}/worksheet"),
        ("item", AUDITOR, f"/work/{eid}/items/{item}", f"/v1/engagements/{eid}/levels?item={item}"),
        (
            "requirement",
            AUDITOR,
            f"/work/{eid}/requirement?key={quote(key)}",
            f"/v1/engagements/{eid}/worksheet",
        ),
    ]
    anyone = httpx.Client(base_url=url, timeout=120)
    print(f"{count} items in the latest version; {rounds} timed requests of each, alternating")
    print(f"{'page':<12} {'page ms':>9} {'API ms':>9} {'ratio':>6} {'page KB':>8}")
    met = True
    for name, who, page_path, api in pairs:
        client = clients[who] if who else anyone
        times: dict[str, list[float]] = {"page": [], "api": []}
        size = 0
        for turn in range(rounds + 1):
            for kind, path in (("page", page_path), ("api", api)):
                started = time.perf_counter()
                response = client.get(path)
                elapsed = time.perf_counter() - started
                if response.status_code != 200:
                    raise SystemExit(f"{name}: {path} answered {response.status_code}: {response.text[:200]}")
                if kind == "page":
                    size = len(response.content)
                if turn:  # the first round warms caches and is not counted
                    times[kind].append(elapsed)
        page_ms = statistics.median(times["page"]) * 1000
        api_ms = statistics.median(times["api"]) * 1000
        ratio = page_ms / api_ms
        met &= ratio <= MAX_RATIO and size < MAX_BYTES
        flag = "" if ratio <= MAX_RATIO and size < MAX_BYTES else "  <- target missed"
        print(f"{name:<12} {page_ms:>9.1f} {api_ms:>9.1f} {ratio:>6.2f} {size / 1000:>8.1f}{flag}")
    for http in [*clients.values(), anyone]:
        http.close()
    print(f"targets (ratio <= {MAX_RATIO:g}, page < {MAX_BYTES // 1000} KB): {'met' if met else 'MISSED'}")
    return 0 if met else 1


def _cookie(response: httpx.Response) -> str:
    for header in response.headers.get_list("set-cookie"):
        if header.startswith(f"{COOKIE}="):
            return header.split("=", 1)[1].split(";", 1)[0]
    raise SystemExit("sign-in set no session cookie")


if __name__ == "__main__":
    sys.exit(main())
