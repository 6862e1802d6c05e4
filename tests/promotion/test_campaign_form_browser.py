"""Creating a campaign in the UI, in headless Chromium against the real app: the segment builder
counts live as the marketer types, the campaign form names what is wrong, and a launched, scheduled
campaign's progress bar follows the fan-out without a reload."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from tests.browser_support import browser_fixture
from tests.conftest import Hub, new_workspace
from tests.web.ui import assert_not_reloaded, expect, mark_page, sign_in

from crocevia.domain.enums import ConsentStatus
from crocevia.services import campaigns, channels, contacts, templates
from crocevia.storage.tables import CampaignRecipient, ContactIdentity, Workspace

pytestmark = pytest.mark.browser
browser = browser_fixture()
DEAD = {"api_base": "http://127.0.0.1:9"}  # the fan-out is measured here, not the dispatch


def _channel(hub: Hub, w: Any, name: str, n: int) -> Any:
    creds = {"account_id": f"acct-form-{n}", "api_key": f"key-form-{n}2345", "webhook_secret": f"secret-form-{n}23"}
    return channels.create_channel(hub.rt, w.owner, kind="sandbox", name=name, credentials=creds, settings=DEAD)


def _local_datetime(page: Any, seconds_ahead: int) -> str:
    """A datetime-local value in the browser's own time zone."""
    return str(page.evaluate("""(ahead) => {
        const d = new Date(Date.now() + ahead * 1000);
        const p = (n) => String(n).padStart(2, '0');
        const day = `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}`;
        return `${day}T${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
    }""", seconds_ahead))


