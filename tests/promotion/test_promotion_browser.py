"""The promotion page in headless Chromium against the real app: a marketer counts a segment live,
sees a bad value named, saves the segment, and reads campaign progress and CSAT results as charts."""

from __future__ import annotations

from typing import Any

import pytest
from tests.browser_support import browser_fixture
from tests.conftest import Hub, new_workspace
from tests.core.test_pipeline import wait_for
from tests.web.ui import expect, sign_in

from crocevia.domain.enums import ConsentStatus
from crocevia.services import campaigns, channels, contacts, segments, templates
from crocevia.storage.tables import ContactIdentity, Conversation, SurveyResponse

pytestmark = pytest.mark.browser
browser = browser_fixture()
CREDS = {"account_id": "acct-promo", "api_key": "key-promo-12345", "webhook_secret": "secret-promo-123"}


def test_marketer_counts_saves_a_segment_and_reads_progress_and_csat(browser: Any, hub: Hub) -> None:
    rt = hub.rt
    w = new_workspace(rt)
    ch = channels.create_channel(rt, w.owner, kind="sandbox", name="Sandbox", credentials=CREDS,
                                 settings={"api_base": "http://127.0.0.1:9"})
    ids = []
    for n, tags in enumerate((["vino"], ["vino"], ["vino", "birra"], ["birra"])):
        c = contacts.create_contact(rt, w.owner, {"name": f"Cliente {n}", "tags": tags})
        ids.append(c.id)
        with rt.db.transaction() as s:
            s.add(ContactIdentity(workspace_id=w.id, contact_id=c.id, channel_id=ch.id, external_id=f"+39333000{n}"))
        if n < 2:
            contacts.set_consent(rt, w.owner, c.id, channel_id=ch.id, status=ConsentStatus.OPTED_IN)
    seg = segments.create_segment(rt, w.owner, name="Base", filter={"tags_any": ["vino"]})
    tpl = templates.create_template(rt, w.owner, {"name": "T", "variants": {"it": {"text": "Ciao {{first_name}}"}}})
    camp = campaigns.create_campaign(rt, w.owner, {"name": "Sabato", "segment_id": seg.id, "template_id": tpl.id,
                                                   "channel_ids": [ch.id]})
    campaigns.start(rt, w.owner, camp.id)
    wait_for(lambda: campaigns.get_campaign(rt, w.owner, camp.id).status == "done", timeout=30,
             what="the campaign to finish")
    now = rt.clock.now()
    with rt.db.transaction() as s:
        for cid, score in zip(ids, (5, 4, 2, 5), strict=True):
            conv = Conversation(workspace_id=w.id, channel_id=ch.id, contact_id=cid, status="resolved")
            s.add(conv)
            s.flush()
            s.add(SurveyResponse(workspace_id=w.id, kind="csat", conversation_id=conv.id, contact_id=cid,
                                 channel_id=ch.id, status="done", score=score, asked_at=now, answered_at=now))

    page = sign_in(browser, hub, w.owner_email, w.password)
    page.get_by_role("link", name="Promotion").click()
    expect()(page.get_by_role("heading", name="Promotion", level=1)).to_be_visible()
    progress = page.get_by_test_id("campaign-progress")
    expect()(progress.locator('g[data-label="Sabato"]')).to_have_attribute("data-value", "100")
    row = page.get_by_test_id("campaign-table").locator('tr[data-campaign="Sabato"]')
    expect()(row).to_contain_text("no_consent ×1")
    expect()(page.get_by_test_id("campaign-funnel").locator('g[data-label="queued"]')).to_have_attribute(
        "data-value", "2")
    expect()(page.get_by_test_id("csat-score")).to_have_attribute("data-score", "75.0")
    expect()(page.get_by_test_id("csat-distribution").locator('g[data-label="5"]')).to_have_attribute(
        "data-value", "2")

    page.get_by_label("Age from").fill("abc")
    page.get_by_role("button", name="Count").click()
    expect()(page.get_by_test_id("segment-error")).to_contain_text("filter.age_min")

    page.get_by_label("Age from").fill("")
    page.get_by_label("Tags (any of)").fill("vino")
    page.get_by_role("button", name="Count").click()
    expect()(page.get_by_test_id("segment-count")).to_have_attribute("data-count", "3")
    page.get_by_label("Segment name").fill("Amanti del vino")
    page.get_by_role("button", name="Save segment").click()
    expect()(page.get_by_test_id("segment-list")).to_contain_text("Amanti del vino")
    saved = next(x for x in segments.list_segments(rt, w.owner) if x.name == "Amanti del vino")
    assert saved.filter == {"tags_any": ["vino"]}
    page.context.close()
