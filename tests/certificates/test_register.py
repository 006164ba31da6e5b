"""The certificate register: numbering, lifecycle, refusals, the public export and the register's trail.

Every test runs on SQLite and on PostgreSQL (the ``database`` fixture in conftest.py).
"""

from __future__ import annotations

import csv
import datetime as dt
import functools
import io
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import delete, func, select, update

import rules
from audits.schema import certificates, trail
from audits.store import Store, open_store
from certificates.content import Issuance, build_certificate
from certificates.errors import RegisterError
from certificates.model import Certificate, result_digest
from certificates.public_csv import COLUMNS as CSV_COLUMNS
from certificates.public_csv import register_csv
from certificates.register import EFFECTIVE_STATUSES, REGISTER_FORMAT, Issuing, Register, RegisterEntry
from certificates.scheme import Scheme
from engine.catalogue import MaturityModel, load_catalogue
from engine.errors import TrailError
from engine.result import Result

GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "harbourton" / "result.json"
ISSUED = dt.date(2026, 7, 15)
SCHEME = Scheme()
PDF = "ab" * 32
REGISTRAR = "Rita Registrar"


@functools.cache
def _evaluation() -> tuple[Result, MaturityModel, str]:
    raw = GOLDEN.read_bytes()
    return Result.model_validate_json(raw), load_catalogue(rules.bundled() / "model.yaml"), result_digest(raw)


def make_certificate(
    number: str, issued_on: dt.date = ISSUED, *, renews: str | None = None, scheme: Scheme = SCHEME
) -> Certificate:
    """A certificate for the golden Harbourton result, as the issuing command would build it."""
    result, model, digest = _evaluation()
    issuance = Issuance(
        number,
        issued_on,
        "Assay Test Certification Body",
        "Ana Auditor",
        "Dee Decider",
        "en",
        True,
        renews=renews,
    )
    return build_certificate(
        result, model, scheme, issuance, trail_head="sha256:" + "1" * 64, result_digest=digest
    )


class MovableClock:
    """A clock the test moves by hand."""

    def __init__(self, instant: dt.datetime) -> None:
        self.instant = instant

    def now(self) -> dt.datetime:
        return self.instant

    def move_to(self, day: dt.date) -> None:
        self.instant = dt.datetime.combine(day, dt.time(9), tzinfo=dt.UTC)


@pytest.fixture
def clock() -> MovableClock:
    return MovableClock(dt.datetime(2026, 7, 15, 9, 0, tzinfo=dt.UTC))


@pytest.fixture
def store(database: str) -> Iterator[Store]:
    with open_store(database) as opened:
        yield opened


@pytest.fixture
def register(store: Store, clock: MovableClock) -> Register:
    return Register(store, clock)


def issue(
    register: Register,
    issued_on: dt.date = ISSUED,
    *,
    renews: str | None = None,
    scheme: Scheme = SCHEME,
    actor: str = REGISTRAR,
) -> str:
    """Issue one certificate the way the issuing command does; its number."""
    with register.issuing(scheme, issued_on, actor) as issuing:
        issuing.record(make_certificate(issuing.number, issued_on, renews=renews, scheme=scheme), PDF)
    return issuing.number


def issue_with(register: Register, body: Callable[[Issuing], None]) -> None:
    """Run ``body`` between allocating a number and committing, where rendering and signing happen."""
    with register.issuing(SCHEME, ISSUED, REGISTRAR) as issuing:
        body(issuing)


def certificates_dump(store: Store) -> list[tuple[Any, ...]]:
    """Every row of the certificates table, every column, in number order."""
    with store.read() as connection:
        return [
            tuple(row) for row in connection.execute(select(certificates).order_by(certificates.c.number))
        ]


def unbound(payload: dict[str, Any]) -> dict[str, Any]:
    """A payload without the row bindings its record carries."""
    return {k: v for k, v in payload.items() if k != "rows"}


def trail_rows(store: Store) -> list[tuple[str, str, dict[str, Any]]]:
    """(event, actor, payload) of every trail record, in order."""
    with store.read() as connection:
        rows = connection.execute(select(trail.c.event, trail.c.actor, trail.c.payload).order_by(trail.c.seq))
        return [(event, actor, json.loads(payload)) for event, actor, payload in rows]


