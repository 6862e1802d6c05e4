"""Request and response bodies. Create/Update/Public are separate so secrets never leak out."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from crocevia.api.deps import MAX_ID
from crocevia.domain.enums import ConsentStatus, Role

# An id sent in a body: a row id fits a BIGINT, so anything else is refused naming the field.
DbId = Annotated[int, Field(ge=1, le=MAX_ID)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LoginIn(Strict):
    email: str
    password: str


class UserPublic(BaseModel):
    id: int
    email: str
    name: str
    role: Role
    language: str | None
    is_active: bool


class MeOut(BaseModel):
    user: UserPublic
    workspace_id: int
    csrf_token: str | None = None


class UserCreate(Strict):
    email: str
    name: str = Field(min_length=1, max_length=200)
    role: Role = Role.AGENT
    password: str
    language: str | None = None


class UserUpdate(Strict):
    name: str | None = None
    role: Role | None = None
    is_active: bool | None = None
    password: str | None = None
    language: str | None = None
    settings: dict[str, Any] | None = None


class TokenCreate(Strict):
    name: str = Field(min_length=1, max_length=200)


class TokenPublic(BaseModel):
    id: int
    name: str
    prefix: str
    created_at: datetime
    revoked_at: datetime | None


class TokenCreated(TokenPublic):
    token: str = Field(description="Shown once; store it now.")


class TeamCreate(Strict):
    name: str
    member_ids: list[DbId] = []


class TeamUpdate(Strict):
    name: str | None = None
    member_ids: list[DbId] | None = None  # the whole new membership


class TeamPublic(BaseModel):
    id: int
    name: str
    member_ids: list[int]


class ChannelCreate(Strict):
    kind: str
    name: str
    credentials: dict[str, Any]
    settings: dict[str, Any] = {}


class ChannelUpdate(Strict):
    name: str | None = None
    credentials: dict[str, Any] | None = None
    settings: dict[str, Any] | None = None
    is_active: bool | None = None


class ChannelPublic(BaseModel):
    """No credentials here, ever: they stay encrypted in the database."""

    id: int
    public_id: str
    kind: str
    name: str
    is_active: bool
    webhook_url: str
    settings: dict[str, Any]


class MembersIn(Strict):
    user_ids: list[DbId]


class ContactIn(Strict):
    name: str | None = None
    phone: str | None = None
    email: str | None = None
    country: str | None = None
    language: str | None = None
    timezone: str | None = None
    birth_year: int | None = None
    tags: list[str] | None = None
    attributes: dict[str, Any] | None = None


class ConsentIn(Strict):
    channel_id: DbId
    status: ConsentStatus
    source: str = "agent"
    evidence: str | None = None


class MergeIn(Strict):
    merge_id: DbId = Field(description="The duplicate to fold into this contact")


class AssignIn(Strict):
    assignee_id: DbId | None
    team_id: DbId | None = None


class StatusIn(Strict):
    status: Literal["open", "pending", "snoozed", "resolved"]
    # With its offset: a bare local time means different moments to agents in different zones.
    snoozed_until: AwareDatetime | None = None


class LabelsIn(Strict):
    labels: list[str]


class ButtonIn(Strict):
    id: str | None = None
    title: str


class MessageIn(Strict):
    text: str = ""
    buttons: list[ButtonIn] = []
    template: dict[str, Any] | None = None
    attachment_id: DbId | None = None
    tag: str | None = None
    idempotency_key: str | None = Field(default=None, max_length=200)


class NoteIn(Strict):
    text: str


class WebhookSubscriptionCreate(Strict):
    url: str
    events: list[str] = ["*"]
    secret: str | None = Field(default=None, min_length=16)


class WebhookSubscriptionPublic(BaseModel):
    id: int
    url: str
    events: list[str]
    is_active: bool
    created_at: datetime


class WebhookSubscriptionCreated(WebhookSubscriptionPublic):
    secret: str = Field(description="Shown once: verify X-Crocevia-Signature with it.")
