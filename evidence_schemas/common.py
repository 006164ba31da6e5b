"""Parts shared by every evidence item: text and number types, attachments, periods, money,
approval, and the item base class.

Every text type refuses the characters XML 1.0 cannot carry (most control characters), so any
valid pack can be written as XML and read back unchanged.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import PurePosixPath
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

_NOT_IN_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")


def _xml_safe(value: str) -> str:
    found = _NOT_IN_XML.search(value)
    if found:
        raise ValueError(f"contains the control character U+{ord(found.group()):04X}, which XML cannot carry")
    return value


XmlSafe = AfterValidator(_xml_safe)
EvidenceId = Annotated[
    str,
    Field(
        pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$",
        description="Identifier unique within the pack: letters, digits, '.', '_', ':', '-'.",
    ),
]
CharacteristicId = Annotated[
    str, Field(pattern=r"^[0-9]+(\.[0-9]+)*$", max_length=20, description="Characteristic id, e.g. '1.5.2'.")
]
ShortText = Annotated[str, Field(min_length=1, max_length=300), XmlSafe]
LongText = Annotated[str, Field(min_length=1, max_length=4000), XmlSafe]
Url = Annotated[str, Field(pattern=r"^https?://\S+$", max_length=2000, description="http(s) URL."), XmlSafe]
Number = Annotated[
    float,
    Field(
        ge=-1e12,
        le=1e12,
        allow_inf_nan=False,
        description="A finite number within +/-10^12 (the engine compares millionths).",
    ),
]
Amount = Annotated[
    float,
    Field(ge=0, le=1e12, allow_inf_nan=False, description="A finite amount from 0 to 10^12."),
]
"""A sum of money. Its own type: a bound given on a field of type ``Number`` loses to the
bound ``Number`` carries, so ``Field(ge=0)`` there let a budget of -5 through."""
Count = Annotated[int, Field(ge=0, le=10**9, description="A count.")]


class Schema(BaseModel):
    """Base of every evidence model: unknown fields are errors, values are never coerced."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class Attachment(Schema):
    """A file inside the pack that backs an item; its hash is checked when the pack is read."""

    path: str = Field(
        min_length=1,
        max_length=255,
        description="Path relative to the pack folder, '/'-separated, never leaving the pack.",
    )
    media_type: str = Field(pattern=r"^[a-z]+/[a-z0-9.+-]+$", max_length=100, description="IANA media type.")
    size: int = Field(ge=0, le=2**40, description="Size in bytes.")
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$", description="SHA-256 of the file, lower-case hex.")

    @field_validator("path")
    @classmethod
    def _inside_pack(cls, value: str) -> str:
        _xml_safe(value)
        parts = PurePosixPath(value).parts
        if value.startswith("/") or "\\" in value or ".." in parts or ":" in value:
            raise ValueError("must be a relative '/'-separated path that stays inside the pack")
        return value


class Period(Schema):
    """The period an item describes."""

    start: dt.date = Field(description="First day described.")
    end: dt.date | None = Field(default=None, description="Last day described; absent if ongoing.")

    @model_validator(mode="after")
    def _ordered(self) -> Period:
        if self.end is not None and self.end < self.start:
            raise ValueError("period end is before its start")
        return self


class Money(Schema):
    """An amount of money."""

    amount: Amount = Field(description="Amount in the currency's main unit.")
    currency: str = Field(pattern=r"^[A-Z]{3}$", description="ISO 4217 currency code.")


class Approval(Schema):
    """Who approved something, and when."""

    by: ShortText = Field(description="Approving body or role, e.g. 'City council'.")
    date: dt.date = Field(description="Date of approval.")


class ItemBase(Schema):
    """Fields every evidence item has, whatever its kind."""

    id: EvidenceId
    title: ShortText = Field(description="Human title of the item.")
    issuer: ShortText = Field(description="Organisation that issued the item.")
    period: Period = Field(description="Period the item describes.")
    collected: dt.date = Field(description="When the evidence was collected for the pack.")
    submitted: dt.date = Field(description="When it was submitted to the auditor.")
    attachments: list[Attachment] = Field(
        default_factory=list, max_length=100, description="Files backing it."
    )
    offered_for: list[CharacteristicId] = Field(
        min_length=1,
        max_length=40,
        description="Characteristics the city offers the item for; it is evaluated for these only.",
    )

    @model_validator(mode="after")
    def _dates_ordered(self) -> ItemBase:
        if self.submitted < self.collected:
            raise ValueError("submitted is before collected")
        if len(set(self.offered_for)) != len(self.offered_for):
            raise ValueError("offered_for lists a characteristic twice")
        paths = [a.path for a in self.attachments]
        if len(set(paths)) != len(paths):
            raise ValueError("an attachment path is listed twice")
        return self
