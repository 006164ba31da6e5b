"""A synthetic but realistically shaped 32-characteristic rule pack and evidence of any size.

Used by the benchmarks only. Every characteristic of the ISO/TS 37107:2019 catalogue gets four
levels with inheritance, mixing evidence kinds, where/every conditions, freshness, acceptance
and all/any/not composition, so the benchmark exercises what the real pack will.
Generation is seeded: the same size always gives the same pack.
"""

from __future__ import annotations

import datetime as dt
import random
import shutil
from pathlib import Path
from typing import Any

import yaml

import rules as bundled_rules
from engine.catalogue import load_catalogue
from evidence_schemas.pack import EvidencePack

AS_OF = dt.date(2026, 6, 30)

LEVELS: dict[int, dict[str, Any]] = yaml.safe_load("""
2:
  requirements:
    - {id: strategy, evidence: {kind: document, where: {
        doc_type: {one_of: [vision_strategy, plan, policy]}, publication.status: {equals: published}}}}
    - {id: owner, evidence: {kind: governance, where: {authority: {one_of: [oversight, decision_making]}}}}
3:
  as_at: 2
  requirements:
    - {id: baselined, evidence: {kind: kpi, min_count: 2,
        every: {baseline: {exists: true}, targets.count: {gte: 2}}}}
    - {id: outcomes, evidence: {kind: document, accepted: true,
        where: {outcome_areas: {contains_all: [economic, social]}, sdgs: {exists: true}}}}
4:
  as_at: 3
  requirements:
    - {id: improving, evidence: {kind: kpi, where: {latest: {better_than: baseline}},
        accepted: true, max_age_days: 400, age_of: latest.date}}
    - {id: feedback, evidence: {kind: engagement, max_age_days: 400, accepted: true,
        where: {engagement_type: {one_of: [feedback_channel, consultation]}}}}
    - {id: partners, evidence: {kind: governance,
        where: {members.private: {gte: 1}, members.civil_society: {gte: 1}}}}
5:
  as_at: 4
  requirements:
    - id: open
      any:
        - {id: public-platform, evidence: {kind: platform, where: {public: {equals: true}}, accepted: true}}
        - {id: live-dashboard, evidence: {kind: kpi, accepted: true,
            where: {dashboard.near_real_time: {equals: true}}}}
    - id: no-drafts
      not: {id: draft-evaluation, evidence: {kind: document,
              where: {doc_type: {equals: evaluation}, publication.status: {equals: draft}}}}
    - {id: funded, evidence: {kind: programme, where: {funding_status: {equals: funded}}}}
""")


def _named(node: dict[str, Any]) -> dict[str, Any]:
    named = {**node, "summary": {"en": node["id"], "zh": node["id"]}}
    for form in ("all", "any"):
        if form in named:
            named[form] = [_named(child) for child in named[form]]
    if "not" in named:
        named["not"] = _named(named["not"])
    return named


def write_rule_pack(folder: Path) -> Path:
    """Write the synthetic 32-characteristic pack into ``folder`` and return it."""
    if folder.exists():
        shutil.rmtree(folder)
    (folder / "characteristics").mkdir(parents=True)
    shutil.copy(bundled_rules.bundled() / "model.yaml", folder / "model.yaml")
    model = load_catalogue(folder / "model.yaml")
    for char in model.characteristics():
        levels = {
            n: {
                "cell": f"Table A.1, {char.id}, level {n}",
                "summary": {"en": f"level {n}", "zh": f"第 {n} 级"},
                **({"as_at": spec["as_at"]} if "as_at" in spec else {}),
                "requirements": [_named(r) for r in spec["requirements"]],
            }
            for n, spec in LEVELS.items()
        }
        text = yaml.safe_dump(
            {"characteristic": char.id, "levels": levels}, allow_unicode=True, sort_keys=False
        )
        (folder / "characteristics" / f"{char.id}.yaml").write_text(text, encoding="utf-8")
    return folder


