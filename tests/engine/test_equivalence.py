"""durable_rules and the reference evaluator agree on every requirement and level.

Hypothesis generates whole characteristics (levels, nested all/any/not requirements, evidence
predicates with where/every conditions drawn from every operator, minimum counts, freshness,
acceptance, the auditor's judgement) and evidence sets (items with random attributes, verdicts,
judgements of any rating citing any items, some on items changed since, dates on both sides of
the assessment date), then compares the two evaluators outcome by outcome.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st

import rules as bundled_rules
from engine.canonical import digest_of
from engine.catalogue import load_catalogue
from engine.durable_engine import DurableInference
from engine.evidence import normalise
from engine.patterns import ALPHA_BUDGET, alpha_load
from engine.reference import ReferenceInference
from engine.rulepack import RulePack
from engine.spec import CharacteristicRules
from evidence_schemas.pack import EvidencePack, cited_digest

AS_OF = dt.date(2026, 6, 30)
CID = "1.5.2"
DATES = st.dates(min_value=dt.date(2023, 1, 1), max_value=dt.date(2027, 6, 30))

# Conditions per kind: (path, operator, operand strategy).
CONDITIONS: dict[str, list[tuple[str, str, st.SearchStrategy[Any]]]] = {
    "document": [
        ("doc_type", "equals", st.sampled_from(["plan", "policy", "assessment"])),
        (
            "doc_type",
            "one_of",
            st.lists(st.sampled_from(["plan", "policy", "assessment"]), min_size=1, max_size=2),
        ),
        ("publication.status", "equals", st.sampled_from(["published", "internal", "draft"])),
        (
            "outcome_areas",
            "contains_all",
            st.lists(st.sampled_from(["economic", "social"]), min_size=1, max_size=2),
        ),
        ("outcome_areas", "contains_any", st.lists(st.sampled_from(["social", "environmental"]), min_size=1)),
        ("sdgs", "contains_any", st.lists(st.integers(1, 4), min_size=1, max_size=2)),
        ("sdgs", "contains_all", st.lists(st.integers(1, 4), min_size=1, max_size=2)),
        ("sdgs.count", "gte", st.integers(0, 3)),
        ("approval", "exists", st.booleans()),
        ("approval.date", "gte", DATES),
        ("period.end", "lte", DATES),
        ("period.end", "equals", DATES),
    ],
    "kpi": [
        ("direction", "equals", st.sampled_from(["higher_is_better", "lower_is_better"])),
        ("baseline", "exists", st.booleans()),
        ("targets.count", "gte", st.integers(0, 3)),
        ("latest", "better_than", st.sampled_from(["baseline", "target", "final_target"])),
        ("latest", "meets", st.sampled_from(["baseline", "target", "final_target"])),
        ("latest", "exists", st.booleans()),
        ("latest.value", "gte", st.integers(0, 10) | st.floats(0, 10, allow_nan=False)),
        ("latest.value", "lte", st.integers(0, 10)),
        ("latest.value", "equals", st.integers(0, 10)),
        ("signal", "equals", st.sampled_from(["leading", "lagging"])),
        ("dashboard.near_real_time", "equals", st.booleans()),
        ("review.by", "exists", st.booleans()),
    ],
    "governance": [
        ("members.private", "gte", st.integers(0, 3)),
        ("members.private", "lte", st.integers(0, 3)),
        ("members.civil_society", "one_of", st.lists(st.integers(0, 3), min_size=1, max_size=3)),
        (
            "authority",
            "one_of",
            st.lists(st.sampled_from(["advisory", "oversight", "decision_making"]), min_size=1),
        ),
        ("budget", "exists", st.booleans()),
        ("meetings.count", "gte", st.integers(0, 3)),
    ],
}
AGES = {"document": ["collected", "period.end", "approval.date"], "kpi": ["collected", "latest.date"],
        "governance": ["collected", "submitted"]}  # fmt: skip


@st.composite
def conditions(draw: st.DrawFn, kind: str) -> dict[str, dict[str, Any]]:
    chosen = draw(st.lists(st.sampled_from(CONDITIONS[kind]), max_size=3, unique_by=lambda c: (c[0], c[1])))
    result: dict[str, dict[str, Any]] = {}
    for path, op, operand in chosen:
        result.setdefault(path, {})[op] = draw(operand)
    return result


@st.composite
def predicate(draw: st.DrawFn) -> dict[str, Any]:
    kind = draw(st.sampled_from(sorted(CONDITIONS)))
    rule: dict[str, Any] = {"kind": kind, "where": draw(conditions(kind)), "every": draw(conditions(kind))}
    rule["min_count"] = draw(st.integers(1, 3))
    rule["accepted"] = draw(st.booleans())
    if rule["accepted"] and draw(st.booleans()):
        rule["judgement"] = {"question": {"en": "Is it so?", "zh": "是否如此"}}
    if draw(st.booleans()):
        rule["max_age_days"] = draw(st.integers(0, 900))
        rule["age_of"] = draw(st.sampled_from(AGES[kind]))
    return rule


def requirement(counter: list[int]) -> st.SearchStrategy[dict[str, Any]]:
    def node(children: st.SearchStrategy[list[dict[str, Any]]]) -> st.SearchStrategy[dict[str, Any]]:
        return st.one_of(
            st.builds(lambda c: {"all": c}, children.filter(bool)),
            st.builds(lambda c: {"any": c}, children.filter(bool)),
            st.builds(lambda c: {"not": c[0]}, children.filter(bool)),
        )

    leaf = predicate().map(lambda p: {"evidence": p})
    tree = st.recursive(leaf, lambda inner: node(st.lists(inner, min_size=1, max_size=3)), max_leaves=5)

    def name(tree_node: dict[str, Any]) -> dict[str, Any]:
        counter[0] += 1
        named = {"id": f"r{counter[0]}", "summary": {"en": "s", "zh": "s"}, **tree_node}
        for form in ("all", "any"):
            if form in named:
                named[form] = [name(child) for child in named[form]]
        if "not" in named:
            named["not"] = name(named["not"])
        return named

    return tree.map(name)


@st.composite
def characteristic(draw: st.DrawFn) -> CharacteristicRules:
    counter = [0]
    levels = {}
    for n in (2, 3, 4, 5):
        as_at = draw(st.sampled_from([None, *range(2, n)]))
        levels[n] = {
            "cell": f"Table A.1, {CID}, level {n}", "summary": {"en": "s", "zh": "s"}, "as_at": as_at,
            "requirements": draw(st.lists(requirement(counter), min_size=1, max_size=2)),
        }  # fmt: skip
    # Some requirements may be met by requirements of higher levels (met_by, always upwards).
    ids = {n: [node["id"] for top in levels[n]["requirements"] for node in _walk(top)] for n in levels}
    for n in (2, 3, 4):
        higher = [f"{m}/{rid}" for m in range(n + 1, 6) for rid in ids[m]]
        for top in levels[n]["requirements"]:
            for node in _walk(top):
                if draw(st.booleans()):
                    node["met_by"] = draw(
                        st.lists(st.sampled_from(higher), min_size=1, max_size=2, unique=True)
                    )
    return CharacteristicRules.model_validate({"characteristic": CID, "levels": levels})


def _walk(node: dict[str, Any]) -> list[dict[str, Any]]:
    children = [*node.get("all", []), *node.get("any", []), *([node["not"]] if "not" in node else [])]
    return [node, *(n for child in children for n in _walk(child))]


def _series(draw: st.DrawFn) -> list[dict[str, Any]]:
    dates = draw(st.lists(DATES, max_size=3, unique=True))
    return [{"date": d, "value": draw(st.integers(0, 10) | st.floats(0, 10, allow_nan=False))} for d in dates]


@st.composite
def item(draw: st.DrawFn, index: int) -> dict[str, Any]:
    kind = draw(st.sampled_from(sorted(CONDITIONS)))
    collected = draw(DATES)
    data: dict[str, Any] = {
        "kind": kind, "id": f"e{index}", "title": "t", "issuer": "i", "offered_for": [CID],
        "period": {"start": dt.date(2022, 1, 1), "end": draw(st.none() | DATES)},
        "collected": collected, "submitted": collected,
    }  # fmt: skip
    if kind == "document":
        data["doc_type"] = draw(st.sampled_from(["plan", "policy", "assessment"]))
        status = draw(st.sampled_from(["published", "internal", "draft"]))
        data["publication"] = {"status": status, "url": "https://x.example"}
        data["outcome_areas"] = draw(
            st.lists(st.sampled_from(["economic", "social", "environmental"]), unique=True)
        )
        data["sdgs"] = draw(st.lists(st.integers(1, 4), unique=True, max_size=3))
        if draw(st.booleans()):
            data["approval"] = {"by": "c", "date": draw(DATES)}
    elif kind == "kpi":
        data.update(indicator={"id": "x", "catalogue": "local", "name": "x"}, unit="u")
        data["direction"] = draw(st.sampled_from(["higher_is_better", "lower_is_better"]))
        data["signal"] = draw(st.none() | st.sampled_from(["leading", "lagging"]))
        if draw(st.booleans()):
            data["baseline"] = {"value": draw(st.integers(0, 10)), "date": draw(DATES), "method": "m"}
        data["targets"] = _series(draw)
        data["observations"] = _series(draw)
        if draw(st.booleans()):
            data["review"] = {"by": "b", "every_days": 30}
        if draw(st.booleans()):
            data["dashboard"] = {"url": "https://d.example", "public": True, "refresh_minutes": 5,
                                 "near_real_time": draw(st.booleans())}  # fmt: skip
    else:
        data.update(body="b", mandate="m", accountable_role="r")
        data["authority"] = draw(st.sampled_from(["advisory", "oversight", "decision_making"]))
        data["members"] = {"private": draw(st.integers(0, 3)), "civil_society": draw(st.integers(0, 3))}
        data["meetings"] = draw(st.lists(DATES, max_size=3))
        if draw(st.booleans()):
            data["budget"] = {"amount": 10.0, "currency": "EUR"}
    return data


@st.composite
def evidence_pack(draw: st.DrawFn) -> EvidencePack:
    count = draw(st.integers(0, 8))
    items = [draw(item(i)) for i in range(count)]
    verifications = []
    for entry in items:
        verdict = draw(st.sampled_from([None, "accepted", "rejected"]))
        if verdict is not None:
            verifications.append({
                "evidence_id": entry["id"], "verdict": verdict, "method": "interview", "reason": "r",
                "auditor": "a", "date": draw(DATES),
            })  # fmt: skip
    return EvidencePack.model_validate({
        "format": "assay-evidence-pack/1", "id": "p", "community": {"id": "c", "name": "C"},
        "model": "iso37107-2019", "items": items, "verifications": verifications,
    })  # fmt: skip


def judged_nodes(spec: CharacteristicRules) -> list[str]:
    return [
        spec.node_key(number, node.id)
        for number, level in sorted(spec.levels.items())
        for requirement in level.requirements
        for node in requirement.walk()
        if node.evidence is not None and node.evidence.judgement is not None
    ]


def with_judgements(data: st.DataObject, spec: CharacteristicRules, pack: EvidencePack) -> EvidencePack:
    """The pack with judgements of some of the spec's judged requirements: any rating, citing any
    items (in scope or not), dated on either side of the assessment date, some of them made on
    items that changed since (a stale digest)."""
    if not pack.items:
        return pack
    ids = sorted(i.id for i in pack.items)
    by_id = {i.id: i for i in pack.items}
    judgements = []
    for key in judged_nodes(spec):
        for date in data.draw(st.lists(DATES, max_size=2, unique=True)):
            cites = data.draw(st.lists(st.sampled_from(ids), min_size=1, max_size=3, unique=True))
            stale = data.draw(st.integers(0, 9)) == 0
            rating = data.draw(st.sampled_from(["fully", "largely", "partially", "not"]))
            judgements.append({
                "requirement": key, "rating": rating,
                "cites": cites, "method": "document_review", "reason": "seen", "auditor": "a", "date": date,
                "cited_digest": "sha256:" + "0" * 64 if stale else cited_digest(by_id[i] for i in cites),
            })  # fmt: skip
    return EvidencePack.model_validate({**pack.model_dump(), "judgements": judgements})


DURABLE = DurableInference()
REFERENCE = ReferenceInference()
MODEL = load_catalogue(bundled_rules.bundled() / "model.yaml")


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)
@given(spec=characteristic(), pack=evidence_pack(), data=st.data())
def test_durable_rules_agrees_with_the_reference(
    spec: CharacteristicRules, pack: EvidencePack, data: st.DataObject
) -> None:
    assume(max(alpha_load(spec).values(), default=0) <= ALPHA_BUDGET)  # the loader rejects the rest
    pack = with_judgements(data, spec, pack)
    event("judged requirements" if judged_nodes(spec) else "no judged requirement")
    event("judgements" if pack.judgements else "no judgement")
    event(
        "met_by"
        if any(n.met_by for lv in spec.levels.values() for r in lv.requirements for n in r.walk())
        else "no met_by"
    )
    rules = RulePack(MODEL.id, MODEL, {CID: spec}, digest_of(spec.model_dump(mode="json")), ())
    evidence = normalise(pack, AS_OF)
    expected = REFERENCE.infer(rules, evidence)[CID]
    actual = DURABLE.infer(rules, evidence)[CID]
    differing = {
        key: (actual.nodes[key], value) for key, value in expected.nodes.items() if actual.nodes[key] != value
    }
    assert not differing, differing
    assert actual.levels == expected.levels
    assert actual.rating == expected.rating
    assert DURABLE.runtime.live_sessions() == 0
