"""Demo content for promotion: a segment, a bilingual template, a draft campaign, CSAT on resolve."""

from __future__ import annotations

from crocevia.runtime import Runtime
from crocevia.services import campaigns, channels, segments, surveys, templates
from crocevia.services.actor import Actor


def seed_promotion(rt: Runtime, actor: Actor, agent_id: int) -> None:
    sandbox = next((c for c in channels.list_channels(rt, actor) if c.kind == "sandbox"), None)
    if sandbox is None:
        return
    seg = segments.create_segment(rt, actor, name="Amanti del vino", filter={"tags_any": ["vino"]})
    tpl = templates.create_template(rt, actor, {"name": "Degustazione", "category": "marketing", "variants": {
        "it": {"text": "Ciao {{first_name | amico}}, sabato degustazione in cantina: ti aspettiamo!"},
        "en": {"text": "Hi {{first_name | there}}, wine tasting in our cellar on Saturday: see you there!"}}})
    campaigns.create_campaign(rt, actor, {"name": "Degustazione di sabato", "segment_id": seg.id,
                                          "template_id": tpl.id, "channel_ids": [sandbox.id],
                                          "quiet_start": "21:00", "quiet_end": "09:00"})
    surveys.put_settings(rt, actor, csat_on_resolve=True, follow_up=True)