def evidence(size: int, seed: int = 37107) -> EvidencePack:
    """A pack of ``size`` items spread over the 32 characteristics, about 70% verified."""
    rng = random.Random(seed)
    model = load_catalogue(bundled_rules.bundled() / "model.yaml")
    ids = [c.id for c in model.characteristics()]
    items: list[dict[str, Any]] = []
    verifications: list[dict[str, Any]] = []
    for index in range(size):
        offered = [ids[index % len(ids)]] + ([rng.choice(ids)] if rng.random() < 0.3 else [])
        item = _item(rng, index, sorted(set(offered)))
        items.append(item)
        roll = rng.random()
        if roll < 0.7:
            verifications.append(
                {
                    "evidence_id": item["id"],
                    "verdict": "accepted" if roll < 0.63 else "rejected",
                    "method": rng.choice(
                        ["document_review", "interview", "observation", "system_demonstration"]
                    ),
                    "reason": "checked",
                    "auditor": "Bench Auditor",
                    "date": AS_OF - dt.timedelta(days=rng.randint(1, 60)),
                }
            )
    return EvidencePack.model_validate(
        {
            "format": "assay-evidence-pack/1",
            "id": f"bench-{size}",
            "community": {"id": "bench", "name": "Bench City"},
            "model": "iso37107-2019",
            "items": items,
            "verifications": verifications,
        },
    )


def _item(rng: random.Random, index: int, offered: list[str]) -> dict[str, Any]:
    collected = AS_OF - dt.timedelta(days=rng.randint(5, 700))
    base: dict[str, Any] = {
        "id": f"e{index:05d}",
        "title": f"Item {index}",
        "issuer": "Bench City Council",
        "period": {
            "start": collected - dt.timedelta(days=365),
            "end": collected - dt.timedelta(days=rng.randint(0, 60)),
        },
        "collected": collected,
        "submitted": collected + dt.timedelta(days=2),
        "offered_for": offered,
    }
    kind = rng.choice(
        ["document", "document", "kpi", "kpi", "governance", "engagement", "platform", "programme"]
    )
    if kind == "document":
        status = rng.choice(["published", "published", "internal", "draft"])
        return {
            **base,
            "kind": kind,
            "doc_type": rng.choice(["vision_strategy", "plan", "policy", "progress_report", "evaluation"]),
            "publication": {
                "status": status,
                **({"url": "https://bench.example/d"} if status == "published" else {}),
            },
            "outcome_areas": rng.sample(["economic", "social", "environmental"], rng.randint(0, 3)),
            "sdgs": rng.sample(range(1, 18), rng.randint(0, 3)),
        }
    if kind == "kpi":
        baseline = rng.uniform(10, 100)
        return {
            **base,
            "kind": kind,
            "indicator": {"id": f"K{index}", "catalogue": "local", "name": "k"},
            "unit": "%",
            "direction": rng.choice(["higher_is_better", "lower_is_better"]),
            "baseline": {"value": baseline, "date": AS_OF - dt.timedelta(days=900), "method": "m"}
            if rng.random() < 0.8
            else None,
            "targets": [
                {"date": AS_OF + dt.timedelta(days=365 * k), "value": baseline * (1 + k / 10)}
                for k in range(rng.randint(0, 3))
            ],
            "observations": [
                {
                    "date": AS_OF - dt.timedelta(days=90 * k + rng.randint(0, 60)),
                    "value": rng.uniform(10, 100),
                }
                for k in range(rng.randint(0, 4))
            ],
            "dashboard": {
                "url": "https://bench.example/k",
                "public": True,
                "refresh_minutes": 5,
                "near_real_time": rng.random() < 0.5,
            }
            if rng.random() < 0.4
            else None,
        }
    if kind == "governance":
        return {
            **base,
            "kind": kind,
            "body": "Board",
            "mandate": "Deliver",
            "accountable_role": "Director",
            "authority": rng.choice(["advisory", "oversight", "decision_making"]),
            "members": {
                "local_government": 3,
                "private": rng.randint(0, 2),
                "civil_society": rng.randint(0, 2),
            },
        }
    if kind == "engagement":
        return {
            **base,
            "kind": kind,
            "engagement_type": rng.choice(["consultation", "co_design", "feedback_channel", "public_report"]),
            "participants": rng.randint(10, 5000),
        }
    if kind == "platform":
        return {
            **base,
            "kind": kind,
            "platform_type": "data_platform",
            "scope": "city_wide",
            "public": rng.random() < 0.5,
        }
    return {
        **base,
        "kind": kind,
        "budget": {"amount": rng.uniform(1e5, 1e8), "currency": "EUR"},
        "funding_status": rng.choice(["proposed", "approved", "funded"]),
    }
