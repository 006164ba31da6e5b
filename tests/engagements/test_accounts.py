"""Sign-in: invitations, passwords, throttling and API tokens (issue 16, part 2, without HTTP)."""

from __future__ import annotations

import datetime as dt
import io
import itertools
from pathlib import Path

import pytest
from sqlalchemy import select, text

from audits.accounts import ACCOUNT_FAILURES, ADDRESS_FAILURES, Accounts
from audits.errors import RefusedError
from audits.integrity import check_integrity
from audits.schema import credentials, sign_in_failures
from engine.rulepack import RulePack
from tests.engagements.conftest import ADMIN, AUDITOR, DAY, LEAD, REVIEWER, World

PASSWORD = "correct horse battery staple"


@pytest.fixture
def accounts(world: World, rule_pack: RulePack) -> Accounts:
    made = Accounts(world.store, None, world.clock, rule_pack)
    counter = itertools.count(1)
    # Distinct, recognisable secrets (43 URL-safe characters, as token_urlsafe(32) gives).
    made.token_source = lambda n: f"secret{next(counter):03d}".ljust(43 if n == 32 else 22, "x")
    return made


def _with_password(world: World, accounts: Accounts, person: str) -> None:
    token = accounts.invite(ADMIN, person)
    assert accounts.set_password(token, PASSWORD) == person


def _stored_text(world: World) -> str:
    """Everything the store holds, as text: no secret may be in it."""
    with world.store.read() as connection:
        tables = [r[0] for r in connection.execute(text("SELECT name FROM sqlite_master WHERE type='table'"))]
        return "\n".join(
            repr(row) for table in tables for row in connection.execute(text(f'SELECT * FROM "{table}"'))
        )


def test_an_invited_person_sets_a_password_once_and_signs_in(world: World, accounts: Accounts) -> None:
    token = accounts.invite(ADMIN, AUDITOR)
    assert accounts.set_password(token, PASSWORD) == AUDITOR
    assert accounts.sign_in(AUDITOR, PASSWORD, "192.0.2.1").person.id == AUDITOR
    with world.store.read() as connection:
        (stored,) = connection.execute(select(credentials)).all()
    assert stored.password_hash.startswith("$argon2id$")
    if world.store.url.get_backend_name() == "sqlite":
        held = _stored_text(world)
        assert token not in held
        assert PASSWORD not in held
    events = [(e["event"], e["payload"].get("person")) for e in world.trail_events()[-3:]]
    assert events == [
        ("person.invited", AUDITOR),
        ("person.password_set", AUDITOR),
        ("person.signed_in", AUDITOR),
    ]
    with pytest.raises(RefusedError, match="the invitation is unknown, used or expired"):
        accounts.set_password(token, "another long password")
    assert check_integrity(world.store).problems == []


def test_an_invitation_expires_and_only_an_administrator_invites(world: World, accounts: Accounts) -> None:
    token = accounts.invite(ADMIN, AUDITOR, days=1)
    world.at(DAY + dt.timedelta(days=2))
    with pytest.raises(RefusedError, match="the invitation is unknown, used or expired"):
        accounts.set_password(token, PASSWORD)
    with pytest.raises(
        RefusedError, match=f"{LEAD} may not invite people: only a register administrator may"
    ):
        accounts.invite(LEAD, AUDITOR)
    with pytest.raises(RefusedError, match="nobody is not in the people table"):
        accounts.invite(ADMIN, "nobody")
    refused = [e["payload"]["operation"] for e in world.trail_events() if e["event"] == "engagement.refused"]
    assert refused == ["set a password", "invite", "invite"]


def test_a_weak_password_names_every_problem(world: World, accounts: Accounts) -> None:
    token = accounts.invite(ADMIN, AUDITOR)
    with pytest.raises(RefusedError) as caught:
        accounts.set_password(token, "amira\x00")
    assert str(caught.value) == (
        "cannot set a password: a password has 12 to 256 characters, not 6; "
        "a password must not contain the person's id; a password must not contain a NUL character"
    )
    assert accounts.set_password(token, PASSWORD) == AUDITOR  # the refusal did not use it


def test_wrong_passwords_are_recorded_and_throttle_the_account(world: World, accounts: Accounts) -> None:
    _with_password(world, accounts, AUDITOR)
    for _ in range(ACCOUNT_FAILURES):
        with pytest.raises(RefusedError, match=r"^cannot sign in: wrong id or password$"):
            accounts.sign_in(AUDITOR, "not the password at all", "192.0.2.1")
    # Past the limit even the right password is refused, from any address, until the window passes.
    with pytest.raises(RefusedError, match="too many failed sign-ins from this account; try again after"):
        accounts.sign_in(AUDITOR, PASSWORD, "198.51.100.7")
    with pytest.raises(RefusedError, match=r"^cannot sign in: wrong id or password$"):
        accounts.sign_in("nobody", PASSWORD, "192.0.2.1")  # an unknown id gets the same answer
    failed = [e for e in world.trail_events() if e["event"] == "sign_in.failed"]
    assert len(failed) == ACCOUNT_FAILURES + 2
    assert failed[0]["payload"] == {
        "person": AUDITOR,
        "address": "192.0.2.1",
        "reason": "wrong id or password",
        "rows": failed[0]["payload"]["rows"],
    }
    world.at(DAY + dt.timedelta(days=1))
    assert accounts.sign_in(AUDITOR, PASSWORD, "192.0.2.1").person.id == AUDITOR
    with world.store.read() as connection:
        assert len(connection.execute(select(sign_in_failures)).all()) == ACCOUNT_FAILURES + 2


