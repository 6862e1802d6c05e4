"""The bulk fan-out decides and writes exactly what the per-message path does (both engines, both paths)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select
from tests.conftest import Workspace
from tests.promotion.test_promotion_services import campaign_messages, channel, person

from crocevia.domain.enums import ConsentStatus
from crocevia.runtime import Runtime
from crocevia.services import campaigns, segments, templates
from crocevia.storage.tables import (
    Conversation,
    DlpFinding,
    DlpRule,
    Message,
    OutboxItem,
    WebhookDelivery,
    WebhookSubscription,
)


@pytest.mark.parametrize("bulk", [True, False], ids=["bulk", "per-message"])
def test_both_paths_skip_mask_reuse_conversations_and_emit_the_same(
        rt: Runtime, ws: Workspace, monkeypatch: pytest.MonkeyPatch, bulk: bool) -> None:
    monkeypatch.setattr(campaigns, "BULK", bulk)
    monkeypatch.setattr(campaigns, "BATCH", 4)  # several batches, and a batch mixing every case
    ch = channel(rt, ws)
    talked = person(rt, ws, ch, 1, tags=["vip"])
    fresh = [person(rt, ws, ch, n, tags=["vip"]) for n in range(2, 6)]
    stopped = person(rt, ws, ch, 6, consent=ConsentStatus.OPTED_OUT, tags=["vip"])
    unasked = person(rt, ws, ch, 7, consent=None, tags=["vip"])
    card = person(rt, ws, ch, 8, tags=["vip"], attributes={"note": "4111 1111 1111 1111"})
    mail = person(rt, ws, ch, 9, tags=["vip"], attributes={"note": "anna@example.com"})
    with rt.db.transaction() as s:
        s.add(Conversation(workspace_id=ws.id, channel_id=ch.id, contact_id=talked, thread_key="", status="resolved"))
        s.add(DlpRule(workspace_id=ws.id, direction="bot", label="EMAIL", action="mask", alert=False))
        s.add(WebhookSubscription(workspace_id=ws.id, url="http://127.0.0.1:9/hook", secret_encrypted=b"x",
                                  events=["message.created"]))
    seg = segments.create_segment(rt, ws.owner, name="VIP", filter={"tags_any": ["vip"]})
    tpl = templates.create_template(rt, ws.owner, {"name": "Saldi", "variants": {
        "it": {"text": "Ciao {{first_name}} {{attributes.note}} https://shop.example/saldi"},
        "en": {"text": "Hi {{first_name}}"}}})
    cid = campaigns.create_campaign(rt, ws.owner, {"name": "Saldi", "segment_id": seg.id, "template_id": tpl.id,
                                                   "channel_ids": [ch.id]}).id
    campaigns.start(rt, ws.owner, cid)
    campaigns.run(rt, cid)

    prog = campaigns.progress(rt, ws.owner, cid)
    assert prog["status"] == "done"
    assert prog["recipients"] == {"pending": 0, "sent": 6, "skipped": 3, "total": 9}
    assert prog["skipped_reasons"] == {"opted_out": 1, "no_consent": 1, "dlp_block": 1}
    by_contact = {r.contact_id: r for r in campaigns.recipients(rt, ws.owner, cid)[0]}
    assert by_contact[card].reason == "dlp_block" and by_contact[card].message_id is None
    assert {by_contact[x].reason for x in (stopped, unasked)} == {"opted_out", "no_consent"}
    assert sorted(campaign_messages(rt, cid)) == sorted(f"cmp-{cid}-{x}" for x in [talked, *fresh, mail])
    with rt.db.read() as s:
        msgs = {m.conversation_id: m for m in s.scalars(select(Message).where(Message.workspace_id == ws.id))}
        convs = {c.contact_id: c for c in s.scalars(select(Conversation).where(Conversation.workspace_id == ws.id))}
        # Each sent recipient row points at its message, which is queued in the outbox.
        for x in [talked, *fresh, mail]:
            msg = msgs[convs[x].id]
            assert by_contact[x].message_id == msg.id and msg.status == "queued"
            assert msg.content["links"] == ["https://shop.example/saldi"]
            assert "/l/" in msg.text and msg.text.endswith("Rispondi STOP per non ricevere più messaggi.")
            assert convs[x].last_message_preview == msg.text[:160]
        assert len(list(s.scalars(select(OutboxItem.id).where(OutboxItem.workspace_id == ws.id)))) == 6
        # The existing conversation is reused; the others are opened, waiting on the customer.
        assert convs[talked].status == "resolved"
        assert all(convs[x].status == "pending" and convs[x].labels == ["campaign"] for x in fresh)
        assert card not in convs  # a refused send opens nothing
        masked = msgs[convs[mail].id]
        assert "anna@example.com" not in masked.text and masked.content["dlp"]["masked"] == ["EMAIL"]
        assert [f.label for f in s.scalars(select(DlpFinding).where(DlpFinding.workspace_id == ws.id))] == ["EMAIL"]
        hooks = list(s.scalars(select(WebhookDelivery).where(WebhookDelivery.workspace_id == ws.id,
                                                             WebhookDelivery.event_type == "message.created")))
    payloads: list[dict[str, Any]] = [h.payload["data"] for h in hooks]
    assert sorted(p["message"]["id"] for p in payloads) == sorted(r.message_id for r in by_contact.values()
                                                                  if r.message_id)
    assert all(p["conversation"]["id"] == p["message"]["conversation_id"] for p in payloads)
    campaigns.run(rt, cid)  # a stray second run sends nothing more
    assert len(campaign_messages(rt, cid)) == 6


def test_bulk_batches_tell_the_live_feed_once_each_and_wake_the_dispatcher(
        rt: Runtime, ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    """A million ``message.created`` events would flood every open inbox: the bulk path announces each
    batch once (``campaign.progress``, which the progress bars follow and the outbox dispatcher wakes on)."""
    from crocevia.jobs.dispatcher import _is_outbound_message

    monkeypatch.setattr(campaigns, "BATCH", 3)
    ch = channel(rt, ws)
    people = [person(rt, ws, ch, n, tags=["vip"]) for n in range(7)]
    seen: list[Any] = []
    rt.bus.add_listener(seen.append)
    seg = segments.create_segment(rt, ws.owner, name="VIP", filter={"tags_any": ["vip"]})
    tpl = templates.create_template(rt, ws.owner, {"name": "Saldi",
                                                   "variants": {"it": {"text": "Ciao {{first_name}}"}}})
    cid = campaigns.create_campaign(rt, ws.owner, {"name": "Saldi", "segment_id": seg.id, "template_id": tpl.id,
                                                   "channel_ids": [ch.id]}).id
    campaigns.start(rt, ws.owner, cid)
    campaigns.run(rt, cid)

    assert len(campaign_messages(rt, cid)) == len(people)
    assert not [e for e in seen if e.type == "message.created"]
    progress = [e.data for e in seen if e.type == "campaign.progress"]
    assert [p["sent"] for p in progress] == [3, 6, 7]  # batches of 3: one event each, counts as they grow
    assert progress[-1]["pending"] == 0 and progress[-1]["total"] == 7
    assert all(_is_outbound_message(e) for e in seen if e.type == "campaign.progress")
