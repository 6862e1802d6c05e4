"""Inbound media: the webhook only carries an id; the adapter asks Graph for a short-lived URL and
downloads it with the Bearer token, exactly as the Cloud API requires."""

from __future__ import annotations

import json

import pytest

from crocevia.channels.base import InboundMessage, MediaRef
from crocevia.channels.meta.testkit_common import EmulatorHandle
from crocevia.channels.whatsapp import testkit
from crocevia.channels.whatsapp.adapter import WhatsAppAdapter
from crocevia.errors import ProviderError

ADAPTER = WhatsAppAdapter()
JPEG = b"\xff\xd8\xff\xe0" + b"menu-photo" * 100


def upload(emu: EmulatorHandle, content: bytes, mime: str) -> str:
    """Put a file into the emulator the way a WhatsApp upload does (POST /{phone-id}/media)."""
    resp = emu.http.post(
        f"{emu.url}/v25.0/{emu.cfg.credentials['phone_number_id']}/media",
        headers={"Authorization": f"Bearer {emu.cfg.credentials['access_token']}"},
        files={"file": ("photo.jpg", content, mime), "messaging_product": (None, "whatsapp"), "type": (None, mime)},
    )
    resp.raise_for_status()
    media_id: str = resp.json()["id"]
    return media_id


def test_image_from_a_webhook_is_downloaded_through_the_media_api(whatsapp_emu: EmulatorHandle) -> None:
    media_id = upload(whatsapp_emu, JPEG, "image/jpeg")
    data = json.loads((testkit.FIXTURES / "messages__image.json").read_text())
    data["entry"][0]["changes"][0]["value"]["messages"][0]["image"]["id"] = media_id
    [message] = ADAPTER.parse(testkit.signed_request(json.dumps(data).encode(), whatsapp_emu.cfg), whatsapp_emu.cfg)
    assert isinstance(message, InboundMessage)

    content, mime = ADAPTER.fetch_media(message.media[0], whatsapp_emu.cfg, whatsapp_emu.http)

    assert (content, mime) == (JPEG, "image/jpeg")
    lookups = [r for r in whatsapp_emu.requests() if r["outcome"] in ("media_info", "downloaded")]
    assert [r["path"] for r in lookups] == [f"/v25.0/{media_id}", "/whatsapp_business/attachments/"]
    assert all(r["headers"]["authorization"] == "Bearer EAAtest-whatsapp-system-user-token" for r in lookups)


def test_the_download_url_alone_is_not_enough(whatsapp_emu: EmulatorHandle) -> None:
    media_id = upload(whatsapp_emu, JPEG, "image/jpeg")
    info = whatsapp_emu.http.get(
        f"{whatsapp_emu.url}/v25.0/{media_id}",
        headers={"Authorization": f"Bearer {whatsapp_emu.cfg.credentials['access_token']}"},
    ).json()
    assert whatsapp_emu.http.get(info["url"]).status_code == 401


def test_expired_or_unknown_media_is_a_permanent_error(whatsapp_emu: EmulatorHandle) -> None:
    with pytest.raises(ProviderError) as info:
        ADAPTER.fetch_media(MediaRef(provider_media_id="123456789012345"), whatsapp_emu.cfg, whatsapp_emu.http)
    assert (info.value.retryable, info.value.provider_code) == (False, "100/33")
