"""Types and schemas every app's router shares: the error envelope, ids, safe text, pages."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from django.utils.translation import gettext as _
from ninja import Schema
from pydantic import AfterValidator, AwareDatetime, ConfigDict, Field, field_validator

# Database keys are 64-bit; a larger number can name nothing, so it is refused as invalid
# instead of reaching the database.
MAX_ID = 2**63 - 1

Id = Annotated[int, Field(ge=1, le=MAX_ID)]


# Messages of the validators below are read when a request is validated, so they come in the
# request's language.


def storable(value: str) -> str:
    # PostgreSQL cannot store NUL in text, and a lone surrogate (valid in JSON, not in UTF-8)
    # cannot be encoded for any database: refuse both here with a field error.
    if "\x00" in value:
        raise ValueError(_("Text must not contain NUL characters."))
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValueError(_("Text must be valid Unicode.")) from exc
    return value


Text = Annotated[str, AfterValidator(storable)]

# Text with the length limits of the model fields it ends up in. The limits sit inside the type
# (not on the field) so that they apply to the string and never to a null.
Name = Annotated[str, Field(min_length=1, max_length=200), AfterValidator(storable)]
Source = Annotated[str, Field(max_length=40), AfterValidator(storable)]
ExternalId = Annotated[str, Field(max_length=200), AfterValidator(storable)]
Search = Annotated[str, Field(max_length=200), AfterValidator(storable)]
Email = Annotated[str, Field(max_length=254), AfterValidator(storable)]
LongText = Annotated[str, Field(max_length=50_000), AfterValidator(storable)]
Message = Annotated[str, Field(min_length=1, max_length=50_000), AfterValidator(storable)]


def _in_utc(value: datetime) -> datetime:
    try:
        return value.astimezone(UTC)
    except OverflowError as exc:  # 0001-01-01T00:00+01:00 has no UTC equivalent
        raise ValueError(_("This time is out of range.")) from exc


# Times must carry their UTC offset: a bare local time would be read in the server's zone.
Moment = Annotated[AwareDatetime, AfterValidator(_in_utc)]


class ErrorBody(Schema):
    code: str = Field(description="Stable, machine-readable: invalid, not_found, conflict …")
    message: str = Field(description="What went wrong, for a person, in the request's language.")
    fields: dict[str, list[str]] = Field(
        default_factory=dict, description="Per-field messages, for validation errors."
    )


class ErrorOut(Schema):
    error: ErrorBody


# The error responses each kind of operation documents; every one has the ErrorOut body.
READ_ERRORS = frozenset({400, 401, 403, 404, 422})
WRITE_ERRORS = frozenset({400, 401, 403, 404, 409, 422})


def _without_null(schema: dict[str, Any]) -> None:
    # `X | None = None` in Python means "may be left out"; in the OpenAPI document it would also
    # invite an explicit null, which a query string cannot carry and a change does not accept.
    for prop in schema.get("properties", {}).values():
        options = prop.get("anyOf")
        if options and {"type": "null"} in options:
            rest = [option for option in options if option != {"type": "null"}]
            del prop["anyOf"]
            if len(rest) == 1:
                prop.update(rest[0])
            else:
                prop["anyOf"] = rest
        if "default" in prop and prop["default"] is None:
            del prop["default"]


class FilterIn(Schema):
    """Query parameters of a list: each one optional, none of them null."""

    model_config = ConfigDict(json_schema_extra=_without_null)


class PageIn(FilterIn):
    limit: int = Field(50, ge=1, le=200, description="Items per page (at most 200).")
    # Room for a cursor over a 200-character name of 4-byte characters, in base64.
    cursor: Annotated[str, Field(max_length=2000), AfterValidator(storable)] | None = Field(
        None, description="`next_cursor` of the previous page; omit it for the first page."
    )


class PatchIn(Schema):
    """A partial change: the fields sent are changed, the others kept; null is refused."""

    model_config = ConfigDict(json_schema_extra=_without_null)

    @field_validator("*", mode="after")
    @classmethod
    def _not_null(cls, value: Any) -> Any:
        if value is None:
            raise ValueError(_("Null is not allowed: leave the field out to keep its value."))
        return value
