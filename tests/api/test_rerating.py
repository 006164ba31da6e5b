"""Installing a corrected rule pack over HTTP: it is in force at once, every certificate in force
is re-rated in the background, and the body's reviewers read what would change; no certificate
changes. (Two servers and a procrastinate worker on PostgreSQL: test_servers.py.)"""

from __future__ import annotations

import io
import time
import zipfile
from pathlib import Path
from typing import Any

from engine.rulepack import load_rule_pack
from tests.api.conftest import ADMIN, AUDITOR, LEAD, REVIEWER, SUBMITTER, ZIP, Api, certify, zipped
from tests.engagements.test_rerating import ADDED, CHANGED, corrected_pack


def wait_for_reratings(client: Any, seconds: float = 180) -> list[dict[str, Any]]:
    """The latest re-ratings, once the background job has stored them."""
    deadline = time.monotonic() + seconds
    while True:
        found = client.get("/v1/reratings")
        assert found.status_code == 200, found.text
        if found.json():
            return list(found.json())
        assert time.monotonic() < deadline, "the re-rating never finished"
        time.sleep(0.5)


def test_a_corrected_pack_installed_over_http_re_rates_every_certificate(api: Api, tmp_path: Path) -> None:
    people = {p: api.client(p) for p in (SUBMITTER, ADMIN, LEAD, AUDITOR, REVIEWER)}
    city, admin, lead, reviewer = people[SUBMITTER], people[ADMIN], people[LEAD], people[REVIEWER]
    eid, number = certify(people, api.pack_zip(), api.verdicts, api.judgements)
    folder = corrected_pack(tmp_path)
    body = zipped(folder)
    for refused in (lead, city, reviewer):
        denied = refused.post("/v1/rule-packs", content=body, headers=ZIP)
        assert denied.status_code == 403
        assert "only a register administrator may" in denied.json()["detail"]
    assert city.get("/v1/reratings").status_code == 403
    installed = admin.post("/v1/rule-packs", content=body, headers=ZIP)
    assert installed.status_code == 202, installed.text
    assert installed.json()["digest"] == load_rule_pack(folder).digest

    [rerating] = wait_for_reratings(reviewer)
    assert (rerating["certificate"], rerating["engagement"]) == (number, eid)
    [changed] = rerating["changes"]["characteristics"]
    assert (changed["id"], changed["old_level"], changed["new_level"]) == (CHANGED, 2, 1)
    assert changed["causes"][0]["change"] == "requirement added"
    assert changed["causes"][0]["requirement"] == f"{CHANGED}/2/{ADDED}"
    # Nothing certified changed; new evaluations run with the installed pack.
    assert api.client().get(f"/v1/certificates/{number}").json()["status"] == "issued"
    again = lead.post(f"/v1/engagements/{eid}/evaluations", json={"surveillance": True})
    assert again.status_code == 201, again.text
    assert again.json()["levels"][CHANGED] == 1
    stored = lead.get(f"/v1/engagements/{eid}/evaluations/0").json()
    assert stored["rule_pack_digest"] == installed.json()["digest"]


def test_a_hostile_or_broken_rule_pack_is_refused_and_nothing_installed(api: Api, tmp_path: Path) -> None:
    admin = api.client(ADMIN)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("../model.yaml", "x")
    escaping = admin.post("/v1/rule-packs", content=buffer.getvalue(), headers=ZIP)
    assert escaping.status_code == 400
    assert "is not a path inside the pack" in escaping.json()["detail"]
    folder = corrected_pack(tmp_path)
    (folder / "characteristics" / f"{CHANGED}.yaml").write_text("levels: [", encoding="utf-8")
    broken = admin.post("/v1/rule-packs", content=zipped(folder), headers=ZIP)
    assert broken.status_code == 422
    assert any(p["file"].endswith(f"{CHANGED}.yaml") for p in broken.json()["problems"])
    assert admin.get("/v1/reratings").json() == []
