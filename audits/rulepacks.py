"""Rule packs installed in the store: which pack is in force, and every pack that ever was.

A certification body corrects its rules by installing a pack (``assay rules install``). The
store keeps each installed pack's files as they were (JSON ``{path: text}`` of the files its
digest covers), so the pack an old evaluation ran with can be loaded again and compared with a
newer one, and the latest install is the pack in force: what new evaluations run with. Before
any install, the pack bundled with Assay is in force.

Installing is a register administrator's act, recorded in the trail with the row it wrote, and
queues, in the same transaction, the re-rating of every certificate in force under the new pack
(:mod:`audits.rerating`, run as a job: :mod:`audits.jobs`). Installing changes no certificate,
evaluation or decision: a re-rating only says what would change, and a reviewer decides.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Row, func, insert, select
from sqlalchemy.engine import Connection

import rules as bundled_rules
from audits.authority import as_register_administrator
from audits.binding import check_rows, inserted
from audits.errors import StoreError
from audits.jobs import JobRef, enqueue
from audits.operations import Operations
from audits.schema import rule_packs
from audits.store import Store
from engine.canonical import canonical_json, digest, parse_json
from engine.errors import Problem, RulePackError
from engine.packcache import CheckedPacks
from engine.rulepack import RulePack, load_rule_pack

RERATE = "rerate"
"""The job an install queues (audits.jobs.JOBS)."""


@dataclass(frozen=True)
class Installed:
    """A pack just installed, and the re-rating it queued."""

    number: int
    """The install's number (1, 2, ...): the re-rating run it queued has the same number."""
    digest: str
    pack_id: str
    job: JobRef


class RulePacks(Operations):
    """Installing rule packs."""

    def install(self, person_id: str, folder: Path) -> Installed:
        """Install the pack in ``folder`` as the pack in force and queue the re-rating of every
        certificate in force under it, in one transaction.

        Only a register administrator may (a refusal is recorded). A pack with any problem is
        refused with every problem listed (:class:`RulePackError`), and nothing is stored. On
        SQLite the re-rating waits in the store's queue for :func:`audits.jobs.run_local`,
        which the caller runs once this has returned; on PostgreSQL, for ``assay worker``.
        """
        operation = "install a rule pack"
        # Who may is settled before the pack is read: checking one costs a second or two.
        with self._operation(operation, "", person_id, read_only=True) as (connection, attempt):
            self._refuse_unless(attempt, lambda: as_register_administrator(connection, person_id, operation))
        pack = load_rule_pack(folder)
        files = pack_files(folder, pack)
        with self._operation(operation, "", person_id) as (connection, attempt):
            acting = self._refuse_unless(
                attempt, lambda: as_register_administrator(connection, person_id, operation)
            )
            replaced = current_row(connection)
            highest = connection.execute(select(func.max(rule_packs.c.number))).scalar()
            number = 1 if highest is None else int(highest) + 1
            row = {
                "number": number,
                "digest": pack.digest,
                "pack_id": pack.id,
                "files": canonical_json(files).decode("utf-8"),
                "installed_at": instant(self.clock.now()),
                "installed_by": person_id,
            }
            connection.execute(insert(rule_packs), row)
            queued = enqueue(connection, RERATE, {"run": number})
            payload = {
                "rule_pack": number,
                "digest": pack.digest,
                "pack_id": pack.id,
                "files": sorted(files),
                "replaces": bundled().digest if replaced is None else replaced.digest,
                "job": queued.job.describe(),
            }
            self._trail(
                connection, acting, "rule_pack.installed", payload, [inserted(rule_packs, row), *queued.rows]
            )
        return Installed(number, pack.digest, pack.id, queued.job)