def test_issue_suspend_reinstate_withdraw(register: Register, store: Store, clock: MovableClock) -> None:
    number = issue(register)
    assert number == "ASSAY-2026-000001"
    entry = register.entry(number, ISSUED)
    assert (entry.status, entry.stored_status, entry.status_reason) == ("issued", "issued", None)
    assert (entry.community, entry.scheme, entry.model) == ("Harbourton", "assay-mmssc", "iso37107-2019")
    assert (entry.expires_on, entry.surveillance_due) == (
        dt.date(2029, 7, 14),
        (dt.date(2027, 7, 15), dt.date(2028, 7, 15)),
    )
    assert entry.certificate == make_certificate(number)
    assert entry.pdf_sha256 == PDF
    clock.move_to(dt.date(2027, 8, 1))
    register.suspend(number, "  surveillance audit overdue ", "Sam Scheme-Manager")
    entry = register.entry(number, dt.date(2027, 8, 1))
    assert (entry.status, entry.status_reason, entry.status_changed_on) == (
        "suspended",
        "surveillance audit overdue",
        dt.date(2027, 8, 1),
    )
    clock.move_to(dt.date(2027, 9, 1))
    register.reinstate(number, "surveillance audit passed", "Sam Scheme-Manager")
    assert register.status(number, dt.date(2027, 9, 1)) == "reinstated"
    clock.move_to(dt.date(2028, 1, 10))
    register.withdraw(number, "misuse of the certificate mark", "Dee Decider")
    assert register.status(number, dt.date(2028, 1, 10)) == "withdrawn"
    assert register.status(number, dt.date(2035, 1, 1)) == "withdrawn"
    events = trail_rows(store)
    assert [(event, actor) for event, actor, _ in events] == [
        ("certificate.number_reserved", REGISTRAR),
        ("certificate.issued", REGISTRAR),
        ("certificate.suspended", "Sam Scheme-Manager"),
        ("certificate.reinstated", "Sam Scheme-Manager"),
        ("certificate.withdrawn", "Dee Decider"),
    ]
    assert unbound(events[0][2]) == {"number": number, "staged": None}
    issued = events[1][2]
    assert issued["number"] == number
    assert issued["pdf_sha256"] == PDF
    assert issued["renews"] is None
    assert issued["certificate_digest"].startswith("sha256:")
    assert unbound(events[2][2]) == {
        "number": number,
        "reason": "surveillance audit overdue",
        "previous_status": "issued",
    }
    # Every change binds the row it left: the certificate's digest after each transition.
    assert [[(r["table"], r["key"]) for r in payload["rows"]] for _, _, payload in events[1:]] == [
        [("certificates", number)]
    ] * 4
    assert len({payload["rows"][0]["digest"] for _, _, payload in events[1:]}) == 4
    assert events[4][2]["previous_status"] == "reinstated"
    verified = register.verify_trail()
    assert verified.records == 5
    assert register.verify_trail(head=verified.head) == verified


def test_trail_times_come_from_the_clock(register: Register, store: Store, clock: MovableClock) -> None:
    number = issue(register)
    clock.instant = dt.datetime(2026, 8, 2, 13, 45, 7, tzinfo=dt.UTC)
    register.suspend(number, "complaint under investigation", REGISTRAR)
    with store.read() as connection:
        times = connection.execute(select(trail.c.time).order_by(trail.c.seq)).scalars().all()
    assert times == ["2026-07-15T09:00:00Z", "2026-07-15T09:00:00Z", "2026-08-02T13:45:07Z"]


