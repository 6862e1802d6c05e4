"""The explicit table of channel adapters (plus third-party ones from entry points)."""

from __future__ import annotations

import logging
from functools import cache
from importlib.metadata import entry_points

from crocevia.channels.base import ChannelAdapter
from crocevia.errors import NotFound

log = logging.getLogger(__name__)

# kind -> "module:Class". One line per channel; imported lazily so a broken optional
# adapter cannot stop the hub from starting.
BUILTIN: dict[str, str] = {
    "sandbox": "crocevia.channels.sandbox.adapter:SandboxAdapter",
    "webchat": "crocevia.channels.webchat.adapter:WebchatAdapter",
    "telegram": "crocevia.channels.telegram.adapter:TelegramAdapter",
    "sms": "crocevia.channels.sms.adapter:TwilioSmsAdapter",
    "whatsapp": "crocevia.channels.whatsapp.adapter:WhatsAppAdapter",
    "messenger": "crocevia.channels.messenger.adapter:MessengerAdapter",
    "instagram": "crocevia.channels.instagram.adapter:InstagramAdapter",
    "wechat": "crocevia.channels.wechat.adapter:WeChatAdapter",
    "qq": "crocevia.channels.qq.adapter:QQAdapter",
}


@cache
def _load(path: str) -> ChannelAdapter:
    module_name, _, cls_name = path.partition(":")
    module = __import__(module_name, fromlist=[cls_name])
    adapter: ChannelAdapter = getattr(module, cls_name)()
    return adapter


@cache
def _plugin_kinds() -> tuple[tuple[str, str], ...]:
    # Scanning the installed packages' entry points costs milliseconds, and every inbound and
    # outbound message looks an adapter up: scanned once per process. A plugin installed while
    # the hub runs needs a restart (or refresh_plugins()).
    return tuple((ep.name, ep.value) for ep in entry_points(group="crocevia.channels"))


def refresh_plugins() -> None:
    """Forget the scanned entry points: the next lookup scans the installed packages again."""
    _plugin_kinds.cache_clear()


def all_kinds() -> dict[str, str]:
    # BUILTIN is read on every call (cheap), so a kind added to it at run time is seen at once.
    kinds = dict(BUILTIN)
    for name, value in _plugin_kinds():
        kinds.setdefault(name, value)
    return kinds


def get_adapter(kind: str) -> ChannelAdapter:
    path = BUILTIN.get(kind) or dict(_plugin_kinds()).get(kind)
    if path is None:
        raise NotFound(f"unknown channel kind {kind!r}", field="kind")
    return _load(path)
