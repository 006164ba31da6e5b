"""Request bodies: every field typed and bounded, unknown fields refused (a typo is an error)."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Text = Field(min_length=1, max_length=4000)
Id = Field(min_length=1, max_length=64)


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SignIn(Body):
    person: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=1024)


class Invite(Body):
    person: str = Id
    days: int = Field(default=7, ge=1, le=30)


class SetPassword(Body):
    token: str = Field(min_length=1, max_length=200)
    password: str = Field(min_length=1, max_length=1024)


class NewToken(Body):
    scope: Literal["read", "write"]
    days: int = Field(default=90, ge=1, le=366)


class Application(Body):
    community: str = Id
    name: str = Field(min_length=1, max_length=200)
    scope: list[str] = Field(default_factory=list, max_length=200)


class Team(Body):
    lead: str | None = Field(default=None, max_length=64)
    auditors: list[str] = Field(default_factory=list, max_length=50)
    reviewer: str | None = Field(default=None, max_length=64)


class VerdictIn(Body):
    evidence_id: str = Field(min_length=1, max_length=200)
    verdict: Literal["accepted", "rejected"]
    method: Literal["document_review", "interview", "observation", "system_demonstration"]
    reason: str = Text


class JudgementIn(Body):
    requirement: str = Field(min_length=1, max_length=200)
    rating: str = Field(min_length=1, max_length=32)
    cites: list[str] = Field(default_factory=list, max_length=10_000)
    method: str = Field(min_length=1, max_length=32)
    reason: str = Text
    examined: list[str] = Field(default_factory=list, max_length=10_000)


class EvaluationIn(Body):
    as_of: dt.date | None = None
    surveillance: bool = False


class DecisionIn(Body):
    outcome: Literal["certify", "maintain", "refuse"]
    reason: str = Text


class IssueIn(Body):
    language: Literal["en", "en+zh"] = "en"


class FindingIn(Body):
    severity: str = Field(min_length=1, max_length=16)
    statement: str = Text
    due_on: dt.date
    characteristic: str | None = Field(default=None, max_length=64)
    evidence_id: str | None = Field(default=None, max_length=200)


class Closure(Body):
    evidence: list[str] = Field(min_length=1, max_length=1000)
    note: str = Text


class CaseIn(Body):
    kind: Literal["complaint", "appeal"]
    party: str = Field(min_length=1, max_length=200)
    subject: str = Text
    decision: int | None = Field(default=None, ge=1)


class Resolution(Body):
    resolution: str = Text


class Reason(Body):
    reason: str = Text