def pack_files(folder: Path, pack: RulePack) -> dict[str, str]:
    """The text of every file ``pack``'s digest covers, read from ``folder`` where it was loaded.

    Refused (:class:`RulePackError`) when a file is not UTF-8 text (it is stored as text) or
    when the files no longer give the pack's digest (the folder changed while it was read).
    """
    raw = {name: (folder / name).read_bytes() for name in pack.files}
    problems = []
    files = {}
    for name, data in raw.items():
        try:
            files[name] = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            problems.append(Problem(str(folder / name), None, "", f"not UTF-8 text: {exc.reason}"))
    if not problems and files_digest(raw) != pack.digest:
        problems.append(Problem(str(folder), None, "", "its files changed while the pack was read"))
    if problems:
        raise RulePackError(problems)
    return files


def files_digest(files: Mapping[str, bytes]) -> str:
    """:func:`engine.rulepack.pack_digest` of files held in memory: the same lines, hashed alike."""
    lines = sorted(f"{hashlib.sha256(data).hexdigest()}  {name}\n" for name, data in files.items())
    return digest("".join(lines).encode("utf-8"))


def pack_from_files(files: Mapping[str, str], expected: str) -> RulePack:
    """Load a stored pack: its files written to a temporary folder and loaded as any pack (a
    pack that passed its checks before is built without checking again, see engine.packcache).

    :class:`StoreError` when they do not give the digest they were stored under.
    """
    with tempfile.TemporaryDirectory(prefix="assay-rule-pack-") as temporary:
        root = Path(temporary)
        for name, text in files.items():
            path = (root / name).resolve()
            if not path.is_relative_to(root.resolve()):
                raise StoreError(f"stored rule pack {expected} names a file outside its folder: {name!r}")
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(text.encode("utf-8"))
        pack = load_rule_pack(root, checked=CheckedPacks.default())
    if pack.digest != expected:
        raise StoreError(f"the stored rule pack {expected} loads as {pack.digest}: its files were changed")
    return pack


def bundled() -> RulePack:
    """The pack shipped with Assay, in force while none is installed."""
    return load_rule_pack(bundled_rules.bundled(), checked=CheckedPacks.default())


def current_row(connection: Connection) -> Row[Any] | None:
    """The latest install (the pack in force), or None when none was installed."""
    row = connection.execute(select(rule_packs).order_by(rule_packs.c.number.desc()).limit(1)).first()
    if row is not None:
        check_rows(connection, rule_packs, [row])
    return row


def installed_row(connection: Connection, number: int) -> Row[Any]:
    """Install ``number``; :class:`StoreError` when there is none."""
    row = connection.execute(select(rule_packs).where(rule_packs.c.number == number)).first()
    if row is None:
        raise StoreError(f"no rule pack install {number} in this store")
    check_rows(connection, rule_packs, [row])
    return row


def row_pack(row: Row[Any]) -> RulePack:
    """The pack an install stored."""
    return pack_from_files(parse_json(row.files), row.digest)


def rules_in_force(store: Store) -> RulePack:
    """The pack new evaluations run with: the latest installed, else the bundled one.

    Cheap when nothing was installed (one indexed query) and when the pack in force is the
    bundled one; otherwise its files are written out and loaded, skipping the checks it passed.
    """
    with store.read() as connection:
        row = current_row(connection)
    if row is None:
        return bundled()
    shipped = bundled()
    return shipped if shipped.digest == row.digest else row_pack(row)


def held_pack(connection: Connection, pack_digest: str) -> RulePack | None:
    """The pack with ``pack_digest`` if the store can load it (installed, or the bundled one)."""
    shipped = bundled()
    if shipped.digest == pack_digest:
        return shipped
    row = connection.execute(
        select(rule_packs)
        .where(rule_packs.c.digest == pack_digest)
        .order_by(rule_packs.c.number.desc())
        .limit(1)
    ).first()
    if row is None:
        return None
    check_rows(connection, rule_packs, [row])
    return row_pack(row)


def instant(moment: dt.datetime) -> str:
    """An instant as the store's ``*_at`` columns hold it (ISO 8601, UTC, seconds)."""
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
