"""Typed dependencies: the runtime, and who is calling (session cookie + CSRF, or bearer token)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path, Query, Request

from crocevia.errors import AuthenticationFailed, PermissionDenied
from crocevia.runtime import Runtime
from crocevia.security import constant_time_equals
from crocevia.services import accounts
from crocevia.services.accounts import Authenticated
from crocevia.services.actor import Actor

SESSION_COOKIE = "crocevia_session"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
# The largest BIGINT: a bigger number cannot name a row on either engine, and SQLite's driver
# raises OverflowError on it. Refusing it here turns a would-be 500 into a 422 naming the field.
MAX_ID = 2**63 - 1

IdPath = Annotated[int, Path(ge=1, le=MAX_ID)]
IdQuery = Annotated[int | None, Query(ge=1, le=MAX_ID)]


def get_runtime(request: Request) -> Runtime:
    rt: Runtime = request.app.state.runtime
    return rt


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


def authenticate(request: Request) -> Authenticated:
    rt = get_runtime(request)
    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        return accounts.authenticate_token(rt, auth[7:].strip())
    cookie = request.cookies.get(SESSION_COOKIE)
    if not cookie:
        raise AuthenticationFailed("sign in, or send an API token as 'Authorization: Bearer <token>'")
    who = accounts.authenticate_session(rt, cookie)
    if request.method not in SAFE_METHODS:
        sent = request.headers.get(CSRF_HEADER, "")
        if not who.csrf_token or not constant_time_equals(sent, who.csrf_token):
            raise PermissionDenied(f"missing or wrong {CSRF_HEADER} header", field=CSRF_HEADER)
    return who


AuthDep = Annotated[Authenticated, Depends(authenticate)]


def current_actor(who: AuthDep) -> Actor:
    return who.actor


ActorDep = Annotated[Actor, Depends(current_actor)]
