"""Every channel on the real pipeline: inbound text (in the platform's own format, signed like the
platform) → stored once and visible in the API → an agent's reply reaches that provider's emulator
→ the provider's status webhook moves the message's status."""

from __future__ import annotations

import importlib
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from tests.conftest import Hub, api_token, new_workspace
from tests.core.test_pipeline import wait_for

from crocevia.channels.registry import all_kinds
from crocevia.services import channels

Account = Callable[[dict[str, Any], str], dict[str, Any]]


@dataclass(frozen=True)
class Spec:
    provider: str  # the emulator's provider name
    fixture: str  # an inbound text message in the platform's format
    account: Account  # the emulator account for these credentials and the hub's webhook URL
    final_status: str  # what the message reaches (platforms without receipts stop at "sent")


SPECS: dict[str, Spec] = {
    "sandbox": Spec("sandbox", "message__text.json", lambda c, url: {**c, "webhook_url": url}, "delivered"),
    "whatsapp": Spec("whatsapp", "messages__text.json", lambda c, url: {
        "account_id": c["phone_number_id"], "access_token": c["access_token"], "app_secret": c["app_secret"],
        "webhook_url": url}, "delivered"),
    "messenger": Spec("messenger", "messages__text.json", lambda c, url: {
        "account_id": c["page_id"], "access_token": c["page_access_token"], "app_secret": c["app_secret"],
        "webhook_url": url}, "read"),  # Messenger's read receipt is a watermark, applied by time
    "instagram": Spec("instagram", "messages__text.json", lambda c, url: {
        "account_id": c["instagram_account_id"], "access_token": c["access_token"], "app_secret": c["app_secret"],
        "webhook_url": url}, "read"),
    "telegram": Spec("telegram", "message__text.json", lambda c, url: {
        "account_id": c["bot_token"].split(":")[0], "bot_token": c["bot_token"], "webhook_url": url,
        "secret_token": c["webhook_secret"]}, "sent"),
    "sms": Spec("twilio", "message__text.form", lambda c, url: {
        "account_id": c["account_sid"], "auth_token": c["auth_token"], "sms_url": url}, "delivered"),
    "wechat": Spec("wechat", "message__text.xml", lambda c, url: {
        "account_id": c["app_id"], "app_secret": c["app_secret"], "token": c["token"],
        "encoding_aes_key": c.get("encoding_aes_key", ""), "message_mode": "compatible", "webhook_url": url}, "sent"),
    "qq": Spec("qq", "message__c2c_text.json", lambda c, url: {
        "account_id": c["app_id"], "app_secret": c["app_secret"], "webhook_url": url}, "sent"),
}

_EPOCH_S = re.compile(rb"(?<![\d.])1[6-8]\d{8}(?![\d.])")
_EPOCH_MS = re.compile(rb"(?<![\d.])1[6-8]\d{11}(?![\d.])")
_ISO = re.compile(rb"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:[+-]\d{2}:\d{2}|Z)")


def freshen(body: bytes) -> bytes:
    """Fixtures carry old timestamps; a customer writing *now* keeps the reply window open."""
    now = time.time()
    body = _EPOCH_MS.sub(str(int(now * 1000)).encode(), body)
    body = _EPOCH_S.sub(str(int(now)).encode(), body)
    return _ISO.sub(datetime.now(UTC).isoformat(timespec="seconds").encode(), body)


KINDS = [k for k in sorted(all_kinds()) if k in SPECS]


def test_every_provider_channel_has_an_end_to_end_spec() -> None:
    assert sorted(set(all_kinds()) - set(SPECS) - {"webchat"}) == []


