"""The store's tables, as SQLAlchemy Core metadata.

This is the schema the Alembic migrations build, revision by revision; a test holds the two
equal. Types are portable (no SQLite-only SQL) so the same tables run on PostgreSQL. JSON is
kept as text in the project's canonical form, because digests are taken over exactly those bytes.
Constraints are named by convention so later migrations can alter them on every database.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    Date,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

CERTIFICATE_STATUSES = ("issued", "suspended", "reinstated", "withdrawn", "renewed")
"""Statuses the register stores; ``expired`` is never stored, it is read from ``expires_on``."""

metadata = MetaData(
    naming_convention={
        "pk": "pk_%(table_name)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "ix": "ix_%(table_name)s_%(column_0_name)s",
    }
)
"""Every table of the store."""

certificates = Table(
    "certificates",
    metadata,
    Column("number", String(64), primary_key=True),  # Certificate number, PREFIX-YYYY-NNNNNN.
    Column("community", Text, nullable=False),  # The certified community.
    Column("scheme", String(64), nullable=False),  # Id of the scheme it was issued under.
    Column("model", String(64), nullable=False),  # Maturity model id, e.g. iso37107-2019.
    Column("standard", Text, nullable=False),  # Standard and edition, e.g. ISO/TS 37107:2019.
    Column("assessed_on", Date, nullable=False),  # Assessment date of the evaluation.
    Column("issued_on", Date, nullable=False),
    Column("expires_on", Date, nullable=False),  # Last day of validity.
    Column("surveillance_due", Text, nullable=False),  # JSON list of ISO dates.
    Column("status", String(16), nullable=False),  # Stored status (never 'expired').
    Column("status_reason", Text, nullable=True),  # Why the status last changed.
    Column("status_changed_on", Date, nullable=False),
    Column("evaluation_id", String(128), nullable=False),
    Column("result_digest", String(80), nullable=False),  # sha256 of the embedded result.json.
    Column("rule_pack_digest", String(80), nullable=False),
    Column("trail_head", String(80), nullable=False),  # Head hash of the evaluation trail.
    Column("pdf_sha256", String(80), nullable=False),  # SHA-256 of the signed PDF as issued.
    Column("certificate_json", Text, nullable=False),  # The Certificate as canonical JSON.
    Column("renews", String(64), ForeignKey("certificates.number"), nullable=True),
    Column("renewed_by", String(64), nullable=True),  # Number of the certificate renewing it.
    CheckConstraint(f"status IN ({', '.join(repr(s) for s in CERTIFICATE_STATUSES)})", name="status"),
)
"""The certificate register: one row per certificate ever issued; rows are never deleted."""

trail = Table(
    "trail",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=False),  # 1-based position.
    Column("time", String(32), nullable=False),  # ISO 8601 UTC instant from the clock.
    Column("actor", Text, nullable=False),
    Column("event", String(64), nullable=False),
    Column("payload", Text, nullable=False),  # The payload as canonical JSON.
    Column("payload_digest", String(80), nullable=False),
    Column("prev", String(80), nullable=False),  # Hash of the previous record.
    Column("hash", String(80), nullable=False),
    UniqueConstraint("hash"),
)
"""The register's audit trail: the same hash-chained records as an evaluation's trail, open-ended."""

# Engagements (migration 0002) ----------------------------------------------------------------

BODY_ROLES = ("auditor", "reviewer", "register_administrator")
"""Roles a certification body grants its people; auditors may be assigned to audit teams,
reviewers may be assigned to decide."""
ENGAGEMENT_ROLES = ("lead_auditor", "auditor", "reviewer")
"""Roles on one engagement; the community submitter's role comes from belonging to the community."""

people = Table(
    "people",
    metadata,
    Column("id", String(64), primary_key=True),  # Login-like id given with --as.
    Column("name", Text, nullable=False),
    Column("organisation", Text, nullable=False),
    Column("community", String(64), nullable=True),  # Set for a community's submitters.
    Column("roles", Text, nullable=False),  # JSON list of BODY_ROLES.
)
"""Everyone who may act: the body's staff and the communities' submitters. Never deleted."""

engagements = Table(
    "engagements",
    metadata,
    Column("id", String(32), primary_key=True),  # ENG-YYYY-NNNN.
    Column("community_id", String(64), nullable=False),
    Column("community_name", Text, nullable=False),
    Column("model", String(64), nullable=False),  # Rule pack / model id applied for.
    Column("standard", Text, nullable=False),
    Column("scope", Text, nullable=False),  # JSON list of characteristic ids in scope.
    Column("applied_on", Date, nullable=False),
    Column("applicant", String(64), ForeignKey("people.id"), nullable=False),
)
"""One application for certification and everything done under it."""