def test_a_certificate_expires_by_date(register: Register, clock: MovableClock) -> None:
    number = issue(register)
    suspended = issue(register)
    register.suspend(suspended, "complaint under investigation", REGISTRAR)
    assert register.status(number, dt.date(2029, 7, 14)) == "issued"
    assert register.status(number, dt.date(2029, 7, 15)) == "expired"
    assert register.status(suspended, dt.date(2029, 7, 15)) == "expired"
    clock.move_to(dt.date(2029, 8, 1))
    with pytest.raises(
        RegisterError, match=f"cannot suspend {number}: it is expired; it expired after 2029-07-14"
    ):
        register.suspend(number, "late complaint", REGISTRAR)
    with pytest.raises(RegisterError, match=f"cannot reinstate {suspended}: it is expired"):
        register.reinstate(suspended, "complaint closed", REGISTRAR)
    register.withdraw(number, "certified community dissolved", REGISTRAR)
    assert register.status(number, dt.date(2029, 8, 1)) == "withdrawn"


def test_renewal_issues_a_new_certificate_and_retires_the_old(
    register: Register, store: Store, clock: MovableClock
) -> None:
    old = issue(register)
    clock.move_to(dt.date(2029, 9, 1))
    new = issue(register, dt.date(2029, 9, 1), renews=old)
    assert new == "ASSAY-2029-000001"
    renewed = register.entry(old, dt.date(2029, 9, 1))
    assert (renewed.status, renewed.renewed_by, renewed.status_changed_on) == (
        "renewed",
        new,
        dt.date(2029, 9, 1),
    )
    assert register.entry(new, dt.date(2029, 9, 1)).renews == old
    events = trail_rows(store)
    assert [event for event, _, _ in events] == [
        "certificate.number_reserved",
        "certificate.issued",
        "certificate.number_reserved",
        "certificate.issued",
        "certificate.renewed",
    ]
    assert events[3][2]["renews"] == old
    assert unbound(events[4][2]) == {"number": old, "renewed_by": new}
    with pytest.raises(RegisterError, match=f"cannot renew {old} with ASSAY-2029-000002: it is renewed"):
        issue(register, dt.date(2029, 9, 1), renews=old)
    with pytest.raises(RegisterError, match=f"cannot withdraw {old}: it is renewed; it was renewed by {new}"):
        register.withdraw(old, "mistake", REGISTRAR)
    # + reserved, refused, voided (the refused renewal) and the refused withdrawal.
    assert register.verify_trail().records == 9


def test_a_refused_renewal_issues_nothing(register: Register, store: Store) -> None:
    withdrawn = issue(register)
    register.withdraw(withdrawn, "misuse of the certificate mark", REGISTRAR)
    before = certificates_dump(store)
    with pytest.raises(
        RegisterError, match=f"cannot renew {withdrawn} with ASSAY-2026-000002: it is withdrawn"
    ):
        issue(register, renews=withdrawn)
    with pytest.raises(RegisterError, match="no certificate ASSAY-2020-000009 in the register"):
        issue(register, renews="ASSAY-2020-000009")
    elsewhere = issue(register)

    def record_for_another_community(issuing: Issuing) -> None:
        cert = make_certificate(issuing.number, renews=elsewhere)
        issuing.record(cert.model_copy(update={"community": "Larkfield"}), PDF)

    with pytest.raises(RegisterError, match="it certifies Harbourton, not Larkfield"):
        issue_with(register, record_for_another_community)
    assert elsewhere == "ASSAY-2026-000004"  # 2 and 3 were voided by the refused renewals
    assert certificates_dump(store)[: len(before)] == before
    assert register.status(elsewhere, ISSUED) == "issued"
    refusals = [payload for event, _, payload in trail_rows(store) if event == "certificate.refused"]
    assert [(r["operation"], r["number"]) for r in refusals] == [
        ("renew", withdrawn),
        ("renew", "ASSAY-2020-000009"),
        ("renew", elsewhere),
    ]
    assert issue(register) == "ASSAY-2026-000006"


def test_numbers_are_sequential_per_prefix_and_year(register: Register) -> None:
    assert [issue(register) for _ in range(3)] == [f"ASSAY-2026-{n:06d}" for n in (1, 2, 3)]
    assert issue(register, scheme=Scheme(id="city-x", number_prefix="CITYX")) == "CITYX-2026-000001"
    assert issue(register, dt.date(2027, 1, 4)) == "ASSAY-2027-000001"
    assert issue(register, dt.date(2026, 12, 31)) == "ASSAY-2026-000004"
    assert issue(register, dt.date(2027, 2, 1)) == "ASSAY-2027-000002"
    assert [e.number for e in register.entries(ISSUED)] == [
        "ASSAY-2026-000001",
        "ASSAY-2026-000002",
        "ASSAY-2026-000003",
        "ASSAY-2026-000004",
        "ASSAY-2027-000001",
        "ASSAY-2027-000002",
        "CITYX-2026-000001",
    ]


