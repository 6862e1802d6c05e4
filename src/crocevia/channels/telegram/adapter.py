"""Telegram bots through the Bot API.

inbound  POST /webhooks/telegram/<channel>  an Update (JSON), X-Telegram-Bot-Api-Secret-Token
outbound POST <api_base>/bot<token>/<method>  JSON body; the token in the path is the only auth
media    getFile(file_id) -> file_path, then GET <api_base>/file/bot<token>/<file_path>

Telegram signs nothing: the secret token given to setWebhook comes back as a header on every
update, and comparing it (in constant time) is the whole check. It does not cover the body.
"""

from __future__ import annotations

import mimetypes
from collections.abc import Mapping
from typing import Any, ClassVar

import httpx
from pydantic import BaseModel, Field

from crocevia.channels.base import (
    Capabilities,
    ChannelAdapter,
    ChannelConfig,
    InboundEvent,
    MediaRef,
    OutboundMessage,
    SendResult,
    WebhookRequest,
)
from crocevia.channels.telegram import inbound, outbound
from crocevia.errors import ProviderError, SignatureInvalid
from crocevia.security import constant_time_equals

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
# Updates the hub handles; message_reaction and my_chat_member come only when asked for.
ALLOWED_UPDATES = [
    "message", "edited_message", "channel_post", "edited_channel_post",
    "callback_query", "message_reaction", "my_chat_member",
]


class TelegramCredentials(BaseModel):
    bot_token: str = Field(pattern=r"^\d+:[A-Za-z0-9_-]{30,}$")  # from @BotFather
    # Any 1-256 characters from A-Z a-z 0-9 _ - (setWebhook's secret_token).
    webhook_secret: str = Field(min_length=16, max_length=256, pattern=r"^[A-Za-z0-9_-]+$")


