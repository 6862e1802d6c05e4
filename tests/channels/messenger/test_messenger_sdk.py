"""Cross-checks against facebook-business, Meta's official Python SDK for the Graph API: its
session signs calls with the same appsecret_proof we send, its own Graph call is served by our
emulator and lands as the same Send API message our adapter sends, and it reads our emulator's
error answers as Graph errors with the right codes."""

from __future__ import annotations

from typing import Any

import pytest
from facebook_business.api import FacebookAdsApi
from facebook_business.exceptions import FacebookRequestError
from facebook_business.session import FacebookSession

from crocevia.channels.base import OutboundMessage
from crocevia.channels.messenger.adapter import MessengerAdapter
from crocevia.channels.meta.graph import appsecret_proof
from crocevia.channels.meta.testkit_common import EmulatorHandle
from crocevia.domain.enums import MessageKind

ADAPTER = MessengerAdapter()
PSID = "6783012345678901"


def sdk_api(emu: EmulatorHandle) -> FacebookAdsApi:
    creds = emu.cfg.credentials
    session = FacebookSession(
        app_id="1517776481860111", app_secret=creds["app_secret"], access_token=creds["page_access_token"]
    )
    return FacebookAdsApi(session, api_version="v25.0")


def sdk_send(emu: EmulatorHandle, body: dict[str, Any]) -> Any:
    return sdk_api(emu).call("POST", (emu.cfg.credentials["page_id"], "messages"), params=body, url_override=emu.url)


def test_our_appsecret_proof_is_the_sdks() -> None:
    session = FacebookSession(
        app_secret="fb-app-secret-0123456789abcdef", access_token="EAAtest-messenger-page-access-token"
    )
    assert session.requests.params["appsecret_proof"] == appsecret_proof(
        "fb-app-secret-0123456789abcdef", "EAAtest-messenger-page-access-token"
    )


def test_the_sdks_graph_call_and_our_adapter_send_the_same_message(messenger_emu: EmulatorHandle) -> None:
    messenger_emu.account(require_appsecret_proof=True)  # both must sign the call the same way
    body = {"recipient": {"id": PSID}, "messaging_type": "RESPONSE", "message": {"text": "Ci vediamo domenica"}}
    response = sdk_send(messenger_emu, body)
    ADAPTER.send(
        OutboundMessage(1, "sdk-1", PSID, MessageKind.TEXT, text="Ci vediamo domenica"),
        messenger_emu.cfg,
        messenger_emu.http,
    )
    theirs, ours = messenger_emu.sends()
    assert theirs["outcome"] == ours["outcome"] == "accepted"
    assert theirs["path"] == ours["path"]
    assert theirs["body"] == ours["body"]
    assert response.json() == {"recipient_id": PSID, "message_id": messenger_emu.accepted()[0]["id"]}


def test_the_sdk_reads_our_emulators_errors_as_graph_errors(messenger_emu: EmulatorHandle) -> None:
    messenger_emu.account(blocked=[PSID])
    with pytest.raises(FacebookRequestError) as info:
        sdk_send(messenger_emu, {"recipient": {"id": PSID}, "messaging_type": "RESPONSE", "message": {"text": "Ciao"}})
    assert (info.value.api_error_code(), info.value.api_error_subcode()) == (551, 1545041)


def test_the_sdk_sees_a_rate_limit_as_code_613(messenger_emu: EmulatorHandle) -> None:
    messenger_emu.fault(status=429, retry_after=5)
    with pytest.raises(FacebookRequestError) as info:
        sdk_send(messenger_emu, {"recipient": {"id": PSID}, "messaging_type": "RESPONSE", "message": {"text": "Ciao"}})
    assert (info.value.http_status(), info.value.api_error_code()) == (429, 613)
