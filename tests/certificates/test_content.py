"""What a certificate states, built from a real evaluation result."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

import rules
from certificates.content import Issuance, build_certificate
from certificates.model import Certificate, parse_qr_payload, qr_payload, result_digest
from certificates.scheme import Scheme
from engine.catalogue import load_catalogue
from engine.result import Result

GOLDEN = Path(__file__).resolve().parents[1] / "golden"


def _certificate(community: str, issued_on: dt.date = dt.date(2026, 11, 22)) -> tuple[Result, Certificate]:
    raw = (GOLDEN / community / "result.json").read_bytes()
    result = Result.model_validate_json(raw)
    issuance = Issuance("ASSAY-2026-000007", issued_on, "Body", "Ana", "Dee", "en+zh", False)
    model = load_catalogue(rules.bundled() / "model.yaml")
    cert = build_certificate(
        result, model, Scheme(), issuance, trail_head="sha256:" + "ab" * 32, result_digest=result_digest(raw)
    )
    return result, cert


@pytest.mark.parametrize("community", ["larkfield", "harbourton", "norbridge"])
def test_the_profile_is_the_verified_levels_in_catalogue_order(community: str) -> None:
    result, cert = _certificate(community)
    assert [p.id for p in cert.profile] == [c.id for c in result.characteristics]
    assert [p.verified_level for p in cert.profile] == [c.verified_level for c in result.characteristics]
    assert cert.scope.characteristics == [c.id for c in result.characteristics]
    assert cert.community == result.pack.community
    assert cert.rule_pack_digest == result.rule_pack.digest


def test_harbourton_reads_as_the_golden_result_says() -> None:
    _, cert = _certificate("harbourton")
    first = cert.profile[0]
    assert (first.id, first.verified_level, first.claimed_level) == ("1.1.1", 4, 5)
    assert first.title.zh == "以目标为导向的城市愿景和战略"
    assert first.level_name is not None
    assert first.level_name.en == "Improving"
    assert [(d.id, d.level, d.mean) for d in cert.dimensions] == [
        ("1", 2, 2.83),
        ("2", 2, 2.38),
        ("3", 2, 2.33),
        ("4", 1, 1.17),
    ]
    assert cert.expires_on == dt.date(2029, 11, 21)
    assert cert.surveillance_due == [dt.date(2027, 11, 22), dt.date(2028, 11, 22)]
    assert "lowest verified level" in cert.aggregation_rule


@pytest.mark.parametrize(
    ("issued_on", "expires_on", "surveillance"),
    [
        (dt.date(2026, 6, 30), dt.date(2029, 6, 29), [dt.date(2027, 6, 30), dt.date(2028, 6, 30)]),
        (dt.date(2027, 2, 1), dt.date(2030, 1, 31), [dt.date(2028, 2, 1), dt.date(2029, 2, 1)]),
    ],
)
def test_validity_and_surveillance_count_from_the_issue_date(
    issued_on: dt.date, expires_on: dt.date, surveillance: list[dt.date]
) -> None:
    result, cert = _certificate("harbourton", issued_on)
    assert (
        (cert.assessed_on, cert.issued_on) == (result.as_of, issued_on) == (dt.date(2026, 6, 30), issued_on)
    )
    assert (cert.expires_on, cert.surveillance_due) == (expires_on, surveillance)


def test_the_qr_payload_round_trips_and_rejects_other_text() -> None:
    payload = qr_payload("ASSAY-2026-000007", "sha256:" + "0" * 64)
    assert parse_qr_payload(payload) == ("ASSAY-2026-000007", "sha256:" + "0" * 64)
    with pytest.raises(ValueError, match="not an Assay certificate QR payload"):
        parse_qr_payload("https://example.org/ASSAY-2026-000007")
