"""Sign-in: who is acting, proven rather than claimed (issue 16, part 2, without the HTTP layer).

- A register administrator *invites* a person: a one-time token, shown once, kept only as its
  SHA-256, expiring. With it the person sets a password, kept only as an argon2id hash.
- A person *signs in* with id and password. Failed attempts are counted per account and per
  address over a window; past the limit the account (or the address) is refused until the window
  has passed, whatever the password. Every sign-in, failure and throttled attempt is a trail record.
- Signing in opens a *session*: a secret for the browser's cookie, kept only as its SHA-256,
  expiring after ``SESSION_HOURS``; a new sign-in ends the session it was made from, so a session
  id planted before sign-in is never the one signed in (session fixation). The CSRF token is an
  HMAC of the session secret (:func:`csrf_token`), so it needs no row and no server secret.
- A signed-in person makes personal *API tokens* for machine clients: ``assay_<id>_<secret>``,
  shown once, kept as the id and the secret's SHA-256, scoped read or write, expiring and
  revocable. Every use is a trail record.

Every row here is bound to the trail like any other (:mod:`audits.binding`). Secrets come from an
injected source (``token_source``), times from the injected clock. Nothing here knows about HTTP:
the server's sessions and CSRF protection build on these operations.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import hmac
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.engine import Connection

from audits.authority import as_register_administrator, described
from audits.binding import Ref, check_rows, inserted, ref
from audits.errors import RefusedError
from audits.operations import Operations
from audits.people import Person, find_person
from audits.schema import api_tokens, credentials, invitations, preferences, sessions, sign_in_failures
from audits.store import append_trail

PASSWORD_MIN, PASSWORD_MAX = 12, 256
"""Password length bounds, in characters (the upper one keeps hashing time bounded)."""
THROTTLE_WINDOW = dt.timedelta(minutes=15)
ACCOUNT_FAILURES, ADDRESS_FAILURES = 5, 20
"""Failed sign-ins allowed in one window, per account and per address."""
INVITATION_DAYS, TOKEN_DAYS = 7, 90
SESSION_HOURS = 8
"""A session's lifetime from sign-in: a working day, then sign in again."""
SCOPES = ("read", "write")
_TOKEN = re.compile(r"^assay_([0-9a-f]{12})_([A-Za-z0-9_-]{43})$")
# argon2id, 64 MiB and 3 passes as RFC 9106's low-memory profile, but one lane: with more, the
# C library starts a thread per lane, and each new thread makes glibc reserve another arena of
# address space for the life of the process (measured: it pushed a later memory-capped test over
# its limit). One lane costs the attacker as much memory per guess.
_HASHER = PasswordHasher(time_cost=3, memory_cost=64 * 1024, parallelism=1)


@functools.cache
def _no_password() -> str:
    """Verified against when the account has no password, so both answers take the same time
    (made on first use: importing this module hashes nothing)."""
    return _HASHER.hash("no password is set for this account")


@dataclass(frozen=True)
class Token:
    """A personal API token as it is shown, once, to its owner."""

    id: str
    secret: str
    scope: str
    expires_at: str

    def __str__(self) -> str:
        return f"assay_{self.id}_{self.secret}"


@dataclass(frozen=True)
class Session:
    """A session just opened by signing in; ``secret`` goes in the cookie and is shown once."""

    person: Person
    secret: str
    expires_at: str