@pytest.mark.parametrize("kind", KINDS)
def test_inbound_reply_and_status_on_every_channel(kind: str, hub: Hub, emu: httpx.Client, emulator) -> None:
    spec = SPECS[kind]
    kit = importlib.import_module(f"crocevia.channels.{kind}.testkit")
    w = new_workspace(hub.rt)
    creds = dict(kit.config().credentials)
    channel = channels.create_channel(hub.rt, w.owner, kind=kind, name=kind, credentials=creds,
                                      settings={"api_base": emulator.url})
    cfg = channels.config_for(hub.rt, channel)
    emu.post(f"/_emulator/accounts/{spec.provider}", json=spec.account(creds, cfg.webhook_url)).raise_for_status()
    emu.post("/_emulator/status-delays", json={"delivered": 0.05, "read": 0.1})

    body = freshen((kit.FIXTURES / spec.fixture).read_bytes())
    req = kit.signed_request(body, cfg, spec.fixture)
    for _ in range(2):  # the provider re-delivers: stored once
        resp = httpx.request(req.method, f"{hub.url}/webhooks/{kind}/{channel.public_id}", params=dict(req.query),
                             headers=dict(req.headers), content=req.body)
        assert resp.status_code == 200, resp.text
    api = hub.client(api_token(hub.rt, w.owner))
    convs = api.get("/api/v1/conversations").json()["items"]
    assert len(convs) == 1
    inbound = api.get(f"/api/v1/conversations/{convs[0]['id']}/messages").json()["items"]
    assert len(inbound) == 1 and inbound[0]["direction"] == "in" and inbound[0]["text"]

    sent = api.post(f"/api/v1/conversations/{convs[0]['id']}/messages", json={"text": "Grazie, a presto!"})
    assert sent.status_code == 202, sent.text
    wait_for(lambda: [a for a in emu.get("/_emulator/accepted", params={"provider": spec.provider}).json()],
             what=f"the {spec.provider} emulator to accept the reply")
    calls = [r for r in emu.get("/_emulator/requests", params={"provider": spec.provider}).json()
             if r["outcome"] == "accepted"]
    assert len(calls) == 1 and "Grazie, a presto!" in str(calls[0]["body"])
    mid = sent.json()["id"]

    order = ["queued", "sent", "delivered", "read"]

    def reached() -> bool:
        # Receipts can overtake each other in a poll: "read" also means it was delivered.
        status = api.get(f"/api/v1/messages/{mid}").json()["status"]
        return status in order and order.index(status) >= order.index(spec.final_status)

    wait_for(reached, what=f"status {spec.final_status}")


@pytest.mark.parametrize(("kind", "rule"), [("whatsapp", "whatsapp_24h"), ("messenger", "messenger_24h"),
                                            ("instagram", "instagram_24h"), ("wechat", "wechat_48h")])
def test_reply_outside_the_window_is_refused_naming_the_rule(kind: str, rule: str, hub: Hub, emu: httpx.Client,
                                                             emulator) -> None:
    if kind not in all_kinds():
        pytest.skip(f"{kind} is not installed")
    spec = SPECS[kind]
    kit = importlib.import_module(f"crocevia.channels.{kind}.testkit")
    w = new_workspace(hub.rt)
    creds = dict(kit.config().credentials)
    channel = channels.create_channel(hub.rt, w.owner, kind=kind, name=kind, credentials=creds,
                                      settings={"api_base": emulator.url, "max_clock_skew_seconds": 0})
    cfg = channels.config_for(hub.rt, channel)
    emu.post(f"/_emulator/accounts/{spec.provider}", json=spec.account(creds, cfg.webhook_url))
    # The fixture's message is days old: the customer last wrote long ago.
    req = kit.signed_request((kit.FIXTURES / spec.fixture).read_bytes(), cfg, spec.fixture)
    resp = httpx.request(req.method, f"{hub.url}/webhooks/{kind}/{channel.public_id}", params=dict(req.query),
                         headers=dict(req.headers), content=req.body)
    assert resp.status_code == 200, resp.text
    api = hub.client(api_token(hub.rt, w.owner))
    conv = api.get("/api/v1/conversations").json()["items"][0]
    assert api.get(f"/api/v1/conversations/{conv['id']}").json()["window"]["open"] is False
    refused = api.post(f"/api/v1/conversations/{conv['id']}/messages", json={"text": "Ci sei ancora?"})
    assert refused.status_code == 422
    assert refused.json()["rule"] == rule
    assert "window" in refused.json()["detail"] and "template" in refused.json()["detail"]
    if kind == "whatsapp":  # an approved template may still go
        ok = api.post(f"/api/v1/conversations/{conv['id']}/messages",
                      json={"template": {"name": "order_update", "language": "it", "parameters": ["4512"]}})
        assert ok.status_code == 202, ok.text
        wait_for(lambda: emu.get("/_emulator/accepted", params={"provider": "whatsapp"}).json(), what="template")
    assert not [r for r in emu.get("/_emulator/requests", params={"provider": spec.provider}).json()
                if "Ci sei ancora?" in str(r["body"])]


