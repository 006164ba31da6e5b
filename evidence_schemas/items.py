"""Evidence items, one model per kind. The ``kind`` field tells them apart.

Rule packs address these fields by dotted path (``publication.status``, ``baseline.value``);
the rule-pack loader reads paths and types from these models, so a field added here becomes
usable in rules at once, and a rule naming a field that does not exist is an error. The XML
form and its XSD are derived from these models too (``evidence_schemas.shapes``).
"""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Annotated, Any, Literal

from pydantic import Field, model_validator

from evidence_schemas.common import (
    Approval,
    Count,
    EvidenceId,
    ItemBase,
    Money,
    Number,
    Schema,
    ShortText,
    Url,
)

OutcomeArea = Literal["economic", "social", "environmental"]
Scope = Literal["single_service", "business_unit", "administration_wide", "city_wide"]
"""How far something reaches: one service or project, one business unit, the whole city
administration, or the city with its partners."""
Sector = Literal["local_government", "other_public", "private", "civil_society", "academia"]
DocType = Literal[
    "vision_strategy",
    "plan",
    "policy",
    "business_case",
    "progress_report",
    "minutes",
    "procedure",
    "assessment",
    "evaluation",
    "framework",
]


def _optional_list(description: str, max_length: int = 1000) -> Any:
    """A list field that is left out of the canonical form when empty, so packs written before the
    field existed (and their digests, which results, engagement versions and certificates pin)
    read the same as before."""
    return Field(
        default_factory=list,
        max_length=max_length,
        exclude_if=lambda value: not value,
        description=description,
    )


def _links(description: str) -> Any:
    return _optional_list(description + " Ids of items in the same pack.", max_length=1000)