class Accounts(Operations):
    """Invitations, passwords, sign-in and API tokens over the store."""

    token_source: Callable[[int], str] = staticmethod(secrets.token_urlsafe)
    """Where secrets come from (``n`` bytes of randomness, URL-safe); tests inject their own."""

    def _now(self) -> dt.datetime:
        return self.clock.now().astimezone(dt.UTC)

    def invite(self, admin_id: str, person_id: str, days: int = INVITATION_DAYS) -> str:
        """A one-time token for ``person_id`` to set a password with; returns it (shown once)."""
        with self._operation("invite", "", admin_id) as (connection, attempt):
            acting = self._refuse_unless(
                attempt, lambda: as_register_administrator(connection, admin_id, "invite people")
            )
            if find_person(connection, person_id) is None:
                raise self._refusal(attempt, f"{person_id} is not in the people table")
            if not 1 <= days <= 30:
                raise self._refusal(attempt, f"an invitation is valid for 1 to 30 days, not {days}")
            token = self.token_source(32)
            now = self._now()
            row = {
                "token_hash": _sha(token),
                "person_id": person_id,
                "invited_by": admin_id,
                "created_at": _instant(now),
                "expires_at": _instant(now + dt.timedelta(days=days)),
                "used_at": None,
            }
            connection.execute(insert(invitations), row)
            payload = {"person": person_id, "expires_at": row["expires_at"]}
            self._trail(connection, acting, "person.invited", payload, [inserted(invitations, row)])
            return token

    def set_password(self, token: str, password: str) -> str:
        """Set a password with an invitation's token (used once); returns the person's id."""
        with self._operation("set a password", "", "") as (connection, attempt):
            found = connection.execute(
                select(invitations).where(invitations.c.token_hash == _sha(token))
            ).first()
            now = _instant(self._now())
            if found is not None:
                check_rows(connection, invitations, [found])
            if found is None or found.used_at is not None or found.expires_at <= now:
                # One answer for all three: a guesser learns nothing about which tokens exist.
                raise self._refusal(attempt, "the invitation is unknown, used or expired")
            attempt.person = found.person_id
            problems = password_problems(found.person_id, password)
            if problems:
                raise self._refusal(attempt, "; ".join(problems))
            person = find_person(connection, found.person_id)
            assert person is not None  # invitations name people (a foreign key)
            stored = {"person_id": person.id, "password_hash": _HASHER.hash(password), "set_at": now}
            had = connection.execute(
                select(credentials.c.person_id).where(credentials.c.person_id == person.id)
            ).first()
            if had is None:
                connection.execute(insert(credentials), stored)
            else:
                connection.execute(
                    update(credentials).where(credentials.c.person_id == person.id).values(stored)
                )
            connection.execute(
                update(invitations).where(invitations.c.token_hash == found.token_hash).values(used_at=now)
            )
            written = [ref(credentials, person.id), ref(invitations, found.token_hash)]
            append_trail(
                connection,
                self.clock,
                described(person.id, person),
                [("person.password_set", {"person": person.id}, written)],
            )
            return person.id

    def sign_in(self, person_id: str, password: str, address: str, *, ending: str | None = None) -> Session:
        """A new session for the person, when ``password`` is theirs and neither the account nor the
        address is throttled; otherwise :class:`RefusedError`, and the failure is recorded (row and
        trail). ``ending``: the session secret the request came with, ended by this sign-in."""
        # Input from outside, stored and compared as text: bounded, and without NUL (which
        # PostgreSQL refuses in text), so any id or address is an ordinary failure, not an error.
        person_id, address = (value.replace("\x00", "\ufffd")[:64] for value in (person_id, address))
        with self.store.write() as connection:
            now = self._now()
            throttled = _throttled(connection, person_id, address, now)
            person = None if throttled else find_person(connection, person_id)
            stored = None
            if person is not None:
                stored = connection.execute(
                    select(credentials).where(credentials.c.person_id == person.id)
                ).first()
                if stored is not None:
                    check_rows(connection, credentials, [stored])
            # Verified against a stand-in hash when there is no password: both answers take as long.
            known = stored.password_hash if stored is not None else _no_password()
            if not throttled and _verifies(known, password) and person is not None and stored is not None:
                written = []
                if _HASHER.check_needs_rehash(stored.password_hash):
                    connection.execute(
                        update(credentials)
                        .where(credentials.c.person_id == person.id)
                        .values(password_hash=_HASHER.hash(password))
                    )
                    written = [ref(credentials, person.id)]
                written += self._end_session(connection, ending, now)
                secret = self.token_source(32)
                expires = _instant(now + dt.timedelta(hours=SESSION_HOURS))
                row = {
                    "token_hash": _sha(secret),
                    "person_id": person.id,
                    "address": address,
                    "created_at": _instant(now),
                    "expires_at": expires,
                    "ended_at": None,
                }
                connection.execute(insert(sessions), row)
                written.append(inserted(sessions, row))
                payload = {"person": person.id, "address": address}
                append_trail(
                    connection,
                    self.clock,
                    described(person.id, person),
                    [("person.signed_in", payload, written)],
                )
                return Session(person, secret, expires)
            seq = _next_failure(connection)
            failure = {"seq": seq, "person_id": person_id, "address": address, "at": _instant(now)}
            connection.execute(insert(sign_in_failures), failure)
            reason = throttled or "wrong id or password"
            payload = {"person": person_id, "address": address, "reason": reason}
            append_trail(
                connection,
                self.clock,
                f"{person_id} (signing in)",
                [("sign_in.failed", payload, [inserted(sign_in_failures, failure)])],
            )
        raise RefusedError(f"cannot sign in: {reason}")

    def session(self, secret: str) -> Person:
        """The person a session cookie's secret is for; an unknown, ended or expired session is
        refused with one answer for all (not recorded: every page load would write)."""
        with self.store.read() as connection:
            found = connection.execute(select(sessions).where(sessions.c.token_hash == _sha(secret))).first()
            if found is not None:
                check_rows(connection, sessions, [found])
            valid = found is not None and found.ended_at is None and _instant(self._now()) < found.expires_at
            person = find_person(connection, found.person_id) if valid and found is not None else None
        if person is None:
            raise RefusedError("the session is unknown, ended or expired: sign in again")
        return person

    def language(self, person_id: str) -> str | None:
        """The language ``person_id`` last chose for the pages, if any."""
        with self.store.read() as connection:
            found = connection.execute(
                select(preferences).where(preferences.c.person_id == person_id)
            ).first()
            if found is None:
                return None
            check_rows(connection, preferences, [found])
        return str(found.language)

    def set_language(self, person_id: str, language: str) -> None:
        """Remember ``language`` for ``person_id``; bound by a trail record like every row, so
        an edit made outside shows, though it changes nothing but how pages read."""
        with self._operation("choose a language", "", person_id) as (connection, attempt):
            person = find_person(connection, person_id)
            if person is None:
                raise self._refusal(attempt, "no such person")
            connection.execute(delete(preferences).where(preferences.c.person_id == person.id))
            values = {"person_id": person.id, "language": language}
            connection.execute(insert(preferences).values(**values))
            append_trail(
                connection,
                self.clock,
                described(person.id, person),
                [
                    (
                        "person.language",
                        {"person": person.id, "language": language},
                        [inserted(preferences, values)],
                    )
                ],
            )

    def sign_out(self, secret: str) -> None:
        """End the session (a trail record); an unknown or ended one is refused."""
        with self._operation("sign out", "", "") as (connection, attempt):
            found = connection.execute(select(sessions).where(sessions.c.token_hash == _sha(secret))).first()
            person = find_person(connection, found.person_id) if found is not None else None
            if found is None or found.ended_at is not None or person is None:
                raise self._refusal(attempt, "the session is unknown or already ended")
            check_rows(connection, sessions, [found])
            written = self._end_session(connection, secret, self._now())
            append_trail(
                connection,
                self.clock,
                described(person.id, person),
                [("person.signed_out", {"person": person.id}, written)],
            )

    def _end_session(self, connection: Connection, secret: str | None, now: dt.datetime) -> list[Ref]:
        """End the session ``secret`` names, if it is open; the rows to bind."""
        if not secret:
            return []
        key = _sha(secret)
        ended = connection.execute(
            update(sessions)
            .where(sessions.c.token_hash == key, sessions.c.ended_at.is_(None))
            .values(ended_at=_instant(now))
        ).rowcount
        return [ref(sessions, key)] if ended else []

    def create_token(self, person_id: str, scope: str, days: int = TOKEN_DAYS) -> Token:
        """A personal API token for ``person_id`` (who has signed in); shown once."""
        with self._operation("create an API token", "", person_id) as (connection, attempt):
            person = find_person(connection, person_id)
            if person is None:
                raise self._refusal(attempt, "no such person")
            problems = [] if scope in SCOPES else [f"scope must be read or write, not {scope!r}"]
            if not 1 <= days <= 366:
                problems.append(f"a token is valid for 1 to 366 days, not {days}")
            if problems:
                raise self._refusal(attempt, "; ".join(problems))
            token_id = hashlib.sha256(self.token_source(16).encode()).hexdigest()[:12]
            secret = self.token_source(32)
            now = self._now()
            expires = _instant(now + dt.timedelta(days=days))
            row = {
                "id": token_id,
                "person_id": person.id,
                "token_hash": _sha(secret),
                "scope": scope,
                "created_at": _instant(now),
                "expires_at": expires,
                "revoked_at": None,
            }
            connection.execute(insert(api_tokens), row)
            payload = {
                "person": person.id,
                "token": token_id,
                "scope": scope,
                "expires_at": row["expires_at"],
            }
            append_trail(
                connection,
                self.clock,
                described(person.id, person),
                [("token.created", payload, [inserted(api_tokens, row)])],
            )
            return Token(token_id, secret, scope, expires)

    def authenticate(self, token: str) -> tuple[Person, str]:
        """The person a token acts for and its scope; the use is a trail record. An unknown,
        expired or revoked token is refused with one answer for all, and recorded."""
        match = _TOKEN.match(token)
        token_id = match[1] if match else ""
        with self._operation("use an API token", "", "") as (connection, attempt):
            found = (
                connection.execute(select(api_tokens).where(api_tokens.c.id == token_id)).first()
                if match
                else None
            )
            if found is not None:
                check_rows(connection, api_tokens, [found])
            now = _instant(self._now())
            valid = (
                found is not None
                and match is not None
                and hmac.compare_digest(found.token_hash, _sha(match[2]))
                and found.revoked_at is None
                and now < found.expires_at
            )
            person = find_person(connection, found.person_id) if valid and found is not None else None
            if person is None or found is None:
                attempt.person = token_id or "(malformed token)"
                raise self._refusal(attempt, "the token is unknown, expired or revoked")
            payload = {"person": person.id, "token": found.id, "scope": found.scope}
            append_trail(connection, self.clock, described(person.id, person), [("token.used", payload)])
            return person, str(found.scope)

    def revoke_token(self, person_id: str, token_id: str) -> None:
        """Revoke a token: its owner may, and so may a register administrator."""
        with self._operation("revoke an API token", "", person_id) as (connection, attempt):
            found = connection.execute(select(api_tokens).where(api_tokens.c.id == token_id)).first()
            person = find_person(connection, person_id)
            if found is None or person is None:
                raise self._refusal(attempt, f"no token {token_id}")
            check_rows(connection, api_tokens, [found])
            if found.person_id != person.id and "register_administrator" not in person.roles:
                raise self._refusal(attempt, f"token {token_id} is not theirs")
            if found.revoked_at is not None:
                raise self._refusal(attempt, f"token {token_id} was revoked at {found.revoked_at}")
            now = _instant(self._now())
            connection.execute(update(api_tokens).where(api_tokens.c.id == token_id).values(revoked_at=now))
            payload = {"person": found.person_id, "token": token_id}
            append_trail(
                connection,
                self.clock,
                described(person.id, person),
                [("token.revoked", payload, [ref(api_tokens, token_id)])],
            )


