"""Segments, templates and the campaign fan-out, on the real database (both engines)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select
from tests.conftest import Workspace

from crocevia.domain.enums import ConsentStatus
from crocevia.errors import Conflict, NotFound, ValidationFailed
from crocevia.runtime import Runtime
from crocevia.services import campaigns, channels, contacts, segments, templates
from crocevia.storage.tables import Channel, ContactIdentity, Conversation, Message, Order

SANDBOX = {"account_id": "acct-promo", "api_key": "key-promo-12345", "webhook_secret": "secret-promo-123"}
WHATSAPP = {"phone_number_id": "1234567890", "access_token": "EAAG" + "x" * 20, "app_secret": "app-secret-1",
            "verify_token": "verify-token-1"}


def channel(rt: Runtime, w: Workspace, kind: str = "sandbox") -> Channel:
    creds = SANDBOX if kind == "sandbox" else WHATSAPP
    return channels.create_channel(rt, w.owner, kind=kind, name=kind, credentials=creds,
                                   settings={"api_base": "http://127.0.0.1:9"})


def person(rt: Runtime, w: Workspace, ch: Channel | None, n: int,
           consent: ConsentStatus | None = ConsentStatus.OPTED_IN, **fields: Any) -> int:
    c = contacts.create_contact(rt, w.owner, {"name": f"Persona {n}", **fields})
    if ch is not None:
        with rt.db.transaction() as s:
            s.add(ContactIdentity(workspace_id=w.id, contact_id=c.id, channel_id=ch.id, external_id=f"+3933300{n:05d}"))
        if consent is not None:
            contacts.set_consent(rt, w.owner, c.id, channel_id=ch.id, status=consent)
    return c.id


def campaign_messages(rt: Runtime, campaign_id: int) -> list[str]:
    with rt.db.read() as s:
        return list(s.scalars(select(Message.idempotency_key).where(
            Message.idempotency_key.like(f"cmp-{campaign_id}-%"))))


# -- segments ---------------------------------------------------------------------------------------
def test_segment_filter_matches_profile_age_tags_attributes_channel_and_consent(rt: Runtime, ws: Workspace) -> None:
    ch = channel(rt, ws)
    year = rt.clock.now().year
    young_it = person(rt, ws, ch, 1, country="IT", language="it", birth_year=year - 25, tags=["vino", "cucina"],
                      attributes={"tier": "gold"})
    old_it = person(rt, ws, ch, 2, country="IT", language="it", birth_year=year - 70, tags=["vino"])
    young_fr = person(rt, ws, ch, 3, consent=ConsentStatus.OPTED_OUT, country="FR", language="fr",
                      birth_year=year - 30, tags=["vino"])
    no_channel = person(rt, ws, None, 4, country="IT", birth_year=year - 25, tags=["vino"])

    def ids(f: dict[str, Any]) -> set[int]:
        with rt.db.read() as s:
            return {c.id for c in segments.iter_members(s, ws.id, segments.parse_filter(f), rt.clock.now())}

    assert ids({"countries": ["it"]}) == {young_it, old_it, no_channel}
    assert ids({"age_min": 18, "age_max": 35}) == {young_it, young_fr, no_channel}
    assert ids({"tags_all": ["vino", "cucina"]}) == {young_it}
    assert ids({"tags_any": ["vino"], "tags_none": ["cucina"]}) == {old_it, young_fr, no_channel}
    assert ids({"attributes": {"tier": "gold"}}) == {young_it}
    assert ids({"channel_kinds": ["sandbox"], "tags_any": ["vino"]}) == {young_it, old_it, young_fr}
    assert ids({"opted_in_channel_ids": [ch.id]}) == {young_it, old_it}
    assert ids({"languages": ["fr"]}) == {young_fr}
    assert segments.preview(rt, ws.owner, {"tags_any": ["vino"]})["count"] == 4


@pytest.mark.parametrize(("bad", "field"), [
    ({"age_min": -1}, "filter.age_min"),
    ({"age_min": 40, "age_max": 20}, "filter.age_min"),
    ({"countries": ["Italy"]}, "filter.countries"),
    ({"favourite_colour": "red"}, "filter.favourite_colour"),
    ({"active_within_days": "soon"}, "filter.active_within_days"),
    ({"opted_in_channel_ids": [999999]}, "filter.opted_in_channel_ids[0]"),
])
def test_bad_filters_name_the_field(rt: Runtime, ws: Workspace, bad: dict[str, Any], field: str) -> None:
    with pytest.raises((ValidationFailed, NotFound)) as exc:
        segments.create_segment(rt, ws.owner, name="x", filter=bad)
    assert exc.value.field == field


def test_segment_in_use_cannot_be_deleted(rt: Runtime, ws: Workspace) -> None:
    ch = channel(rt, ws)
    seg = segments.create_segment(rt, ws.owner, name="Tutti", filter={})
    tpl = templates.create_template(rt, ws.owner, {"name": "T", "variants": {"it": {"text": "Ciao"}}})
    campaigns.create_campaign(rt, ws.owner, {"name": "C", "segment_id": seg.id, "template_id": tpl.id,
                                             "channel_ids": [ch.id]})
    with pytest.raises(Conflict):
        segments.delete_segment(rt, ws.owner, seg.id)


# -- templates --------------------------------------------------------------------------------------
def test_template_renders_in_the_contacts_language_with_fallback_and_only_whitelisted_data(
        rt: Runtime, ws: Workspace) -> None:
    tpl = templates.create_template(rt, ws.owner, {"name": "Saldi", "variants": {
        "it": {"text": "Ciao {{first_name | amico}}, livello {{attributes.tier}}", "buttons": [{"title": "Sì"}]},
        "en": {"text": "Hi {{first_name}}!"}}})
    en = contacts.create_contact(rt, ws.owner, {"name": "John Smith", "language": "en"})
    de = contacts.create_contact(rt, ws.owner, {"name": "Hans", "language": "de", "attributes": {"tier": "oro"}})
    anon = contacts.create_contact(rt, ws.owner, {})
    assert templates.preview_template(rt, ws.owner, tpl.id, en.id)["text"] == "Hi John!"
    # German has no variant: the workspace language (Italian) is used.
    de_out = templates.preview_template(rt, ws.owner, tpl.id, de.id)
    assert (de_out["language"], de_out["text"]) == ("it", "Ciao Hans, livello oro")
    assert de_out["parameters"] == ["Hans", "oro"]
    assert templates.preview_template(rt, ws.owner, tpl.id, anon.id)["text"] == "Ciao amico, livello "
    for text in ("{{ phone }}", "{{ contact.__class__ }}", "{{ attributes.a.b }}"):
        with pytest.raises(ValidationFailed) as exc:
            templates.create_template(rt, ws.owner, {"name": "X", "variants": {"it": {"text": text}}})
        assert exc.value.field == "variants.it.text"


# -- campaigns --------------------------------------------------------------------------------------
def make_campaign(rt: Runtime, w: Workspace, ch: Channel, **extra: Any) -> int:
    seg = segments.create_segment(rt, w.owner, name=f"S{extra.get('name', '')}", filter={"tags_any": ["vip"]})
    tpl = templates.create_template(rt, w.owner, {"name": f"T{extra.get('name', '')}",
                                                  "variants": {"it": {"text": "Offerta per {{first_name}}"}}})
    c = campaigns.create_campaign(rt, w.owner, {"name": "C", "segment_id": seg.id, "template_id": tpl.id,
                                                "channel_ids": [ch.id], **extra})
    return c.id


def test_a_crash_mid_campaign_then_restart_sends_each_recipient_exactly_once(
        rt: Runtime, ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    ch = channel(rt, ws)
    people = [person(rt, ws, ch, n, tags=["vip"]) for n in range(7)]
    person(rt, ws, ch, 50, consent=ConsentStatus.OPTED_OUT, tags=["vip"])
    cid = make_campaign(rt, ws, ch)
    campaigns.start(rt, ws.owner, cid)
    monkeypatch.setattr(campaigns, "BATCH", 3)
    campaigns.run(rt, cid, max_batches=1)  # the first batch of 3 goes out...
    assert len(campaign_messages(rt, cid)) == 3
    real_send = campaigns._send
    calls = {"n": 0}

    def dies_on_second(*args: Any, **kw: Any) -> Message:
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("process killed")
        return real_send(*args, **kw)

    monkeypatch.setattr(campaigns, "_send", dies_on_second)
    with pytest.raises(RuntimeError):
        campaigns.run(rt, cid)  # ...then the process dies inside the second batch
    assert len(campaign_messages(rt, cid)) == 3  # the dying batch left nothing half-done
    monkeypatch.setattr(campaigns, "_send", real_send)
    campaigns.run(rt, cid)  # the restarted task resumes
    keys = campaign_messages(rt, cid)
    assert sorted(keys) == sorted(f"cmp-{cid}-{p}" for p in people)
    assert campaigns.get_campaign(rt, ws.owner, cid).status == "done"
    campaigns.run(rt, cid)  # a stray duplicate run changes nothing
    assert len(campaign_messages(rt, cid)) == 7
    prog = campaigns.progress(rt, ws.owner, cid)
    assert prog["recipients"] == {"pending": 0, "sent": 7, "skipped": 1, "total": 8}
    assert prog["skipped_reasons"] == {"opted_out": 1}


def test_quiet_hours_hold_recipients_until_morning_in_their_time_zone(rt: Runtime, ws: Workspace) -> None:
    ch = channel(rt, ws)
    now = rt.clock.now()
    # Whatever the hour now, make it quiet in Rome and not in Tokyo's opposite window.
    rome_local = now.astimezone(ZoneInfo("Europe/Rome"))
    start = (rome_local - timedelta(hours=1)).strftime("%H:%M")
    end = (rome_local + timedelta(hours=2)).strftime("%H:%M")
    rome = person(rt, ws, ch, 1, tags=["vip"], timezone="Europe/Rome")
    far = person(rt, ws, ch, 2, tags=["vip"], timezone="Pacific/Kiritimati")  # 11-13 hours ahead of Rome
    cid = make_campaign(rt, ws, ch, quiet_start=start, quiet_end=end)
    campaigns.start(rt, ws.owner, cid)
    campaigns.run(rt, cid)
    assert campaign_messages(rt, cid) == [f"cmp-{cid}-{far}"]
    held, _ = campaigns.recipients(rt, ws.owner, cid, status="pending")
    assert [r.contact_id for r in held] == [rome]
    assert held[0].not_before is not None and held[0].not_before > now
    assert campaigns.get_campaign(rt, ws.owner, cid).status == "running"


def test_quiet_until_crosses_midnight() -> None:
    night = datetime(2026, 11, 24, 22, 30, tzinfo=UTC)  # 23:30 in Rome
    until = campaigns.quiet_until(night, "Europe/Rome", "21:00", "09:00")
    assert until == datetime(2026, 11, 25, 8, 0, tzinfo=UTC)
    assert campaigns.quiet_until(night.replace(hour=10), "Europe/Rome", "21:00", "09:00") is None


def test_frequency_cap_counts_earlier_campaigns(rt: Runtime, ws: Workspace) -> None:
    ch = channel(rt, ws)
    p = person(rt, ws, ch, 1, tags=["vip"])
    first = make_campaign(rt, ws, ch, name="1")
    campaigns.start(rt, ws.owner, first)
    campaigns.run(rt, first)
    second = make_campaign(rt, ws, ch, name="2", cap_count=1, cap_days=7)
    campaigns.start(rt, ws.owner, second)
    campaigns.run(rt, second)
    assert campaign_messages(rt, second) == []
    (r,), _ = campaigns.recipients(rt, ws.owner, second)
    assert (r.contact_id, r.status, r.reason) == (p, "skipped", "frequency_cap")


def test_whatsapp_needs_an_approved_template_outside_the_window(rt: Runtime, ws: Workspace) -> None:
    wa = channel(rt, ws, "whatsapp")
    person(rt, ws, wa, 1, tags=["vip"])
    seg = segments.create_segment(rt, ws.owner, name="VIP", filter={"tags_any": ["vip"]})
    plain = templates.create_template(rt, ws.owner, {"name": "Testo", "variants": {"it": {"text": "Ciao"}}})
    pending = templates.create_template(rt, ws.owner, {"name": "Promo", "provider_name": "promo_natale",
                                                       "approval_status": "pending",
                                                       "variants": {"it": {"text": "Ciao {{first_name}}"}}})
    with pytest.raises(ValidationFailed) as exc:
        c = campaigns.create_campaign(rt, ws.owner, {"name": "P", "segment_id": seg.id, "template_id": pending.id,
                                                     "channel_ids": [wa.id]})
        campaigns.start(rt, ws.owner, c.id)
    assert exc.value.field == "template_id"
    # A plain text outside the 24-hour window: refused by the send policy, recorded per recipient.
    c = campaigns.create_campaign(rt, ws.owner, {"name": "T", "segment_id": seg.id, "template_id": plain.id,
                                                 "channel_ids": [wa.id]})
    campaigns.start(rt, ws.owner, c.id)
    campaigns.run(rt, c.id)
    (r,), _ = campaigns.recipients(rt, ws.owner, c.id)
    assert (r.status, r.reason) == ("skipped", "whatsapp_24h")
    with rt.db.read() as s:
        assert s.scalar(select(func.count()).select_from(Conversation)) == 0  # nothing left behind
    # Approved: goes out as the WhatsApp template, with the contact's data as its parameters.
    templates.update_template(rt, ws.owner, pending.id, {"approval_status": "approved"})
    c2 = campaigns.create_campaign(rt, ws.owner, {"name": "A", "segment_id": seg.id, "template_id": pending.id,
                                                  "channel_ids": [wa.id]})
    campaigns.start(rt, ws.owner, c2.id)
    campaigns.run(rt, c2.id)
    with rt.db.read() as s:
        msg = s.scalar(select(Message).where(Message.idempotency_key.like(f"cmp-{c2.id}-%")))
        assert msg is not None
        assert msg.content["template"]["name"] == "promo_natale"
        assert msg.content["template"]["parameters"] == ["Persona"]
        assert s.scalar(select(func.count()).select_from(Message)) == 1


def test_pause_resume_and_cancel(rt: Runtime, ws: Workspace) -> None:
    ch = channel(rt, ws)
    person(rt, ws, ch, 1, tags=["vip"])
    cid = make_campaign(rt, ws, ch)
    campaigns.start(rt, ws.owner, cid)
    campaigns.pause(rt, ws.owner, cid)
    campaigns.run(rt, cid)
    assert campaign_messages(rt, cid) == []
    with pytest.raises(Conflict):
        campaigns.start(rt, ws.owner, cid)
    campaigns.resume(rt, ws.owner, cid)
    campaigns.run(rt, cid)
    assert len(campaign_messages(rt, cid)) == 1
    with pytest.raises(Conflict):
        campaigns.cancel(rt, ws.owner, cid)  # done is final


def test_ab_split_tracked_links_and_the_winner(rt: Runtime, ws: Workspace) -> None:
    ch = channel(rt, ws)
    people = [person(rt, ws, ch, n, tags=["vip"]) for n in range(20)]
    seg = segments.create_segment(rt, ws.owner, name="VIP", filter={"tags_any": ["vip"]})
    a = templates.create_template(rt, ws.owner, {"name": "A", "variants": {
        "it": {"text": "Menu nuovo: https://trattoria.example/menu?src=a"}}})
    b = templates.create_template(rt, ws.owner, {"name": "B", "variants": {"it": {"text": "Sconto del 10% oggi"}}})
    c = campaigns.create_campaign(rt, ws.owner, {"name": "AB", "segment_id": seg.id, "template_id": a.id,
                                                 "variant_b_template_id": b.id, "split_b_percent": 50,
                                                 "winner_metric": "clicked", "channel_ids": [ch.id]})
    campaigns.start(rt, ws.owner, c.id)
    campaigns.run(rt, c.id)
    rows, _ = campaigns.recipients(rt, ws.owner, c.id)
    groups = {r.contact_id: r.variant for r in rows}
    assert groups == {p: campaigns.variant_for(p, 50) for p in people}
    assert set(groups.values()) == {"A", "B"}
    with rt.db.read() as s:
        texts = {r.variant: s.get(Message, r.message_id).text for r in rows}  # type: ignore[union-attr]
    assert texts["B"].startswith("Sconto del 10% oggi")
    assert "trattoria.example" not in texts["A"]  # the link is a Crocevia short link
    short = texts["A"].split()[2]
    assert short.startswith(rt.settings.public_url.rstrip("/") + "/l/")
    first_a = next(r for r in rows if r.variant == "A")
    token = campaigns.link_token(rt, first_a.id, 0)
    assert campaigns.follow_link(rt, token) == "https://trattoria.example/menu?src=a"
    assert campaigns.follow_link(rt, token) == "https://trattoria.example/menu?src=a"  # counted once
    for bad in (token[:-1] + ("0" if token[-1] != "0" else "1"), "1-0", f"{first_a.id}-5-abc"):
        with pytest.raises(NotFound):
            campaigns.follow_link(rt, bad)
    prog = campaigns.progress(rt, ws.owner, c.id)
    assert prog["variants"]["A"]["clicked"] == 1 and prog["variants"]["B"]["clicked"] == 0
    assert prog["funnel"]["clicked"] == 1
    assert prog["winner"]["variant"] == "A" and prog["winner"]["metric"] == "clicked"


def test_orders_segment_and_conversion_attribution(rt: Runtime, ws: Workspace) -> None:
    ch = channel(rt, ws)
    buyer = person(rt, ws, ch, 1, tags=["vip"])
    browser = person(rt, ws, ch, 2, tags=["vip"])
    with rt.db.transaction() as s:
        s.add(Order(workspace_id=ws.id, contact_id=buyer, status="paid", created_at=rt.clock.now()))
    assert segments.preview(rt, ws.owner, {"has_order": True})["count"] == 1
    assert segments.preview(rt, ws.owner, {"has_order": False, "tags_any": ["vip"]})["sample"] == [
        {"id": browser, "name": "Persona 2"}]
    cid = make_campaign(rt, ws, ch, conversion_days=3)
    campaigns.start(rt, ws.owner, cid)
    campaigns.run(rt, cid)
    assert campaigns.progress(rt, ws.owner, cid)["funnel"]["converted"] == 0  # the order came before
    with rt.db.transaction() as s:
        s.add(Order(workspace_id=ws.id, contact_id=browser, status="pending",
                    created_at=rt.clock.now() + timedelta(days=1)))
        s.add(Order(workspace_id=ws.id, contact_id=buyer, status="paid",
                    created_at=rt.clock.now() + timedelta(days=5)))  # outside the 3-day window
    assert campaigns.progress(rt, ws.owner, cid)["funnel"]["converted"] == 1


def test_local_time_waits_for_each_recipients_own_clock(rt: Runtime, ws: Workspace) -> None:
    ch = channel(rt, ws)
    rome = person(rt, ws, ch, 1, tags=["vip"], timezone="Europe/Rome")
    now = rt.clock.now()
    target = (now.astimezone(ZoneInfo("Europe/Rome")) + timedelta(hours=3)).strftime("%H:%M")
    cid = make_campaign(rt, ws, ch, local_time=target)
    campaigns.start(rt, ws.owner, cid)
    campaigns.run(rt, cid)
    assert campaign_messages(rt, cid) == []
    (r,), _ = campaigns.recipients(rt, ws.owner, cid)
    assert r.contact_id == rome and r.not_before is not None
    assert timedelta(hours=2, minutes=58) < r.not_before - now <= timedelta(hours=3)
    assert campaigns.next_local(datetime(2026, 6, 1, 8, 0, tzinfo=UTC), "Asia/Tokyo", "10:00") == datetime(
        2026, 6, 2, 1, 0, tzinfo=UTC)  # 17:00 in Tokyo: tomorrow at 10:00 local
