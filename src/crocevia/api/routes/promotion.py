"""Promotion: segments, templates, campaigns and CSAT/NPS surveys (thin routes over services)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from fastapi import APIRouter, Query, Response
from fastapi.responses import RedirectResponse
from pydantic import Field

from crocevia.api.deps import ActorDep, IdPath, IdQuery, RuntimeDep
from crocevia.api.schemas import DbId, Strict
from crocevia.services import campaigns, segments, surveys, templates

router = APIRouter(tags=["promotion"])
# Tracked short links in campaign messages: public (the customer's browser has no session).
public_router = APIRouter(include_in_schema=False)


@public_router.get("/l/{token}")
def follow_link(token: str, rt: RuntimeDep) -> RedirectResponse:
    return RedirectResponse(campaigns.follow_link(rt, token[:80]), status_code=302)


class SegmentIn(Strict):
    name: str = Field(description="Shown in the campaign picker")
    filter: dict[str, Any] = Field(default_factory=dict, description="See services/segments.py SegmentFilter")


class SegmentUpdate(Strict):
    name: str | None = None
    filter: dict[str, Any] | None = None


class FilterIn(Strict):
    filter: dict[str, Any] = Field(default_factory=dict)


class TemplateIn(Strict):
    name: str
    category: Literal["marketing", "utility", "authentication"] = "marketing"
    approval_status: Literal["draft", "pending", "approved", "rejected"] = "draft"
    provider_name: str | None = None
    variants: dict[str, Any] = Field(description='{"it": {"text": "Ciao {{first_name}}", "buttons": [...]}}')


class TemplateUpdate(Strict):
    name: str | None = None
    category: Literal["marketing", "utility", "authentication"] | None = None
    approval_status: Literal["draft", "pending", "approved", "rejected"] | None = None
    provider_name: str | None = None
    variants: dict[str, Any] | None = None


class CampaignIn(Strict):
    name: str
    segment_id: DbId
    template_id: DbId | None = None
    survey_kind: Literal["csat", "nps"] | None = None
    channel_ids: list[DbId] = Field(description="Channels to try for each contact, best first")
    scheduled_at: datetime | None = None
    quiet_start: str | None = Field(default=None, description="HH:MM in the contact's time zone")
    quiet_end: str | None = None
    cap_count: int | None = Field(default=None, ge=1, description="At most this many campaign messages...")
    cap_days: int = Field(default=7, ge=1, le=365, description="...per contact in this many days")
    variant_b_template_id: DbId | None = Field(default=None, description="A/B test: variant B's template")
    split_b_percent: int = Field(default=0, ge=0, le=100, description="Share of the audience getting variant B")
    winner_metric: Literal["replied", "clicked", "read", "converted"] = "replied"
    local_time: str | None = Field(default=None, description="HH:MM: send at this hour in each contact's time zone")
    conversion_days: int = Field(default=7, ge=1, le=90, description="Attribute orders/bookings within N days")


class CampaignUpdate(Strict):
    name: str | None = None
    segment_id: DbId | None = None
    template_id: DbId | None = None
    survey_kind: Literal["csat", "nps"] | None = None
    channel_ids: list[DbId] | None = None
    scheduled_at: datetime | None = None
    quiet_start: str | None = None
    quiet_end: str | None = None
    cap_count: int | None = Field(default=None, ge=1)
    cap_days: int | None = Field(default=None, ge=1, le=365)
    variant_b_template_id: DbId | None = None
    split_b_percent: int | None = Field(default=None, ge=0, le=100)
    winner_metric: Literal["replied", "clicked", "read", "converted"] | None = None
    local_time: str | None = None
    conversion_days: int | None = Field(default=None, ge=1, le=90)


class SurveyAskIn(Strict):
    conversation_id: DbId
    kind: Literal["csat", "nps"]


class SurveySettingsIn(Strict):
    csat_on_resolve: bool
    follow_up: bool = True


# -- segments -------------------------------------------------------------------------------------
@router.get("/segments")
def list_segments(rt: RuntimeDep, actor: ActorDep) -> list[dict[str, Any]]:
    return [segments.segment_dict(x) for x in segments.list_segments(rt, actor)]


@router.post("/segments", status_code=201)
def create_segment(body: SegmentIn, rt: RuntimeDep, actor: ActorDep) -> dict[str, Any]:
    return segments.segment_dict(segments.create_segment(rt, actor, name=body.name, filter=body.filter))


@router.post("/segments/preview")
def preview_segment(body: FilterIn, rt: RuntimeDep, actor: ActorDep) -> dict[str, Any]:
    """The live count for a filter before saving it."""
    return segments.preview(rt, actor, body.filter)


@router.get("/segments/{segment_id}")
def get_segment(segment_id: IdPath, rt: RuntimeDep, actor: ActorDep) -> dict[str, Any]:
    return segments.segment_dict(segments.get_segment(rt, actor, segment_id))


@router.get("/segments/{segment_id}/count")
def count_segment(segment_id: IdPath, rt: RuntimeDep, actor: ActorDep) -> dict[str, Any]:
    return segments.count_segment(rt, actor, segment_id)


@router.patch("/segments/{segment_id}")
def update_segment(segment_id: IdPath, body: SegmentUpdate, rt: RuntimeDep, actor: ActorDep) -> dict[str, Any]:
    return segments.segment_dict(segments.update_segment(rt, actor, segment_id, name=body.name, filter=body.filter))


@router.delete("/segments/{segment_id}", status_code=204)
def delete_segment(segment_id: IdPath, rt: RuntimeDep, actor: ActorDep) -> Response:
    segments.delete_segment(rt, actor, segment_id)
    return Response(status_code=204)


# -- templates ------------------------------------------------------------------------------------
@router.get("/templates")
def list_templates(rt: RuntimeDep, actor: ActorDep) -> list[dict[str, Any]]:
    return [templates.template_dict(t) for t in templates.list_templates(rt, actor)]


@router.post("/templates", status_code=201)
def create_template(body: TemplateIn, rt: RuntimeDep, actor: ActorDep) -> dict[str, Any]:
    return templates.template_dict(templates.create_template(rt, actor, body.model_dump(exclude_unset=True)))


@router.get("/templates/{template_id}")
def get_template(template_id: IdPath, rt: RuntimeDep, actor: ActorDep) -> dict[str, Any]:
    return templates.template_dict(templates.get_template(rt, actor, template_id))


@router.get("/templates/{template_id}/preview")
def preview_template(template_id: IdPath, rt: RuntimeDep, actor: ActorDep,
                     contact_id: IdQuery = None) -> dict[str, Any]:
    """The template rendered with a real contact's data (their language, name, attributes)."""
    return templates.preview_template(rt, actor, template_id, contact_id)


