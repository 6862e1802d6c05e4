"""The workspace's labels: everyone reads them (the inbox colours its chips); admins change them."""

from __future__ import annotations

from fastapi import APIRouter, Response
from pydantic import BaseModel, ConfigDict

from crocevia.api.deps import ActorDep, IdPath, RuntimeDep
from crocevia.services import labels
from crocevia.storage.tables import Label

router = APIRouter(prefix="/labels", tags=["labels"])


class LabelIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    color: str | None = None  # "#rrggbb"; picked from the name when left out
    description: str = ""


class LabelPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str | None = None
    color: str | None = None
    description: str | None = None


class LabelPublic(BaseModel):
    id: int
    name: str
    color: str
    description: str
    conversations: int | None = None  # with ?with_counts=true, or after a change: how many carry it


def _public(label: Label, conversations: int | None = None) -> LabelPublic:
    return LabelPublic(id=label.id, name=label.name, color=label.color, description=label.description,
                       conversations=conversations)


@router.get("", response_model=list[LabelPublic])
def list_labels(rt: RuntimeDep, actor: ActorDep, with_counts: bool = False) -> list[LabelPublic]:
    counts = labels.count_in_use(rt, actor) if with_counts else {}
    return [_public(lbl, counts.get(lbl.name) if with_counts else None) for lbl in labels.list_labels(rt, actor)]


@router.post("", response_model=LabelPublic, status_code=201)
def create_label(body: LabelIn, rt: RuntimeDep, actor: ActorDep) -> LabelPublic:
    return _public(labels.create_label(rt, actor, name=body.name, color=body.color, description=body.description), 0)


@router.patch("/{label_id}", response_model=LabelPublic)
def update_label(label_id: IdPath, body: LabelPatch, rt: RuntimeDep, actor: ActorDep) -> LabelPublic:
    label, _touched = labels.update_label(rt, actor, label_id, name=body.name, color=body.color,
                                          description=body.description)
    return _public(label)


@router.delete("/{label_id}", status_code=204)
def delete_label(label_id: IdPath, rt: RuntimeDep, actor: ActorDep) -> Response:
    labels.delete_label(rt, actor, label_id)
    return Response(status_code=204)
