"""Set-up for the HTTP load benchmark (:mod:`bench.load`): a store with a register to search and
engagements to work on, built through the services as the people themselves would.

    python -m bench.load_setup --data DATA [--attachments DIR] [--leads 50] [--certificates 20] \\
        [--out world.json]

In the store at ``--data`` (a data folder, or a PostgreSQL URL with ``--attachments`` and
``ASSAY_ANCHOR`` set, as for ``assay serve``), on the clock of ``examples.SAMPLE_AS_OF``:

- the demo's people (``examples.people_file()``), a submitter for each of four more communities
  and ``--leads`` auditors ``bench-lead-NN``, every one with the password :data:`PASSWORD`;
- ``--certificates`` engagements of the sample community's evidence (renamed for each of five
  communities in turn) taken through the whole lifecycle to an issued certificate, signed with a
  test PKI made for the run: the register the public searches;
- one open engagement per lead auditor, evidence submitted, verified, judged and evaluated once,
  where the benchmark records more verdicts and re-evaluates.

Evaluations here use the reference evaluator (the same levels as durable_rules, faster to set
up); the server under load evaluates with durable_rules, as it always does. Written as JSON
(``--out``): what the load driver needs to know about the world (certificate numbers, searches,
leads and their engagements, a verdict to record); ``bench.load --url URL --world FILE`` drives a
server started separately over this store with ``--date 2026-06-30 --public-rate 0``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import sys
import tempfile
import time
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import examples
from assay.services import Services, services_for
from audits.anchor import ANCHOR_ENV
from audits.engagements import Verdict
from audits.judging import JudgementEntry
from audits.people import PersonEntry, load_people
from certificates.keys import load_signing_key, read_password
from certificates.pki import init_test_pki
from certificates.scheme import Scheme
from engine.reference import ReferenceInference
from engine.sources import FixedClock

DAY = examples.SAMPLE_AS_OF
"""The day everything happens on: set-up, and the server's ``--date``."""
PASSWORD = "correct horse battery staple"
ADMIN, LEAD, AUDITOR, REVIEWER = "sofia", "rolu", "amira", "jonas"
BODY = "Assay Demo Certification Body"
COMMUNITIES = [
    # (id, name, submitter): the sample's own first, then four more with the same evidence renamed.
    ("harbourton", "Harbourton", "mei.harbourton"),
    ("eastvale", "Eastvale", "bench.eastvale"),
    ("northport", "Northport", "bench.northport"),
    ("westbrook", "Westbrook", "bench.westbrook"),
    ("southmere", "Southmere", "bench.southmere"),
]
PER_PAGE = 2
"""Register searches ask for pages this long, so a community's certificates span pages."""


@dataclass
class Lead:
    """A lead auditor and the open engagement they record verdicts on and evaluate."""

    person: str
    engagement: str


@dataclass
class World:
    """What the load driver needs to know about the store it drives."""

    day: str
    password: str
    certificates: list[str]
    searches: list[dict[str, Any]]
    """Query parameters of register searches, each finding at least one certificate."""
    leads: list[Lead]
    verdict: dict[str, str]
    """One verdict (as ``POST /v1/engagements/{id}/verdicts`` takes it) on an item every lead's
    engagement has."""
    seconds: float = 0.0
    """How long the set-up took."""
    counts: dict[str, int] = field(default_factory=dict)

    def to_json(self) -> str:
        """As written to ``--out``."""
        return json.dumps(asdict(self), indent=2)

    @classmethod
    def from_json(cls, text: str) -> World:
        """As read by ``bench.load --world``."""
        raw = json.loads(text)
        raw["leads"] = [Lead(**lead) for lead in raw["leads"]]
        return cls(**raw)


def lead_id(n: int) -> str:
    """The id of the ``n``-th benchmark lead auditor (from 1)."""
    return f"bench-lead-{n:02d}"


def _people(leads: int) -> list[PersonEntry]:
    extra = [
        PersonEntry(id=submitter, name=f"{name} Submitter", organisation=f"{name} Council", community=cid)
        for cid, name, submitter in COMMUNITIES[1:]
    ]
    extra += [
        PersonEntry(id=lead_id(n), name=f"Bench Auditor {n}", organisation=BODY, roles=["auditor"])
        for n in range(1, leads + 1)
    ]
    return list(load_people(examples.people_file())) + extra


def _packs(folder: Path) -> tuple[dict[str, Path], list[Verdict], list[JudgementEntry]]:
    """The sample submission (without its verdicts and judgements) renamed for each community,
    and the sample's verdicts and judgements."""
    manifest = json.loads((examples.sample_pack() / "pack.json").read_text(encoding="utf-8"))
    verdicts = [
        Verdict(v["evidence_id"], v["verdict"], v["method"], v["reason"])
        for v in manifest.pop("verifications")
    ]
    judged = [
        JudgementEntry(j["requirement"], j["rating"], tuple(j["cites"]), j["method"], j["reason"])
        for j in manifest.pop("judgements")
    ]
    packs = {}
    for cid, name, _ in COMMUNITIES:
        target = folder / f"pack-{cid}"
        shutil.copytree(examples.sample_pack(), target)
        renamed = {
            **manifest,
            "id": f"{cid}-2026",
            "community": {**manifest["community"], "id": cid, "name": name},
        }
        (target / "pack.json").write_text(json.dumps(renamed), encoding="utf-8")
        packs[cid] = target
    return packs, verdicts, judged


