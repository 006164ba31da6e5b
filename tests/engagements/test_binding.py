"""Every table bound to the trail, the trail anchored outside the database (issue 15, part 2).

Each test tampers the way an attacker with write access to the database (or the attachment
folder) would, with plain SQL behind Assay's back, and checks that ``trail verify --store``
names what changed and that the next operation relying on it refuses to go on.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from sqlalchemy import Row, delete, func, select, text, update
from sqlalchemy.engine import Connection

from audits.binding import row_digest
from audits.blobs import Blobs
from audits.errors import StoreError
from audits.integrity import check_integrity
from audits.schema import attachments, certificates, decisions, people, trail, verifications
from certificates.keys import SigningKey
from certificates.register import Register
from certificates.scheme import Scheme
from certificates.verify import verify_certificate
from engine.canonical import canonical_json, digest_of
from tests.engagements.conftest import ADMIN, DAY, LEAD, REVIEWER, World, evaluated, inference


def problems(world: World, *, attachments_too: bool = False) -> list[str]:
    blobs = Blobs(world.tmp / "attachments") if attachments_too else None
    return check_integrity(world.store, blobs=blobs).problems


def certified(world: World, signing_key: SigningKey) -> tuple[str, Path]:
    eid = evaluated(world)
    world.decisions.decide(REVIEWER, eid, "certify", "Meets the scheme.")
    out = world.tmp / "cert.pdf"
    issued = world.awarding.issue(
        ADMIN, eid, signing_key, body="Body", language="en", out=out, scheme=Scheme()
    )
    return issued.certificate.number, out


def test_an_untouched_store_is_intact_and_anchored(world: World, signing_key: SigningKey) -> None:
    certified(world, signing_key)
    found = check_integrity(world.store, blobs=Blobs(world.tmp / "attachments"))
    assert found.problems == []
    assert found.rows > 200
    assert found.attachments
    assert world.store.anchor is not None
    last = world.store.anchor.read_text(encoding="ascii").splitlines()[-1]
    assert last == f"{found.records} {found.head}"


def test_a_withdrawn_certificate_set_back_to_issued_is_seen_everywhere(
    world: World, signing_key: SigningKey, trust_roots: list[x509.Certificate]
) -> None:
    number, out = certified(world, signing_key)
    world.awarding.change(ADMIN, number, "withdraw", "Misuse of the mark.")
    with world.store.write() as connection:
        connection.execute(
            update(certificates).where(certificates.c.number == number).values(status="issued")
        )
    assert problems(world) == [
        f"certificates {number}: differs from what trail record {last_seq(world)} bound"
    ]
    verification = verify_certificate(
        out.read_bytes(), trust_roots, today=DAY, register=Register(world.store, world.clock).lookup
    )
    assert not verification.ok
    (reason,) = verification.reasons
    assert reason.startswith(f"register lookup for {number} failed: the store was changed outside Assay: ")
    assert f"certificates {number}: differs from what trail record" in reason
    with pytest.raises(StoreError, match=f"certificates {number}: differs"):
        world.awarding.change(ADMIN, number, "suspend", "Complaint.")


def last_seq(world: World) -> int:
    with world.store.read() as connection:
        return int(connection.execute(select(func.max(trail.c.seq))).scalar_one())


@pytest.mark.parametrize("cut", ["all", "last"])
def test_a_trail_emptied_or_cut_short_breaks_the_anchor(world: World, cut: str) -> None:
    evaluated(world)
    end = last_seq(world)
    with world.store.write() as connection:
        doomed = delete(trail) if cut == "all" else delete(trail).where(trail.c.seq > end - 2)
        connection.execute(doomed)
    kept = 0 if cut == "all" else end - 2
    found = problems(world)
    assert found[0] == (
        f"the trail ends at record {kept}, but {world.store.anchor} anchors record {end}: "
        "records were deleted from the trail"
    )
    # The rows those records wrote are left with no record.
    assert any("has no trail record: it was written outside Assay" in p for p in found)


def test_a_record_edited_and_the_chain_rehashed_breaks_the_anchor(world: World) -> None:
    """The attacker rewrites a verdict's record and re-hashes every record after it: the chain
    verifies, the rows match, and only the anchor outside the database tells."""
    eid = evaluated(world)
    with world.store.write() as connection:
        connection.execute(
            update(verifications)
            .where(verifications.c.engagement_id == eid, verifications.c.seq == 1)
            .values(verdict="accepted", reason="Forged.")
        )
        rows = connection.execute(select(trail).order_by(trail.c.seq)).all()
        forged = _rehashed(connection, rows, eid)
    assert forged > 0
    found = problems(world)
    assert found, "a re-hashed chain went unseen"
    assert all("the chain was rewritten" in p for p in found)
    # Every anchored head from the forged record on is broken; those before it still hold.
    first = int(found[0].split()[2])
    assert first >= forged
    assert found[0].startswith(f"trail record {first} is not the one anchored at {world.store.anchor}, line ")


def _rehashed(connection: Connection, rows: Sequence[Row[Any]], eid: str) -> int:
    """Rebind the forged verification in its record and re-hash the chain from there, as an
    attacker with the database and Assay's source would; returns the first record changed."""
    forged_row = connection.execute(
        select(verifications).where(verifications.c.engagement_id == eid, verifications.c.seq == 1)
    ).one()
    prev: str | None = None
    first = 0
    for row in rows:
        payload = json.loads(row.payload)
        changed = False
        for bound in payload.get("rows", []):
            if bound["table"] == "verifications" and bound["key"] == f"{eid}/1":
                payload["verdict"], payload["reason"] = "accepted", "Forged."
                bound["digest"] = row_digest(verifications, forged_row._mapping)
                changed = True
        if not (changed or first):
            prev = row.hash
            continue
        first = first or row.seq
        fields = {
            "seq": row.seq,
            "time": row.time,
            "actor": row.actor,
            "event": row.event,
            "payload": payload,
            "payload_digest": digest_of(payload),
            "prev": prev if prev is not None else row.prev,
        }
        prev = digest_of(fields)
        connection.execute(
            update(trail)
            .where(trail.c.seq == row.seq)
            .values(
                payload=canonical_json(payload).decode(),
                payload_digest=fields["payload_digest"],
                prev=fields["prev"],
                hash=prev,
            )
        )
    return first