def test_a_pressed_telegram_button_is_answered_so_the_spinner_stops(hub: Hub, emu: httpx.Client,
                                                                    emulator) -> None:
    spec = SPECS["telegram"]
    kit = importlib.import_module("crocevia.channels.telegram.testkit")
    w = new_workspace(hub.rt)
    creds = dict(kit.config().credentials)
    channel = channels.create_channel(hub.rt, w.owner, kind="telegram", name="tg", credentials=creds,
                                      settings={"api_base": emulator.url})
    cfg = channels.config_for(hub.rt, channel)
    emu.post("/_emulator/accounts/telegram", json=spec.account(creds, cfg.webhook_url))
    req = kit.signed_request(freshen((kit.FIXTURES / "callback_query__button.json").read_bytes()), cfg, "")
    assert httpx.post(f"{hub.url}/webhooks/telegram/{channel.public_id}", headers=dict(req.headers),
                      content=req.body).status_code == 200

    def answered() -> list[dict[str, Any]]:
        return [r for r in emu.get("/_emulator/requests", params={"provider": "telegram"}).json()
                if r["path"].endswith("/answerCallbackQuery")]

    calls = wait_for(answered, what="answerCallbackQuery")
    assert calls[0]["body"]["callback_query_id"]


def test_a_messenger_read_mark_that_overtakes_the_send_still_marks_the_reply_read(
        hub: Hub, emu: httpx.Client, emulator) -> None:
    spec = SPECS["messenger"]
    kit = importlib.import_module("crocevia.channels.messenger.testkit")
    w = new_workspace(hub.rt)
    creds = dict(kit.config().credentials)
    channel = channels.create_channel(hub.rt, w.owner, kind="messenger", name="fb", credentials=creds,
                                      settings={"api_base": emulator.url})
    cfg = channels.config_for(hub.rt, channel)
    emu.post("/_emulator/accounts/messenger", json=spec.account(creds, cfg.webhook_url)).raise_for_status()
    req = kit.signed_request(freshen((kit.FIXTURES / spec.fixture).read_bytes()), cfg, spec.fixture)
    assert httpx.post(f"{hub.url}/webhooks/messenger/{channel.public_id}", headers=dict(req.headers),
                      content=req.body).status_code == 200
    api = hub.client(api_token(hub.rt, w.owner))
    conv = api.get("/api/v1/conversations").json()["items"][0]
    # Meta reports the read watermark at once but answers the send call 0.5 s later: the mark
    # arrives while the message has no provider id yet.
    emu.post("/_emulator/status-delays", json={"delivered": 0.0, "read": 0.0})
    emu.post("/_emulator/response-delay", json={"seconds": 0.5})
    mid = api.post(f"/api/v1/conversations/{conv['id']}/messages", json={"text": "Letto?"}).json()["id"]
    wait_for(lambda: api.get(f"/api/v1/messages/{mid}").json()["status"] == "read",
             what="the early read watermark to be applied once the send returned")
