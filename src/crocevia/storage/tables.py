"""The core schema. Every row belongs to a workspace and every query is scoped by it.

Feature packages (dlp/, bots/, ...) declare their own tables on the same ``Base`` in their own
``tables.py``; ``storage.schema`` imports them all so Alembic sees one metadata.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from crocevia.clock import utcnow
from crocevia.storage.types import JSONType, UTCDateTime

# Named constraints so Alembic migrations are identical on both engines.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# SQLite only auto-increments INTEGER PRIMARY KEY; PostgreSQL wants BIGINT for big tables.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSONType}


def _ws_fk() -> Mapped[int]:
    return mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"), index=True)


class Workspace(Base):
    __tablename__ = "workspaces"
    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    language: Mapped[str] = mapped_column(String(8), default="it")
    timezone: Mapped[str] = mapped_column(String(64), default="Europe/Rome")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = _ws_fk()
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16))
    password_hash: Mapped[str] = mapped_column(String(200))
    language: Mapped[str | None] = mapped_column(String(8), default=None)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    settings: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class WebSession(Base):
    """A signed-in browser. Only the SHA-256 of the cookie value is stored."""

    __tablename__ = "web_sessions"
    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = _ws_fk()
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]


class ApiToken(Base):
    """A bearer token for the API; it acts as its user. Only its SHA-256 is stored."""

    __tablename__ = "api_tokens"
    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = _ws_fk()
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    prefix: Mapped[str] = mapped_column(String(16))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(default=None)
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)


class Team(Base):
    __tablename__ = "teams"
    __table_args__ = (UniqueConstraint("workspace_id", "name"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = _ws_fk()
    name: Mapped[str] = mapped_column(String(200))


class TeamMember(Base):
    __tablename__ = "team_members"
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)


class Channel(Base):
    """One connected account on one platform (an "inbox"). Credentials are encrypted at rest."""

    __tablename__ = "channels"
    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = _ws_fk()
    # The id providers see in the webhook URL: unguessable, so URLs cannot be enumerated.
    public_id: Mapped[str] = mapped_column(String(40), unique=True)
    kind: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(200))
    credentials_encrypted: Mapped[bytes] = mapped_column(LargeBinary)
    settings: Mapped[dict[str, Any]] = mapped_column(default=dict)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ChannelMember(Base):
    """Inbox membership: an agent sees only the conversations of channels they belong to."""

    __tablename__ = "channel_members"
    channel_id: Mapped[int] = mapped_column(
        ForeignKey("channels.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)


class Contact(Base):
    __tablename__ = "contacts"
    __table_args__ = (Index("ix_contacts_ws_phone", "workspace_id", "phone_e164"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = _ws_fk()
    name: Mapped[str | None] = mapped_column(String(200), default=None)
    phone_e164: Mapped[str | None] = mapped_column(String(20), default=None)
    email: Mapped[str | None] = mapped_column(String(254), default=None)
    country: Mapped[str | None] = mapped_column(String(2), default=None)
    language: Mapped[str | None] = mapped_column(String(8), default=None)
    timezone: Mapped[str | None] = mapped_column(String(64), default=None)
    birth_year: Mapped[int | None] = mapped_column(Integer, default=None)
    tags: Mapped[list[str]] = mapped_column(JSONType, default=list)
    attributes: Mapped[dict[str, Any]] = mapped_column(default=dict)
    merged_into_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("contacts.id", ondelete="SET NULL"), default=None
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime | None] = mapped_column(default=None)


class ContactIdentity(Base):
    """Who a contact is on one channel (a WhatsApp wa_id, a Telegram user id, ...)."""

    __tablename__ = "contact_identities"
    __table_args__ = (UniqueConstraint("channel_id", "external_id"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = _ws_fk()
    contact_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("contacts.id", ondelete="CASCADE"), index=True
    )
    channel_id: Mapped[int] = mapped_column(ForeignKey("channels.id", ondelete="CASCADE"))
    external_id: Mapped[str] = mapped_column(String(200))
    display_name: Mapped[str | None] = mapped_column(String(200), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ContactConsent(Base):
    """Current consent of a contact for marketing on one channel; history in ConsentEvent."""

    __tablename__ = "contact_consents"
    __table_args__ = (UniqueConstraint("contact_id", "channel_id"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = _ws_fk()
    contact_id: Mapped[int] = mapped_column(BigId, ForeignKey("contacts.id", ondelete="CASCADE"))
    channel_id: Mapped[int] = mapped_column(ForeignKey("channels.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(16))
    source: Mapped[str] = mapped_column(String(64))
    changed_at: Mapped[datetime] = mapped_column(default=utcnow)


class ConsentEvent(Base):
    """Append-only proof of every consent change (GDPR): who, which channel, when, how."""

    __tablename__ = "consent_events"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = _ws_fk()
    contact_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("contacts.id", ondelete="CASCADE"), index=True
    )
    channel_id: Mapped[int] = mapped_column(ForeignKey("channels.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(16))
    source: Mapped[str] = mapped_column(String(64))
    evidence: Mapped[str | None] = mapped_column(Text, default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Conversation(Base):
    __tablename__ = "conversations"
    __table_args__ = (
        Index("ix_conversations_ws_activity", "workspace_id", "last_activity_at", "id"),
        Index("ix_conversations_channel_contact", "channel_id", "contact_id", "thread_key"),
        # Inbound group messages look up the latest conversation of a group (ingest.py): 0005.
        Index("ix_conversations_channel_thread", "channel_id", "thread_key", "id"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = _ws_fk()
    channel_id: Mapped[int] = mapped_column(ForeignKey("channels.id", ondelete="CASCADE"))
    contact_id: Mapped[int] = mapped_column(BigId, ForeignKey("contacts.id", ondelete="CASCADE"))
    # Group chats: the platform's chat id; empty for one-to-one chats.
    thread_key: Mapped[str] = mapped_column(String(200), default="")
    status: Mapped[str] = mapped_column(String(16), default="open")
    assignee_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id", ondelete="SET NULL"), default=None)
    labels: Mapped[list[str]] = mapped_column(JSONType, default=list)
    snoozed_until: Mapped[datetime | None] = mapped_column(default=None)
    last_activity_at: Mapped[datetime] = mapped_column(default=utcnow)
    # The platform's reply window is counted from the customer's last message.
    last_inbound_at: Mapped[datetime | None] = mapped_column(default=None)
    last_message_preview: Mapped[str] = mapped_column(String(200), default="")
    unread_count: Mapped[int] = mapped_column(Integer, default=0)
    bot_active: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Message(Base):
    __tablename__ = "messages"
    __table_args__ = (
        # Inbound idempotency: the same provider message is stored once.
        UniqueConstraint("channel_id", "direction", "provider_message_id"),
        UniqueConstraint("workspace_id", "idempotency_key"),
        Index("ix_messages_conversation", "conversation_id", "id"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    # No index of its own: ix_messages_ws_created (workspace_id, created_at) serves every lookup
    # by workspace, and each index is one more B-tree to update on every stored message.
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    conversation_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("conversations.id", ondelete="CASCADE")
    )
    channel_id: Mapped[int] = mapped_column(ForeignKey("channels.id", ondelete="CASCADE"))
    direction: Mapped[str] = mapped_column(String(3))
    author_type: Mapped[str] = mapped_column(String(8))
    author_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    kind: Mapped[str] = mapped_column(String(16), default="text")
    text: Mapped[str] = mapped_column(Text, default="")
    content: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[str] = mapped_column(String(12))
    failure_reason: Mapped[str | None] = mapped_column(Text, default=None)
    provider_message_id: Mapped[str | None] = mapped_column(String(200), default=None)
    idempotency_key: Mapped[str | None] = mapped_column(String(200), default=None)
    reply_to_id: Mapped[int | None] = mapped_column(BigId, default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(default=None)
    delivered_at: Mapped[datetime | None] = mapped_column(default=None)
    read_at: Mapped[datetime | None] = mapped_column(default=None)


class Note(Base):
    """A private note on a conversation: seen by the team, never sent to the customer."""

    __tablename__ = "notes"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = _ws_fk()
    conversation_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("conversations.id", ondelete="CASCADE"), index=True
    )
    author_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    text: Mapped[str] = mapped_column(Text)
    mentions: Mapped[list[int]] = mapped_column(JSONType, default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Attachment(Base):
    __tablename__ = "attachments"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = _ws_fk()
    message_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("messages.id", ondelete="CASCADE"), index=True, default=None
    )
    storage_key: Mapped[str] = mapped_column(String(300))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(BigInteger)
    filename: Mapped[str] = mapped_column(String(300), default="")
    sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class OutboxItem(Base):
    """A message waiting to go out, written in the same transaction as the message itself."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_due", "status", "next_attempt_at"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = _ws_fk()
    message_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("messages.id", ondelete="CASCADE"), unique=True
    )
    channel_id: Mapped[int] = mapped_column(ForeignKey("channels.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(12), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    lease_until: Mapped[datetime | None] = mapped_column(default=None)
    worker_id: Mapped[str | None] = mapped_column(String(64), default=None)
    last_error: Mapped[str | None] = mapped_column(Text, default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class EarlyStatus(Base):
    """A delivery status that arrived before we recorded the provider's id for the message.

    Providers may call back faster than the sender commits what the send returned; the status
    waits here and is applied the moment the id is stored.
    """

    __tablename__ = "early_statuses"
    __table_args__ = (Index("ix_early_statuses_lookup", "channel_id", "provider_message_id"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    channel_id: Mapped[int] = mapped_column(ForeignKey("channels.id", ondelete="CASCADE"))
    provider_message_id: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(12))
    error: Mapped[str | None] = mapped_column(Text, default=None)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class WebhookSubscription(Base):
    """An outgoing webhook: a business's CRM subscribed to hub events."""

    __tablename__ = "webhook_subscriptions"
    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = _ws_fk()
    url: Mapped[str] = mapped_column(String(1000))
    secret_encrypted: Mapped[bytes] = mapped_column(LargeBinary)
    events: Mapped[list[str]] = mapped_column(JSONType, default=list)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class WebhookDelivery(Base):
    __tablename__ = "webhook_deliveries"
    __table_args__ = (Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = _ws_fk()
    subscription_id: Mapped[int] = mapped_column(
        ForeignKey("webhook_subscriptions.id", ondelete="CASCADE"), index=True
    )
    event_id: Mapped[str] = mapped_column(String(40))
    event_type: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]] = mapped_column()
    status: Mapped[str] = mapped_column(String(12), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    lease_until: Mapped[datetime | None] = mapped_column(default=None)
    last_error: Mapped[str | None] = mapped_column(Text, default=None)
    response_status: Mapped[int | None] = mapped_column(Integer, default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Task(Base):
    """A durable background task (fetch inbound media, send a reminder...): survives restarts.

    Claimed with a lease like the outbox; ``run_after`` schedules it for later.
    """

    __tablename__ = "tasks"
    __table_args__ = (Index("ix_tasks_due", "status", "run_after"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = _ws_fk()
    kind: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[str] = mapped_column(String(12), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    run_after: Mapped[datetime] = mapped_column(default=utcnow)
    lease_until: Mapped[datetime | None] = mapped_column(default=None)
    last_error: Mapped[str | None] = mapped_column(Text, default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class DlpRule(Base):
    """What to do with one label of sensitive data, per direction and optionally per channel.

    A rule with ``channel_id`` set overrides the workspace-wide rule for that channel.
    """

    __tablename__ = "dlp_rules"
    __table_args__ = (UniqueConstraint("workspace_id", "channel_id", "direction", "label"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = _ws_fk()
    channel_id: Mapped[int | None] = mapped_column(ForeignKey("channels.id", ondelete="CASCADE"), default=None)
    direction: Mapped[str] = mapped_column(String(12))
    label: Mapped[str] = mapped_column(String(40))
    action: Mapped[str] = mapped_column(String(8))
    alert: Mapped[bool] = mapped_column(Boolean, default=False)


class DlpFinding(Base):
    """One piece of sensitive data seen in a message or note (never the clear value)."""

    __tablename__ = "dlp_findings"
    __table_args__ = (Index("ix_dlp_findings_ws_time", "workspace_id", "created_at"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = _ws_fk()
    channel_id: Mapped[int | None] = mapped_column(ForeignKey("channels.id", ondelete="SET NULL"), default=None)
    conversation_id: Mapped[int | None] = mapped_column(BigId, default=None)
    message_id: Mapped[int | None] = mapped_column(BigId, default=None)
    note_id: Mapped[int | None] = mapped_column(BigId, default=None)
    direction: Mapped[str] = mapped_column(String(12))
    label: Mapped[str] = mapped_column(String(40))
    detector: Mapped[str] = mapped_column(String(64))
    score: Mapped[float] = mapped_column()
    action: Mapped[str] = mapped_column(String(8))
    agent_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), default=None)
    excerpt: Mapped[str] = mapped_column(String(300), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class DlpVaultItem(Base):
    """The original of a vaulted message, encrypted; revealed only to allowed roles, each time audited."""

    __tablename__ = "dlp_vault"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = _ws_fk()
    message_id: Mapped[int | None] = mapped_column(BigId, unique=True, default=None)
    note_id: Mapped[int | None] = mapped_column(BigId, unique=True, default=None)
    original_encrypted: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class AuditLog(Base):
    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = _ws_fk()
    actor_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    action: Mapped[str] = mapped_column(String(64))
    target: Mapped[str] = mapped_column(String(200), default="")
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


# -- automation and selling (issue 6): bot flows, bookings, catalog, orders, payments ---------------
class BotFlow(Base):
    """A bot flow declared as data (JSON/YAML); ``version`` grows on every edit."""

    __tablename__ = "bot_flows"
    __table_args__ = (UniqueConstraint("workspace_id", "name"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = _ws_fk()
    name: Mapped[str] = mapped_column(String(100))
    version: Mapped[int] = mapped_column(Integer, default=1)
    definition: Mapped[dict[str, Any]] = mapped_column(default=dict)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class BotSession(Base):
    """Where a conversation is in a flow: survives restarts because it is a row."""

    __tablename__ = "bot_sessions"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = _ws_fk()
    conversation_id: Mapped[int] = mapped_column(BigId, ForeignKey("conversations.id", ondelete="CASCADE"),
                                                 unique=True)
    flow_id: Mapped[int | None] = mapped_column(ForeignKey("bot_flows.id", ondelete="SET NULL"), default=None)
    step: Mapped[str] = mapped_column(String(100), default="")
    # running (waiting for the customer), idle (no flow), handoff (a person answers; the bot is silent)
    state: Mapped[str] = mapped_column(String(16), default="idle")
    slots: Mapped[dict[str, Any]] = mapped_column(default=dict)
    lang: Mapped[str] = mapped_column(String(8), default="it")
    # The last inbound message handled: a task run twice does not answer twice.
    last_message_id: Mapped[int | None] = mapped_column(BigId, default=None)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class BookingResource(Base):
    """Something bookable (tables, rooms, seats): ``capacity`` units per slot."""

    __tablename__ = "booking_resources"
    __table_args__ = (UniqueConstraint("workspace_id", "name"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = _ws_fk()
    name: Mapped[str] = mapped_column(String(100))
    capacity: Mapped[int] = mapped_column(Integer)
    slot_minutes: Mapped[int] = mapped_column(Integer, default=60)
    # {"mon": ["12:00-15:00", "19:00-23:00"], ...} in the resource's time zone
    hours: Mapped[dict[str, Any]] = mapped_column(default=dict)
    closed_dates: Mapped[list[str]] = mapped_column(JSONType, default=list)
    timezone: Mapped[str] = mapped_column(String(64), default="Europe/Rome")
    # "booking": each booking takes one unit (tables, rooms); "person": a party of 4 takes 4 (seats).
    capacity_unit: Mapped[str] = mapped_column(String(16), default="booking")
    # Reminder to the customer this many minutes before the slot (0: none).
    reminder_minutes: Mapped[int] = mapped_column(Integer, default=120)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class BookingSlot(Base):
    """Units taken in one slot: the capacity check is one conditional UPDATE of this row."""

    __tablename__ = "booking_slots"
    __table_args__ = (UniqueConstraint("resource_id", "starts_at"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = _ws_fk()
    resource_id: Mapped[int] = mapped_column(ForeignKey("booking_resources.id", ondelete="CASCADE"))
    starts_at: Mapped[datetime] = mapped_column()
    booked: Mapped[int] = mapped_column(Integer, default=0)


class Booking(Base):
    __tablename__ = "bookings"
    __table_args__ = (Index("ix_bookings_ws_start", "workspace_id", "starts_at"),
                      Index("ix_bookings_contact", "contact_id"))  # the inbox's contact panel
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = _ws_fk()
    resource_id: Mapped[int] = mapped_column(ForeignKey("booking_resources.id", ondelete="CASCADE"))
    contact_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("contacts.id", ondelete="SET NULL"),
                                                   default=None)
    conversation_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("conversations.id", ondelete="SET NULL"), default=None)
    starts_at: Mapped[datetime] = mapped_column()
    party_size: Mapped[int] = mapped_column(Integer, default=1)
    name: Mapped[str] = mapped_column(String(200), default="")
    status: Mapped[str] = mapped_column(String(16), default="confirmed")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    cancelled_at: Mapped[datetime | None] = mapped_column(default=None)


class Product(Base):
    """A catalog item; prices in minor units (cents) with their currency, never floats."""

    __tablename__ = "products"
    __table_args__ = (UniqueConstraint("workspace_id", "sku"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = _ws_fk()
    sku: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    price_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3), default="EUR")
    stock: Mapped[int | None] = mapped_column(Integer, default=None)  # None: not tracked
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Order(Base):
    __tablename__ = "orders"
    __table_args__ = (Index("ix_orders_contact", "contact_id"),)  # the inbox's contact panel
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = _ws_fk()
    conversation_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("conversations.id", ondelete="SET NULL"), default=None)
    contact_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("contacts.id", ondelete="SET NULL"),
                                                   default=None)
    # pending (awaiting payment) → paid; or cancelled
    status: Mapped[str] = mapped_column(String(16), default="pending")
    currency: Mapped[str] = mapped_column(String(3), default="EUR")
    total_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    items: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    lang: Mapped[str] = mapped_column(String(8), default="it")
    payment_ref: Mapped[str | None] = mapped_column(String(200), unique=True, default=None)
    payment_url: Mapped[str | None] = mapped_column(Text, default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    paid_at: Mapped[datetime | None] = mapped_column(default=None)


class PaymentAccount(Base):
    """A workspace's payment provider account (Stripe-compatible); secrets encrypted at rest."""

    __tablename__ = "payment_accounts"
    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"), unique=True)
    provider: Mapped[str] = mapped_column(String(32), default="stripe")
    # The id in the provider's webhook URL: unguessable, like a channel's.
    public_id: Mapped[str] = mapped_column(String(40), unique=True)
    api_base: Mapped[str] = mapped_column(String(300))
    credentials_encrypted: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


# ── Tickets and SLA (issue 8) ─────────────────────────────────────────────────────────────────


class SlaPolicy(Base):
    """Targets for one priority/type, counted in the policy's business hours and time zone.

    ``business_hours`` maps an ISO weekday ("1" = Monday ... "7" = Sunday) to ``["09:00", "18:00"]``;
    empty means round the clock. ``holidays`` lists closed days as "YYYY-MM-DD".
    """

    __tablename__ = "sla_policies"
    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = _ws_fk()
    name: Mapped[str] = mapped_column(String(200))
    priority: Mapped[str | None] = mapped_column(String(16), default=None)
    ticket_type: Mapped[str | None] = mapped_column(String(40), default=None)
    first_response_minutes: Mapped[int | None] = mapped_column(Integer, default=None)
    resolution_minutes: Mapped[int | None] = mapped_column(Integer, default=None)
    warn_minutes: Mapped[int] = mapped_column(Integer, default=15)
    timezone: Mapped[str] = mapped_column(String(64), default="Europe/Rome")
    business_hours: Mapped[dict[str, Any]] = mapped_column(default=dict)
    holidays: Mapped[list[str]] = mapped_column(JSONType, default=list)
    # On breach the ticket moves to this team (escalation); the breach event goes out either way.
    escalate_team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id", ondelete="SET NULL"), default=None)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Ticket(Base):
    __tablename__ = "tickets"
    __table_args__ = (
        UniqueConstraint("workspace_id", "number"),
        Index("ix_tickets_ws_status", "workspace_id", "status", "id"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = _ws_fk()
    # The number people say ("ticket 123"): per workspace, from 1.
    number: Mapped[int] = mapped_column(Integer)
    subject: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text, default="")
    type: Mapped[str] = mapped_column(String(40), default="question")
    priority: Mapped[str] = mapped_column(String(16), default="normal")
    status: Mapped[str] = mapped_column(String(16), default="new")
    contact_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("contacts.id", ondelete="SET NULL"), index=True, default=None
    )
    # The conversation customer updates go to (the channel the customer used).
    conversation_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("conversations.id", ondelete="SET NULL"), default=None
    )
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), default=None)
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id", ondelete="SET NULL"), default=None)
    custom_fields: Mapped[dict[str, Any]] = mapped_column(default=dict)
    sla_policy_id: Mapped[int | None] = mapped_column(
        ForeignKey("sla_policies.id", ondelete="SET NULL"), default=None
    )
    first_response_due_at: Mapped[datetime | None] = mapped_column(default=None)
    first_response_warn_at: Mapped[datetime | None] = mapped_column(default=None)
    resolution_due_at: Mapped[datetime | None] = mapped_column(default=None)
    resolution_warn_at: Mapped[datetime | None] = mapped_column(default=None)
    # Set while pending (waiting on the customer): the SLA clock stands still.
    sla_paused_at: Mapped[datetime | None] = mapped_column(default=None)
    # The soonest SLA moment still to check (warning or breach); NULL when nothing is left.
    sla_next_check_at: Mapped[datetime | None] = mapped_column(index=True, default=None)
    first_responded_at: Mapped[datetime | None] = mapped_column(default=None)
    first_response_warned_at: Mapped[datetime | None] = mapped_column(default=None)
    first_response_breached_at: Mapped[datetime | None] = mapped_column(default=None)
    resolution_warned_at: Mapped[datetime | None] = mapped_column(default=None)
    resolution_breached_at: Mapped[datetime | None] = mapped_column(default=None)
    solved_at: Mapped[datetime | None] = mapped_column(default=None)
    closed_at: Mapped[datetime | None] = mapped_column(default=None)
    csat_requested_at: Mapped[datetime | None] = mapped_column(default=None)
    csat_score: Mapped[int | None] = mapped_column(Integer, default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class TicketConversation(Base):
    """A conversation linked to a ticket (one ticket may gather several)."""

    __tablename__ = "ticket_conversations"
    ticket_id: Mapped[int] = mapped_column(BigId, ForeignKey("tickets.id", ondelete="CASCADE"), primary_key=True)
    conversation_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("conversations.id", ondelete="CASCADE"), primary_key=True
    )
    workspace_id: Mapped[int] = _ws_fk()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class TicketEvent(Base):
    """A ticket's history: status changes, internal notes, SLA warnings and breaches, and what the
    customer was told (or why they were not)."""

    __tablename__ = "ticket_events"
    __table_args__ = (Index("ix_ticket_events_ticket", "ticket_id", "id"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = _ws_fk()
    ticket_id: Mapped[int] = mapped_column(BigId, ForeignKey("tickets.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(32))
    actor_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), default=None)
    text: Mapped[str] = mapped_column(Text, default="")
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class TicketRule(Base):
    """When ``event`` happens and every condition holds, run the actions (see services/ticket_rules.py)."""

    __tablename__ = "ticket_rules"
    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = _ws_fk()
    name: Mapped[str] = mapped_column(String(200))
    event: Mapped[str] = mapped_column(String(40))
    conditions: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    actions: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


# -- promotion: segments, templates, campaigns, surveys (issue 7) ----------------------------------
class Segment(Base):
    """A saved filter over contacts (see services/segments.py for the filter language)."""

    __tablename__ = "segments"
    __table_args__ = (UniqueConstraint("workspace_id", "name"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = _ws_fk()
    name: Mapped[str] = mapped_column(String(200))
    filter: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class MessageTemplate(Base):
    """A message with variables and per-language variants; WhatsApp ones carry category and approval."""

    __tablename__ = "message_templates"
    __table_args__ = (UniqueConstraint("workspace_id", "name"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = _ws_fk()
    name: Mapped[str] = mapped_column(String(200))
    category: Mapped[str] = mapped_column(String(16), default="marketing")
    approval_status: Mapped[str] = mapped_column(String(16), default="draft")
    # The name the template is approved under at the provider (WhatsApp), if any.
    provider_name: Mapped[str | None] = mapped_column(String(200), default=None)
    variants: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class Campaign(Base):
    __tablename__ = "campaigns"
    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = _ws_fk()
    name: Mapped[str] = mapped_column(String(200))
    # Deleting a segment or template in use is refused by the services; SET NULL only matters when
    # the whole workspace goes.
    segment_id: Mapped[int | None] = mapped_column(ForeignKey("segments.id", ondelete="SET NULL"), default=None)
    template_id: Mapped[int | None] = mapped_column(
        ForeignKey("message_templates.id", ondelete="SET NULL"), default=None
    )
    # A survey campaign asks a survey ("nps"/"csat") instead of sending a template.
    survey_kind: Mapped[str | None] = mapped_column(String(8), default=None)
    channel_order: Mapped[list[int]] = mapped_column(JSONType, default=list)
    status: Mapped[str] = mapped_column(String(12), default="draft")
    scheduled_at: Mapped[datetime | None] = mapped_column(default=None)
    quiet_start: Mapped[str | None] = mapped_column(String(5), default=None)
    quiet_end: Mapped[str | None] = mapped_column(String(5), default=None)
    cap_count: Mapped[int | None] = mapped_column(Integer, default=None)
    cap_days: Mapped[int] = mapped_column(Integer, default=7)
    # A/B test: this share of the audience (percent) gets variant B's template.
    variant_b_template_id: Mapped[int | None] = mapped_column(
        ForeignKey("message_templates.id", ondelete="SET NULL"), default=None
    )
    split_b_percent: Mapped[int] = mapped_column(Integer, default=0)
    winner_metric: Mapped[str] = mapped_column(String(12), default="replied")
    # Send at this local time (HH:MM) in each recipient's time zone, on or after the start.
    local_time: Mapped[str | None] = mapped_column(String(5), default=None)
    # An order or booking by a recipient within this many days of the message counts as a conversion.
    conversion_days: Mapped[int] = mapped_column(Integer, default=7)
    audience_resolved: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(default=None)
    finished_at: Mapped[datetime | None] = mapped_column(default=None)


class CampaignRecipient(Base):
    """One contact of a campaign: exactly one row per (campaign, contact), so a resumed fan-out never doubles."""

    __tablename__ = "campaign_recipients"
    __table_args__ = (
        UniqueConstraint("campaign_id", "contact_id"),
        Index("ix_campaign_recipients_todo", "campaign_id", "status", "id"),
        Index("ix_campaign_recipients_contact", "contact_id", "status", "updated_at"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = _ws_fk()
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    contact_id: Mapped[int] = mapped_column(BigId, ForeignKey("contacts.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(12), default="pending")
    reason: Mapped[str | None] = mapped_column(String(64), default=None)
    variant: Mapped[str] = mapped_column(String(1), default="A")
    channel_id: Mapped[int | None] = mapped_column(ForeignKey("channels.id", ondelete="SET NULL"), default=None)
    message_id: Mapped[int | None] = mapped_column(BigId, default=None)
    not_before: Mapped[datetime | None] = mapped_column(default=None)
    clicked_at: Mapped[datetime | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class SurveyResponse(Base):
    """A CSAT/NPS question asked in one conversation, and the customer's answer."""

    __tablename__ = "survey_responses"
    __table_args__ = (
        Index("ix_survey_responses_open", "contact_id", "channel_id", "status"),
        Index("ix_survey_responses_ws_kind", "workspace_id", "kind", "answered_at"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = _ws_fk()
    kind: Mapped[str] = mapped_column(String(8))
    conversation_id: Mapped[int] = mapped_column(BigId, ForeignKey("conversations.id", ondelete="CASCADE"))
    contact_id: Mapped[int] = mapped_column(BigId, ForeignKey("contacts.id", ondelete="CASCADE"))
    channel_id: Mapped[int] = mapped_column(ForeignKey("channels.id", ondelete="CASCADE"))
    campaign_id: Mapped[int | None] = mapped_column(ForeignKey("campaigns.id", ondelete="SET NULL"), default=None)
    language: Mapped[str] = mapped_column(String(8), default="it")
    status: Mapped[str] = mapped_column(String(12), default="asked")
    score: Mapped[int | None] = mapped_column(Integer, default=None)
    comment: Mapped[str | None] = mapped_column(Text, default=None)
    asked_at: Mapped[datetime] = mapped_column(default=utcnow)
    answered_at: Mapped[datetime | None] = mapped_column(default=None)


class SurveySettings(Base):
    """Per-workspace survey behaviour: ask CSAT when a conversation is resolved, follow-up question."""

    __tablename__ = "survey_settings"
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True)
    csat_on_resolve: Mapped[bool] = mapped_column(Boolean, default=False)
    follow_up: Mapped[bool] = mapped_column(Boolean, default=True)


# -- Canned responses (issue 5: agent inbox) -----------------------------------------------------
class CannedResponse(Base):
    """A saved reply of a workspace, typed as "/shortcut" in the composer; {{contact.name}} style
    variables are filled in by the browser from the open conversation before sending."""

    __tablename__ = "canned_responses"
    __table_args__ = (UniqueConstraint("workspace_id", "shortcut"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = _ws_fk()
    shortcut: Mapped[str] = mapped_column(String(40))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class Label(Base):
    """A label of the workspace's catalogue (issue 5). Conversations keep label *names* in their JSON
    ``labels`` list (free strings before the catalogue existed); ``services/labels.py`` keeps the two in
    step: applying an unknown name adds it here, renaming or deleting one rewrites the conversations."""

    __tablename__ = "labels"
    __table_args__ = (UniqueConstraint("workspace_id", "name"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = _ws_fk()
    name: Mapped[str] = mapped_column(String(40))
    color: Mapped[str] = mapped_column(String(7), default="#6b7280")  # "#rrggbb"
    description: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


# -- channel advisor and analytics (issue 9) ----------------------------------------------------------
class AdvisorDataset(Base):
    """An admin's replacement, for one workspace, of one shipped data set of public figures (CSV)."""

    __tablename__ = "advisor_datasets"
    __table_args__ = (UniqueConstraint("workspace_id", "name"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = _ws_fk()
    name: Mapped[str] = mapped_column(String(40))
    csv_text: Mapped[str] = mapped_column(Text)
    rows: Mapped[int] = mapped_column(Integer)
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), default=None)
    uploaded_at: Mapped[datetime] = mapped_column(default=utcnow)


class ConversationResolution(Base):
    """A conversation being resolved: when its open spell began and how long it lasted (for dashboards)."""

    __tablename__ = "conversation_resolutions"
    __table_args__ = (Index("ix_conversation_resolutions_ws_time", "workspace_id", "resolved_at"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = _ws_fk()
    conversation_id: Mapped[int] = mapped_column(BigId, ForeignKey("conversations.id", ondelete="CASCADE"))
    channel_id: Mapped[int] = mapped_column(ForeignKey("channels.id", ondelete="CASCADE"))
    opened_at: Mapped[datetime]
    resolved_at: Mapped[datetime]
    seconds: Mapped[int] = mapped_column(BigInteger)


# Dashboards read messages by workspace and time range.
Index("ix_messages_ws_created", Message.workspace_id, Message.created_at)


class AnalyticsChannelHour(Base):
    """Hourly rollup per channel (complete UTC days only; see services/rollups.py): messages in/out by the
    hour they were created, customer waits by the hour of their conversation-day's first customer
    message, bot conversation-days by the hour of their first bot message. Hours add up to any range."""

    __tablename__ = "analytics_channel_hours"
    __table_args__ = (UniqueConstraint("workspace_id", "day", "channel_id", "hour"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    channel_id: Mapped[int] = mapped_column(ForeignKey("channels.id", ondelete="CASCADE"))
    day: Mapped[date]
    hour: Mapped[int] = mapped_column(Integer)  # 0-23, UTC
    inbound: Mapped[int] = mapped_column(BigInteger)
    outbound: Mapped[int] = mapped_column(BigInteger)
    # Customer waits: (conversation, day) pairs with a customer message; answered = an agent replied
    # (by the time the day was rolled up; later replies: AnalyticsPendingWait); seconds summed.
    waiting: Mapped[int] = mapped_column(BigInteger)
    answered: Mapped[int] = mapped_column(BigInteger)
    response_seconds: Mapped[float] = mapped_column(Float)
    # (conversation, day) pairs with a bot message; contained = no agent message that day.
    bot_conversations: Mapped[int] = mapped_column(BigInteger)
    bot_contained: Mapped[int] = mapped_column(BigInteger)


class AnalyticsStatusHour(Base):
    """Outbound messages per (channel, UTC hour created, status, failure reason) as summed counts: the
    rollup's rows plus -1/+1 rows a database trigger adds on every later status change (migration 0018)."""

    __tablename__ = "analytics_status_hours"
    __table_args__ = (Index("ix_analytics_status_hours_ws_day", "workspace_id", "day", "channel_id"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    channel_id: Mapped[int] = mapped_column(ForeignKey("channels.id", ondelete="CASCADE"))
    day: Mapped[date]
    hour: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(12))
    reason: Mapped[str | None] = mapped_column(Text, default=None)
    n: Mapped[int] = mapped_column(BigInteger)


class AnalyticsPendingWait(Base):
    """A customer wait of a rolled-up day that had no agent reply yet; resolved by the rollup task."""

    __tablename__ = "analytics_pending_waits"
    __table_args__ = (Index("ix_analytics_pending_waits_ws_day", "workspace_id", "day"),
                      Index("ix_analytics_pending_waits_conversation", "conversation_id"))
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    channel_id: Mapped[int] = mapped_column(ForeignKey("channels.id", ondelete="CASCADE"))
    conversation_id: Mapped[int] = mapped_column(BigId, ForeignKey("conversations.id", ondelete="CASCADE"))
    day: Mapped[date]
    first_in: Mapped[datetime]


class AnalyticsContactDay(Base):
    """A contact wrote on a channel that UTC day: distinct active contacts over any span of rolled days."""

    __tablename__ = "analytics_contact_days"
    __table_args__ = (UniqueConstraint("workspace_id", "day", "channel_id", "contact_id"),
                      Index("ix_analytics_contact_days_contact", "channel_id", "contact_id", "day"))
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    channel_id: Mapped[int] = mapped_column(ForeignKey("channels.id", ondelete="CASCADE"))
    contact_id: Mapped[int] = mapped_column(BigId, ForeignKey("contacts.id", ondelete="CASCADE"))
    day: Mapped[date]
    # The contact's first and last message on the channel that day: who wrote in a partial edge day.
    first_at: Mapped[datetime]
    last_at: Mapped[datetime]
    # The contact's previous and next day with a message on the channel (None: none before / none yet).
    prev_day: Mapped[date | None] = mapped_column(default=None)
    next_day: Mapped[date | None] = mapped_column(default=None)


class AnalyticsActiveDay(Base):
    """Contacts who wrote on a channel that UTC day, counted per the day they had written before
    (``prev_day``; None: never). Distinct contacts over whole days [a, b) = the sum over those days of the
    rows with ``prev_day`` before a or None (each contact counts on its first day in the range), without
    reading one row per contact."""

    __tablename__ = "analytics_active_days"
    __table_args__ = (Index("ix_analytics_active_days_ws_day", "workspace_id", "day", "channel_id"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    channel_id: Mapped[int] = mapped_column(ForeignKey("channels.id", ondelete="CASCADE"))
    day: Mapped[date]
    prev_day: Mapped[date | None] = mapped_column(default=None)
    contacts: Mapped[int] = mapped_column(BigInteger)


class AnalyticsRollupState(Base):
    """Per workspace: every UTC day before ``rolled_until`` is in the daily rollups."""

    __tablename__ = "analytics_rollup_state"
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True)
    rolled_until: Mapped[date]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Replies created before this (minus rollups.GRACE) are in the rollups; later ones are read live.
    waits_checked_at: Mapped[datetime | None] = mapped_column(default=None)