def _withdrawn(register: Register) -> str:
    number = issue(register)
    register.withdraw(number, "misuse of the certificate mark", REGISTRAR)
    return number


def _suspended(register: Register) -> str:
    number = issue(register)
    register.suspend(number, "complaint under investigation", REGISTRAR)
    return number


def _renewed(register: Register) -> str:
    number = issue(register)
    issue(register, renews=number)
    return number


def _expired(register: Register) -> str:
    number = issue(register, dt.date(2022, 1, 10))
    return number


REFUSALS: list[tuple[Callable[[Register], str], str, str, str]] = [
    (issue, "reinstate", "issued", "only a certificate that is suspended can be reinstated"),
    (_suspended, "suspend", "suspended", "only a certificate that is issued or reinstated can be suspended"),
    (_withdrawn, "suspend", "withdrawn", "a withdrawn certificate is final"),
    (_withdrawn, "reinstate", "withdrawn", "a withdrawn certificate is final"),
    (_withdrawn, "withdraw", "withdrawn", "a withdrawn certificate is final"),
    (_renewed, "suspend", "renewed", "it was renewed by ASSAY-2026-000002; a renewed certificate is final"),
    (_renewed, "withdraw", "renewed", "a renewed certificate is final"),
    (_expired, "suspend", "expired", "an expired certificate can only be withdrawn or renewed"),
    (_expired, "reinstate", "expired", "it expired after 2025-01-09"),
]


@pytest.mark.parametrize(("setup", "operation", "status", "why"), REFUSALS)
def test_a_refused_transition_changes_nothing_and_is_recorded(
    register: Register, store: Store, setup: Callable[[Register], str], operation: str, status: str, why: str
) -> None:
    number = setup(register)
    before, trail_before = certificates_dump(store), trail_rows(store)
    change = getattr(register, operation)
    with pytest.raises(RegisterError) as caught:
        change(number, "a stated reason", "Sam Scheme-Manager")
    message = str(caught.value)
    assert message.startswith(f"cannot {operation} {number}: it is {status}; ")
    assert why in message
    assert certificates_dump(store) == before
    assert trail_rows(store) == [
        *trail_before,
        (
            "certificate.refused",
            "Sam Scheme-Manager",
            {"operation": operation, "number": number, "reason": message},
        ),
    ]
    assert register.verify_trail().records == len(trail_before) + 1


@pytest.mark.parametrize("reason", ["", "   ", "\n\t"])
def test_a_change_without_a_reason_is_refused(register: Register, store: Store, reason: str) -> None:
    number = issue(register)
    before = certificates_dump(store)
    for operation in ("suspend", "withdraw"):
        with pytest.raises(
            RegisterError, match=f"cannot {operation} {number}: it is issued; a reason is required"
        ):
            getattr(register, operation)(number, reason, REGISTRAR)
    assert certificates_dump(store) == before
    assert [event for event, _, _ in trail_rows(store)] == [
        "certificate.number_reserved",
        "certificate.issued",
        *["certificate.refused"] * 2,
    ]


def test_an_actor_is_required(register: Register, store: Store) -> None:
    number = issue(register)
    with pytest.raises(RegisterError, match=f"cannot suspend {number}: an actor is required"):
        register.suspend(number, "complaint", " ")
    with pytest.raises(RegisterError, match="cannot issue a certificate: an actor is required"):
        issue(register, actor="")
    assert register.status(number, ISSUED) == "issued"
    assert [event for event, _, _ in trail_rows(store)] == [
        "certificate.number_reserved",
        "certificate.issued",
    ]


