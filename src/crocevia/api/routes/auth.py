"""Sign-in for browsers (session cookie + CSRF token) and who-am-I."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from crocevia.api.deps import SESSION_COOKIE, AuthDep, RuntimeDep
from crocevia.api.schemas import LoginIn, MeOut, UserPublic
from crocevia.services import accounts

router = APIRouter(prefix="/auth", tags=["auth"])


def user_public(u: object) -> UserPublic:
    return UserPublic.model_validate(u, from_attributes=True)


@router.post("/login", response_model=MeOut)
def login(body: LoginIn, rt: RuntimeDep, response: Response, request: Request) -> MeOut:
    new = accounts.login(rt, email=body.email, password=body.password)
    response.set_cookie(SESSION_COOKIE, new.token, max_age=rt.settings.session_max_age_seconds, httponly=True,
                        samesite="lax", secure=request.url.scheme == "https", path="/")
    return MeOut(user=user_public(new.user), workspace_id=new.user.workspace_id, csrf_token=new.csrf_token)


@router.post("/logout", status_code=204)
def logout(rt: RuntimeDep, who: AuthDep, request: Request, response: Response) -> Response:
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        accounts.logout(rt, token)
    response = Response(status_code=204)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/me", response_model=MeOut)
def me(who: AuthDep) -> MeOut:
    return MeOut(user=user_public(who.user), workspace_id=who.actor.workspace_id, csrf_token=who.csrf_token)
