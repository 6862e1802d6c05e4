"""Sending through the WhatsApp adapter to the Graph API emulator over real HTTP; each test checks
the exact request the emulator recorded, as Meta would have received it."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from crocevia.channels.base import Button, InboundMessage, OutboundMessage, StatusUpdate
from crocevia.channels.meta.testkit_common import EmulatorHandle
from crocevia.channels.whatsapp.adapter import WhatsAppAdapter
from crocevia.domain.enums import MessageKind, MessageStatus
from crocevia.errors import ValidationFailed

ADAPTER = WhatsAppAdapter()
PATH = "/v25.0/106540352242922/messages"
TO = "393331234567"


def out(**kw: Any) -> OutboundMessage:
    fields: dict[str, Any] = {
        "message_id": 1,
        "idempotency_key": "out-1",
        "recipient_id": f"+{TO}",
        "kind": MessageKind.TEXT,
    }
    fields.update(kw)
    return OutboundMessage(**fields)


def send_one(emu: EmulatorHandle, msg: OutboundMessage) -> dict[str, Any]:
    result = ADAPTER.send(msg, emu.cfg, emu.http)
    [request] = emu.sends()
    assert result.provider_message_id == emu.accepted()[-1]["id"]
    assert request["outcome"] == "accepted"
    body: dict[str, Any] = request["body"]
    return body


def test_text_goes_to_the_phone_number_id_with_bearer_token_and_idempotency_key(whatsapp_emu: EmulatorHandle) -> None:
    result = ADAPTER.send(out(text="Tavolo confermato per le 20:30"), whatsapp_emu.cfg, whatsapp_emu.http)
    [request] = whatsapp_emu.sends()
    assert request["method"] == "POST"
    assert request["path"] == PATH
    assert request["headers"]["authorization"] == "Bearer EAAtest-whatsapp-system-user-token"
    assert request["headers"]["idempotency-key"] == "out-1"
    assert request["body"] == {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": TO,
        "type": "text",
        "text": {"preview_url": False, "body": "Tavolo confermato per le 20:30"},
    }
    assert result.provider_message_id.startswith("wamid.")
    assert result.status is MessageStatus.SENT


def test_three_buttons_become_interactive_reply_buttons(whatsapp_emu: EmulatorHandle) -> None:
    msg = out(
        kind=MessageKind.BUTTONS,
        text="Confermi la prenotazione?",
        buttons=(Button("yes", "Sì"), Button("no", "No"), Button("later", "Più tardi")),
        content={"footer": "Trattoria Esempio"},
    )
    assert send_one(whatsapp_emu, msg) == {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": TO,
        "type": "interactive",
        "interactive": {
            "type": "button",
            "body": {"text": "Confermi la prenotazione?"},
            "footer": {"text": "Trattoria Esempio"},
            "action": {
                "buttons": [
                    {"type": "reply", "reply": {"id": "yes", "title": "Sì"}},
                    {"type": "reply", "reply": {"id": "no", "title": "No"}},
                    {"type": "reply", "reply": {"id": "later", "title": "Più tardi"}},
                ]
            },
        },
    }


def test_more_than_three_buttons_become_a_list(whatsapp_emu: EmulatorHandle) -> None:
    slots = tuple(Button(f"slot_{h}", f"{h}:00") for h in (19, 20, 21, 22, 23))
    body = send_one(
        whatsapp_emu,
        out(kind=MessageKind.BUTTONS, text="Scegli l'orario", buttons=slots, content={"list_button": "Orari"}),
    )
    assert body["type"] == "interactive"
    assert body["interactive"] == {
        "type": "list",
        "body": {"text": "Scegli l'orario"},
        "action": {
            "button": "Orari",
            "sections": [
                {"title": "Orari", "rows": [{"id": f"slot_{h}", "title": f"{h}:00"} for h in (19, 20, 21, 22, 23)]},
            ],
        },
    }


def test_too_many_options_fall_back_to_numbered_text(whatsapp_emu: EmulatorHandle) -> None:
    options = tuple(Button(f"o{i}", f"Opzione {i}") for i in range(1, 13))
    body = send_one(whatsapp_emu, out(kind=MessageKind.BUTTONS, text="Cosa preferisci?", buttons=options))
    assert body["type"] == "text"
    assert body["text"]["body"].splitlines()[:3] == ["Cosa preferisci?", "", "1. Opzione 1"]
    assert body["text"]["body"].splitlines()[-1] == "12. Opzione 12"


def test_a_button_title_too_long_for_a_button_uses_a_list_row(whatsapp_emu: EmulatorHandle) -> None:
    body = send_one(
        whatsapp_emu, out(kind=MessageKind.BUTTONS, text="Menù?", buttons=(Button("veg", "Menù vegetariano 2026"),))
    )
    assert body["interactive"]["type"] == "list"
    assert body["interactive"]["action"]["sections"][0]["rows"] == [{"id": "veg", "title": "Menù vegetariano 2026"}]


def test_template_with_parameters(whatsapp_emu: EmulatorHandle) -> None:
    msg = out(
        kind=MessageKind.TEMPLATE,
        template={"name": "order_update", "language": "it", "parameters": ["#1234", "domani"]},
    )
    assert send_one(whatsapp_emu, msg) == {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": TO,
        "type": "template",
        "template": {
            "name": "order_update",
            "language": {"code": "it"},
            "components": [
                {"type": "body", "parameters": [{"type": "text", "text": "#1234"}, {"type": "text", "text": "domani"}]},
            ],
        },
    }


def test_template_without_language_is_refused_before_sending(whatsapp_emu: EmulatorHandle) -> None:
    with pytest.raises(ValidationFailed) as info:
        ADAPTER.send(
            out(kind=MessageKind.TEMPLATE, template={"name": "order_update"}), whatsapp_emu.cfg, whatsapp_emu.http
        )
    assert info.value.field == "template.language"
    assert whatsapp_emu.sends() == []


def test_image_by_url_with_caption_as_a_reply(whatsapp_emu: EmulatorHandle) -> None:
    msg = out(
        kind=MessageKind.MEDIA,
        text="Ecco il menù",
        media_url="https://cdn.example.com/menu.jpg",
        media_mime_type="image/jpeg",
        reply_to_external_id="wamid.customer-question",
    )
    assert send_one(whatsapp_emu, msg) == {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": TO,
        "context": {"message_id": "wamid.customer-question"},
        "type": "image",
        "image": {"link": "https://cdn.example.com/menu.jpg", "caption": "Ecco il menù"},
    }


def test_document_keeps_its_filename(whatsapp_emu: EmulatorHandle) -> None:
    body = send_one(
        whatsapp_emu,
        out(
            kind=MessageKind.MEDIA,
            media_url="https://cdn.example.com/f.pdf",
            media_mime_type="application/pdf",
            media_filename="fattura.pdf",
        ),
    )
    assert body["type"] == "document"
    assert body["document"] == {"link": "https://cdn.example.com/f.pdf", "filename": "fattura.pdf"}


def test_audio_with_text_is_sent_as_audio_then_text(whatsapp_emu: EmulatorHandle) -> None:
    result = ADAPTER.send(
        out(
            kind=MessageKind.MEDIA,
            text="Ascolta qui",
            media_url="https://cdn.example.com/a.ogg",
            media_mime_type="audio/ogg",
        ),
        whatsapp_emu.cfg,
        whatsapp_emu.http,
    )
    first, second = whatsapp_emu.sends()
    assert first["body"]["audio"] == {"link": "https://cdn.example.com/a.ogg"}
    assert second["body"]["text"]["body"] == "Ascolta qui"
    assert (first["headers"]["idempotency-key"], second["headers"]["idempotency-key"]) == ("out-1", "out-1:1")
    assert result.provider_message_id == whatsapp_emu.accepted()[0]["id"]


def test_group_message_is_addressed_to_the_group(whatsapp_emu: EmulatorHandle) -> None:
    group = "Y2FwaV9ncm91cDoxNzA1NTU1MDEzOToxMjAzNjM0MDQ2OTQyMzM4MjAZD"
    body = send_one(whatsapp_emu, out(text="Ciao a tutti", thread_id=group))
    assert (body["recipient_type"], body["to"]) == ("group", group)


def test_business_scoped_user_id_goes_in_recipient(whatsapp_emu: EmulatorHandle) -> None:
    body = send_one(whatsapp_emu, out(text="Ciao", recipient_id="IT.13491208655302741918"))
    assert body["recipient"] == "IT.13491208655302741918"
    assert "to" not in body


def test_reaction_and_location(whatsapp_emu: EmulatorHandle) -> None:
    ADAPTER.send(
        out(kind=MessageKind.REACTION, content={"message_id": "wamid.abc", "emoji": "\u2764\ufe0f"}),
        whatsapp_emu.cfg,
        whatsapp_emu.http,
    )
    ADAPTER.send(
        out(
            idempotency_key="out-2",
            kind=MessageKind.LOCATION,
            content={"latitude": 45.4642, "longitude": 9.19, "name": "Trattoria Esempio"},
        ),
        whatsapp_emu.cfg,
        whatsapp_emu.http,
    )
    reaction, location = (r["body"] for r in whatsapp_emu.sends())
    assert reaction["reaction"] == {"message_id": "wamid.abc", "emoji": "\u2764\ufe0f"}
    assert location["location"] == {"latitude": 45.4642, "longitude": 9.19, "name": "Trattoria Esempio"}


def test_a_retried_send_with_the_same_key_is_not_doubled(whatsapp_emu: EmulatorHandle) -> None:
    first = ADAPTER.send(out(text="Una volta sola"), whatsapp_emu.cfg, whatsapp_emu.http)
    again = ADAPTER.send(out(text="Una volta sola"), whatsapp_emu.cfg, whatsapp_emu.http)
    assert first.provider_message_id == again.provider_message_id
    assert [r["outcome"] for r in whatsapp_emu.sends()] == ["accepted", "replayed"]
    assert len(whatsapp_emu.accepted()) == 1


def test_status_webhooks_come_back_signed_and_update_the_sent_message(whatsapp_emu: EmulatorHandle) -> None:
    whatsapp_emu.account(webhook_url=whatsapp_emu.hook_url)
    result = ADAPTER.send(out(text="Ci vediamo stasera"), whatsapp_emu.cfg, whatsapp_emu.http)
    received = whatsapp_emu.hook.wait_for(2)
    statuses = []
    for req in received:
        ADAPTER.verify(req, whatsapp_emu.cfg)
        statuses += ADAPTER.parse(req, whatsapp_emu.cfg)
    assert {(s.provider_message_id, s.status) for s in statuses if isinstance(s, StatusUpdate)} == {
        (result.provider_message_id, MessageStatus.SENT),
        (result.provider_message_id, MessageStatus.DELIVERED),
    }


def test_undeliverable_number_reports_failed_with_metas_reason(whatsapp_emu: EmulatorHandle) -> None:
    whatsapp_emu.account(webhook_url=whatsapp_emu.hook_url, undeliverable=["390000000000"])
    result = ADAPTER.send(out(text="Ciao", recipient_id="+390000000000"), whatsapp_emu.cfg, whatsapp_emu.http)
    [req] = whatsapp_emu.hook.wait_for(1)
    ADAPTER.verify(req, whatsapp_emu.cfg)
    [update] = ADAPTER.parse(req, whatsapp_emu.cfg)
    assert isinstance(update, StatusUpdate)
    assert update == StatusUpdate(
        result.provider_message_id,
        MessageStatus.FAILED,
        update.timestamp,
        "131026 Message undeliverable: Message Undeliverable.",
    )


def test_test_connection_names_the_number(whatsapp_emu: EmulatorHandle) -> None:
    assert ADAPTER.test_connection(whatsapp_emu.cfg, whatsapp_emu.http) == (
        "connected to WhatsApp number 15550783881 (Trattoria Esempio)"
    )


def test_inbound_reply_can_be_answered_with_context(whatsapp_emu: EmulatorHandle) -> None:
    from crocevia.channels.whatsapp import testkit

    req = testkit.signed_request((testkit.FIXTURES / "messages__text.json").read_bytes(), whatsapp_emu.cfg)
    [inbound] = ADAPTER.parse(req, whatsapp_emu.cfg)
    assert isinstance(inbound, InboundMessage)
    body = send_one(
        whatsapp_emu,
        out(text="Sì, alle 20:30", recipient_id=inbound.sender_id, reply_to_external_id=inbound.external_message_id),
    )
    assert body["to"] == inbound.sender_id
    assert body["context"] == {"message_id": inbound.external_message_id}


def test_http_client_is_used_as_given(whatsapp_emu: EmulatorHandle) -> None:
    # The outbox passes its own client (timeouts, connection pool); the adapter must not build one.
    seen: list[str] = []
    with httpx.Client(timeout=5.0, event_hooks={"request": [lambda r: seen.append(str(r.url.path))]}) as http:
        ADAPTER.send(out(text="ok"), whatsapp_emu.cfg, http)
    assert seen == [PATH]


def test_text_over_4096_characters_is_refused_before_sending(whatsapp_emu: EmulatorHandle) -> None:
    with pytest.raises(ValidationFailed) as info:
        ADAPTER.send(out(text="a" * 4097), whatsapp_emu.cfg, whatsapp_emu.http)
    assert info.value.field == "text"
    assert whatsapp_emu.sends() == []