engagement_roles = Table(
    "engagement_roles",
    metadata,
    Column("engagement_id", String(32), ForeignKey("engagements.id"), primary_key=True),
    Column("person_id", String(64), ForeignKey("people.id"), primary_key=True),
    Column("role", String(16), primary_key=True),
    Column("assigned_on", Date, nullable=False),
    CheckConstraint(f"role IN ({', '.join(repr(r) for r in ENGAGEMENT_ROLES)})", name="role"),
)
"""Who is on an engagement's audit team or decides on it."""

pack_versions = Table(
    "pack_versions",
    metadata,
    Column("engagement_id", String(32), ForeignKey("engagements.id"), primary_key=True),
    Column("version", Integer, primary_key=True, autoincrement=False),  # 1, 2, ... per engagement.
    Column("pack_digest", String(80), nullable=False),
    Column("manifest", Text, nullable=False),  # The submitted pack as canonical JSON.
    Column("items", Integer, nullable=False),
    Column("submitted_by", String(64), ForeignKey("people.id"), nullable=False),
    Column("submitted_on", Date, nullable=False),
)
"""Every evidence submission; a re-submission is a new version, none is ever overwritten."""

attachments = Table(
    "attachments",
    metadata,
    Column("sha256", String(64), primary_key=True),  # Content address: the file's SHA-256 hex.
    Column("size", BigInteger, nullable=False),
)
"""Attachment files held in the store's content-addressed folder (``attachments/ab/abcd...``)."""

verifications = Table(
    "verifications",
    metadata,
    Column("engagement_id", String(32), ForeignKey("engagements.id"), primary_key=True),
    Column("seq", Integer, primary_key=True, autoincrement=False),
    Column("evidence_id", String(128), nullable=False),
    # The item as verified: a changed item needs verifying again.
    Column("item_digest", String(80), nullable=False),
    Column("verdict", String(16), nullable=False),
    Column("method", String(32), nullable=False),
    Column("reason", Text, nullable=False),
    Column("auditor", String(64), ForeignKey("people.id"), nullable=False),
    Column("verified_on", Date, nullable=False),
)
"""Auditors' verdicts on items, in the order recorded; the latest per item counts."""

judgements = Table(
    "judgements",
    metadata,
    Column("engagement_id", String(32), ForeignKey("engagements.id"), primary_key=True),
    Column("seq", Integer, primary_key=True, autoincrement=False),
    Column("requirement", String(100), nullable=False),  # <characteristic>/<level>/<id>.
    Column("rating", String(16), nullable=False),
    Column("cites", Text, nullable=False),  # JSON list of evidence ids, sorted.
    # JSON list of the cited items examined in depth (the proposed sample), sorted.
    Column("examined", Text, nullable=False, server_default="[]"),
    # The cited items as judged: a change to any of them voids the judgement.
    Column("cited_digest", String(80), nullable=False),
    Column("method", String(32), nullable=False),
    Column("reason", Text, nullable=False),
    Column("auditor", String(64), ForeignKey("people.id"), nullable=False),
    Column("judged_on", Date, nullable=False),
    CheckConstraint("rating IN ('fully', 'largely', 'partially', 'not')", name="rating"),
)
"""Auditors' judgements of requirements, in the order recorded; the latest per requirement counts."""

findings = Table(
    "findings",
    metadata,
    Column("engagement_id", String(32), ForeignKey("engagements.id"), primary_key=True),
    Column("number", Integer, primary_key=True, autoincrement=False),
    Column("severity", String(16), nullable=False),  # major | minor nonconformity.
    Column("characteristic", String(32), nullable=True),
    Column("evidence_id", String(128), nullable=True),
    Column("statement", Text, nullable=False),
    Column("due_on", Date, nullable=False),
    Column("raised_by", String(64), ForeignKey("people.id"), nullable=False),
    Column("raised_on", Date, nullable=False),
    Column("closed_by", String(64), ForeignKey("people.id"), nullable=True),
    Column("closed_on", Date, nullable=True),
    Column("closure_evidence", Text, nullable=True),  # JSON list of evidence ids.
    Column("closure_note", Text, nullable=True),
    CheckConstraint("severity IN ('major', 'minor')", name="severity"),
)
"""Nonconformities raised by auditors and their closure with evidence."""