class TelegramAdapter(ChannelAdapter):
    kind = "telegram"
    display_name = "Telegram"
    capabilities = Capabilities(
        media=True,
        buttons=outbound.MAX_BUTTONS,
        lists=False,
        templates=False,
        location=True,
        groups=True,
        reactions=True,
        edits=True,
        max_text_length=outbound.MAX_TEXT,
        reply_window=None,  # no window: the user only has to have started the bot
        rate_per_second=30.0,  # FloodLimit.MESSAGES_PER_SECOND
        rate_per_chat_per_second=1.0,  # FloodLimit.MESSAGES_PER_SECOND_PER_CHAT
    )
    credentials_model: ClassVar[type[BaseModel]] = TelegramCredentials
    default_api_base = "https://api.telegram.org"

    # -- inbound ------------------------------------------------------------------------------
    def verify(self, req: WebhookRequest, cfg: ChannelConfig) -> None:
        given = req.header(SECRET_HEADER)
        if not given:
            raise SignatureInvalid(f"missing {SECRET_HEADER} header")
        if not constant_time_equals(given, str(cfg.credentials["webhook_secret"])):
            raise SignatureInvalid(f"{SECRET_HEADER} does not match this channel's secret")

    def parse(self, req: WebhookRequest, cfg: ChannelConfig) -> list[InboundEvent]:
        return inbound.parse_update(inbound.load_update(req.body))

    # -- outbound -----------------------------------------------------------------------------
    def _call(self, cfg: ChannelConfig, http: httpx.Client, method: str, payload: dict[str, Any],
              idempotency_key: str | None = None) -> Any:
        url = f"{self.api_base(cfg)}/bot{cfg.credentials['bot_token']}/{method}"
        # Telegram ignores this header (it has no idempotent sends); the emulator dedupes on it.
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else {}
        try:
            resp = http.post(url, json=payload, headers=headers)
        except httpx.TimeoutException as exc:
            raise ProviderError(f"Telegram {method} timed out", retryable=True) from exc
        except httpx.TransportError as exc:
            raise ProviderError(f"Telegram API unreachable: {type(exc).__name__}", retryable=True) from exc
        return outbound.result_of(resp)

    def send(self, msg: OutboundMessage, cfg: ChannelConfig, http: httpx.Client) -> SendResult:
        calls = outbound.build_calls(msg)
        first_id = ""
        for i, call in enumerate(calls):
            key = msg.idempotency_key if i == 0 else f"{msg.idempotency_key}:{i}"
            result = self._call(cfg, http, call.method, call.payload, key)
            if i == 0:
                first_id = self._provider_id(call, result, msg)
        return SendResult(provider_message_id=first_id)

    @staticmethod
    def _provider_id(call: outbound.ApiCall, result: Any, msg: OutboundMessage) -> str:
        if call.method == "setMessageReaction":
            return msg.reply_to_external_id or ""  # answers plain True: the target is the id
        if not isinstance(result, dict) or "message_id" not in result:
            raise ProviderError(f"Telegram {call.method} answered without a message", retryable=False)
        chat = result.get("chat") or {}
        return inbound.message_ref(chat.get("id", call.payload["chat_id"]), result["message_id"])

    def answer_callback_query(self, callback_query_id: str, cfg: ChannelConfig, http: httpx.Client,
                              text: str = "") -> None:
        """Stop the spinner on a pressed inline button (content["callback_query_id"])."""
        payload: dict[str, Any] = {"callback_query_id": callback_query_id}
        if text:
            payload["text"] = text[:200]
        self._call(cfg, http, "answerCallbackQuery", payload)

    def acknowledge_button(self, external_message_id: str, content: Mapping[str, Any], cfg: ChannelConfig,
                           http: httpx.Client) -> bool:
        callback_query_id = content.get("callback_query_id")
        if not callback_query_id:
            return False
        self.answer_callback_query(str(callback_query_id), cfg, http)
        return True

    def fetch_media(self, ref: MediaRef, cfg: ChannelConfig, http: httpx.Client) -> tuple[bytes, str]:
        if not ref.provider_media_id:
            raise ProviderError("Telegram media has no file_id", retryable=False)
        info = self._call(cfg, http, "getFile", {"file_id": ref.provider_media_id})
        file_path = info.get("file_path") if isinstance(info, dict) else None
        if not file_path:
            # Files over 20 MB have no download path on the public Bot API.
            raise ProviderError("Telegram gave no file_path (file over 20 MB?)", retryable=False)
        url = f"{self.api_base(cfg)}/file/bot{cfg.credentials['bot_token']}/{file_path}"
        try:
            resp = http.get(url)
        except httpx.HTTPError as exc:
            detail = f"Telegram file download failed: {type(exc).__name__}"
            raise ProviderError(detail, retryable=True) from exc
        if resp.status_code >= 400:
            outbound.result_of(resp)
        mime = ref.mime_type or mimetypes.guess_type(file_path)[0] or "application/octet-stream"
        return resp.content, mime

    # -- set-up -------------------------------------------------------------------------------
    def set_webhook(self, cfg: ChannelConfig, http: httpx.Client) -> None:
        """Point the bot at this channel's webhook URL, with its secret token."""
        self._call(cfg, http, "setWebhook", {
            "url": cfg.webhook_url,
            "secret_token": str(cfg.credentials["webhook_secret"]),
            "allowed_updates": ALLOWED_UPDATES,
        })

    def test_connection(self, cfg: ChannelConfig, http: httpx.Client) -> str:
        """Check the token (getMe) and say whether the bot's webhook points at this channel."""
        me = self._call(cfg, http, "getMe", {})
        summary = f"connected to Telegram bot @{me.get('username', '?')} (id {me.get('id')})"
        info = self._call(cfg, http, "getWebhookInfo", {})
        current = info.get("url", "") if isinstance(info, dict) else ""
        if current == cfg.webhook_url:
            return f"{summary}; webhook set to this channel"
        where = f"to {current}" if current else "nowhere"
        return f"{summary}; but its webhook points {where}: call setWebhook with {cfg.webhook_url}"
