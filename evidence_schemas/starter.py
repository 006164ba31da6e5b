"""The starter manifest ``assay pack init`` writes: one example item of every evidence kind.

The examples are there to be edited or deleted; each is valid as it stands, so a new pack
validates from its first minute and every field a kind has is shown in use.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from evidence_schemas.pack import EvidencePack


def starter_pack(community: str, today: dt.date, model: str = "iso37107-2019") -> EvidencePack:
    """A starter pack for ``community`` (a name), dated around ``today``."""
    year = dt.timedelta(days=365)
    common: dict[str, Any] = {
        "issuer": f"{community} council",
        "period": {"start": today - year, "end": today},
        "collected": today,
        "submitted": today,
    }
    ident = "".join(c if c.isalnum() else "-" for c in community.lower()).strip("-") or "community"
    items: list[dict[str, Any]] = [
        {
            **common,
            "kind": "document",
            "id": "example-vision",
            "title": "Example: vision and strategy",
            "offered_for": ["1.1.1"],
            "doc_type": "vision_strategy",
            "publication": {"status": "published", "url": f"https://{ident}.example/vision"},
            "approval": {"by": "City council", "date": today - year},
            "outcome_areas": ["economic", "social", "environmental"],
            "sdgs": [11],
            "languages": ["en"],
        },
        {
            **common,
            "kind": "kpi",
            "id": "example-kpi",
            "title": "Example: share of trips by public transport",
            "offered_for": ["1.5.2"],
            "unit": "%",
            "direction": "higher_is_better",
            "signal": "lagging",
            "indicator": {"id": "TR-1", "catalogue": "local", "name": "Share of trips by public transport"},
            "baseline": {"value": 21.0, "date": today - 2 * year, "method": "travel survey"},
            "targets": [{"date": today + year, "value": 25.0}, {"date": today + 4 * year, "value": 30.0}],
            "observations": [{"date": today - dt.timedelta(days=30), "value": 22.5}],
            "data_source": "Travel survey",
            "review": {"by": "Transport board", "every_days": 90},
            "dashboard": {
                "url": f"https://{ident}.example/dash",
                "public": True,
                "refresh_minutes": 60,
                "near_real_time": False,
            },
        },
        {
            **common,
            "kind": "governance",
            "id": "example-board",
            "title": "Example: smart city board",
            "offered_for": ["1.2.1"],
            "body": "Smart city board",
            "mandate": "Lead city-wide change",
            "accountable_role": "Chief executive",
            "authority": "decision_making",
            "budget": {"amount": 250000.0, "currency": "EUR"},
            "members": {
                "local_government": 4,
                "other_public": 1,
                "private": 2,
                "civil_society": 2,
                "academia": 1,
            },
            "meetings": [today - dt.timedelta(days=60)],
            "decisions": [{"date": today - dt.timedelta(days=60), "summary": "Adopted the digital roadmap"}],
        },
        {
            **common,
            "kind": "engagement",
            "id": "example-consultation",
            "title": "Example: roadmap consultation",
            "offered_for": ["1.3.1"],
            "engagement_type": "consultation",
            "groups_reached": ["local_government", "private", "civil_society"],
            "at_risk_groups_reached": ["older residents"],
            "channels": {"digital": ["online survey"], "physical": ["library drop-in"]},
            "participants": 420,
            "changes": ["Added an accessibility workstream"],
        },
        {
            **common,
            "kind": "platform",
            "id": "example-data-platform",
            "title": "Example: open data platform",
            "offered_for": ["2.2.1"],
            "platform_type": "data_platform",
            "scope": "city_wide",
            "public": True,
            "open_standards": ["DCAT-AP"],
            "datasets": [{"name": "Bus stops", "licence": "CC-BY-4.0", "open": True}],
            "apis": ["CKAN API"],
            "realtime_feeds": ["Bus arrivals"],
        },
        {
            **common,
            "kind": "programme",
            "id": "example-programme",
            "title": "Example: digital inclusion programme",
            "offered_for": ["2.3.1"],
            "budget": {"amount": 1200000.0, "currency": "EUR"},
            "funding_status": "funded",
            "partners": [{"name": "Libraries trust", "sector": "civil_society"}],
        },
        {
            **common,
            "kind": "commitment",
            "id": "example-commitment",
            "title": "Example: public KPI dashboard",
            "offered_for": ["1.5.2"],
            "commitment": "Publish every KPI on a near-real-time dashboard",
            "due": today + year,
            "approval_status": "approved",
            "funding_status": "funded",
        },
    ]
    return EvidencePack.model_validate(
        {
            "format": "assay-evidence-pack/1",
            "id": f"{ident}-{today.year}",
            "community": {"id": ident, "name": community},
            "model": model,
            "items": items,
            "claims": [{"characteristic": "1.1.1", "now": 2, "in_two_years": 3}],
        }
    )