def test_a_verdict_edited_in_the_table_is_named_and_never_evaluated(world: World) -> None:
    eid = evaluated(world)
    with world.store.read() as connection:
        rejected = (
            connection.execute(
                select(verifications.c.seq).where(
                    verifications.c.engagement_id == eid, verifications.c.verdict == "rejected"
                )
            )
            .scalars()
            .first()
        )
    seq = rejected or 1
    with world.store.write() as connection:
        connection.execute(
            update(verifications)
            .where(verifications.c.engagement_id == eid, verifications.c.seq == seq)
            .values(verdict="accepted" if rejected else "rejected")
        )
    found = problems(world)
    assert len(found) == 1
    assert found[0].startswith(f"verifications {eid}/{seq}: differs from what trail record")
    with pytest.raises(
        StoreError, match=rf"verifications {eid}/{seq}: differs from what trail record \d+ bound"
    ):
        world.decisions.evaluate(LEAD, eid, inference())


def test_a_forged_certificate_row_has_no_record(world: World, signing_key: SigningKey) -> None:
    number, _ = certified(world, signing_key)
    with world.store.write() as connection:
        row = dict(
            connection.execute(select(certificates).where(certificates.c.number == number)).one()._mapping
        )
        connection.execute(
            certificates.insert().values({**row, "number": "ASSAY-2026-999999", "renews": None})
        )
    assert problems(world) == [
        "certificates ASSAY-2026-999999: has no trail record: it was written outside Assay"
    ]
    assert Register(world.store, world.clock).status(number, DAY) == "issued"
    with pytest.raises(StoreError, match="ASSAY-2026-999999: has no trail record"):
        Register(world.store, world.clock).status("ASSAY-2026-999999", DAY)