evaluations = Table(
    "evaluations",
    metadata,
    Column("engagement_id", String(32), ForeignKey("engagements.id"), primary_key=True),
    Column("number", Integer, primary_key=True, autoincrement=False),
    Column("purpose", String(16), nullable=False),  # initial | surveillance | recertification.
    Column("as_of", Date, nullable=False),
    Column("pack_version", Integer, nullable=False),
    Column("version_digest", String(80), nullable=False),  # Digest of the submitted version.
    Column("pack_digest", String(80), nullable=False),  # Digest of the pack evaluated (with verdicts).
    Column("rule_pack_id", String(64), nullable=False),
    Column("rule_pack_digest", String(80), nullable=False),
    Column("result", Text, nullable=False),  # result.json as written.
    Column("trail", Text, nullable=False),  # The evaluation's trail as JSONL.
    Column("trail_head", String(80), nullable=False),
    Column("levels", Text, nullable=False),  # JSON {characteristic: verified level or null}.
    Column("verdicts", Text, nullable=False),  # JSON {evidence id: verdict} as evaluated.
    Column("evaluated_by", String(64), ForeignKey("people.id"), nullable=False),
)
"""Every evaluation of an engagement, pinned to the evidence version and the rule pack."""

decisions = Table(
    "decisions",
    metadata,
    Column("engagement_id", String(32), ForeignKey("engagements.id"), primary_key=True),
    Column("number", Integer, primary_key=True, autoincrement=False),
    Column("evaluation_number", Integer, nullable=False),
    Column("outcome", String(16), nullable=False),  # certify | maintain | refuse.
    Column("reason", Text, nullable=False),
    Column("decided_by", String(64), ForeignKey("people.id"), nullable=False),
    Column("decided_on", Date, nullable=False),
    Column("certificate", String(64), ForeignKey("certificates.number"), nullable=True),
    CheckConstraint("outcome IN ('certify', 'maintain', 'refuse')", name="outcome"),
)
"""Certification decisions, each on one evaluation; ``certificate`` is set when one is issued."""

cases = Table(
    "cases",
    metadata,
    Column("engagement_id", String(32), ForeignKey("engagements.id"), primary_key=True),
    Column("number", Integer, primary_key=True, autoincrement=False),
    Column("kind", String(16), nullable=False),  # complaint | appeal.
    Column("party", Text, nullable=False),  # Who complained or appealed.
    Column("subject", Text, nullable=False),
    Column("decision_number", Integer, nullable=True),  # The decision appealed against.
    Column("received_on", Date, nullable=False),
    Column("recorded_by", String(64), ForeignKey("people.id"), nullable=False),
    Column("resolution", Text, nullable=True),
    Column("resolved_by", String(64), ForeignKey("people.id"), nullable=True),
    Column("resolved_on", Date, nullable=True),
    CheckConstraint("kind IN ('complaint', 'appeal')", name="kind"),
)
"""Complaints and appeals about an engagement, and how they were resolved."""

# Binding and numbering (migration 0005) ---------------------------------------------------------

bindings = Table(
    "bindings",
    metadata,
    Column("table_name", String(64), primary_key=True),
    Column("row_key", String(300), primary_key=True),  # The row's primary key, '/'-joined.
    Column("seq", Integer, nullable=False),  # The trail record that last wrote the row.
    Column("digest", String(80), nullable=False),  # The row's digest as that record bound it.
)
"""Index from each row to the trail record binding its current state (see :mod:`audits.binding`);
derived from the trail, and checked against it by ``trail verify --store``."""

certificate_numbers = Table(
    "certificate_numbers",
    metadata,
    Column("number", String(64), primary_key=True),
    Column("reserved_by", Text, nullable=False),
    Column("reserved_on", Date, nullable=False),
    # Where the signed PDF waits (absolute path) until it is published under ``target``; cleared then.
    Column("staged", Text, nullable=True),
    Column("target", Text, nullable=True),  # Where the PDF is published (absolute path).
    Column("voided_on", Date, nullable=True),  # Set when an issue died and its number was given up.
)
"""Every certificate number ever handed out, committed before its PDF exists: a number is used
once, whether its certificate was recorded (``certificates``) or the issue failed (voided)."""

# Sign-in (migration 0006) ---------------------------------------------------------------------

credentials = Table(
    "credentials",
    metadata,
    Column("person_id", String(64), ForeignKey("people.id"), primary_key=True),
    Column("password_hash", Text, nullable=False),  # argon2id, in its own PHC string format.
    Column("set_at", String(32), nullable=False),  # ISO 8601 UTC instant.
)
"""A person's password, as an argon2id hash; never the password."""

invitations = Table(
    "invitations",
    metadata,
    Column("token_hash", String(80), primary_key=True),  # sha256: of the one-time token.
    Column("person_id", String(64), ForeignKey("people.id"), nullable=False),
    Column("invited_by", String(64), ForeignKey("people.id"), nullable=False),
    Column("created_at", String(32), nullable=False),
    Column("expires_at", String(32), nullable=False),
    Column("used_at", String(32), nullable=True),
)
"""One-time tokens to set a password; only their hashes are kept."""

