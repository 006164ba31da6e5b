"""``assay demo --serve``: the demo's people and Harbourton's engagement, served in a browser.

Each person gets a password generated now (printed, never stored anywhere but as the store's
hash); the engagement is applied for, its team assigned, the sample evidence submitted and most
of the auditors' verdicts and judgements recorded, leaving a few items and requirements in the
work queue so that every role's pages have something to do. The server's day is fixed at the
sample's assessment date (as ``assay serve --date``), so the evaluation reads the evidence as
the sample was prepared; the certificate is signed with a freshly generated TEST key.
"""

from __future__ import annotations

import json
import secrets
import shutil
import socket
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cryptography import x509

import examples
from assay.demo import ADMIN, AUDITOR, BODY, LEAD, REVIEWER, SUBMITTER, sample_submission
from audits.accounts import Accounts
from audits.blobs import Blobs
from audits.engagements import Engagements
from audits.judging import Judging
from audits.people import load_people
from audits.store import open_store
from certificates.keys import SigningKey, load_signing_key, read_password
from certificates.pki import init_test_pki
from engine.rulepack import RulePack
from engine.sources import FixedClock, SystemClock

if TYPE_CHECKING:
    from fastapi import FastAPI

ROLES = {
    SUBMITTER: "city (submitter)",
    AUDITOR: "auditor",
    LEAD: "lead auditor",
    REVIEWER: "reviewer",
    ADMIN: "register administrator",
}
LEFT_ITEMS, LEFT_REQUIREMENTS = 3, 2
"""Verdicts and judgements of the sample left for the pages (the last ones of each)."""


@dataclass(frozen=True)
class Served:
    """What the served demo is made of."""

    data: Path
    engagement: str
    passwords: dict[str, str]
    """Person id -> the password generated for them."""
    key: SigningKey
    trust: list[x509.Certificate]
    left: list[str]
    """Ids of the items left awaiting a verdict."""


def prepare(out: Path, rules: RulePack) -> Served:
    """Build the served demo's store in ``out`` (replaced if it exists)."""
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    data = out / "data"
    store = open_store(data)
    clock = FixedClock.at_date(examples.SAMPLE_AS_OF)
    blobs = Blobs(data / "attachments")
    engagements = Engagements(store, blobs, clock, rules)
    accounts = Accounts(store, blobs, clock, rules)
    try:
        engagements.import_people(load_people(examples.people_file()), None)
        passwords = {person: secrets.token_urlsafe(12) for person in ROLES}
        for person, password in passwords.items():
            accounts.set_password(accounts.invite(ADMIN, person), password)
        submission, verdicts, judged = sample_submission(examples.sample_pack(), out / "submission")
        community = json.loads((submission / "pack.json").read_text(encoding="utf-8"))["community"]
        engagement = engagements.create(SUBMITTER, community["id"], community["name"], [])
        engagements.assign(ADMIN, engagement, lead=LEAD, auditors=[AUDITOR], reviewer=REVIEWER)
        engagements.submit(SUBMITTER, engagement, submission)
        engagements.verify(LEAD, engagement, verdicts[:-LEFT_ITEMS])
        Judging(store, blobs, clock, rules).judge(AUDITOR, engagement, judged[:-LEFT_REQUIREMENTS])
    finally:
        store.close()
    pki = init_test_pki(out / "test-pki", SystemClock().now())
    key = load_signing_key(pki.signer_p12, read_password(None, pki.signer_password))
    left = [v.evidence_id for v in verdicts[-LEFT_ITEMS:]]
    return Served(data, engagement, passwords, key, [pki.root_certificate()], left)


def sign_ins(url: str, served: Served) -> str:
    """What the demo prints: the address and one sign-in per role."""
    lines = [f"Assay is serving the demo at {url}", "Sign in as:"]
    width = max(len(p) for p in ROLES)
    for person, role in ROLES.items():
        lines.append(f"  {person:<{width}}  password {served.passwords[person]}  ({role})")
    lines.append(f"Harbourton's engagement: {url}/work/{served.engagement}")
    lines.append("Stop the server with Ctrl-C.")
    return "".join(line + "\n" for line in lines)


def served_app(served: Served, **settings: Any) -> FastAPI:
    """The app serving a prepared demo: its day fixed at the sample's assessment date, signing
    with the demo's TEST key, trusting its root (``settings`` adds or overrides)."""
    from api.app import create_app
    from api.settings import Settings

    return create_app(
        Settings(
            **{
                "data": str(served.data),
                "clock": FixedClock.at_date(examples.SAMPLE_AS_OF),
                "key": served.key,
                "body": BODY,
                "trust": served.trust,
                **settings,
            }
        )
    )


def serve(out: Path, rules: RulePack, host: str, port: int, echo: Callable[[str], None]) -> None:
    """Prepare the demo in ``out`` and serve it until interrupted; ``echo`` prints a line."""
    import uvicorn

    served = prepare(out, rules)
    app = served_app(served)
    listening = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    listening.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listening.bind((host, port))
    shown = f"[{host}]" if ":" in host else host
    url = f"http://{shown}:{listening.getsockname()[1]}"
    echo(sign_ins(url, served))
    config = uvicorn.Config(app, log_level="warning", access_log=False, server_header=False)
    uvicorn.Server(config).run(sockets=[listening])