@router.patch("/templates/{template_id}")
def update_template(template_id: IdPath, body: TemplateUpdate, rt: RuntimeDep, actor: ActorDep) -> dict[str, Any]:
    return templates.template_dict(templates.update_template(rt, actor, template_id,
                                                             body.model_dump(exclude_unset=True)))


@router.delete("/templates/{template_id}", status_code=204)
def delete_template(template_id: IdPath, rt: RuntimeDep, actor: ActorDep) -> Response:
    templates.delete_template(rt, actor, template_id)
    return Response(status_code=204)


# -- campaigns ------------------------------------------------------------------------------------
@router.get("/campaigns")
def list_campaigns(rt: RuntimeDep, actor: ActorDep) -> list[dict[str, Any]]:
    return [campaigns.campaign_dict(c) for c in campaigns.list_campaigns(rt, actor)]


@router.post("/campaigns", status_code=201)
def create_campaign(body: CampaignIn, rt: RuntimeDep, actor: ActorDep) -> dict[str, Any]:
    return campaigns.campaign_dict(campaigns.create_campaign(rt, actor, body.model_dump(exclude_unset=True)))


@router.get("/campaigns/{campaign_id}")
def get_campaign(campaign_id: IdPath, rt: RuntimeDep, actor: ActorDep) -> dict[str, Any]:
    out = campaigns.campaign_dict(campaigns.get_campaign(rt, actor, campaign_id))
    out["progress"] = campaigns.progress(rt, actor, campaign_id)
    return out