def test_a_refusal_changed_to_certify_is_never_issued(world: World, signing_key: SigningKey) -> None:
    eid = evaluated(world)
    world.decisions.decide(REVIEWER, eid, "refuse", "Evidence too thin.")
    with world.store.write() as connection:
        connection.execute(
            update(decisions).where(decisions.c.engagement_id == eid).values(outcome="certify")
        )
    assert problems(world) == [f"decisions {eid}/1: differs from what trail record {last_seq(world)} bound"]
    with pytest.raises(StoreError, match=f"decisions {eid}/1: differs"):
        world.awarding.issue(
            ADMIN, eid, signing_key, body="Body", language="en", out=world.tmp / "c.pdf", scheme=Scheme()
        )
    assert not (world.tmp / "c.pdf").exists()


def test_roles_added_in_people_grant_nothing(world: World) -> None:
    with world.store.write() as connection:
        connection.execute(
            update(people).where(people.c.id == LEAD).values(roles='["auditor", "register_administrator"]')
        )
    assert problems(world) == [f"people {LEAD}: differs from what trail record 1 bound"]
    with pytest.raises(StoreError, match=f"people {LEAD}: differs from what trail record 1 bound"):
        world.engagements.create(LEAD, "harbourton", "Harbourton", [])
    with pytest.raises(StoreError, match=f"people {LEAD}: differs"):
        world.awarding.check_administrator(LEAD, "withdraw ASSAY-2026-000001")


def test_an_overwritten_attachment_is_named_and_never_read(world: World) -> None:
    evaluated(world)
    blobs = Blobs(world.tmp / "attachments")
    with world.store.read() as connection:
        sha = (
            connection.execute(select(attachments.c.sha256).order_by(attachments.c.sha256)).scalars().first()
        )
    assert sha is not None
    assert problems(world, attachments_too=True) == []
    path = blobs.path(sha)
    path.chmod(0o644)
    path.write_bytes(b"replaced")
    assert problems(world, attachments_too=True) == [
        f"attachment {sha} at {path} is 8 bytes, not the {_size(world, sha)} stored"
    ]
    assert problems(world) == []  # without --attachments the files are not read
    with pytest.raises(
        StoreError, match=f"attachment {sha} at .* does not hash to its name: it was overwritten"
    ):
        blobs.read(sha)
    path.unlink()
    assert problems(world, attachments_too=True)[0].startswith(f"attachment {sha} is missing from")


def _size(world: World, sha: str) -> int:
    with world.store.read() as connection:
        return int(
            connection.execute(select(attachments.c.size).where(attachments.c.sha256 == sha)).scalar_one()
        )


def test_a_deleted_row_is_gone_and_the_anchor_file_cannot_vanish(world: World) -> None:
    eid = evaluated(world)
    with world.store.write() as connection:
        connection.execute(
            delete(verifications).where(verifications.c.engagement_id == eid, verifications.c.seq == 2)
        )
    found = problems(world)
    assert found[0].startswith(f"verifications {eid}/2: is gone: trail record ")
    assert world.store.anchor is not None
    world.store.anchor.unlink()
    assert problems(world)[0] == (
        f"the anchor {world.store.anchor} is missing: the trail's end cannot be checked (was it removed?)"
    )


def test_the_cli_lists_every_problem_and_exits_3(
    world: World, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from assay.cli import run

    eid = evaluated(world)
    with world.store.write() as connection:
        connection.execute(text("UPDATE people SET name = 'Someone Else' WHERE id = :id"), {"id": LEAD})
        connection.execute(
            update(verifications)
            .where(verifications.c.engagement_id == eid, verifications.c.seq == 1)
            .values(reason="Edited.")
        )
    # As an operator names the store and its anchor (the only way for PostgreSQL).
    monkeypatch.setenv("ASSAY_ANCHOR", str(world.store.anchor))
    monkeypatch.setenv("ASSAY_ATTACHMENTS", str(world.tmp / "attachments"))
    location = world.store.url.render_as_string(hide_password=False)
    assert run(["trail", "verify", "--store", location, "--attachments"]) == 3
    err = capsys.readouterr().err
    assert f"the store is not intact ({world.counts()['trail']} records, " in err
    assert f"anchored in {world.store.anchor}" in err
    assert f"  - people {LEAD}: differs from what trail record 1 bound" in err
    assert f"  - verifications {eid}/1: differs from what trail record" in err
    assert "Traceback" not in err
