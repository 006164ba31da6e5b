"""Audit engagements: application, audit team, evidence versions and auditors' verdicts.

The certification process from application to certificate runs through three services over one
store: :class:`Engagements` (here), :class:`audits.decisions.Decisions` (evaluations, decisions,
issuing) and :class:`audits.casework.Casework` (findings, complaints, appeals).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func, insert, select
from sqlalchemy.engine import Connection

from audits.authority import (
    as_auditor,
    as_register_administrator,
    as_submitter,
    audit_team,
    conflict,
)
from audits.binding import inserted, ref
from audits.blobs import StagedBlob
from audits.judging import JudgementEntry, Judging
from audits.names import confusable_with, name_problem
from audits.operations import Operations, next_number
from audits.people import PersonEntry, all_people, find_person, upsert_people
from audits.schema import (
    attachments,
    engagement_roles,
    engagements,
    pack_versions,
    people,
    verifications,
)
from audits.store import append_trail
from audits.versions import (
    Submission,
    attachment_files,
    changes,
    commit_staged,
    latest_items,
    latest_row,
    manifest_digests,
    read_submission,
)

VERDICTS = ("accepted", "rejected")
METHODS = ("document_review", "interview", "observation", "system_demonstration")


class Engagements(Operations):
    """Applying, assigning the team, submitting evidence and verifying it."""

    # People -------------------------------------------------------------------------------

    def import_people(self, entries: Sequence[PersonEntry], person_id: str | None) -> dict[str, list[str]]:
        """Add or update people. The first import into an empty store sets the register up and
        needs no one; after that only a register administrator may change who is who."""
        with self._operation("import people", "", person_id or "") as (connection, attempt):
            if all_people(connection):
                acting = self._refuse_unless(
                    attempt, lambda: as_register_administrator(connection, person_id or "", "import people")
                )
                actor = acting.actor
            else:
                actor = f"{person_id or 'setup'} (initial people file)"
            outcome = upsert_people(connection, list(entries))
            written = [ref(people, pid) for pid in outcome["added"] + outcome["changed"]]
            append_trail(connection, self.clock, actor, [("people.imported", outcome, written)])
            return outcome

    # Application and team -----------------------------------------------------------------

    def create(self, person_id: str, community_id: str, community_name: str, scope: Sequence[str]) -> str:
        """Apply for certification of ``scope`` (all encoded characteristics when empty)."""
        with self._operation("apply", "", person_id) as (connection, attempt):
            acting = self._refuse_unless(
                attempt, lambda: as_submitter(connection, person_id, community_id, "apply")
            )
            chosen = list(scope) or list(self.rules.characteristics)
            unknown = sorted(set(chosen) - set(self.rules.characteristics))
            if unknown:
                raise self._refusal(
                    attempt, f"scope names characteristics the rule pack does not encode: {unknown}"
                )
            unsafe = _community_name_problems(connection, community_id, community_name)
            if unsafe:
                raise self._refusal(attempt, "; ".join(unsafe))
            engagement_id = _next_engagement_id(connection, self.today().year)
            attempt.engagement = engagement_id
            application = {
                "id": engagement_id,
                "community_id": community_id,
                "community_name": community_name,
                "model": self.rules.id,
                "standard": self.rules.model.standard,
                "scope": json.dumps(sorted(chosen)),
                "applied_on": self.today(),
                "applicant": person_id,
            }
            connection.execute(insert(engagements), application)
            self._trail(
                connection,
                acting,
                "engagement.applied",
                {
                    "engagement": engagement_id,
                    "community": community_id,
                    "model": self.rules.id,
                    "scope": sorted(chosen),
                },
                [inserted(engagements, application)],
            )
            return engagement_id

    def assign(
        self,
        person_id: str,
        engagement_id: str,
        *,
        lead: str | None,
        auditors: Sequence[str],
        reviewer: str | None,
    ) -> None:
        """Assign the audit team and the reviewer; roles add up, and separation holds over all of them."""
        with self._operation("assign", engagement_id, person_id) as (connection, attempt):
            acting = self._refuse_unless(
                attempt, lambda: as_register_administrator(connection, person_id, "assign an audit team")
            )
            row = self._engagement(connection, attempt)
            wanted = [("lead_auditor", p) for p in ([lead] if lead else [])]
            wanted += [("auditor", p) for p in auditors]
            wanted += [("reviewer", p) for p in ([reviewer] if reviewer else [])]
            if not wanted:
                raise self._refusal(attempt, "nothing to assign: give a lead auditor, auditors or a reviewer")
            team = audit_team(connection, engagement_id)
            for role, pid in wanted:
                team.setdefault(pid, set()).add(role)
            problems = self._team_problems(connection, team)
            for pid, roles in sorted(team.items()):
                # What they did before counts, not only the roles they hold now.
                sides = (["audit"] if roles & {"lead_auditor", "auditor"} else []) + (
                    ["decide"] if "reviewer" in roles else []
                )
                for side in sides:
                    why = conflict(connection, row.community_id, pid, engagement_id, side)
                    if why is not None:
                        problems.append(f"{pid}: {why}")
            if problems:
                raise self._refusal(attempt, "; ".join(problems))
            existing = {
                (r.role, r.person_id)
                for r in connection.execute(
                    select(engagement_roles).where(engagement_roles.c.engagement_id == engagement_id)
                )
            }
            new = [(role, pid) for role, pid in wanted if (role, pid) not in existing]
            assigned = [
                {"engagement_id": engagement_id, "person_id": pid, "role": role, "assigned_on": self.today()}
                for role, pid in new
            ]
            if assigned:
                connection.execute(insert(engagement_roles), assigned)
            self._trail(
                connection,
                acting,
                "engagement.assigned",
                {"engagement": engagement_id, "assigned": [{"person": p, "role": r} for r, p in new]},
                [inserted(engagement_roles, row) for row in assigned],
            )

    def _team_problems(self, connection: Connection, team: dict[str, set[str]]) -> list[str]:
        problems = []
        leads = sorted(p for p, roles in team.items() if "lead_auditor" in roles)
        if len(leads) > 1:
            problems.append(f"an engagement has one lead auditor, not {', '.join(leads)}")
        for pid, roles in sorted(team.items()):
            person = find_person(connection, pid)
            if person is None:
                problems.append(f"{pid} is not in the people table")
                continue
            if person.community is not None:
                problems.append(f"{pid} belongs to community {person.community} and cannot audit or decide")
            if roles & {"lead_auditor", "auditor"} and "auditor" not in person.roles:
                problems.append(f"{pid} does not hold the auditor role")
            if "reviewer" in roles and "reviewer" not in person.roles:
                problems.append(f"{pid} does not hold the reviewer role")
            if "reviewer" in roles and roles & {"lead_auditor", "auditor"}:
                problems.append(f"{pid} cannot both audit and decide (separation of duties)")
        return problems

    # Evidence -----------------------------------------------------------------------------

    def submit(self, person_id: str, engagement_id: str, location: Path) -> int:
        """Store a new evidence version from a pack folder or zip; returns its number.

        Attachments are copied while the pack is read and hashed, each file opened once (capped
        at its declared size, flushed), before the write lock is taken, so what is stored is
        what was checked and other writers never wait on a copy; after every check
        passes, inside the transaction that makes the version visible, the copies are renamed
        into the content-addressed folder, so a committed version never names a missing file. A
        refused submission discards its copies, and a crash leaves at most temporary files,
        which the next start sweeps (:meth:`Blobs.sweep`).
        """
        receiving = self._blobs().receiving()
        try:
            # One pass: each file opened once, hashed and copied (capped at its declared size).
            submission = read_submission(location, receiving)
            staged = receiving.staged(attachment_files(submission.pack))
            return self._submit(person_id, engagement_id, submission, staged)
        finally:
            receiving.discard()  # a no-op for the copies committed

    def _submit(
        self, person_id: str, engagement_id: str, submission: Submission, staged: Sequence[StagedBlob]
    ) -> int:
        with self._operation("submit evidence", engagement_id, person_id) as (connection, attempt):
            row = self._engagement(connection, attempt)
            acting = self._refuse_unless(
                attempt, lambda: as_submitter(connection, person_id, row.community_id, "submit evidence")
            )
            pack = submission.pack
            problems = []
            if pack.community.id != row.community_id:
                problems.append(
                    f"the pack is about {pack.community.id}, the engagement about {row.community_id}"
                )
            elif pack.community.name != row.community_name:
                # The certificate names the community the pack names: it must be the applicant.
                problems.append(
                    f"the pack names the community {pack.community.name!r}, the application "
                    f"{row.community_name!r}"
                )
            if pack.model != row.model:
                problems.append(f"the pack is prepared for {pack.model}, the engagement is for {row.model}")
            if pack.verifications:
                problems.append(
                    f"the pack carries {len(pack.verifications)} verifications: a community never "
                    "verifies its own evidence (auditors record verdicts in the engagement)"
                )
            if pack.judgements:
                problems.append(
                    f"the pack carries {len(pack.judgements)} judgements: a community never judges "
                    "its own evidence (auditors record judgements in the engagement)"
                )
            previous = latest_row(connection, engagement_id)
            if previous is not None and previous.pack_digest == submission.digest:
                problems.append(f"the pack is identical to version {previous.version}")
            if problems:
                raise self._refusal(attempt, "; ".join(problems))
            stored = commit_staged(staged)
            known = set(
                connection.execute(
                    select(attachments.c.sha256).where(attachments.c.sha256.in_(list(stored)))
                ).scalars()
            )
            fresh = [
                {"sha256": sha, "size": size} for sha, size in sorted(stored.items()) if sha not in known
            ]
            if fresh:
                connection.execute(insert(attachments), fresh)
            version = 1 if previous is None else previous.version + 1
            submitted = {
                "engagement_id": engagement_id,
                "version": version,
                "pack_digest": submission.digest,
                "manifest": submission.manifest.decode("utf-8"),
                "items": len(pack.items),
                "submitted_by": person_id,
                "submitted_on": self.today(),
            }
            connection.execute(insert(pack_versions), submitted)
            self._trail(
                connection,
                acting,
                "evidence.submitted",
                {
                    "engagement": engagement_id,
                    "version": version,
                    "digest": submission.digest,
                    "items": len(pack.items),
                    "attachments": sorted(stored),
                    "changes": changes(
                        manifest_digests(previous.manifest) if previous else {},
                        manifest_digests(submission.manifest),
                    ),
                },
                [inserted(pack_versions, submitted)] + [inserted(attachments, f) for f in fresh],
            )
            return version

    def verify(self, person_id: str, engagement_id: str, verdicts: Sequence[Verdict]) -> list[int]:
        """Record an auditor's verdicts on items of the latest version, all or none; returns
        their sequence numbers. Each verdict gets its own trail record."""
        with self._operation("verify evidence", engagement_id, person_id) as (connection, attempt):
            self._engagement(connection, attempt)
            acting = self._refuse_unless(
                attempt, lambda: as_auditor(connection, person_id, engagement_id, "verify evidence")
            )
            latest = latest_items(connection, engagement_id)
            digests = latest[1] if latest else {}
            problems = [] if verdicts else ["no verdicts given"]
            for v in verdicts:
                problems += [f"{v.evidence_id}: {p}" for p in _verdict_problems(v, digests)]
            if problems or latest is None:
                raise self._refusal(attempt, "; ".join(problems or ["no evidence has been submitted"]))
            first = next_number(connection, verifications.c.seq, verifications.c.engagement_id, engagement_id)
            rows, events = [], []
            today = self.today()
            for seq, v in enumerate(verdicts, start=first):
                row = {"evidence_id": v.evidence_id, "item_digest": digests[v.evidence_id]}
                row |= {"verdict": v.verdict, "method": v.method, "reason": v.reason.strip()}
                stored = {**row, "engagement_id": engagement_id, "seq": seq, "auditor": person_id}
                rows.append({**stored, "verified_on": today})
                events.append(
                    (
                        "evidence.verified",
                        {**row, "engagement": engagement_id, "version": latest[0]},
                        [inserted(verifications, rows[-1])],
                    )
                )
            connection.execute(insert(verifications), rows)
            append_trail(connection, self.clock, acting.actor, events)
            return list(range(first, first + len(rows)))

    def judge(self, person_id: str, engagement_id: str, entries: Sequence[JudgementEntry]) -> list[int]:
        """Record an auditor's judgements of requirements, all or none (see :mod:`audits.judging`)."""
        return Judging(self.store, self.blobs, self.clock, self.rules).judge(
            person_id, engagement_id, entries
        )


