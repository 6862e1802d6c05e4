"""Cross-check against facebook-business, Meta's official Python Graph SDK, on the Facebook-Login
route (graph.facebook.com): the SDK's own signed Graph call and our adapter's send land as the
same message in the emulator."""

from __future__ import annotations

from facebook_business.api import FacebookAdsApi
from facebook_business.session import FacebookSession

from crocevia.channels.base import OutboundMessage
from crocevia.channels.instagram.adapter import InstagramAdapter
from crocevia.channels.meta.testkit_common import EmulatorHandle
from crocevia.domain.enums import MessageKind

IGSID = "2055366968346312"


def test_sdk_and_adapter_send_the_same_dm(instagram_fb_emu: EmulatorHandle) -> None:
    instagram_fb_emu.account(require_appsecret_proof=True)
    creds = instagram_fb_emu.cfg.credentials
    api = FacebookAdsApi(
        FacebookSession(app_secret=creds["app_secret"], access_token=creds["access_token"]), api_version="v25.0"
    )
    response = api.call(
        "POST",
        ("me", "messages"),
        url_override=instagram_fb_emu.url,
        params={"recipient": {"id": IGSID}, "message": {"text": "Chegou hoje!"}},
    )
    InstagramAdapter().send(
        OutboundMessage(1, "ig-sdk", IGSID, MessageKind.TEXT, text="Chegou hoje!"),
        instagram_fb_emu.cfg,
        instagram_fb_emu.http,
    )
    theirs, ours = instagram_fb_emu.sends()
    assert theirs["outcome"] == ours["outcome"] == "accepted"
    assert (theirs["path"], theirs["body"]) == (ours["path"], ours["body"])
    assert response.json()["recipient_id"] == IGSID