def test_marketer_builds_a_segment_then_creates_and_launches_a_campaign(browser: Any, hub: Hub) -> None:
    rt = hub.rt
    w = new_workspace(rt)
    first, fallback = _channel(hub, w, "WhatsApp negozio", 1), _channel(hub, w, "Telegram negozio", 2)
    # Anna: reachable and opted in on the first channel; Bruno: only on the fallback; Carla: on the
    # first channel without consent; Dario: not in the segment.
    people = {"Anna": [first], "Bruno": [fallback], "Carla": [first], "Dario": [first]}
    ids: dict[str, int] = {}
    for n, (name, chans) in enumerate(people.items()):
        c = contacts.create_contact(rt, w.owner, {"name": name, "tags": ["birra"] if name == "Dario" else ["vino"]})
        ids[name] = c.id
        with rt.db.transaction() as s:
            for ch in chans:
                s.add(ContactIdentity(workspace_id=w.id, contact_id=c.id, channel_id=ch.id, external_id=f"+3933{n}"))
        if name != "Carla":
            for ch in chans:
                contacts.set_consent(rt, w.owner, c.id, channel_id=ch.id, status=ConsentStatus.OPTED_IN)
    templates.create_template(rt, w.owner, {"name": "Saldi", "variants": {"it": {"text": "Ciao {{first_name}}"}}})
    templates.create_template(rt, w.owner, {"name": "Saldi B", "variants": {"it": {"text": "Ehi {{first_name}}"}}})

    page = sign_in(browser, hub, w.owner_email, w.password)
    page.goto(f"{hub.url}/ui/promotion")
    expect()(page.get_by_role("heading", name="Promotion", level=1)).to_be_visible()
    # No saved segment yet: the form says what a campaign needs instead of failing.
    expect()(page.get_by_text("A campaign needs a saved segment")).to_be_visible()

    # The count follows the typing, no button, no reload; a bad value is named as it is typed.
    mark_page(page)
    page.get_by_label("Tags (any of)").fill("vino")
    live = page.get_by_test_id("segment-live")
    expect()(live).to_have_attribute("data-count", "3")
    expect()(live).to_contain_text("Contacts matching: 3")
    page.get_by_label("Age from").fill("abc")
    expect()(live).to_contain_text("filter.age_min")
    page.get_by_label("Age from").fill("")
    expect()(live).to_have_attribute("data-count", "3")
    assert_not_reloaded(page)
    page.get_by_label("Segment name").fill("Amanti del vino")
    page.get_by_role("button", name="Save segment").click()
    expect()(page.get_by_test_id("segment-list")).to_contain_text("Amanti del vino")

    form = page.locator("#campaign-form")
    expect()(form.get_by_test_id("campaign-audience")).to_have_attribute("data-count", "3")
    form.get_by_label("Campaign name").fill("Sabato")
    error = page.get_by_test_id("campaign-error")

    # Refusals are shown with the field they are about, and that field is marked.
    form.get_by_role("button", name="Launch campaign").click()
    expect()(error).to_contain_text("template_id")
    expect()(form.get_by_label("Message template")).to_have_attribute("aria-invalid", "true")
    form.get_by_label("Message template").select_option(label="Saldi")
    form.get_by_label("Fallback channel", exact=True).select_option(label="WhatsApp negozio (sandbox)")
    form.get_by_role("button", name="Launch campaign").click()
    expect()(error).to_contain_text("channel_ids[1]: each channel can appear once")
    expect()(form.get_by_label("Fallback channel", exact=True)).to_have_attribute("aria-invalid", "true")
    form.get_by_label("Fallback channel", exact=True).select_option(label="Telegram negozio (sandbox)")
    form.get_by_label("Quiet hours from").fill("21:00")
    form.get_by_role("button", name="Launch campaign").click()
    expect()(error).to_contain_text("quiet_end")
    expect()(form.get_by_label("Quiet hours until")).to_have_attribute("aria-invalid", "true")
    assert campaigns.list_campaigns(rt, w.owner) == []  # nothing half-made by the refusals

    # Quiet hours that do not cover now where the contacts live (the workspace's time zone).
    with rt.db.read() as s:
        ws = s.get(Workspace, w.id)
        assert ws is not None
        tz = ZoneInfo(ws.timezone)
    quiet_start = (datetime.now(tz) + timedelta(hours=3)).strftime("%H:00")
    quiet_end = (datetime.now(tz) + timedelta(hours=5)).strftime("%H:00")
    form.get_by_label("Quiet hours from").fill(quiet_start)
    form.get_by_label("Quiet hours until").fill(quiet_end)
    form.get_by_label("Variant B template (A/B test)").select_option(label="Saldi B")
    form.get_by_label("Share getting variant B, in percent").fill("50")
    form.get_by_label("Send at (empty: now)").fill(_local_datetime(page, 12))
    form.get_by_role("button", name="Launch campaign").click()

    # The page shows the new campaign waiting for its time, then its bar follows the fan-out live.
    row = page.get_by_test_id("campaign-table").locator('tr[data-campaign="Sabato"]')
    expect()(row).to_have_attribute("data-status", "scheduled")
    mark_page(page)
    expect()(row).to_have_attribute("data-status", "done", timeout=40_000)
    expect()(row.get_by_test_id("campaign-bar")).to_have_js_property("value", 100)
    expect()(row.locator('[data-k="sent"]')).to_have_text("2")
    expect()(row.locator('[data-k="reasons"]')).to_have_text("no_consent ×1")
    assert_not_reloaded(page)

    camp = campaigns.list_campaigns(rt, w.owner)[0]
    assert camp.status == "done" and camp.channel_order == [first.id, fallback.id]
    assert (camp.quiet_start, camp.quiet_end, camp.split_b_percent) == (quiet_start, quiet_end, 50)
    assert camp.scheduled_at is not None and camp.started_at is not None and camp.started_at >= camp.scheduled_at
    with rt.db.read() as s:
        rows = s.query(CampaignRecipient).filter_by(campaign_id=camp.id)
        got = {r.contact_id: (r.status, r.channel_id) for r in rows}
    assert got == {ids["Anna"]: ("sent", first.id), ids["Bruno"]: ("sent", fallback.id),
                   ids["Carla"]: ("skipped", first.id)}
    page.context.close()
