"""Kombo request bodies (result and packages), validated strictly."""

from __future__ import annotations

from typing import Annotated, Literal
from urllib.parse import urlparse

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from ordergraph.sandbox.kombo.wire import DATE_TIME

# --- request bodies -------------------------------------------------------------------


class _Body(BaseModel):
    # strict: no "90" for a number; forbid: unknown keys are a client bug (docstring).
    model_config = ConfigDict(extra="forbid", strict=True)


def _check_uri(value: str) -> str:
    parts = urlparse(value)
    if not parts.scheme or not (parts.netloc or parts.path):
        msg = "must be an absolute URI"
        raise ValueError(msg)
    return value


class _TextAttribute(_Body):
    type: Literal["TEXT"]
    label: str
    value: str


class _SubScore(_Body):
    value: float
    max: float = Field(ge=1)


class _SubResultAttribute(_Body):
    type: Literal["SUB_RESULT"]
    id: str
    label: str
    score: _SubScore
    status: Literal["COMPLETED", "CANCELLED"]


class _Attachment(_Body):
    name: str
    content_type: str | None = Field(default=None, pattern=r"^[\w.-]+/[\w.-]+$")
    data_url: str | None = None
    data: str | None = None

    @field_validator("data_url")
    @classmethod
    def _uri(cls, value: str | None) -> str | None:
        return None if value is None else _check_uri(value)

    @model_validator(mode="after")
    def _one_source(self) -> _Attachment:
        if (self.data_url is None) == (self.data is None):
            msg = "an attachment needs exactly one of data_url and data"
            raise ValueError(msg)
        if self.data is not None and self.content_type is None:
            msg = "content_type is required when data is used"
            raise ValueError(msg)
        return self


class _SmartRecruiters(_Body):
    scoreLabel: str | None = None  # noqa: N815 (vendor key)


class _Recruitee(_Body):
    subtitle: str | None = None


class _RemoteFields(_Body):
    smartrecruiters: _SmartRecruiters | None = None
    recruitee: _Recruitee | None = None


class ResultBody(_Body):
    status: Literal["COMPLETED", "CANCELLED", "OPEN"]
    result_url: str
    completed_at: str | None = Field(default=None, pattern=DATE_TIME.pattern)
    score: float | None = None
    max_score: float | None = None
    attributes: list[
        Annotated[_TextAttribute | _SubResultAttribute, Field(discriminator="type")]
    ] = Field(default_factory=list)
    attachments: list[_Attachment] = Field(default_factory=list, max_length=5)
    remote_fields: _RemoteFields | None = None

    @field_validator("result_url")
    @classmethod
    def _uri(cls, value: str) -> str:
        return _check_uri(value)

    @model_validator(mode="after")
    def _completed_at_when_final(self) -> ResultBody:
        if self.status != "OPEN" and self.completed_at is None:
            msg = f"completed_at is required when status is {self.status}"
            raise ValueError(msg)
        return self


class _PackageBody(_Body):
    id: str = Field(min_length=1)
    type: Literal[
        "BEHAVIORAL", "VIDEO_INTERVIEW", "SKILLS_TEST", "BACKGROUND_CHECK", "REFERENCE_CHECK"
    ]
    name: str
    description: str


class PackagesBody(_Body):
    packages: list[_PackageBody]

    @model_validator(mode="after")
    def _unique_ids(self) -> PackagesBody:
        ids = [package.id for package in self.packages]
        if len(ids) != len(set(ids)):
            msg = "package ids must be unique"
            raise ValueError(msg)
        return self


def validation_message(exc: ValidationError) -> str:
    """A short, input-free summary of what was wrong with a body."""
    parts = []
    for error in exc.errors(include_input=False, include_url=False)[:3]:
        where = ".".join(str(part) for part in error["loc"]) or "body"
        parts.append(f"{where}: {error['msg']}")
    return "; ".join(parts)


# The spec's email check, loosely: one "@", a dot in the domain, no spaces.
_EMAIL = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"


class CreateLinkBody(_Body):
    """``POST /connect/create-link``: every field of the spec, unknown keys refused."""

    end_user_email: str = Field(pattern=_EMAIL)
    end_user_organization_name: str = Field(min_length=1)
    end_user_origin_id: str | None = Field(default=None, min_length=1)
    remote_environment: str | None = None
    integration_category: Literal["HRIS", "ATS", "ASSESSMENT", "LMS"] = "HRIS"
    # The spec lists ~200 tools; any lower-case tool name is taken (it becomes the
    # integration id's prefix, as at Kombo).
    integration_tool: str | None = Field(default=None, pattern=r"^[a-z0-9]+$")
    language: Literal["en", "de", "fr", "it", "es"] | None = "en"
    scope_config_id: str | None = None
    enable_filtering: bool = False
    enable_field_mapping: bool = False
    link_type: Literal["EMBEDDED", "MAGIC_LINK"] = "EMBEDDED"

    @model_validator(mode="after")
    def _environment_needs_tool(self) -> CreateLinkBody:
        if self.remote_environment is not None and self.integration_tool is None:
            msg = "remote_environment can only be used together with integration_tool"
            raise ValueError(msg)
        return self
