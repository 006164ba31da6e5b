"""Crash safety of the store: processes killed with SIGKILL mid-operation, and concurrent writers.

A SIGKILL gives the process no chance to clean up, so what it leaves is exactly what the store's
own ordering guarantees: every operation must leave either nothing or all of itself, whatever
instant it is killed at. Each trial runs the real command (``python -m assay ...``) in a child
process on a copy of a prepared store and kills it at one point:

* after a delay, placed relative to an uninterrupted run measured first (its duration and the
  moment it first wrote a file), so the delays spread over the whole run whatever the machine's
  speed;
* when something shows up on disk, polled from outside (the first temporary blob);
* at an exact place in the code (*crash injection*): this module is also the child's entry point
  (``python -m tests.engagements.test_crash HOOKS -- ASSAY-ARGS``) and can make the child SIGKILL
  itself the moment a function returns or a file gets its final name. These points are the narrow
  windows a delay would hit only by luck.

After each kill the store is reopened and checked: ``assay trail verify --store`` passes, the
operation is absent or complete, every blob under a real name hashes to that name, and the next
operation works. Then two processes write to one engagement at the same moment.

Stores are named by :class:`Site` (what ``--data`` and ``--attachments`` take) and made by
:class:`Sites` from a :class:`Recipe` that prepares one through the services. ``Sites`` is the one
place that knows they are SQLite data folders (it prepares each recipe once and copies the folder
per trial); a PostgreSQL variant replaces it with one giving each site a schema of its own and
running the recipe there.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import hashlib
import importlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, NoReturn

import pytest
from cryptography import x509
from sqlalchemy import select
from sqlalchemy.engine import Connection

import examples
from assay.cli import main, run
from audits.blobs import TEMP_PREFIX, Blobs
from audits.decisions import Decisions
from audits.engagements import Engagements, Verdict
from audits.errors import RefusedError
from audits.people import load_people
from audits.schema import attachments, certificates, decisions, pack_versions, trail, verifications
from audits.store import Store, open_store
from certificates.awarding import Awarding
from certificates.keys import SigningKey, load_signing_key, read_password
from certificates.pki import init_test_pki
from certificates.register import STAGED_PREFIX, Register
from certificates.scheme import Scheme
from certificates.verify import verify_certificate
from engine.reference import ReferenceInference
from engine.rulepack import RulePack
from engine.sources import FixedClock, SystemClock
from evidence_schemas.pack import EvidencePack
from evidence_schemas.reader import pack_digest, read_pack

REPO = Path(__file__).resolve().parents[2]
AS_OF = examples.SAMPLE_AS_OF
DATE = AS_OF.isoformat()
SUBMITTER, LEAD, AUDITOR, REVIEWER, ADMIN = "mei.harbourton", "rolu", "amira", "jonas", "sofia"
ENGAGEMENT = "ENG-2026-0001"  # the first engagement of 2026 in every prepared store
FIRST_NUMBER = "ASSAY-2026-000001"  # the default scheme's first certificate number of 2026
BODY = "Assay Crash Test Body"
BIG_FILES, BIG_MIB = 4, 20  # 80 MiB of attachments: copying them is a good part of a submission
POLL = 0.0005  # seconds between looks at the disk while waiting for a kill point

Outcome = Literal["nothing", "complete"]
"""What a killed operation left: none of itself, or all of it."""


# Child processes ------------------------------------------------------------------------------


def _die() -> NoReturn:
    """SIGKILL this process: no exception handler, ``finally`` or ``atexit`` gets to run."""
    os.kill(os.getpid(), signal.SIGKILL)
    raise AssertionError("still alive after SIGKILL")  # pragma: no cover


def _kill_after(spec: str) -> None:
    """Make ``module:qualname`` (a function or method) SIGKILL the process once it returns."""
    module_name, _, qualname = spec.partition(":")
    owner: Any = importlib.import_module(module_name)
    *path, name = qualname.split(".")
    for part in path:
        owner = getattr(owner, part)
    original = getattr(owner, name)

    @functools.wraps(original)
    def then_die(*args: Any, **kwargs: Any) -> NoReturn:
        original(*args, **kwargs)
        _die()

    setattr(owner, name, then_die)


def _kill_on_name(target: Path) -> None:
    """SIGKILL the process the instant a rename or link gives ``target`` its name.

    Whichever call the code uses to publish a file (``os.replace`` today), the process dies with
    the file in place and nothing after that call done.
    """
    target = target.resolve()
    for name in ("replace", "rename", "link"):
        original = getattr(os, name)

        def then_die(src: Any, dst: Any, *args: Any, _original: Any = original, **kwargs: Any) -> None:
            _original(src, dst, *args, **kwargs)
            if Path(os.fsdecode(dst)).resolve() == target:
                _die()

        setattr(os, name, then_die)


def _child(argv: list[str]) -> None:
    """The child's entry point: ``[--kill-after M:F] [--kill-on-name P] [--ready P] [--wait-for P]
    -- ASSAY-ARGS``, options applied in order, then the CLI runs (and exits) as ``assay`` would.

    Everything is imported before ``--ready`` is signalled, so children released together by
    ``--wait-for`` start the command itself at the same moment, not their imports.
    """
    split = argv.index("--")
    options, command = argv[:split], argv[split + 1 :]
    for option, value in zip(options[::2], options[1::2], strict=True):
        if option == "--kill-after":
            _kill_after(value)
        elif option == "--kill-on-name":
            _kill_on_name(Path(value))
        elif option == "--ready":
            Path(value).touch()
        elif option == "--wait-for":
            while not Path(value).exists():
                time.sleep(POLL)
        else:
            raise SystemExit(f"unknown option {option}")
    sys.argv = ["assay", *command]
    main()


def assay_command(args: list[str], hooks: list[str] | None = None) -> list[str]:
    """The command line running ``assay ARGS``: the real entry point, or this module's with hooks."""
    if hooks is None:
        return [sys.executable, "-m", "assay", *args]
    return [sys.executable, "-m", "tests.engagements.test_crash", *hooks, "--", *args]


