"""Canned responses: saved replies of the workspace (the composer's "/" shortcut)."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Response
from pydantic import BaseModel, ConfigDict

from crocevia.api.deps import ActorDep, IdPath, RuntimeDep
from crocevia.services import canned

router = APIRouter(prefix="/canned-responses", tags=["canned responses"])


class CannedIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    shortcut: str
    text: str


class CannedPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    shortcut: str | None = None
    text: str | None = None


class CannedPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    shortcut: str
    text: str
    created_at: datetime
    updated_at: datetime


@router.get("", response_model=list[CannedPublic])
def list_canned(rt: RuntimeDep, actor: ActorDep, q: str = "") -> list[CannedPublic]:
    return [CannedPublic.model_validate(c) for c in canned.list_canned(rt, actor, q)]


@router.post("", response_model=CannedPublic, status_code=201)
def create_canned(body: CannedIn, rt: RuntimeDep, actor: ActorDep) -> CannedPublic:
    return CannedPublic.model_validate(canned.create_canned(rt, actor, shortcut=body.shortcut, text=body.text))


@router.patch("/{canned_id}", response_model=CannedPublic)
def update_canned(canned_id: IdPath, body: CannedPatch, rt: RuntimeDep, actor: ActorDep) -> CannedPublic:
    return CannedPublic.model_validate(canned.update_canned(rt, actor, canned_id, shortcut=body.shortcut,
                                                            text=body.text))


@router.delete("/{canned_id}", status_code=204)
def delete_canned(canned_id: IdPath, rt: RuntimeDep, actor: ActorDep) -> Response:
    canned.delete_canned(rt, actor, canned_id)
    return Response(status_code=204)
