"""The demo's whole lifecycle over HTTP, each step by the signed-in person it belongs to: apply,
assign, upload, verify, judge, evaluate, decide, issue, look up, verify the PDF, suspend."""

from __future__ import annotations

from audits.integrity import check_integrity
from tests.api.conftest import ADMIN, AUDITOR, LEAD, REVIEWER, SUBMITTER, Api
from tests.oscal_schema import load_schema as oscal_schema
from tests.oscal_schema import problems


def test_the_demo_lifecycle_runs_over_http_as_the_signed_in_people(api: Api) -> None:
    city, admin, lead, auditor, reviewer = (
        api.client(p) for p in (SUBMITTER, ADMIN, LEAD, AUDITOR, REVIEWER)
    )
    public = api.client()

    applied = city.post("/v1/engagements", json={"community": "harbourton", "name": "Harbourton"})
    assert applied.status_code == 201, applied.text
    eid = applied.json()["engagement"]
    assert (
        admin.post(
            f"/v1/engagements/{eid}/team", json={"lead": LEAD, "auditors": [AUDITOR], "reviewer": REVIEWER}
        ).status_code
        == 204
    )

    uploaded = city.post(
        f"/v1/engagements/{eid}/versions", content=api.pack_zip(), headers={"Content-Type": "application/zip"}
    )
    assert uploaded.status_code == 201, uploaded.text
    assert uploaded.json() == {"engagement": eid, "version": 1}
    evidence = city.get(f"/v1/engagements/{eid}/versions/1").json()
    items = {item["id"] for item in evidence["pack"]["items"]}
    assert {v["evidence_id"] for v in api.verdicts} <= items

    verified = lead.post(f"/v1/engagements/{eid}/verdicts", json=api.verdicts)
    assert verified.status_code == 201, verified.text
    assert verified.json()["recorded"] == len(api.verdicts)
    judged = auditor.post(f"/v1/engagements/{eid}/judgements", json=api.judgements)
    assert judged.status_code == 201, judged.text

    evaluated = lead.post(f"/v1/engagements/{eid}/evaluations", json={})
    assert evaluated.status_code == 201, evaluated.text
    levels = evaluated.json()["levels"]
    assert evaluated.json()["evaluation"] == 1
    assert any(isinstance(level, int) for level in levels.values())
    # What an auditor reads after a verdict: the levels now, of the item's characteristics only.
    item = next(i for i in evidence["pack"]["items"] if i["id"] == api.verdicts[0]["evidence_id"])
    now = auditor.get(f"/v1/engagements/{eid}/levels", params={"item": item["id"]}).json()["levels"]
    assert set(now) == set(item["offered_for"])
    assert now == {c: levels[c] for c in item["offered_for"]}
    assert auditor.get(f"/v1/engagements/{eid}/levels").json()["levels"] == levels
    stored = reviewer.get(f"/v1/engagements/{eid}/evaluations/1").json()
    assert stored["levels"] == levels
    assert stored["result"]["rule_pack"]["id"] == stored["rule_pack_id"]
    trail = reviewer.get(f"/v1/engagements/{eid}/evaluations/1/trail")
    assert trail.headers["content-type"].startswith("application/jsonl")
    assert trail.text.count("\n") > 10

    # The same evaluation as OSCAL assessment results, valid against NIST's schema.
    oscal = auditor.get(f"/v1/engagements/{eid}/evaluations/1/oscal")
    assert oscal.status_code == 200
    assert problems(oscal_schema(), oscal.json()) == []
    plan = city.get(f"/v1/engagements/{eid}/evaluations/0/plan", params={"target": 4})
    assert plan.status_code == 200
    assert plan.json()["target"] == 4

    decided = reviewer.post(
        f"/v1/engagements/{eid}/decisions", json={"outcome": "certify", "reason": "Levels as evaluated."}
    )
    assert decided.status_code == 201, decided.text
    issued = admin.post(f"/v1/engagements/{eid}/certificates", json={})
    assert issued.status_code == 201, issued.text
    number = issued.json()["number"]

    status = public.get(f"/v1/certificates/{number}").json()
    assert status["status"] == "issued"
    assert status["community"] == "Harbourton"
    found = public.get("/v1/register", params={"community": "harbour"}).json()
    assert [c["number"] for c in found["certificates"]] == [number]
    pdf = public.get(f"/v1/certificates/{number}/pdf")
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.headers["content-disposition"] == f'attachment; filename="{number}.pdf"'
    checked = public.post("/v1/verify", content=pdf.content, headers={"Content-Type": "application/pdf"})
    assert checked.status_code == 200, checked.text
    assert checked.json()["valid"] is True
    assert checked.json()["number"] == number

    suspended = admin.post(f"/v1/certificates/{number}/suspend", json={"reason": "Surveillance overdue."})
    assert suspended.status_code == 204, suspended.text
    assert public.get(f"/v1/certificates/{number}").json()["status"] == "suspended"
    rechecked = public.post("/v1/verify", content=pdf.content).json()
    assert rechecked["valid"] is False
    assert any("suspended" in reason for reason in rechecked["reasons"])

    state = city.get(f"/v1/engagements/{eid}").json()
    assert state["certificate"]["number"] == number
    assert state["certificate"]["status"] == "suspended"
    # Every step is on the trail in the name of the person signed in, and the store checks out.
    with api.services.store.read() as connection:
        actors = {row.actor.split(" ")[0] for row in connection.exec_driver_sql("SELECT actor FROM trail")}
    assert {SUBMITTER, ADMIN, LEAD, AUDITOR, REVIEWER} <= actors
    assert check_integrity(api.services.store).problems == []


def test_evidence_can_be_uploaded_as_multipart_parts(api: Api) -> None:
    city, admin = api.client(SUBMITTER), api.client(ADMIN)
    eid = city.post("/v1/engagements", json={"community": "harbourton", "name": "Harbourton"}).json()[
        "engagement"
    ]
    uploaded = city.post(f"/v1/engagements/{eid}/versions", files=api.multipart())
    assert uploaded.status_code == 201, uploaded.text
    pack = city.get(f"/v1/engagements/{eid}/versions/0").json()
    attached = next(a for item in pack["pack"]["items"] for a in item["attachments"])
    download = city.get(f"/v1/engagements/{eid}/attachments/{attached['sha256']}")
    assert download.status_code == 200
    assert download.headers["content-disposition"].startswith("attachment;")
    assert download.headers["x-content-type-options"] == "nosniff"
    assert download.content == (api.pack / attached["path"]).read_bytes()
    assert admin.get(f"/v1/engagements/{eid}").json()["evidence_versions"] == 1
