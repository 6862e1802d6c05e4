"""Inbound Messenger attachments carry a signed CDN URL: fetching it needs no token."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from crocevia.channels.base import InboundMessage
from crocevia.channels.emulator.server import RunningServer, serve_in_thread
from crocevia.channels.messenger import testkit
from crocevia.channels.messenger.adapter import MessengerAdapter
from crocevia.errors import ProviderError

ADAPTER = MessengerAdapter()
PNG = b"\x89PNG\r\n\x1a\n" + b"sticker" * 50


@pytest.fixture(scope="module")
def messenger_cdn() -> Iterator[RunningServer]:
    async def asset(request: Request) -> Response:
        if request.query_params.get("oe") == "expired":
            return Response(b"URL signature expired", 403)
        return Response(PNG, media_type="image/png")

    server = serve_in_thread(Starlette(routes=[Route("/v/{name}", asset)]))
    yield server
    server.stop()


def inbound_image(url: str) -> InboundMessage:
    data = json.loads((testkit.FIXTURES / "messages__image.json").read_text())
    data["entry"][0]["messaging"][0]["message"]["attachments"][0]["payload"]["url"] = url
    cfg = testkit.config()
    [message] = ADAPTER.parse(testkit.signed_request(json.dumps(data).encode(), cfg), cfg)
    assert isinstance(message, InboundMessage)
    return message


def test_attachment_is_downloaded_from_its_url(messenger_cdn: RunningServer) -> None:
    message = inbound_image(f"{messenger_cdn.url}/v/photo.png?oe=67A1B2C3")
    with httpx.Client(timeout=5.0) as http:
        assert ADAPTER.fetch_media(message.media[0], testkit.config(), http) == (PNG, "image/png")


def test_an_expired_cdn_link_is_a_permanent_error(messenger_cdn: RunningServer) -> None:
    message = inbound_image(f"{messenger_cdn.url}/v/photo.png?oe=expired")
    with httpx.Client(timeout=5.0) as http, pytest.raises(ProviderError) as info:
        ADAPTER.fetch_media(message.media[0], testkit.config(), http)
    assert not info.value.retryable