@dataclass(frozen=True)
class Verdict:
    """An auditor's verdict on one item, as given to :meth:`Engagements.verify`."""

    evidence_id: str
    verdict: str
    method: str
    reason: str


def _verdict_problems(v: Verdict, digests: dict[str, str]) -> list[str]:
    problems = []
    if v.evidence_id not in digests:
        problems.append("not an item of the latest evidence version")
    if v.verdict not in VERDICTS:
        problems.append(f"verdict must be one of {', '.join(VERDICTS)}, not {v.verdict!r}")
    if v.method not in METHODS:
        problems.append(f"method must be one of {', '.join(METHODS)}, not {v.method!r}")
    if not v.reason.strip():
        problems.append("a reason is required")
    return problems


def _next_engagement_id(connection: Connection, year: int) -> str:
    prefix = f"ENG-{year}-"
    # Numbers are zero-padded to four digits but may grow past them: the longest id is the highest.
    highest = connection.execute(
        select(engagements.c.id)
        .where(engagements.c.id.like(f"{prefix}%"))
        .order_by(func.length(engagements.c.id).desc(), engagements.c.id.desc())
        .limit(1)
    ).scalar()
    number = int(highest[len(prefix) :]) if highest else 0
    return f"{prefix}{number + 1:04d}"


def _community_name_problems(connection: Connection, community_id: str, community_name: str) -> list[str]:
    """Why a community may not apply under this id and name: a name mixing scripts, or an id or
    name that looks like another community's without being it (Unicode TR39, audits.names)."""
    problems = [p for p in (name_problem(community_id), name_problem(community_name)) if p is not None]
    known = connection.execute(
        select(engagements.c.community_id, engagements.c.community_name).distinct()
    ).all()
    others = [(i, n) for i, n in known if i != community_id]
    for mine, theirs, what in (
        (community_id, [i for i, _ in others], "id"),
        (community_name, [n for _, n in others], "name"),
    ):
        lookalike = confusable_with(mine, theirs)
        if lookalike is not None:
            problems.append(f"the community {what} {mine!r} looks like {lookalike!r}, another community's")
    return problems
