"""Cross-checks with the official QQ SDK (qq-botpy) and an independent Ed25519 signer.

botpy speaks only the WebSocket gateway and ships no webhook signer, so signatures here are
made directly with ``cryptography``'s Ed25519 from the seed rule of the docs (not with the
adapter's own signing module), and botpy's event models read our fixtures to confirm that the
fields we take are the ones the SDK takes.
"""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from crocevia.channels.base import InboundMessage, WebhookRequest
from crocevia.channels.qq import testkit
from crocevia.channels.qq.adapter import QQAdapter
from crocevia.errors import SignatureInvalid

botpy_message = pytest.importorskip("botpy.message")
botpy_interaction = pytest.importorskip("botpy.interaction")

ADAPTER = QQAdapter()


def _independent_signature(secret: str, timestamp: str, body: bytes) -> str:
    seed = secret.encode()
    while len(seed) < 32:
        seed += seed
    return Ed25519PrivateKey.from_private_bytes(seed[:32]).sign(timestamp.encode() + body).hex()


def _independently_signed(body: bytes) -> WebhookRequest:
    ts = str(int(time.time()))
    return WebhookRequest("POST", testkit.config().webhook_url, {
        "x-signature-ed25519": _independent_signature(testkit.APP_SECRET, ts, body),
        "x-signature-timestamp": ts}, {}, body)


def _fixture(name: str) -> dict[str, Any]:
    payload: dict[str, Any] = json.loads((testkit.FIXTURES / name).read_bytes())
    return payload


def test_a_body_signed_independently_is_accepted() -> None:
    body = (testkit.FIXTURES / "message__c2c_text.json").read_bytes()
    ADAPTER.verify(_independently_signed(body), testkit.config())


def test_the_independently_signed_body_with_one_byte_changed_is_refused() -> None:
    body = (testkit.FIXTURES / "message__c2c_text.json").read_bytes()
    req = _independently_signed(body)
    changed = body.replace(b'"op":0', b'"op":1')
    with pytest.raises(SignatureInvalid):
        ADAPTER.verify(WebhookRequest(req.method, req.url, req.headers, req.query, changed), testkit.config())


@pytest.mark.parametrize("name", ["message__c2c_text.json", "message__c2c_image.json"])
def test_botpy_reads_c2c_messages_as_we_do(name: str) -> None:
    payload = _fixture(name)
    theirs = botpy_message.C2CMessage(None, payload["id"], payload["d"])
    [ours] = ADAPTER.parse(testkit.signed_request(json.dumps(payload).encode(), testkit.config()),
                           testkit.config())
    assert isinstance(ours, InboundMessage)
    assert ours.external_message_id == theirs.id  # what botpy's reply() sends as msg_id
    assert ours.sender_id == theirs.author.user_openid  # what botpy's reply() sends to
    assert ours.text == theirs.content.strip()
    assert [m.filename for m in ours.media] == [a.filename for a in theirs.attachments]


@pytest.mark.parametrize("name", ["message__group_at_text.json", "message__group_at_video.json"])
def test_botpy_reads_group_messages_as_we_do(name: str) -> None:
    payload = _fixture(name)
    theirs = botpy_message.GroupMessage(None, payload["id"], payload["d"])
    [ours] = ADAPTER.parse(testkit.signed_request(json.dumps(payload).encode(), testkit.config()),
                           testkit.config())
    assert isinstance(ours, InboundMessage)
    assert (ours.external_message_id, ours.thread_id) == (theirs.id, theirs.group_openid)
    assert ours.sender_id == theirs.author.member_openid


@pytest.mark.parametrize("name", ["interaction__c2c_button.json", "interaction__group_button.json"])
def test_botpy_reads_button_clicks_as_we_do(name: str) -> None:
    payload = _fixture(name)
    theirs = botpy_interaction.Interaction(None, payload["id"], payload["d"])
    [ours] = ADAPTER.parse(testkit.signed_request(json.dumps(payload).encode(), testkit.config()),
                           testkit.config())
    assert isinstance(ours, InboundMessage)
    assert ours.external_message_id == f"event:{theirs.id}"
    assert ours.content["id"] == theirs.data.resolved.button_id
    assert ours.content["payload"] == theirs.data.resolved.button_data
    assert ours.sender_id == (theirs.group_member_openid or theirs.user_openid)