def test_an_unknown_number_is_refused(register: Register, store: Store) -> None:
    issue(register)
    with pytest.raises(RegisterError, match=r"^no certificate ASSAY-2026-000042 in the register$"):
        register.suspend("ASSAY-2026-000042", "complaint", REGISTRAR)
    with pytest.raises(RegisterError, match=r"^no certificate ASSAY-2026-000042 in the register$"):
        register.entry("ASSAY-2026-000042", ISSUED)
    assert register.status("ASSAY-2026-000042", ISSUED) is None
    assert trail_rows(store)[-1] == (
        "certificate.refused",
        REGISTRAR,
        {
            "operation": "suspend",
            "number": "ASSAY-2026-000042",
            "reason": "no certificate ASSAY-2026-000042 in the register",
        },
    )


def test_an_issuing_block_that_raises_records_nothing_and_voids_its_number(
    register: Register, store: Store
) -> None:
    issue(register)

    def fail(issuing: Issuing) -> None:
        assert issuing.number == "ASSAY-2026-000002"
        raise RuntimeError("signing failed")

    with pytest.raises(RuntimeError, match="signing failed"):
        issue_with(register, fail)
    assert [e.number for e in register.entries(ISSUED)] == ["ASSAY-2026-000001"]
    events = trail_rows(store)
    assert [event for event, _, _ in events] == [
        "certificate.number_reserved",
        "certificate.issued",
        "certificate.number_reserved",
        "certificate.number_voided",
    ]
    assert unbound(events[-1][2]) == {
        "number": "ASSAY-2026-000002",
        "reason": "the issue failed: signing failed",
    }
    # The number was consumed when it was reserved: it is never handed out again.
    assert issue(register) == "ASSAY-2026-000003"


def test_recording_checks_what_was_allocated(register: Register, store: Store) -> None:
    def record_twice(issuing: Issuing) -> None:
        issuing.record(make_certificate(issuing.number), PDF)
        issuing.record(make_certificate(issuing.number), PDF)

    bodies: list[tuple[Callable[[Issuing], None], str]] = [
        (
            lambda issuing: issuing.record(make_certificate("ASSAY-2026-000007"), PDF),
            "cannot issue ASSAY-2026-000007: the number reserved is ASSAY-2026-000001",
        ),
        (
            lambda issuing: issuing.record(make_certificate(issuing.number, dt.date(2026, 7, 16)), PDF),
            "issued on 2026-07-16, but the number was reserved for 2026-07-15",
        ),
        (
            lambda issuing: issuing.record(make_certificate(issuing.number), "not-a-digest"),
            "'not-a-digest' is not a SHA-256 hex digest",
        ),
        (lambda issuing: None, "ASSAY-2026-000004 was reserved but never recorded"),
        (record_twice, "cannot issue ASSAY-2026-000005 twice"),
    ]
    for body, message in bodies:
        with pytest.raises(RegisterError, match=message):
            issue_with(register, body)
    # The first four voided their numbers; the fifth recorded its certificate once.
    assert [e.number for e in register.entries(ISSUED)] == ["ASSAY-2026-000005"]
    reserved, refused, voided, issued = (
        "certificate.number_reserved",
        "certificate.refused",
        "certificate.number_voided",
        "certificate.issued",
    )
    assert [event for event, _, _ in trail_rows(store)] == [
        *[reserved, refused, voided] * 3,
        reserved,
        voided,
        reserved,
        issued,
    ]
    assert issue(register) == "ASSAY-2026-000006"


def _public_entry(number: str, status: str, **changes: Any) -> dict[str, Any]:
    return {
        "number": number,
        "community": "Harbourton",
        "scheme": "assay-mmssc",
        "standard": "ISO/TS 37107:2019",
        "characteristics": 32,
        "dimensions": [{"id": d, "level": level} for d, level in (("1", 2), ("2", 2), ("3", 2), ("4", 1))],
        "assessed_on": "2026-06-30",
        "issued_on": "2026-07-15",
        "expires_on": "2029-07-14",
        "surveillance_due": ["2027-07-15", "2028-07-15"],
        "status": status,
        "status_reason": None,
        "renews": None,
        "renewed_by": None,
        **changes,
    }