def start(args: list[str], log: Path, hooks: list[str] | None = None) -> subprocess.Popen[bytes]:
    """Start ``assay ARGS`` in a child process, its output going to ``log``."""
    with log.open("wb") as out:
        # The child holds its own copy of the descriptor; closing ours at once is fine.
        return subprocess.Popen(
            assay_command(args, hooks), cwd=REPO, stdin=subprocess.DEVNULL, stdout=out, stderr=out
        )


# Stores ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Site:
    """One store as the commands see it, with a scratch folder for the trial's other files."""

    location: str
    """What ``--data`` and ``--store`` take: a data folder or a database URL."""
    attachments: Path
    """The store's content-addressed attachment folder (``--attachments``)."""
    scratch: Path
    """The trial's own folder: logs, certificates, marker files."""

    def options(self) -> list[str]:
        """``--data`` and ``--attachments``, given explicitly so a URL location works too."""
        return ["--data", self.location, "--attachments", str(self.attachments)]

    def open(self) -> Store:
        """Reopen the existing store (never create one: a lost store must fail the test)."""
        return open_store(self.location, create=False)


@dataclass(frozen=True)
class Recipe:
    """How to prepare a store, through the services only (so it works on any database)."""

    name: str
    prepare: Callable[[Site], None]


class Sites:
    """Makes the stores of this module: empty ones, and ones a recipe prepared.

    SQLite data folders under ``root``. Each recipe runs once, on a site of its own, and every site
    wanting it gets a copy of that folder (taken while no one has the store open: a copy is far
    cheaper than preparing again). A PostgreSQL variant gives each site a schema of its own and
    runs the recipe in it.
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        self._prepared: dict[str, Site] = {}

    def new(self, name: str) -> Site:
        """An empty site; its store is created when first opened."""
        scratch = self.root / name
        scratch.mkdir(parents=True)
        data = scratch / "data"
        return Site(str(data), data / "attachments", scratch)

    def prepared(self, recipe: Recipe, name: str) -> Site:
        """A new site holding what ``recipe`` makes (records and attachments)."""
        original = self._prepared.get(recipe.name)
        if original is None:
            original = self.new(f"recipe-{recipe.name}")
            recipe.prepare(original)
            self._prepared[recipe.name] = original
        site = self.new(name)
        shutil.copytree(original.location, site.location)
        return site

    def remove(self, site: Site) -> None:
        """Free a finished trial's disk space (its big blobs)."""
        shutil.rmtree(site.scratch)


@dataclass(frozen=True)
class Services:
    """The services over one opened store, acting on the sample's assessment date."""

    store: Store
    engagements: Engagements
    decisions: Decisions
    awarding: Awarding
    register: Register


@contextmanager
def services(site: Site, rules: RulePack, *, create: bool = False) -> Iterator[Services]:
    """Open ``site``'s store with the services over it; closed again (every connection) on leaving."""
    store = open_store(site.location) if create else site.open()
    clock = FixedClock.at_date(AS_OF)
    args = (store, Blobs(site.attachments), clock, rules)
    try:
        yield Services(store, Engagements(*args), Decisions(*args), Awarding(*args), Register(store, clock))
    finally:
        store.close()


@contextmanager
def reading(site: Site) -> Iterator[Connection]:
    """One read transaction on the reopened store."""
    with site.open() as store, store.read() as connection:
        yield connection


def trail_payloads(connection: Connection, event: str) -> list[dict[str, Any]]:
    """Payloads of the store's trail records of ``event``, in order."""
    rows = connection.execute(select(trail.c.payload).where(trail.c.event == event).order_by(trail.c.seq))
    return [json.loads(payload) for payload in rows.scalars()]


