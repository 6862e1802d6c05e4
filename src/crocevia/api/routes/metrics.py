"""Prometheus scrape endpoint: GET /metrics (outside the versioned API, not in the OpenAPI document)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse

from crocevia.api.deps import RuntimeDep
from crocevia.errors import AuthenticationFailed
from crocevia.security import constant_time_equals
from crocevia.services import opsmetrics

router = APIRouter(include_in_schema=False)
LOOPBACK = {"127.0.0.1", "::1", "localhost"}


@router.get("/metrics")
def metrics(request: Request, rt: RuntimeDep) -> PlainTextResponse:
    """With CROCEVIA_METRICS_TOKEN set, Prometheus sends it as a bearer token; without one, only this host
    may read the numbers (they describe every workspace, so no workspace user may)."""
    token = rt.settings.metrics_token
    sent = request.headers.get("authorization", "")
    if token:
        if not sent.lower().startswith("bearer ") or not constant_time_equals(sent[7:].strip(), token):
            raise AuthenticationFailed("send CROCEVIA_METRICS_TOKEN as 'Authorization: Bearer <token>'")
    elif (request.client.host if request.client else "") not in LOOPBACK:
        raise AuthenticationFailed("set CROCEVIA_METRICS_TOKEN to read /metrics from another host")
    return PlainTextResponse(opsmetrics.exposition(rt), media_type="text/plain; version=0.0.4")