def test_the_public_export(register: Register) -> None:
    suspended = _suspended(register)
    renewed = _renewed(register)
    reinstated = _suspended(register)
    register.reinstate(reinstated, "complaint closed", REGISTRAR)
    exported = register.export_public(dt.date(2026, 9, 30))
    assert exported == {
        "format": REGISTER_FORMAT,
        "as_of": "2026-09-30",
        "certificates": [
            _public_entry(suspended, "suspended", status_reason="complaint under investigation"),
            _public_entry(renewed, "renewed", renewed_by="ASSAY-2026-000003"),
            _public_entry("ASSAY-2026-000003", "issued", renews=renewed),
            _public_entry(reinstated, "reinstated"),
        ],
    }
    assert json.dumps(exported, sort_keys=True) == json.dumps(
        register.export_public(dt.date(2026, 9, 30)), sort_keys=True
    )
    later = register.export_public(dt.date(2029, 7, 15))
    assert [c["status"] for c in later["certificates"]] == ["expired", "renewed", "expired", "expired"]
    assert later["certificates"][0]["status_reason"] is None


def test_the_public_register_as_csv(register: Register) -> None:
    """The same rows as the JSON export, flattened; text from outside that a spreadsheet would run
    as a formula is written with a leading apostrophe (CSV injection)."""
    suspended = _suspended(register)
    with register.issuing(SCHEME, ISSUED, REGISTRAR) as issuing:
        cert = make_certificate(issuing.number)
        issuing.record(cert.model_copy(update={"community": '=HYPERLINK("http://x","Harbourton")'}), PDF)
    exported = register.export_public(dt.date(2026, 9, 30))
    text = register_csv(exported)
    assert text.splitlines()[0] == ",".join(CSV_COLUMNS)
    assert text.endswith("\r\n")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [r["number"] for r in rows] == [c["number"] for c in exported["certificates"]]
    first = rows[0]
    assert (first["number"], first["status"], first["status_reason"]) == (
        suspended,
        "suspended",
        "complaint under investigation",
    )
    assert first["dimensions"] == "1:2 2:2 3:2 4:1"
    assert first["surveillance_due"] == "2027-07-15;2028-07-15"
    assert first["renews"] == ""
    assert rows[1]["community"] == '\'=HYPERLINK("http://x","Harbourton")'


def _issue_to(register: Register, community: str) -> str:
    with register.issuing(SCHEME, ISSUED, REGISTRAR) as issuing:
        issuing.record(make_certificate(issuing.number).model_copy(update={"community": community}), PDF)
    return issuing.number


def test_a_register_search_is_the_register_filtered_and_paged(register: Register) -> None:
    """Every combination of filters and page sizes gives the matching slice of ``entries`` (the
    oracle): the database filters and pages as the register reads."""
    for community in ("Harbourton", "Norbridge", "North Harbour_100%", "Larkfield"):
        _issue_to(register, community)
    _suspended(register)
    withdrawn = _issue_to(register, "Norbridge")
    register.withdraw(withdrawn, "misuse", REGISTRAR)
    _renewed(register)
    seen: set[str] = set()
    for on in (ISSUED, dt.date(2029, 7, 15)):  # by the second day the live ones have expired
        everything = register.entries(on)
        seen |= {e.status for e in everything}
        _search_matches_entries(register, on, everything)
    assert seen == {"issued", "suspended", "expired", "withdrawn", "renewed"}
    everything = register.entries(ISSUED)
    assert [e.number for e in register.search(ISSUED, number="ASSAY-2026-00000").entries] == [
        e.number for e in everything if e.number.startswith("ASSAY-2026-00000")
    ]


def _search_matches_entries(register: Register, on: dt.date, everything: list[RegisterEntry]) -> None:
    for community in (None, "harb", "NORBRIDGE", "_100%", "100%", "nowhere"):
        for status in (None, *EFFECTIVE_STATUSES):
            wanted = [
                e.number
                for e in everything
                if (community is None or community.lower() in e.community.lower())
                and (status is None or e.status == status)
            ]
            for per_page in (1, 3, 100):
                found, page = [], 1
                while True:
                    got = register.search(
                        on, community=community, status=status, page=page, per_page=per_page
                    )
                    assert got.total == len(wanted)
                    found += [e.number for e in got.entries]
                    if page >= got.pages:
                        break
                    page += 1
                assert found == wanted, (on, community, status, per_page)