def assert_trail_verifies(site: Site) -> None:
    """``assay trail verify --store`` passes (run in this process: same command, no interpreter start)."""
    assert run(["trail", "verify", "--store", site.location]) == 0


def sha256_file(path: Path) -> str:
    """SHA-256 hex of a file, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def check_blobs(site: Site) -> int:
    """Rehash every blob under a real name (it must be complete); returns how many temporary files
    interrupted copies left, which are allowed (their names say what they are)."""
    strays = 0
    if not site.attachments.exists():
        return 0
    for shard in site.attachments.iterdir():
        assert shard.is_dir(), f"{shard} is not a shard folder"
        for blob in shard.iterdir():
            if blob.name.startswith(TEMP_PREFIX):
                strays += 1
                continue
            assert blob.name[:2] == shard.name, f"{blob} is in the wrong shard"
            assert sha256_file(blob) == blob.name, f"{blob} does not hash to its name: a partial blob"
    with reading(site) as connection:
        rows = connection.execute(select(attachments)).all()
    for row in rows:
        path = Blobs(site.attachments).path(row.sha256)
        assert path.is_file(), f"attachment {row.sha256} is recorded but not stored"
        assert path.stat().st_size == row.size
    return strays


# Evidence packs -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Packs:
    """The packs the tests submit, as folders, with what they are expected to store."""

    sample: Path
    """The bundled sample without its verifications (a community never submits verdicts)."""
    variant: Path
    """The sample with one item's title changed: another digest, the same attachments."""
    big: Path
    """The sample with :data:`BIG_FILES` large attachments added to its first items."""
    big_variant: Path
    """``big`` with one title changed (its files hard-linked, not copied)."""
    big_blobs: list[str]
    """SHA-256 of the large attachments, in the order a submission stores them."""
    verdicts: list[Verdict]
    """The sample's verifications, for the auditors to record."""

    digests: dict[Path, str]
    """Pack folder -> the digest a submission of it is stored under (read once: hashing is slow)."""

    def digest(self, pack: Path) -> str:
        """The digest a submission of ``pack`` is stored under."""
        return self.digests[pack]


def _edit(folder: Path, change: Callable[[dict[str, Any]], None]) -> None:
    """Apply ``change`` to a pack folder's ``pack.json``."""
    manifest = folder / "pack.json"
    data = json.loads(manifest.read_text(encoding="utf-8"))
    change(data)
    manifest.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def _retitle(data: dict[str, Any]) -> None:
    """Change the first item's title: a new pack digest, the same attachments."""
    data["items"][0]["title"] += " (revised)"


def _add_big_files(folder: Path) -> list[str]:
    """Write the large attachments and declare them (path, media type, size, sha256) on the first
    items; returns their SHA-256 in item order, the order they are stored in."""
    block = os.urandom(1 << 20)  # one random MiB repeated: distinct files, cheap to make
    declared: list[dict[str, Any]] = []
    for i in range(BIG_FILES):
        path = folder / "attachments" / f"big-{i}.bin"
        digest = hashlib.sha256()
        with path.open("wb") as out:
            for chunk in (f"large attachment {i}\n".encode(), *([block] * BIG_MIB)):
                out.write(chunk)
                digest.update(chunk)
        declared.append(
            {
                "path": f"attachments/big-{i}.bin",
                "media_type": "application/octet-stream",
                "size": path.stat().st_size,
                "sha256": digest.hexdigest(),
            }
        )

    def attach(data: dict[str, Any]) -> None:
        for item, attachment in zip(data["items"], declared, strict=False):
            item.setdefault("attachments", []).append(attachment)

    _edit(folder, attach)
    return [a["sha256"] for a in declared]


@pytest.fixture(scope="module")
def packs(tmp_path_factory: pytest.TempPathFactory) -> Packs:
    """The packs, made once for the module."""
    root = tmp_path_factory.mktemp("packs")
    sample = root / "sample"
    shutil.copytree(examples.sample_pack(), sample)
    verdicts: list[Verdict] = []

    def strip(data: dict[str, Any]) -> None:
        verdicts.extend(
            Verdict(v["evidence_id"], v["verdict"], v["method"], v["reason"])
            for v in data.pop("verifications")
        )
        data.pop("judgements")

    _edit(sample, strip)
    variant = root / "variant"
    shutil.copytree(sample, variant)
    _edit(variant, _retitle)
    big = root / "big"
    shutil.copytree(sample, big)
    big_blobs = _add_big_files(big)
    big_variant = root / "big-variant"
    shutil.copytree(big, big_variant, copy_function=os.link)
    (big_variant / "pack.json").unlink()  # a fresh file, not the hard link shared with ``big``
    shutil.copyfile(big / "pack.json", big_variant / "pack.json")
    _edit(big_variant, _retitle)
    digests = {pack: read_pack(pack).digest for pack in (sample, variant, big, big_variant)}
    return Packs(sample, variant, big, big_variant, big_blobs, verdicts, digests)