def test_any_id_or_address_is_an_ordinary_failure(world: World, accounts: Accounts) -> None:
    """Ids and addresses come from outside: a NUL (which PostgreSQL refuses in text) or a
    kilobyte of id is a recorded failure, never a database error."""
    for person, address in (("amira\x00", "192.0.2.1"), ("x" * 1000, "y" * 1000)):
        with pytest.raises(RefusedError, match=r"^cannot sign in: wrong id or password$"):
            accounts.sign_in(person, PASSWORD, address)
    failed = [e["payload"] for e in world.trail_events() if e["event"] == "sign_in.failed"]
    assert [(p["person"], p["address"]) for p in failed] == [
        ("amira\ufffd", "192.0.2.1"),
        ("x" * 64, "y" * 64),
    ]
    assert check_integrity(world.store).problems == []


def test_an_address_guessing_many_accounts_is_throttled(world: World, accounts: Accounts) -> None:
    _with_password(world, accounts, REVIEWER)
    for n in range(ADDRESS_FAILURES):
        with pytest.raises(RefusedError, match="wrong id or password"):
            accounts.sign_in(f"guess{n}", "a guessed password", "203.0.113.9")
    with pytest.raises(RefusedError, match="too many failed sign-ins from this address"):
        accounts.sign_in(REVIEWER, PASSWORD, "203.0.113.9")
    assert accounts.sign_in(REVIEWER, PASSWORD, "192.0.2.1").person.id == REVIEWER


def test_an_api_token_is_shown_once_scoped_expiring_and_revocable(world: World, accounts: Accounts) -> None:
    token = accounts.create_token(LEAD, "write", days=30)
    shown = str(token)
    assert shown.startswith(f"assay_{token.id}_")
    person, scope = accounts.authenticate(shown)
    assert (person.id, scope) == (LEAD, "write")
    assert world.trail_events()[-1]["event"] == "token.used"
    if world.store.url.get_backend_name() == "sqlite":
        assert token.secret not in _stored_text(world)
    for bad in (shown[:-1] + ("y" if shown[-1] != "y" else "z"), "assay_nothing", ""):
        with pytest.raises(RefusedError, match="the token is unknown, expired or revoked"):
            accounts.authenticate(bad)
    with pytest.raises(RefusedError, match=f"token {token.id} is not theirs"):
        accounts.revoke_token(AUDITOR, token.id)
    accounts.revoke_token(LEAD, token.id)
    with pytest.raises(RefusedError, match="the token is unknown, expired or revoked"):
        accounts.authenticate(shown)
    later = accounts.create_token(LEAD, "read", days=1)
    world.at(DAY + dt.timedelta(days=2))
    with pytest.raises(RefusedError, match="the token is unknown, expired or revoked"):
        accounts.authenticate(str(later))
    with pytest.raises(RefusedError) as caught:
        accounts.create_token(LEAD, "admin", days=0)
    assert str(caught.value) == (
        "cannot create an API token: scope must be read or write, not 'admin'; "
        "a token is valid for 1 to 366 days, not 0"
    )
    assert check_integrity(world.store).problems == []


def test_the_cli_invites_and_sets_a_password_without_echoing_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import examples
    from assay.cli import run

    data = tmp_path / "data"
    assert run(["people", "import", str(examples.people_file()), "--data", str(data)]) == 0
    assert run(["people", "invite", AUDITOR, "--as", ADMIN, "--data", str(data)]) == 0
    printed = capsys.readouterr().out.splitlines()
    assert printed[-2] == f"invitation for {AUDITOR}, valid 7 day(s), shown once:"
    token_file = tmp_path / "token"
    token_file.write_text(printed[-1] + "\n", encoding="utf-8")
    monkeypatch.setattr("sys.stdin", io.StringIO(f"{PASSWORD}\n"))
    assert run(["people", "set-password", "--token-file", str(token_file), "--data", str(data)]) == 0
    shown = capsys.readouterr().out
    assert f"password set for {AUDITOR}" in shown
    assert PASSWORD not in shown
    assert run(["people", "set-password", "--token-file", str(token_file), "--data", str(data)]) == 8
    assert "the invitation is unknown, used or expired" in capsys.readouterr().err
    assert run(["people", "invite", AUDITOR, "--as", LEAD, "--data", str(data)]) == 8