def test_a_bad_register_search_names_every_problem(register: Register) -> None:
    with pytest.raises(RegisterError) as caught:
        register.search(ISSUED, status="valid", page=0, per_page=1000, community="x" * 201)
    assert str(caught.value) == (
        "cannot search the register: status must be one of issued, reinstated, suspended, expired, "
        "withdrawn, renewed, not 'valid'; page must be from 1 to 100000, not 0; per_page must be "
        "from 1 to 100, not 1000; community must be at most 200 characters, without NUL"
    )


def test_the_trail_verifies_and_names_an_edited_record(register: Register, store: Store) -> None:
    number = _suspended(register)
    register.reinstate(number, "complaint closed", REGISTRAR)
    register.withdraw(number, "misuse of the certificate mark", REGISTRAR)
    head = register.verify_trail().head
    assert register.verify_trail(head=head).records == 5
    # Tampering behind the register's back, with an ordinary write.
    with store.write() as connection:
        edited = func.replace(trail.c.payload, "complaint closed", "all fine")
        connection.execute(update(trail).where(trail.c.seq == 4).values(payload=edited))
    with pytest.raises(
        TrailError, match=r"record 4 \(seq 4, 'certificate.reinstated'\): payload does not match"
    ) as caught:
        register.verify_trail()
    assert caught.value.record == 4


def test_the_trail_names_a_removed_or_garbled_record(register: Register, store: Store) -> None:
    number = _suspended(register)
    register.reinstate(number, "complaint closed", REGISTRAR)
    head = register.verify_trail().head
    with store.write() as connection:
        connection.execute(delete(trail).where(trail.c.seq == 4))
    # A chain cut at its end is still a chain: only the anchor held elsewhere shows the loss.
    assert register.verify_trail().records == 3
    with pytest.raises(TrailError, match=f"is not the expected {head}"):
        register.verify_trail(head=head)
    with store.write() as connection:
        connection.execute(update(trail).where(trail.c.seq == 1).values(payload="garbled"))
    with pytest.raises(TrailError, match="record 1: payload must be an object"):
        register.verify_trail()


def test_an_empty_register_has_an_empty_trail(register: Register) -> None:
    assert register.entries(ISSUED) == []
    assert register.export_public(ISSUED) == {
        "format": REGISTER_FORMAT,
        "as_of": "2026-07-15",
        "certificates": [],
    }
    assert register.verify_trail().records == 0
    with pytest.raises(TrailError, match="empty"):
        register.verify_trail(head="sha256:" + "2" * 64)


def test_what_a_database_cannot_hold_is_refused_on_every_database(register: Register, store: Store) -> None:
    # SQLite would store all of these; PostgreSQL rejects them. The register refuses them first.
    with pytest.raises(RegisterError, match=r"^cannot issue ASSAY-2026-000001: the scheme is longer than 64"):
        issue(register, scheme=Scheme(id="s" * 65))

    def record_with_a_nul(issuing: Issuing) -> None:
        cert = make_certificate(issuing.number)
        issuing.record(cert.model_copy(update={"community": "Harbour\x00ton"}), PDF)

    with pytest.raises(RegisterError, match="ASSAY-2026-000002: the community contains a NUL character"):
        issue_with(register, record_with_a_nul)
    number = issue(register)
    with pytest.raises(RegisterError, match="it is issued; the status reason contains a NUL character"):
        register.suspend(number, "complaint\x00", REGISTRAR)
    with pytest.raises(RegisterError, match=f"^cannot suspend {number}: the actor contains a NUL character"):
        register.suspend(number, "complaint", "Sam\x00")
    assert register.status(number, ISSUED) == "issued"
    assert [event for event, _, _ in trail_rows(store)] == [
        *["certificate.number_reserved", "certificate.refused", "certificate.number_voided"] * 2,
        "certificate.number_reserved",
        "certificate.issued",
        "certificate.refused",
    ]
