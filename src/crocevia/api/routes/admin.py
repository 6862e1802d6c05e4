"""Users, API tokens and teams."""

from __future__ import annotations

from fastapi import APIRouter, Response

from crocevia.api.deps import ActorDep, IdPath, RuntimeDep
from crocevia.api.routes.auth import user_public
from crocevia.api.schemas import (
    TeamCreate,
    TeamPublic,
    TeamUpdate,
    TokenCreate,
    TokenCreated,
    TokenPublic,
    UserCreate,
    UserPublic,
    UserUpdate,
)
from crocevia.services import accounts

router = APIRouter(tags=["users"])


@router.get("/users", response_model=list[UserPublic])
def list_users(rt: RuntimeDep, actor: ActorDep) -> list[UserPublic]:
    return [user_public(u) for u in accounts.list_users(rt, actor)]


@router.post("/users", response_model=UserPublic, status_code=201)
def create_user(body: UserCreate, rt: RuntimeDep, actor: ActorDep) -> UserPublic:
    return user_public(accounts.create_user(rt, actor, email=body.email, name=body.name, role=body.role,
                                            password=body.password, language=body.language))


@router.patch("/users/{user_id}", response_model=UserPublic)
def update_user(user_id: IdPath, body: UserUpdate, rt: RuntimeDep, actor: ActorDep) -> UserPublic:
    return user_public(accounts.update_user(rt, actor, user_id, **body.model_dump(exclude_unset=True)))


@router.get("/tokens", response_model=list[TokenPublic], tags=["tokens"])
def list_tokens(rt: RuntimeDep, actor: ActorDep) -> list[TokenPublic]:
    return [TokenPublic.model_validate(t, from_attributes=True) for t in accounts.list_api_tokens(rt, actor)]


@router.post("/tokens", response_model=TokenCreated, status_code=201, tags=["tokens"])
def create_token(body: TokenCreate, rt: RuntimeDep, actor: ActorDep) -> TokenCreated:
    row, token = accounts.create_api_token(rt, actor, name=body.name)
    return TokenCreated(**TokenPublic.model_validate(row, from_attributes=True).model_dump(), token=token)


@router.delete("/tokens/{token_id}", status_code=204, tags=["tokens"])
def revoke_token(token_id: IdPath, rt: RuntimeDep, actor: ActorDep) -> Response:
    accounts.revoke_api_token(rt, actor, token_id)
    return Response(status_code=204)


@router.get("/teams", response_model=list[TeamPublic], tags=["teams"])
def list_teams(rt: RuntimeDep, actor: ActorDep) -> list[TeamPublic]:
    return [TeamPublic(id=t.id, name=t.name, member_ids=m) for t, m in accounts.list_teams(rt, actor)]


@router.post("/teams", response_model=TeamPublic, status_code=201, tags=["teams"])
def create_team(body: TeamCreate, rt: RuntimeDep, actor: ActorDep) -> TeamPublic:
    team = accounts.create_team(rt, actor, name=body.name, member_ids=body.member_ids)
    return TeamPublic(id=team.id, name=team.name, member_ids=sorted(set(body.member_ids)))


@router.patch("/teams/{team_id}", response_model=TeamPublic, tags=["teams"])
def update_team(team_id: IdPath, body: TeamUpdate, rt: RuntimeDep, actor: ActorDep) -> TeamPublic:
    team, members = accounts.update_team(rt, actor, team_id, name=body.name, member_ids=body.member_ids)
    return TeamPublic(id=team.id, name=team.name, member_ids=members)


@router.delete("/teams/{team_id}", status_code=204, tags=["teams"])
def delete_team(team_id: IdPath, rt: RuntimeDep, actor: ActorDep) -> Response:
    accounts.delete_team(rt, actor, team_id)
    return Response(status_code=204)