@router.patch("/campaigns/{campaign_id}")
def update_campaign(campaign_id: IdPath, body: CampaignUpdate, rt: RuntimeDep, actor: ActorDep) -> dict[str, Any]:
    return campaigns.campaign_dict(campaigns.update_campaign(rt, actor, campaign_id,
                                                             body.model_dump(exclude_unset=True)))


@router.post("/campaigns/{campaign_id}/start")
def start_campaign(campaign_id: IdPath, rt: RuntimeDep, actor: ActorDep) -> dict[str, Any]:
    """Send now, or at scheduled_at when that is in the future."""
    return campaigns.campaign_dict(campaigns.start(rt, actor, campaign_id))


@router.post("/campaigns/{campaign_id}/pause")
def pause_campaign(campaign_id: IdPath, rt: RuntimeDep, actor: ActorDep) -> dict[str, Any]:
    return campaigns.campaign_dict(campaigns.pause(rt, actor, campaign_id))


@router.post("/campaigns/{campaign_id}/resume")
def resume_campaign(campaign_id: IdPath, rt: RuntimeDep, actor: ActorDep) -> dict[str, Any]:
    return campaigns.campaign_dict(campaigns.resume(rt, actor, campaign_id))


@router.post("/campaigns/{campaign_id}/cancel")
def cancel_campaign(campaign_id: IdPath, rt: RuntimeDep, actor: ActorDep) -> dict[str, Any]:
    return campaigns.campaign_dict(campaigns.cancel(rt, actor, campaign_id))


@router.get("/campaigns/{campaign_id}/progress")
def campaign_progress(campaign_id: IdPath, rt: RuntimeDep, actor: ActorDep) -> dict[str, Any]:
    return campaigns.progress(rt, actor, campaign_id)


@router.get("/campaigns/{campaign_id}/recipients")
def campaign_recipients(campaign_id: IdPath, rt: RuntimeDep, actor: ActorDep,
                        status: Literal["pending", "sent", "skipped"] | None = None, cursor: IdQuery = None,
                        limit: int = Query(default=100, ge=1, le=1000)) -> dict[str, Any]:
    items, nxt = campaigns.recipients(rt, actor, campaign_id, status=status, after=cursor, limit=limit)
    return {"items": [campaigns.recipient_dict(r) for r in items], "next_cursor": nxt}


@router.get("/campaigns/{campaign_id}/export.csv")
def campaign_export(campaign_id: IdPath, rt: RuntimeDep, actor: ActorDep) -> Response:
    return Response(campaigns.export_csv(rt, actor, campaign_id), media_type="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="campaign-{campaign_id}.csv"'})


# -- surveys --------------------------------------------------------------------------------------
@router.post("/surveys/ask", status_code=201)
def ask_survey(body: SurveyAskIn, rt: RuntimeDep, actor: ActorDep) -> dict[str, Any]:
    """Ask a CSAT or NPS question in a conversation now."""
    return surveys.response_dict(surveys.ask(rt, actor, body.conversation_id, body.kind))


@router.get("/surveys/results")
def survey_results(rt: RuntimeDep, actor: ActorDep, kind: Literal["csat", "nps"] = "csat",
                   days: int = Query(default=90, ge=1, le=3650), campaign_id: IdQuery = None) -> dict[str, Any]:
    """Score, distribution, weekly trend and the latest comments."""
    return surveys.results(rt, actor, kind, days=days, campaign_id=campaign_id)


@router.get("/surveys/responses")
def survey_responses(rt: RuntimeDep, actor: ActorDep, conversation_id: IdQuery = None,
                     limit: int = Query(default=100, ge=1, le=500)) -> list[dict[str, Any]]:
    return [surveys.response_dict(r) for r in surveys.list_responses(rt, actor, conversation_id=conversation_id,
                                                                      limit=limit)]


@router.get("/surveys/settings")
def get_survey_settings(rt: RuntimeDep, actor: ActorDep) -> dict[str, Any]:
    return surveys.get_settings(rt, actor)


@router.put("/surveys/settings")
def put_survey_settings(body: SurveySettingsIn, rt: RuntimeDep, actor: ActorDep) -> dict[str, Any]:
    return surveys.put_settings(rt, actor, csat_on_resolve=body.csat_on_resolve, follow_up=body.follow_up)