# Prepared stores ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sites(tmp_path_factory: pytest.TempPathFactory) -> Sites:
    """Where this module's stores live."""
    return Sites(tmp_path_factory.mktemp("stores"))


def prepare_assigned(site: Site, rules: RulePack) -> None:
    """People imported, Harbourton's engagement applied for and its team assigned."""
    with services(site, rules, create=True) as s:
        s.engagements.import_people(load_people(examples.people_file()), None)
        assert s.engagements.create(SUBMITTER, "harbourton", "Harbourton", []) == ENGAGEMENT
        s.engagements.assign(ADMIN, ENGAGEMENT, lead=LEAD, auditors=[AUDITOR], reviewer=REVIEWER)


@pytest.fixture(scope="module")
def assigned(rule_pack: RulePack) -> Recipe:
    """A store with an assigned engagement and no evidence yet."""
    return Recipe("assigned", lambda site: prepare_assigned(site, rule_pack))


@pytest.fixture(scope="module")
def decided(rule_pack: RulePack, packs: Packs, reference: ReferenceInference) -> Recipe:
    """A store whose engagement has a decision to certify and no certificate yet."""

    def prepare(site: Site) -> None:
        prepare_assigned(site, rule_pack)
        with services(site, rule_pack) as s:
            s.engagements.submit(SUBMITTER, ENGAGEMENT, packs.sample)
            s.engagements.verify(LEAD, ENGAGEMENT, packs.verdicts)
            # The plain-Python evaluator gives durable_rules' result (tested elsewhere), faster.
            s.decisions.evaluate(LEAD, ENGAGEMENT, reference)
            s.decisions.decide(REVIEWER, ENGAGEMENT, "certify", "Evidence and verdicts support the profile")

    return Recipe("decided", prepare)


@dataclass(frozen=True)
class Pki:
    """The test PKI the certificates are signed with."""

    key_file: Path
    password_file: Path
    key: SigningKey
    root: x509.Certificate


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    """A fresh test PKI (what ``assay ca init-test`` writes)."""
    made = init_test_pki(tmp_path_factory.mktemp("pki"), SystemClock().now())
    key = load_signing_key(made.signer_p12, read_password(None, made.signer_password))
    return Pki(made.signer_p12, made.signer_password, key, made.root_certificate())


# Killing --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Timing:
    """An uninterrupted run, in seconds after its start: when it first wrote a file in the watched
    folder (a temporary file or, if that came and went unseen, a final one), and when it ended."""

    first_write: float
    end: float


@dataclass(frozen=True)
class Trial:
    """One kill's setting: the store, the folder to watch and the files that matter in it."""

    site: Site
    watch: Path
    """Where the operation writes files: the attachment folder, or the certificate's folder."""
    targets: list[Path]
    """Final names the operation gives files: the large blobs in storing order, or the PDF."""


@dataclass(frozen=True)
class KillPoint:
    """When to kill: after a delay, once a condition holds on disk, or at a place in the code."""

    label: str
    delay: Callable[[Timing], float] | None = None
    until: Callable[[Trial], bool] | None = None
    hooks: Callable[[Trial], list[str]] | None = None
    expect: Outcome | None = None
    """The outcome a point in the code determines; None where timing decides it."""


@dataclass(frozen=True)
class Killed:
    """How a trial's child process ended."""

    returncode: int
    seconds: float
    """When it was killed (or ended by itself), after its start."""

    @property
    def killed(self) -> bool:
        """Whether SIGKILL ended it (rather than its own exit)."""
        return self.returncode == -signal.SIGKILL


def temporaries(folder: Path) -> list[Path]:
    """Dot-named (temporary) files in ``folder`` and its subfolders, tolerating files that vanish."""
    found: list[Path] = []
    try:
        entries = list(os.scandir(folder))
    except FileNotFoundError:
        return found
    for entry in entries:
        if entry.name.startswith("."):
            found.append(Path(entry.path))
        elif entry.is_dir(follow_symlinks=False):
            found += temporaries(Path(entry.path))
    return found


def measure(args: list[str], trial: Trial) -> tuple[Timing, int]:
    """Run ``assay ARGS`` to its end, noting when it first wrote a file in the watched folder."""
    started = time.perf_counter()
    process = start(args, trial.site.scratch / "measured.log")
    first: float | None = None
    while process.poll() is None:
        # A certificate's temporary file lives for milliseconds: a busy machine may not let us
        # look in time, but the file it becomes stays.
        if first is None and (temporaries(trial.watch) or any(t.exists() for t in trial.targets)):
            first = time.perf_counter() - started
        time.sleep(POLL)
    end = time.perf_counter() - started
    assert first is not None, "the run ended before it wrote a file"
    return Timing(first, end), process.returncode