def build_world(
    data: str, attachments: Path | None, folder: Path, *, leads: int = 50, certified: int = 20
) -> World:
    """Build the world in the store at ``data`` (empty, or not yet made); ``folder`` holds the
    packs and the test PKI. With a database URL, ``attachments`` and ``ASSAY_ANCHOR`` are needed."""
    began = time.perf_counter()
    found: Services = services_for(data, attachments, None, clock=FixedClock.at_date(DAY))
    try:
        people = _people(leads)
        found.engagements.import_people(people, None)
        for person in people:
            found.accounts.set_password(found.accounts.invite(ADMIN, person.id), PASSWORD)
        packs, verdicts, judged = _packs(folder)
        pki = init_test_pki(folder / "pki", dt.datetime.now(dt.UTC))
        key = load_signing_key(pki.signer_p12, read_password(None, pki.signer_password))
        inference = ReferenceInference()
        (folder / "certificates").mkdir(parents=True, exist_ok=True)

        def evaluated(community: int, lead: str, auditors: list[str]) -> str:
            cid, name, submitter = COMMUNITIES[community % len(COMMUNITIES)]
            eid = found.engagements.create(submitter, cid, name, [])
            found.engagements.assign(ADMIN, eid, lead=lead, auditors=auditors, reviewer=REVIEWER)
            found.engagements.submit(submitter, eid, packs[cid])
            found.engagements.verify(lead, eid, verdicts)
            found.engagements.judge(auditors[0] if auditors else lead, eid, judged)
            found.decisions.evaluate(lead, eid, inference)
            return eid

        numbers = []
        for n in range(certified):
            eid = evaluated(n, LEAD, [AUDITOR])
            found.decisions.decide(REVIEWER, eid, "certify", "Levels as evaluated.")
            issued = found.awarding.issue(
                ADMIN,
                eid,
                key,
                body=BODY,
                language="en",
                out=None,
                scheme=Scheme(),
                folder=folder / "certificates",
            )
            numbers.append(issued.certificate.number)
        open_engagements = [Lead(lead_id(n), evaluated(n, lead_id(n), [])) for n in range(1, leads + 1)]
    finally:
        found.store.close()
    searches = []
    for n, (_, name, _) in enumerate(COMMUNITIES[: min(certified, len(COMMUNITIES))]):
        count = len(range(n, certified, len(COMMUNITIES)))
        fragment = name.lower()[:5]  # "harbo", "eastv", ...: the start of a name, as people type
        for page in range(1, (count + PER_PAGE - 1) // PER_PAGE + 1):
            searches.append({"community": fragment, "page": page, "per_page": PER_PAGE})
    first = verdicts[0]
    verdict = {"evidence_id": first.evidence_id, "verdict": first.verdict, "method": first.method}
    return World(
        day=DAY.isoformat(),
        password=PASSWORD,
        certificates=numbers,
        searches=searches,
        leads=open_engagements,
        verdict={**verdict, "reason": "Re-checked during the load benchmark."},
        seconds=round(time.perf_counter() - began, 1),
        counts={"people": len(people), "engagements": certified + leads},
    )


def main() -> None:
    warnings.simplefilter("ignore")  # as assay's own commands: libraries' notices are for their developers
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", required=True, help="data folder or database URL (as for assay serve)")
    parser.add_argument(
        "--attachments", type=Path, default=None, help="attachment folder (with a database URL)"
    )
    parser.add_argument("--leads", type=int, default=50, help="lead auditors, one open engagement each")
    parser.add_argument("--certificates", type=int, default=20, help="certificates issued into the register")
    parser.add_argument(
        "--work",
        type=Path,
        default=None,
        help="folder for packs, PKI and issued PDFs (default DATA.work, or a temporary one for a URL)",
    )
    parser.add_argument("--out", type=Path, default=None, help="where to write the world (default: stdout)")
    args = parser.parse_args()
    if "://" in args.data and (args.attachments is None or not os.environ.get(ANCHOR_ENV)):
        parser.error(f"a database URL needs --attachments and {ANCHOR_ENV}, as assay serve does")
    if args.work is not None:
        work = args.work
    elif "://" in args.data:
        work = Path(tempfile.mkdtemp(prefix="assay-bench-load-work-"))
        sys.stderr.write(f"packs, PKI and issued PDFs in {work}\n")
    else:
        work = Path(args.data + ".work")
    work.mkdir(parents=True, exist_ok=True)
    world = build_world(args.data, args.attachments, work, leads=args.leads, certified=args.certificates)
    if args.out is None:
        sys.stdout.write(world.to_json() + "\n")
    else:
        args.out.write_text(world.to_json() + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
