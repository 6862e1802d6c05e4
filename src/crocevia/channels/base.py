"""The contract every channel adapter fulfils, and the channel-neutral values it trades in.

An adapter is pure translation: it verifies a provider's webhook, parses it into
``InboundEvent`` values, and turns an ``OutboundMessage`` into the provider's send call.
Adapters never touch the database; services do that with what adapters return.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, ClassVar

import httpx
from pydantic import BaseModel

from crocevia.domain.enums import MessageKind, MessageStatus
from crocevia.errors import ProviderError


# -- what comes in ------------------------------------------------------------------------
@dataclass(frozen=True)
class WebhookRequest:
    """A provider's HTTP call, as raw as it arrived (signatures cover raw bytes)."""

    method: str
    url: str
    headers: Mapping[str, str]  # keys lower-cased
    query: Mapping[str, str]
    body: bytes

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


@dataclass
class WebhookReply:
    """What to answer the provider (some want an echo, XML, or TwiML)."""

    status: int = 200
    body: bytes = b"ok"
    content_type: str = "text/plain"


@dataclass(frozen=True)
class MediaRef:
    """A media item as the provider refers to it: an id to fetch, or a URL."""

    provider_media_id: str = ""
    url: str = ""
    mime_type: str = ""
    filename: str = ""
    caption: str = ""


@dataclass(frozen=True)
class InboundMessage:
    external_message_id: str
    sender_id: str
    kind: MessageKind
    text: str = ""
    sender_name: str | None = None
    sender_phone: str | None = None
    content: dict[str, Any] = field(default_factory=dict)
    media: tuple[MediaRef, ...] = ()
    timestamp: datetime | None = None
    # Group chats: the platform's chat id; "" for a one-to-one chat.
    thread_id: str = ""
    reply_to_external_id: str | None = None


@dataclass(frozen=True)
class StatusUpdate:
    provider_message_id: str
    status: MessageStatus
    timestamp: datetime | None = None
    error: str | None = None


@dataclass(frozen=True)
class StatusUpTo:
    """A watermark receipt: every message we sent this person up to ``up_to`` has ``status``.

    Messenger reports reads (and some deliveries) this way, with no message ids.
    """

    recipient_id: str
    status: MessageStatus
    up_to: datetime


@dataclass(frozen=True)
class Reaction:
    target_external_id: str
    sender_id: str
    emoji: str  # "" removes the reaction
    timestamp: datetime | None = None


@dataclass(frozen=True)
class MessageEdit:
    external_message_id: str
    sender_id: str
    new_text: str
    timestamp: datetime | None = None


@dataclass(frozen=True)
class IgnoredEvent:
    """An event type we do not handle: acknowledged and logged, never an error."""

    event_type: str


InboundEvent = InboundMessage | StatusUpdate | StatusUpTo | Reaction | MessageEdit | IgnoredEvent


# -- what goes out ------------------------------------------------------------------------
@dataclass(frozen=True)
class Button:
    id: str
    title: str


@dataclass(frozen=True)
class OutboundMessage:
    message_id: int
    idempotency_key: str
    recipient_id: str
    kind: MessageKind
    text: str = ""
    thread_id: str = ""
    buttons: tuple[Button, ...] = ()
    media_url: str = ""
    media_mime_type: str = ""
    media_filename: str = ""
    template: dict[str, Any] | None = None  # {"name", "language", "parameters": [...]}
    content: dict[str, Any] = field(default_factory=dict)
    reply_to_external_id: str | None = None


@dataclass(frozen=True)
class SendResult:
    provider_message_id: str
    status: MessageStatus = MessageStatus.SENT


# -- what a channel can do ----------------------------------------------------------------
@dataclass(frozen=True)
class Capabilities:
    text: bool = True
    media: bool = True
    buttons: int = 0  # how many reply buttons a message may carry (0: none)
    lists: bool = False
    templates: bool = False
    location: bool = False
    groups: bool = False
    reactions: bool = False
    edits: bool = False
    max_text_length: int = 4096
    # Free-form replies are allowed only this long after the customer's last message.
    reply_window: timedelta | None = None
    reply_window_rule: str = ""
    # Throughput: whole channel, and per recipient chat (messages per second).
    rate_per_second: float = 20.0
    rate_per_chat_per_second: float | None = None
    # SMS: once a number has opted out, the carrier blocks every message to it, not just marketing.
    opt_out_blocks_all: bool = False