def kill_at(point: KillPoint, args: list[str], trial: Trial, timing: Timing) -> Killed:
    """Run ``assay ARGS`` and SIGKILL it at ``point``; returns how it ended."""
    hooks = point.hooks(trial) if point.hooks else None
    started = time.perf_counter()
    process = start(args, trial.site.scratch / f"{point.label}.log", hooks)
    deadline = started + point.delay(timing) if point.delay else None
    seen = False
    while process.poll() is None:
        now = time.perf_counter()
        if deadline is not None and now >= deadline:
            break
        if point.until is not None and point.until(trial):
            seen = True
            break
        time.sleep(POLL)
    if process.poll() is None and (deadline is not None or seen):
        process.send_signal(signal.SIGKILL)
    returncode = process.wait(timeout=60)
    ended = Killed(returncode, time.perf_counter() - started)
    log = (trial.site.scratch / f"{point.label}.log").read_text(encoding="utf-8", errors="replace")
    if point.hooks is not None:
        assert ended.killed, f"the hook never fired (exit {returncode}): {log}"
    if point.until is not None:
        assert seen, f"the run ended before {point.label} was seen (exit {returncode}): {log}"
    assert ended.killed or returncode == 0, f"exit {returncode}: {log}"
    return ended


def record(request: pytest.FixtureRequest, timing: Timing, killed: Killed, outcome: Outcome) -> None:
    """Note where the kill landed among the test's properties (a JUnit report with ``-o
    junit_family=xunit1`` lists them): timing decides it for most points."""
    request.node.user_properties += [
        ("uninterrupted_s", round(timing.end, 3)),
        ("first_write_s", round(timing.first_write, 3)),
        ("ended_s", round(killed.seconds, 3)),
        ("killed", killed.killed),
        ("outcome", outcome),
    ]


# 1. SIGKILL during an evidence submission -----------------------------------------------------


def submit_args(site: Site, pack: Path) -> list[str]:
    """``assay engagement submit`` of ``pack`` by the community's submitter."""
    return ["engagement", "submit", ENGAGEMENT, str(pack), "--as", SUBMITTER, "--date", DATE, *site.options()]


def submission_trial(site: Site, packs: Packs) -> Trial:
    """Watch the attachment folder; the targets are the big blobs' final paths."""
    blobs = Blobs(site.attachments)
    return Trial(site, site.attachments, [blobs.path(sha) for sha in packs.big_blobs])


@pytest.fixture(scope="module")
def submit_timing(sites: Sites, assigned: Recipe, packs: Packs) -> Timing:
    """An uninterrupted submission of the big pack, measured (and checked: version 1, complete)."""
    site = sites.prepared(assigned, "submit-measured")
    timing, returncode = measure(submit_args(site, packs.big), submission_trial(site, packs))
    assert returncode == 0
    assert check_submission(site, packs.digest(packs.big)) == "complete"
    sites.remove(site)
    return timing


def check_submission(site: Site, digest: str) -> Outcome:
    """After a submission of the pack with ``digest`` (killed or not), the store holds no new
    version or a complete one; the trail verifies and no blob is partial."""
    assert_trail_verifies(site)
    check_blobs(site)
    with reading(site) as connection:
        versions = connection.execute(
            select(pack_versions).where(pack_versions.c.engagement_id == ENGAGEMENT)
        ).all()
        submitted = trail_payloads(connection, "evidence.submitted")
        recorded = set(connection.execute(select(attachments.c.sha256)).scalars())
    if not versions:
        assert submitted == [], "a submission is in the trail without its version"
        assert not recorded, "attachments are recorded without the version naming them"
        return "nothing"
    (version,) = versions
    assert (version.version, version.pack_digest) == (1, digest)
    assert [(s["version"], s["digest"]) for s in submitted] == [(1, digest)]
    blobs = Blobs(site.attachments)
    named = attachment_digests(version.manifest)
    for sha in named:
        # Stored blobs were all rehashed above: being there is being complete.
        assert sha in recorded, f"version 1 names attachment {sha}, which is not recorded"
        assert blobs.has(sha), f"version 1 names attachment {sha}, which is not stored"
    assert sorted(submitted[0]["attachments"]) == sorted(named)
    return "complete"


def attachment_digests(manifest: str) -> set[str]:
    """SHA-256 of every attachment a stored version's manifest names."""
    pack = EvidencePack.model_validate_json(manifest)
    return {attachment.sha256 for item in pack.items for attachment in item.attachments}