api_tokens = Table(
    "api_tokens",
    metadata,
    Column("id", String(32), primary_key=True),  # The public part of the token.
    Column("person_id", String(64), ForeignKey("people.id"), nullable=False),
    Column("token_hash", String(80), nullable=False),  # sha256: of the secret part.
    Column("scope", String(8), nullable=False),
    Column("created_at", String(32), nullable=False),
    Column("expires_at", String(32), nullable=False),
    Column("revoked_at", String(32), nullable=True),
    CheckConstraint("scope IN ('read', 'write')", name="scope"),
)
"""Personal API tokens for machine clients: shown once, kept hashed, expiring, revocable."""

sign_in_failures = Table(
    "sign_in_failures",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=False),
    Column("person_id", String(64), nullable=False),  # The id tried (it may name nobody).
    Column("address", String(64), nullable=False),  # Where the attempt came from.
    Column("at", String(32), nullable=False),
)
"""Failed sign-ins, counted per account and per address to throttle guessing."""

sessions = Table(
    "sessions",
    metadata,
    Column("token_hash", String(80), primary_key=True),  # sha256: of the cookie's secret.
    Column("person_id", String(64), ForeignKey("people.id"), nullable=False),
    Column("address", String(64), nullable=False),  # Where the sign-in came from.
    Column("created_at", String(32), nullable=False),
    Column("expires_at", String(32), nullable=False),
    Column("ended_at", String(32), nullable=True),  # Signed out (or ended by a new sign-in).
)
"""Signed-in sessions of people using a browser: only the hash of the cookie's
secret (the CSRF token is derived from the secret, so it needs no row of its own)."""

# Rule packs, re-ratings and local jobs (migration 0008) ----------------------------------------

JOB_STATUSES = ("queued", "done", "failed")
"""States of a job in :data:`local_jobs`."""

rule_packs = Table(
    "rule_packs",
    metadata,
    Column("number", Integer, primary_key=True, autoincrement=False),  # 1, 2, ...: installs in order.
    Column("digest", String(80), nullable=False),  # engine.rulepack.pack_digest of the files.
    Column("pack_id", String(64), nullable=False),  # The model id, e.g. iso37107-2019.
    Column("files", Text, nullable=False),  # JSON {path: text} of every file the digest covers.
    Column("installed_at", String(32), nullable=False),  # ISO 8601 UTC instant.
    Column("installed_by", String(64), ForeignKey("people.id"), nullable=False),
)
"""Every rule pack a register administrator installed, with its files, so a pack an evaluation
ran with can be loaded again; the latest install is the pack in force (none: the bundled pack)."""

reratings = Table(
    "reratings",
    metadata,
    # The install whose re-rating this is: every certificate in force is re-rated once per install.
    Column("run", Integer, ForeignKey("rule_packs.number"), primary_key=True, autoincrement=False),
    Column("certificate", String(64), ForeignKey("certificates.number"), primary_key=True),
    Column("engagement_id", String(32), ForeignKey("engagements.id"), nullable=False),
    Column("old_rule_pack_digest", String(80), nullable=False),  # What the certificate rests on.
    Column("new_rule_pack_digest", String(80), nullable=False),  # The pack installed.
    Column("changes", Text, nullable=False),  # Canonical JSON: levels that would change, and why.
    Column("created_at", String(32), nullable=False),
)
"""What re-evaluating a certificate's pinned evidence under a newly installed rule pack would
change; read by a reviewer, who decides through the normal process (nothing else is changed)."""

local_jobs = Table(
    "local_jobs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("name", String(64), nullable=False),  # A job function's name (audits.jobs.JOBS).
    Column("args", Text, nullable=False),  # Canonical JSON object.
    Column("status", String(16), nullable=False),
    Column("error", Text, nullable=True),  # Why a failed job failed.
    CheckConstraint(f"status IN ({', '.join(repr(s) for s in JOB_STATUSES)})", name="status"),
)
"""Jobs queued on a store without a task queue (SQLite), drained by the process that queued
them or by ``assay worker``; on PostgreSQL jobs go to procrastinate's tables instead."""

# Preferences (migration 0009) -------------------------------------------------------------------

preferences = Table(
    "preferences",
    metadata,
    Column("person_id", String(64), ForeignKey("people.id"), primary_key=True),
    Column("language", String(8), nullable=False),  # A language of the pages: en or zh.
)
"""How each person wants the web pages: only the
language they last chose, so it follows them from browser to browser."""