@dataclass(frozen=True)
class ChannelConfig:
    """Everything an adapter needs about one connected account."""

    channel_id: int
    public_id: str
    kind: str
    credentials: Mapping[str, Any]
    settings: Mapping[str, Any]
    webhook_url: str
    # Where the provider's API lives; points at the emulator in tests and the demo.
    api_base: str = ""


class ChannelAdapter(ABC):
    kind: ClassVar[str]
    display_name: ClassVar[str]
    capabilities: ClassVar[Capabilities]
    credentials_model: ClassVar[type[BaseModel]]
    default_api_base: ClassVar[str] = ""

    def api_base(self, cfg: ChannelConfig) -> str:
        return (cfg.api_base or str(cfg.settings.get("api_base", "")) or self.default_api_base).rstrip("/")

    def handshake(self, req: WebhookRequest, cfg: ChannelConfig) -> WebhookReply | None:
        """Answer a provider's set-up challenge; None when the request is not one."""
        return None

    @abstractmethod
    def verify(self, req: WebhookRequest, cfg: ChannelConfig) -> None:
        """Raise ``SignatureInvalid`` unless the request provably comes from the provider."""

    @abstractmethod
    def parse(self, req: WebhookRequest, cfg: ChannelConfig) -> list[InboundEvent]:
        """Translate a verified webhook into channel-neutral events."""

    def ack(self, req: WebhookRequest, cfg: ChannelConfig, events: list[InboundEvent]) -> WebhookReply:
        """The body the provider expects once events are safely stored."""
        return WebhookReply()

    @abstractmethod
    def send(self, msg: OutboundMessage, cfg: ChannelConfig, http: httpx.Client) -> SendResult:
        """Deliver one message; raise ``ProviderError`` (retryable or not) on failure."""

    def fetch_media(self, ref: MediaRef, cfg: ChannelConfig, http: httpx.Client) -> tuple[bytes, str]:
        """Download an inbound media item: (bytes, mime type)."""
        if not ref.url:
            raise ProviderError("media has no URL to fetch", retryable=False)
        resp = http.get(ref.url)
        raise_for_provider_status(resp)
        return resp.content, resp.headers.get("content-type", ref.mime_type or "application/octet-stream")

    def acknowledge_button(self, external_message_id: str, content: Mapping[str, Any], cfg: ChannelConfig,
                           http: httpx.Client) -> bool:
        """Tell the platform a button press was received (stops the spinner some apps show).

        Returns False where the platform needs no such answer.
        """
        return False

    def test_connection(self, cfg: ChannelConfig, http: httpx.Client) -> str:
        """Check the credentials against the provider; return a human summary."""
        return "credentials look well-formed (this channel has no connection test)"


def raise_for_provider_status(resp: httpx.Response, *, detail: str | None = None) -> None:
    """Map a provider's HTTP answer to retry (429, 5xx) or permanent failure (other 4xx)."""
    if resp.status_code < 400:
        return
    retry_after = parse_retry_after(resp.headers.get("retry-after"))
    text = detail or f"HTTP {resp.status_code}: {resp.text[:300]}"
    if resp.status_code == 429 or resp.status_code >= 500:
        raise ProviderError(text, retryable=True, retry_after=retry_after, provider_code=str(resp.status_code))
    raise ProviderError(text, retryable=False, provider_code=str(resp.status_code))


def parse_retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        from email.utils import parsedate_to_datetime

        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        from crocevia.clock import utcnow

        return max(0.0, (when - utcnow()).total_seconds())


def fallback_text(msg: OutboundMessage) -> str:
    """Buttons as numbered options, for channels that cannot show buttons."""
    if not msg.buttons:
        return msg.text
    lines = [msg.text, ""] if msg.text else []
    lines += [f"{i}. {b.title}" for i, b in enumerate(msg.buttons, start=1)]
    return "\n".join(lines)
