"""From an evaluation's result to what the certificate states.

Pure: no clock, no I/O. The certification body's decisions (number, dates, people) come in
as arguments; everything about the community's maturity comes from the result, and the titles
in both languages from the model catalogue the result was evaluated against.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from certificates.model import Bilingual, Certificate, DimensionEntry, Language, ProfileEntry, Scope
from certificates.scheme import Scheme
from engine.basis import credited_basis
from engine.catalogue import MaturityModel, Text
from engine.result import Result


@dataclass(frozen=True)
class Issuance:
    """What the certification body decides when it issues."""

    number: str
    issued_on: dt.date
    body: str
    lead_auditor: str
    decision_maker: str
    language: Language
    test: bool
    renews: str | None = None


def _text(text: Text) -> Bilingual:
    return Bilingual(en=text.en, zh=text.zh)


def build_certificate(
    result: Result,
    model: MaturityModel,
    scheme: Scheme,
    issuance: Issuance,
    *,
    trail_head: str,
    result_digest: str,
) -> Certificate:
    """The certificate for ``result``; the caller has checked result, trail and rule pack belong together."""
    by_id = {c.id: c for c in result.characteristics}
    dimension_of = {c.id: d.id for d in model.dimensions for c in d.all_characteristics()}
    claims = {c.id: c.claim.now for c in result.characteristics if c.claim is not None}
    profile = []
    for char in model.characteristics():
        verified = by_id[char.id].verified_level if char.id in by_id else None
        basis = credited_basis(by_id[char.id]) if char.id in by_id else None
        profile.append(
            ProfileEntry(
                id=char.id,
                title=_text(char.title),
                dimension=dimension_of[char.id],
                verified_level=verified,
                level_name=_text(model.level_name(verified)) if verified is not None else None,
                claimed_level=claims.get(char.id),
                basis_items=basis[0] if basis else None,
                basis_judged=basis[1] if basis else None,
            )
        )
    groups = {g.id: g for g in result.summaries.groups if g.scope == "dimension"}
    dimensions = [
        DimensionEntry(
            id=d.id,
            title=_text(d.title),
            level=groups[d.id].level,
            mean=groups[d.id].mean,
            evaluated=groups[d.id].evaluated,
        )
        for d in model.dimensions
    ]
    return Certificate(
        number=issuance.number,
        community=result.pack.community,
        scope=Scope(
            model=result.rule_pack.id,
            standard=model.standard,
            title=_text(model.title),
            characteristics=[c.id for c in result.characteristics if c.status == "evaluated"],
        ),
        scheme=scheme.name,
        assessed_on=result.as_of,
        issued_on=issuance.issued_on,
        expires_on=scheme.expiry(issuance.issued_on),
        surveillance_due=scheme.surveillance_due(issuance.issued_on),
        body=issuance.body,
        lead_auditor=issuance.lead_auditor,
        decision_maker=issuance.decision_maker,
        evaluation_id=result.evaluation_id,
        rule_pack_digest=result.rule_pack.digest,
        trail_head=trail_head,
        result_digest=result_digest,
        profile=profile,
        dimensions=dimensions,
        aggregation_rule=result.summaries.rule,
        language=issuance.language,
        test=issuance.test,
        renews=issuance.renews,
    )
