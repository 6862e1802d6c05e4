"""The vocabularies the rest of the code agrees on."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    OWNER = "owner"
    ADMIN = "admin"
    AGENT = "agent"
    VIEWER = "viewer"

    @property
    def sees_all_inboxes(self) -> bool:
        return self in (Role.OWNER, Role.ADMIN)

    @property
    def can_write(self) -> bool:
        return self is not Role.VIEWER

    @property
    def can_administer(self) -> bool:
        return self in (Role.OWNER, Role.ADMIN)


class ConversationStatus(StrEnum):
    OPEN = "open"
    PENDING = "pending"
    SNOOZED = "snoozed"
    RESOLVED = "resolved"


class Direction(StrEnum):
    IN = "in"
    OUT = "out"


class AuthorType(StrEnum):
    CONTACT = "contact"
    AGENT = "agent"
    BOT = "bot"
    SYSTEM = "system"


class MessageKind(StrEnum):
    TEXT = "text"
    MEDIA = "media"
    LOCATION = "location"
    CONTACTS = "contacts"
    BUTTONS = "buttons"
    LIST = "list"
    BUTTON_REPLY = "button_reply"
    TEMPLATE = "template"
    REACTION = "reaction"
    UNSUPPORTED = "unsupported"


class MessageStatus(StrEnum):
    RECEIVED = "received"
    QUEUED = "queued"
    SENT = "sent"
    DELIVERED = "delivered"
    READ = "read"
    FAILED = "failed"

    @property
    def rank(self) -> int:
        """Statuses only move forward: a late 'delivered' never overwrites 'read'."""
        return _STATUS_RANK[self]


_STATUS_RANK = {
    MessageStatus.RECEIVED: 0,
    MessageStatus.QUEUED: 1,
    MessageStatus.SENT: 2,
    MessageStatus.DELIVERED: 3,
    MessageStatus.READ: 4,
    MessageStatus.FAILED: 5,
}


class ConsentStatus(StrEnum):
    OPTED_IN = "opted_in"
    OPTED_OUT = "opted_out"


class OutboxStatus(StrEnum):
    PENDING = "pending"
    IN_FLIGHT = "in_flight"
    DONE = "done"
    FAILED = "failed"