SUBMISSION_KILLS = [
    KillPoint("starting", delay=lambda t: 0.5 * t.first_write),
    KillPoint("first-temporary-blob", until=lambda trial: bool(temporaries(trial.watch))),
    KillPoint("copying", delay=lambda t: (t.first_write + t.end) / 2),
    KillPoint(
        "first-big-blob-named",
        hooks=lambda trial: ["--kill-on-name", str(trial.targets[0])],
        expect="nothing",
    ),
    KillPoint(
        "all-blobs-stored",
        hooks=lambda _: ["--kill-after", "audits.engagements:commit_staged"],
        expect="nothing",
    ),
    KillPoint(
        "committed",
        hooks=lambda _: ["--kill-after", "audits.engagements:Engagements.submit"],
        expect="complete",
    ),
]


@pytest.mark.parametrize("point", SUBMISSION_KILLS, ids=lambda p: p.label)
def test_submission_killed(
    point: KillPoint,
    sites: Sites,
    assigned: Recipe,
    packs: Packs,
    submit_timing: Timing,
    rule_pack: RulePack,
    request: pytest.FixtureRequest,
) -> None:
    """A submission killed anywhere leaves no version or a complete one, no partial blob, and a
    store that takes the next submission as the next version."""
    site = sites.prepared(assigned, f"submit-{point.label}")
    killed = kill_at(point, submit_args(site, packs.big), submission_trial(site, packs), submit_timing)
    outcome = check_submission(site, packs.digest(packs.big))
    record(request, submit_timing, killed, outcome)
    if point.expect is not None:
        assert outcome == point.expect
    if not killed.killed:
        assert outcome == "complete"  # it ran to its end before the kill was due
    # The store goes on: the next start sweeps the copies the killed run left (nobody holds
    # them), and another pack (same files, one title changed) becomes the next version.
    Blobs(site.attachments).sweep()  # as every command does when it starts (assay.services)
    with services(site, rule_pack) as s:
        version = s.engagements.submit(SUBMITTER, ENGAGEMENT, packs.big_variant)
    assert version == (2 if outcome == "complete" else 1)
    assert_trail_verifies(site)
    assert check_blobs(site) == 0  # no temporary file outlives the next start
    with reading(site) as connection:
        stored = connection.execute(
            select(pack_versions.c.version, pack_versions.c.pack_digest)
            .where(pack_versions.c.engagement_id == ENGAGEMENT)
            .order_by(pack_versions.c.version)
        ).all()
    assert stored[-1] == (version, packs.digest(packs.big_variant))
    blobs = Blobs(site.attachments)
    assert all(blobs.has(sha) for sha in packs.big_blobs)
    sites.remove(site)


# 2. SIGKILL during issuance -------------------------------------------------------------------


def issue_args(site: Site, pki: Pki, out: Path) -> list[str]:
    """``assay engagement issue`` by the register administrator, the PDF going to ``out``."""
    return [
        "engagement",
        "issue",
        ENGAGEMENT,
        "--key",
        str(pki.key_file),
        "--password-file",
        str(pki.password_file),
        "--body",
        BODY,
        "--out",
        str(out),
        "--as",
        ADMIN,
        "--date",
        DATE,
        *site.options(),
    ]


def issue_trial(site: Site) -> Trial:
    """Watch a folder of the certificate's own, so anything else appearing in it shows."""
    out = site.scratch / "certificates" / "certificate.pdf"
    out.parent.mkdir(exist_ok=True)
    return Trial(site, out.parent, [out])


@pytest.fixture(scope="module")
def issue_timing(sites: Sites, decided: Recipe, pki: Pki) -> Timing:
    """An uninterrupted issuance, measured (and checked: recorded and its PDF verifies)."""
    site = sites.prepared(decided, "issue-measured")
    trial = issue_trial(site)
    timing, returncode = measure(issue_args(site, pki, trial.targets[0]), trial)
    assert returncode == 0
    assert check_issuance(site, trial.targets[0], pki) == "complete"
    sites.remove(site)
    return timing


