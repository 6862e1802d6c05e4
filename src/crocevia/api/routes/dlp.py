"""Data-leak protection: scan text, rules, findings (report and CSV), reveal vaulted originals."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field, model_validator

from crocevia.api.deps import ActorDep, IdPath, IdQuery, RuntimeDep
from crocevia.dlp.scanner import scan_texts
from crocevia.services import protection

router = APIRouter(tags=["dlp"])
MAX_SCAN_TEXTS = 1000


class ScanIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: str | None = None
    texts: list[str] | None = Field(default=None, max_length=MAX_SCAN_TEXTS)

    @model_validator(mode="after")
    def _one_of(self) -> ScanIn:
        if (self.text is None) == (self.texts is None):
            raise ValueError("send either 'text' or 'texts'")
        return self


class RuleIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    direction: str
    label: str
    action: str
    alert: bool = False
    channel_id: int | None = None


@router.post("/dlp/scan")
def scan(body: ScanIn, actor: ActorDep) -> dict[str, Any]:
    """The same spans as `crocevia dlp scan --jsonl`: label, start, end (str indices), score, detector."""
    texts = [body.text] if body.text is not None else list(body.texts or [])
    results = [{"spans": [f.to_dict() for f in found]} for found in scan_texts(texts)]
    return results[0] if body.text is not None else {"results": results}


@router.get("/dlp/rules")
def rules(rt: RuntimeDep, actor: ActorDep, channel_id: IdQuery = None) -> list[dict[str, Any]]:
    return protection.effective_rules(rt, actor, channel_id)


@router.put("/dlp/rules")
def put_rule(body: RuleIn, rt: RuntimeDep, actor: ActorDep) -> list[dict[str, Any]]:
    protection.set_rule(rt, actor, direction=body.direction, label=body.label, action=body.action,
                        alert=body.alert, channel_id=body.channel_id)
    return protection.effective_rules(rt, actor, body.channel_id)


@router.get("/dlp/report")
def report(rt: RuntimeDep, actor: ActorDep, since: datetime | None = None,
           until: datetime | None = None) -> dict[str, Any]:
    return protection.findings_report(rt, actor, since=since, until=until)


@router.get("/dlp/findings")
def findings(rt: RuntimeDep, actor: ActorDep, limit: int = 100, before: IdQuery = None) -> list[dict[str, Any]]:
    return [{"id": f.id, "created_at": f.created_at.isoformat(), "label": f.label, "direction": f.direction,
             "action": f.action, "channel_id": f.channel_id, "conversation_id": f.conversation_id,
             "message_id": f.message_id, "note_id": f.note_id, "agent_user_id": f.agent_user_id,
             "detector": f.detector, "score": f.score, "excerpt": f.excerpt}
            for f in protection.list_findings(rt, actor, limit=limit, before=before)]


@router.get("/dlp/findings.csv", response_class=StreamingResponse)
def findings_csv(rt: RuntimeDep, actor: ActorDep) -> StreamingResponse:
    return StreamingResponse(protection.findings_csv(rt, actor), media_type="text/csv",
                             headers={"Content-Disposition": 'attachment; filename="dlp-findings.csv"'})


@router.post("/messages/{message_id}/reveal")
def reveal_message(message_id: IdPath, rt: RuntimeDep, actor: ActorDep) -> dict[str, Any]:
    """The vaulted original. Only roles allowed to reveal; every reveal is audited."""
    return protection.reveal(rt, actor, message_id=message_id)


@router.post("/notes/{note_id}/reveal")
def reveal_note(note_id: IdPath, rt: RuntimeDep, actor: ActorDep) -> dict[str, Any]:
    return protection.reveal(rt, actor, note_id=note_id)