LanguageTag = Annotated[str, Field(pattern=r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$", max_length=35)]
Sdg = Annotated[int, Field(ge=1, le=17)]


# --- documents ---------------------------------------------------------------------------


class Publication(Schema):
    """Where a document can be read."""

    status: Literal["published", "internal", "draft"] = Field(
        description="published: public; internal: adopted but not public; draft: not adopted."
    )
    url: Url | None = Field(default=None, description="Public address; required when published.")

    @model_validator(mode="after")
    def _published_has_url(self) -> Publication:
        if self.status == "published" and self.url is None:
            raise ValueError("a published document needs its public url")
        return self


class Document(ItemBase):
    """A strategy, plan, policy, business case, report, minutes, procedure or evaluation."""

    kind: Literal["document"] = Field(description="Evidence kind.")
    doc_type: DocType = Field(
        description="What sort of document it is; 'plan' covers roadmaps; 'assessment' looks at "
        "risks or needs before acting, 'evaluation' at the effect of policies or investments after; "
        "'framework' is a standard the city applies (competency framework, enterprise architecture)."
    )
    scope: Scope | None = Field(default=None, description="How far the document applies.")
    publication: Publication = Field(description="Publication status and place.")
    approval: Approval | None = Field(default=None, description="Formal approval, if any.")
    outcome_areas: list[OutcomeArea] = Field(
        default_factory=list, max_length=3, description="Outcome areas the document sets objectives for."
    )
    sdgs: list[Sdg] = Field(
        default_factory=list, max_length=17, description="UN Sustainable Development Goals it is linked to."
    )
    languages: list[LanguageTag] = Field(
        default_factory=list, max_length=50, description="Languages it is available in (BCP 47 tags)."
    )
    also_serves: list[DocType] = _optional_list(
        "Other sorts of document it is as well: a strategy that contains its own needs assessment "
        "and action plan also serves as 'assessment' and 'plan'. Rules asking for a sort of document "
        "read the derived 'serves' (doc_type and also_serves).",
        max_length=10,
    )
    target_groups: list[ShortText] = _optional_list(
        "Groups the document sets out to reach, e.g. 'older residents', 'small businesses'.", max_length=100
    )
    based_on: list[EvidenceId] = _links("Items it rests on, e.g. the assessment a plan is based on.")
    reports_on: list[EvidenceId] = _links(
        "Items it reports on, e.g. the KPIs of a strategy a progress report covers."
    )
    evaluates: list[EvidenceId] = _links(
        "Items it evaluates, e.g. the programme or policy an evaluation judges."
    )

    @model_validator(mode="after")
    def _serves_others(self) -> Document:
        if self.doc_type in self.also_serves:
            raise ValueError(f"also_serves repeats the doc_type '{self.doc_type}'")
        if len(set(self.also_serves)) != len(self.also_serves):
            raise ValueError("also_serves lists a sort twice")
        return self


# --- KPI records -------------------------------------------------------------------------


class Indicator(Schema):
    """Which indicator a KPI record measures."""

    id: ShortText = Field(description="Indicator id in its catalogue, e.g. '5.1' or 'EC-ICT-1'.")
    catalogue: Literal["iso37120", "iso37122", "iso37123", "itu_y4903", "local"] = Field(
        description="Catalogue the id comes from (ITU-T Y.4903 is the U4SSC set)."
    )
    name: ShortText = Field(description="Indicator name.")


class Baseline(Schema):
    """The measured starting value of an indicator."""

    value: Number = Field(description="Baseline value, in the record's unit.")
    date: dt.date = Field(description="Date the baseline describes.")
    method: ShortText = Field(description="How it was measured.")


class DatedValue(Schema):
    """A value on a date (an observation or a target)."""

    date: dt.date = Field(description="Date of the observation, or date a target is due.")
    value: Number = Field(description="Value in the record's unit.")


class MaturityTargets(Schema):
    """A row of the ITU-T Y.4904 performance matrix: the KPI's target value per maturity level.

    Level 1 is the baseline collected; the city sets levels 2-5 for its own situation.
    """

    level_2: Number = Field(description="Interim target value for maturity level 2.")
    level_3: Number = Field(description="Interim target value for maturity level 3.")
    level_4: Number = Field(description="Interim target value for maturity level 4.")
    level_5: Number = Field(description="Long-term target value for maturity level 5.")

    def by_level(self) -> dict[int, float]:
        """Level -> target value."""
        return {2: self.level_2, 3: self.level_3, 4: self.level_4, 5: self.level_5}


class Review(Schema):
    """Who reviews an indicator and how often."""

    by: ShortText = Field(description="Role that reviews it, e.g. 'Chief executive's board'.")
    every_days: int = Field(ge=1, le=3660, description="Review interval in days.")


class Dashboard(Schema):
    """A dashboard showing the indicator."""

    url: Url = Field(description="Address of the dashboard.")
    public: bool = Field(description="Open to anyone without an account.")
    refresh_minutes: int = Field(
        ge=1, le=10**7, description="How often the shown value is refreshed, in minutes."
    )
    near_real_time: bool = Field(description="Whether the dashboard shows near-real-time data.")


class Kpi(ItemBase):
    """A key performance indicator: baseline, targets and observed series."""

    kind: Literal["kpi"] = Field(description="Evidence kind.")
    indicator: Indicator = Field(description="The indicator measured.")
    unit: ShortText = Field(description="Unit of every value, e.g. '%' or 'minutes'.")
    direction: Literal["higher_is_better", "lower_is_better"] = Field(
        description="Which way is improvement; every comparison with a baseline or target uses it."
    )
    signal: Literal["leading", "lagging"] | None = Field(
        default=None, description="Leading (signals ahead of outcomes) or lagging (records them)."
    )
    baseline: Baseline | None = Field(default=None, description="Measured starting point.")
    targets: list[DatedValue] = Field(
        default_factory=list, max_length=1000, description="Success trajectory: target values by due date."
    )
    observations: list[DatedValue] = Field(
        default_factory=list, max_length=10000, description="Observed values, in any order."
    )
    data_source: ShortText | None = Field(default=None, description="Where the data comes from.")
    review: Review | None = Field(default=None, description="Who tracks the indicator, and how often.")
    dashboard: Dashboard | None = Field(default=None, description="Dashboard showing it, if any.")
    # Left out of the canonical form when absent, so packs (and their digests, which results,
    # engagement versions and certificates pin) read the same as before the field existed.
    maturity_targets: MaturityTargets | None = Field(
        default=None,
        exclude_if=lambda value: value is None,
        description="The city's ITU-T Y.4904 performance-matrix row for this KPI (needs a baseline).",
    )

    @model_validator(mode="after")
    def _unique_dates(self) -> Kpi:
        for name, series in (("targets", self.targets), ("observations", self.observations)):
            dates = [point.date for point in series]
            if len(set(dates)) != len(dates):
                raise ValueError(f"{name} has two values for the same date")
        return self

    @model_validator(mode="after")
    def _matrix_is_monotone(self) -> Kpi:
        # Y.4904 step 3: each level's target is a step along the city's roadmap, so a higher
        # level can never ask for less than the one below (equal steps are allowed).
        if self.maturity_targets is None:
            return self
        if self.baseline is None:
            raise ValueError("maturity_targets needs a baseline: level 1 is the baseline collected")
        sign = 1 if self.direction == "higher_is_better" else -1
        targets = sorted(self.maturity_targets.by_level().items())
        for (low, easier), (high, harder) in itertools.pairwise(targets):
            if sign * (harder - easier) < 0:
                raise ValueError(
                    f"maturity_targets is not monotone: the level {high} target ({harder:g}) is easier "
                    f"than the level {low} target ({easier:g}) for a {self.direction} KPI"
                )
        return self


# --- governance --------------------------------------------------------------------------


class Members(Schema):
    """Number of members of a body by sector."""

    local_government: Count = Field(default=0, description="Members from the local government.")
    other_public: Count = Field(default=0, description="Members from other public bodies.")
    private: Count = Field(default=0, description="Members from the private sector.")
    civil_society: Count = Field(default=0, description="Members from civil society.")
    academia: Count = Field(default=0, description="Members from academia.")


class Decision(Schema):
    """A recorded decision of a body."""

    date: dt.date = Field(description="When it was decided.")
    summary: ShortText = Field(description="What was decided.")


class Governance(ItemBase):
    """A governance body: board, programme office, partnership."""

    kind: Literal["governance"] = Field(description="Evidence kind.")
    body: ShortText = Field(description="Name of the body.")
    mandate: ShortText = Field(description="What it is accountable for.")
    accountable_role: ShortText = Field(description="Role that answers for the body's remit.")
    authority: Literal["advisory", "oversight", "decision_making"] = Field(
        description="Power it holds over priorities."
    )
    scope: Scope | None = Field(default=None, description="How far its remit reaches.")
    budget: Money | None = Field(default=None, description="Budget it controls, if any.")
    members: Members = Field(description="Members by sector.")
    meetings: list[dt.date] = Field(default_factory=list, max_length=10000, description="Meeting dates.")
    decisions: list[Decision] = Field(
        default_factory=list, max_length=10000, description="Recorded decisions."
    )


# --- engagement --------------------------------------------------------------------------


class Channels(Schema):
    """Channels an engagement used."""

    digital: list[ShortText] = Field(
        default_factory=list, max_length=100, description="Digital channels, e.g. 'web survey'."
    )
    physical: list[ShortText] = Field(
        default_factory=list, max_length=100, description="Physical channels, e.g. 'town hall'."
    )


class Engagement(ItemBase):
    """A consultation, co-design, feedback channel, public report or network exchange."""

    kind: Literal["engagement"] = Field(description="Evidence kind.")
    engagement_type: Literal[
        "consultation",
        "co_design",
        "feedback_channel",
        "public_report",
        "network_exchange",
        "standing_programme",
        "social_media",
    ] = Field(
        description="What sort of engagement; 'standing_programme' is a standing programme of "
        "engagement (a residents' panel, a citizens' assembly meeting through the year), "
        "'social_media' participation through the city's social-media channels."
    )
    scope: Scope | None = Field(default=None, description="How far the engagement reaches.")
    groups_reached: list[Sector] = Field(
        default_factory=list, max_length=5, description="Stakeholder sectors reached."
    )
    at_risk_groups_reached: list[ShortText] = Field(
        default_factory=list, max_length=100, description="Groups at risk of exclusion that were reached."
    )
    channels: Channels = Field(default_factory=Channels, description="Digital and physical channels used.")
    participants: Count | None = Field(default=None, description="How many took part.")
    changes: list[ShortText] = Field(
        default_factory=list, max_length=100, description="What changed as a result."
    )


# --- platforms, programmes, commitments ----------------------------------------------------


class Dataset(Schema):
    """A dataset a platform offers."""

    name: ShortText = Field(description="Dataset name.")
    licence: ShortText = Field(description="Licence, e.g. 'CC-BY-4.0' or 'restricted'.")
    open: bool = Field(description="Open data (anyone may use and share it).")


class Platform(ItemBase):
    """A platform or system: data platform, one-stop service, identity service, and so on."""

    kind: Literal["platform"] = Field(description="Evidence kind.")
    platform_type: Literal[
        "data_platform",
        "one_stop_service",
        "identity_service",
        "asset_register",
        "digital_model",
        "management_information",
        "public_dashboard",
    ] = Field(description="What sort of platform; 'public_dashboard' shows indicators to anyone.")
    scope: Scope = Field(description="How far it reaches.")
    public: bool = Field(description="Open to the public.")
    open_standards: list[ShortText] = Field(
        default_factory=list, max_length=100, description="Open standards it is built on."
    )
    datasets: list[Dataset] = Field(default_factory=list, max_length=10000, description="Datasets offered.")
    apis: list[ShortText] = Field(default_factory=list, max_length=1000, description="APIs offered.")
    realtime_feeds: list[ShortText] = Field(
        default_factory=list, max_length=10000, description="Real-time data feeds it carries."
    )
    displays: list[EvidenceId] = _links("KPI records it shows (a dashboard).")
    target_groups: list[ShortText] = _optional_list(
        "Groups the service sets out to reach, e.g. 'residents without internet at home'.", max_length=100
    )


class Partner(Schema):
    """A partner in a programme."""

    name: ShortText = Field(description="Partner organisation.")
    sector: Sector = Field(description="The partner's sector.")


class Programme(ItemBase):
    """A programme or investment."""

    kind: Literal["programme"] = Field(description="Evidence kind.")
    budget: Money = Field(description="Total budget.")
    scope: Scope | None = Field(default=None, description="How far the programme reaches.")
    funding_status: Literal["proposed", "approved", "funded"] = Field(description="Funding state.")
    partners: list[Partner] = Field(default_factory=list, max_length=1000, description="Delivery partners.")


PromisedItem = Annotated[
    Document | Kpi | Governance | Engagement | Platform | Programme,
    Field(discriminator="kind"),
]
"""Evidence a commitment will produce (any kind but another commitment)."""


class Commitment(ItemBase):
    """A planned commitment that bears on the level in two years."""

    kind: Literal["commitment"] = Field(description="Evidence kind.")
    commitment: ShortText = Field(description="What is committed.")
    due: dt.date = Field(description="When it is due.")
    approval_status: Literal["proposed", "approved"] = Field(description="Approval state.")
    funding_status: Literal["unfunded", "partly_funded", "funded"] = Field(description="Funding state.")
    promises: list[PromisedItem] = Field(
        default_factory=list,
        max_length=100,
        description="The evidence delivering the commitment will produce; in the two-year "
        "projection it counts as if it existed (approved, funded, due within 24 months).",
    )
    updates: list[PromisedItem] = _optional_list(
        "Existing items as delivering the commitment will leave them (put these KPIs on a public "
        "dashboard): each has the id and kind of an item already in the pack and, in the two-year "
        "projection, stands in its place.",
        max_length=100,
    )

    @model_validator(mode="after")
    def _promises_are_plans(self) -> Commitment:
        if any(item.attachments for item in [*self.promises, *self.updates]):
            raise ValueError("promised evidence does not exist yet, so it has no attachments")
        changed = [item.id for item in self.updates]
        if len(set(changed)) != len(changed):
            raise ValueError("updates lists one item twice")
        return self


EvidenceItem = Annotated[
    Document | Kpi | Governance | Engagement | Platform | Programme | Commitment,
    Field(discriminator="kind"),
]
"""Any evidence item; ``kind`` selects the model."""

KIND_MODELS: dict[str, type[ItemBase]] = {
    "document": Document,
    "kpi": Kpi,
    "governance": Governance,
    "engagement": Engagement,
    "platform": Platform,
    "programme": Programme,
    "commitment": Commitment,
}
"""Evidence kind -> model; the vocabulary of ``kind`` in rule packs."""