def check_issuance(site: Site, out: Path, pki: Pki) -> Outcome:
    """After an issuance (killed or not) the certificate is absent everywhere or fully there:
    register row, decision link, trail records and a complete PDF that verifies. A number, once
    reserved, is never handed out again; a signed PDF staged for a number never recorded does
    not verify against the register."""
    assert_trail_verifies(site)
    with reading(site) as connection:
        rows = connection.execute(select(certificates)).all()
        (decision,) = connection.execute(
            select(decisions).where(decisions.c.engagement_id == ENGAGEMENT)
        ).all()
        issued = trail_payloads(connection, "certificate.issued")
        certified = trail_payloads(connection, "engagement.certified")
        reserved = [p["number"] for p in trail_payloads(connection, "certificate.number_reserved")]
    assert len(set(reserved)) == len(reserved), "a number was reserved twice"
    # Only the staged PDF of an interrupted issue may lie beside the certificate's name.
    others = [p for p in out.parent.iterdir() if p != out]
    assert all(p.name.startswith(STAGED_PREFIX) for p in others), others
    with site.open() as store:
        lookup = Register(store, FixedClock.at_date(AS_OF)).lookup
        for staged in others:
            if rows and staged.name == f"{STAGED_PREFIX}{rows[0].number}.pdf":
                continue  # killed between commit and naming: the recorded PDF itself
            stray = verify_certificate(staged.read_bytes(), [pki.root], today=AS_OF, register=lookup)
            assert not stray.ok, f"{staged.name} verifies against the register"
    if not rows:
        assert decision.certificate is None, "the decision links a certificate the register lacks"
        assert issued == [], "the trail records a certificate the register lacks"
        assert certified == [], "the trail records a certification the register lacks"
        assert not out.exists(), "a signed PDF is left for a certificate that was never recorded"
        return "nothing"
    (row,) = rows
    assert row.number == reserved[-1]
    assert decision.certificate == row.number, "a certificate is recorded without its decision link"
    assert [p["number"] for p in issued] == [row.number]
    assert [(p["certificate"], p["decision"]) for p in certified] == [(row.number, decision.number)]
    assert out.is_file(), "a recorded certificate has no PDF"
    pdf = out.read_bytes()
    assert hashlib.sha256(pdf).hexdigest() == row.pdf_sha256
    with site.open() as store:
        verification = verify_certificate(
            pdf, [pki.root], today=AS_OF, register=Register(store, FixedClock.at_date(AS_OF)).lookup
        )
    assert verification.ok, verification.reasons
    assert verification.number == row.number
    return "complete"


ISSUANCE_KILLS = [
    KillPoint("starting", delay=lambda t: 0.6 * t.first_write),
    KillPoint("signing", delay=lambda t: max(0.0, t.first_write - 0.05)),
    KillPoint("finishing", delay=lambda t: (t.first_write + t.end) / 2),
    KillPoint(
        "signed-not-recorded",
        hooks=lambda _: ["--kill-after", "certificates.issue:sign_certificate"],
        expect="nothing",
    ),
    # The PDF gets its name only after the register committed: killed at that instant, the
    # certificate must already be complete.
    KillPoint(
        "pdf-named-before-commit",
        hooks=lambda trial: ["--kill-on-name", str(trial.targets[0])],
        expect="complete",
    ),
    KillPoint(
        "committed",
        hooks=lambda _: ["--kill-after", "certificates.awarding:issue_certificate"],
        expect="complete",
    ),
]


def _label(point: object) -> str:
    """The test id of a kill point."""
    return point.label if isinstance(point, KillPoint) else str(point)


@pytest.mark.parametrize("point", ISSUANCE_KILLS, ids=_label)
def test_issuance_killed(
    point: KillPoint,
    sites: Sites,
    decided: Recipe,
    pki: Pki,
    issue_timing: Timing,
    rule_pack: RulePack,
    request: pytest.FixtureRequest,
) -> None:
    """An issuance killed anywhere leaves no certificate anywhere (and a retry issues the next
    number, voiding any the killed issue reserved) or a complete one (and a retry is refused);
    never half of one.

    ``pdf-named-before-commit`` kills the instant the PDF gets its name: whatever the code does
    after that, a PDF under its name must mean a recorded certificate, so the outcome it must see
    is ``complete``.
    """
    site = sites.prepared(decided, f"issue-{point.label}")
    trial = issue_trial(site)
    out = trial.targets[0]
    killed = kill_at(point, issue_args(site, pki, out), trial, issue_timing)
    outcome = check_issuance(site, out, pki)
    record(request, issue_timing, killed, outcome)
    if point.expect is not None:
        assert outcome == point.expect
    if not killed.killed:
        assert outcome == "complete"
    with reading(site) as connection:
        reserved = trail_payloads(connection, "certificate.number_reserved")
    with services(site, rule_pack) as s:
        if outcome == "nothing":
            retried = s.awarding.issue(
                ADMIN, ENGAGEMENT, pki.key, body=BODY, language="en", out=out, scheme=Scheme()
            )
            # A number the killed issue reserved is voided (and its staged PDF swept), never reused.
            assert retried.certificate.number == f"{FIRST_NUMBER[:-6]}{len(reserved) + 1:06d}"
            with reading(site) as connection:
                voided = [p["number"] for p in trail_payloads(connection, "certificate.number_voided")]
            assert voided == [p["number"] for p in reserved]
            assert not list(out.parent.glob(f"{STAGED_PREFIX}*"))
        else:
            with pytest.raises(RefusedError, match="was issued as"):
                s.awarding.issue(
                    ADMIN, ENGAGEMENT, pki.key, body=BODY, language="en", out=out, scheme=Scheme()
                )
    assert check_issuance(site, out, pki) == "complete"
    sites.remove(site)


# 3. Concurrent writers ------------------------------------------------------------------------