def csrf_token(secret: str) -> str:
    """The CSRF token of the session whose cookie holds ``secret``: an HMAC of it, so a page that
    cannot read the (HttpOnly) cookie cannot make it, and the server needs nothing stored."""
    return hmac.new(secret.encode("utf-8"), b"assay csrf token", hashlib.sha256).hexdigest()


def password_problems(person_id: str, password: str) -> list[str]:
    """Why ``password`` may not be set (length, the person's own id in it); empty when it may."""
    problems = []
    if not PASSWORD_MIN <= len(password) <= PASSWORD_MAX:
        problems.append(f"a password has {PASSWORD_MIN} to {PASSWORD_MAX} characters, not {len(password)}")
    if person_id.casefold() in password.casefold():
        problems.append("a password must not contain the person's id")
    if "\x00" in password:
        problems.append("a password must not contain a NUL character")
    return problems


def _throttled(connection: Connection, person_id: str, address: str, now: dt.datetime) -> str | None:
    """Why sign-in is refused before the password is even checked, or None."""
    since = _instant(now - THROTTLE_WINDOW)
    until = _instant(now + THROTTLE_WINDOW)
    for column, value, limit, what in (
        (sign_in_failures.c.person_id, person_id, ACCOUNT_FAILURES, "this account"),
        (sign_in_failures.c.address, address, ADDRESS_FAILURES, "this address"),
    ):
        count = connection.execute(
            select(func.count())
            .select_from(sign_in_failures)
            .where(column == value, sign_in_failures.c.at > since)
        ).scalar_one()
        if count >= limit:
            return f"too many failed sign-ins from {what}; try again after {until}"
    return None


def _verifies(password_hash: str, password: str) -> bool:
    if len(password) > PASSWORD_MAX:
        return False
    try:
        return bool(_HASHER.verify(password_hash, password))
    except (VerificationError, InvalidHashError):
        return False


def _next_failure(connection: Connection) -> int:
    highest = connection.execute(select(func.max(sign_in_failures.c.seq))).scalar()
    return 1 if highest is None else int(highest) + 1


def _sha(secret: str) -> str:
    return "sha256:" + hashlib.sha256(secret.encode("utf-8")).hexdigest()


def _instant(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