def run_together(site: Site, commands: list[list[str]]) -> list[str]:
    """Run several ``assay`` commands in child processes released at the same moment (after their
    imports); returns their output, asserting each succeeded."""
    go = site.scratch / "go"
    readies = [site.scratch / f"ready-{i}" for i in range(len(commands))]
    logs = [site.scratch / f"child-{i}.log" for i in range(len(commands))]
    children = [
        start(args, log, ["--ready", str(ready), "--wait-for", str(go)])
        for args, log, ready in zip(commands, logs, readies, strict=True)
    ]
    deadline = time.perf_counter() + 60
    while not all(ready.exists() for ready in readies):
        assert all(child.poll() is None for child in children), "a child ended before the start"
        assert time.perf_counter() < deadline, "the children never got ready"
        time.sleep(POLL)
    go.touch()
    outputs = []
    for child, log in zip(children, logs, strict=True):
        returncode = child.wait(timeout=60)
        output = log.read_text(encoding="utf-8")
        assert returncode == 0, output
        outputs.append(output)
    return outputs


def told_version(output: str) -> int:
    """The version number ``assay engagement submit`` reported."""
    found = re.search(r"evidence version (\d+) stored", output)
    assert found is not None, output
    return int(found[1])


def test_concurrent_submissions_both_land(sites: Sites, assigned: Recipe, packs: Packs) -> None:
    """Two packs submitted at the same moment by two processes become versions 1 and 2, one each,
    with their manifests, trail records and attachments intact."""
    site = sites.prepared(assigned, "concurrent-submit")
    sent = [packs.sample, packs.variant]
    outputs = run_together(site, [submit_args(site, pack) for pack in sent])
    assert_trail_verifies(site)
    assert check_blobs(site) == 0
    expected = {packs.digest(packs.sample), packs.digest(packs.variant)}
    with reading(site) as connection:
        versions = connection.execute(
            select(pack_versions)
            .where(pack_versions.c.engagement_id == ENGAGEMENT)
            .order_by(pack_versions.c.version)
        ).all()
        submitted = trail_payloads(connection, "evidence.submitted")
    assert [v.version for v in versions] == [1, 2]
    assert {v.pack_digest for v in versions} == expected
    assert [(s["version"], s["digest"]) for s in submitted] == [(v.version, v.pack_digest) for v in versions]
    for v in versions:
        # Each stored manifest is the whole pack submitted, not just its digest.
        assert pack_digest(EvidencePack.model_validate_json(v.manifest)) == v.pack_digest
    # Each process was told the version its own pack got.
    told = {told_version(output): packs.digest(pack) for pack, output in zip(sent, outputs, strict=True)}
    assert told == {v.version: v.pack_digest for v in versions}
    # The later version is compared with the earlier: exactly the retitled item changed.
    assert submitted[1]["changes"] == {"added": [], "removed": [], "changed": ["vision-2035"]}


def test_concurrent_verifications_both_land(
    sites: Sites, assigned: Recipe, packs: Packs, rule_pack: RulePack
) -> None:
    """Two auditors recording verdicts at the same moment from two processes: every verdict lands,
    each batch under consecutive sequence numbers of its own, each with its trail record."""
    site = sites.prepared(assigned, "concurrent-verify")
    with services(site, rule_pack) as s:
        s.engagements.submit(SUBMITTER, ENGAGEMENT, packs.sample)
    half = len(packs.verdicts) // 2
    batches = {LEAD: packs.verdicts[:half], AUDITOR: packs.verdicts[half:]}
    commands = []
    for person, batch in batches.items():
        file = site.scratch / f"verdicts-{person}.json"
        file.write_text(json.dumps([dataclasses.asdict(v) for v in batch]), encoding="utf-8")
        commands.append(
            [
                "engagement",
                "verify",
                ENGAGEMENT,
                "--from",
                str(file),
                "--as",
                person,
                "--date",
                DATE,
                *site.options(),
            ]
        )
    run_together(site, commands)
    assert_trail_verifies(site)
    with reading(site) as connection:
        rows = connection.execute(
            select(verifications)
            .where(verifications.c.engagement_id == ENGAGEMENT)
            .order_by(verifications.c.seq)
        ).all()
        recorded = trail_payloads(connection, "evidence.verified")
    assert [r.seq for r in rows] == list(range(1, len(packs.verdicts) + 1))
    for person, batch in batches.items():
        mine = [r for r in rows if r.auditor == person]
        assert [(r.evidence_id, r.verdict, r.method, r.reason) for r in mine] == [
            (v.evidence_id, v.verdict, v.method, v.reason) for v in batch
        ]
        seqs = [r.seq for r in mine]
        assert seqs == list(range(seqs[0], seqs[0] + len(batch))), "a batch was interleaved with another"
        assert all(r.verified_on == dt.date.fromisoformat(DATE) for r in mine)
    assert sorted((p["evidence_id"], p["version"]) for p in recorded) == sorted(
        (v.evidence_id, 1) for v in packs.verdicts
    )


if __name__ == "__main__":
    _child(sys.argv[1:])
