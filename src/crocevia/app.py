"""Composition root: build_app(settings) wires middleware, routers, the lifespan and workers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI
from starlette.types import Receive, Scope, Send

from crocevia import __version__
from crocevia.api import problems
from crocevia.api.routes import admin, auth, channels, contacts, conversations, dlp, integrations, live, webhooks_in
from crocevia.api.routes import advisor as advisor_routes
from crocevia.api.routes import analytics as analytics_routes
from crocevia.api.routes import automation as automation_routes
from crocevia.api.routes import canned as canned_routes
from crocevia.api.routes import labels as labels_routes
from crocevia.api.routes import metrics as metrics_routes
from crocevia.api.routes import promotion as promotion_routes
from crocevia.api.routes import tickets as tickets_routes
from crocevia.api.telemetry import telemetry_config
from crocevia.channels.webchat import routes as webchat_routes
from crocevia.jobs.dispatcher import Dispatcher
from crocevia.jobs.tasks import TaskRunner
from crocevia.jobs.webhook_sender import WebhookSender
from crocevia.runtime import Runtime
from crocevia.settings import Settings
from crocevia.web.routes import router as web_router


class CroceviaApp(FastAPI):
    """The FastAPI app, with provider webhooks served before its middleware stack (see
    ``webhooks_in.serve_fast``: the busiest route, answered the same way for less)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        fast = scope["type"] == "http" and scope["path"].startswith("/webhooks/") and not self.root_path
        if fast and await webhooks_in.serve_fast(self, scope, receive, send):
            return
        await super().__call__(scope, receive, send)


def build_app(settings: Settings | None = None, *, runtime: Runtime | None = None,
              run_workers: bool | None = None) -> FastAPI:
    settings = settings or (runtime.settings if runtime else Settings())
    rt = runtime or Runtime.from_settings(settings)
    workers = settings.run_worker_in_process if run_workers is None else run_workers

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        rt.bus.start()
        started: list[Dispatcher | WebhookSender | TaskRunner] = []
        if workers:
            started = [Dispatcher(rt), WebhookSender(rt), TaskRunner(rt)]
            for w in started:
                w.start()
        app.state.workers = started
        try:
            yield
        finally:
            for w in started:
                w.stop()
            if runtime is None:
                rt.close()

    app = CroceviaApp(
        title="Crocevia",
        version=__version__,
        description="Self-hosted business messaging hub: every chat app in one inbox.",
        openapi_url="/api/v1/openapi.json",
        docs_url="/api/v1/docs",
        redoc_url=None,
        lifespan=lifespan,
        telemetry=telemetry_config(),
    )
    app.state.runtime = rt
    problems.install(app)

    api = APIRouter(prefix="/api/v1")
    for router in (auth.router, admin.router, channels.router, contacts.router, conversations.router,
                   integrations.router, dlp.router, canned_routes.router, promotion_routes.router,
                   advisor_routes.router, analytics_routes.router, automation_routes.router,
                   tickets_routes.router, labels_routes.router):
        api.include_router(router)
    app.include_router(api)
    app.include_router(live.router)
    app.include_router(metrics_routes.router)  # Prometheus /metrics (issue 9)
    webhooks_in.install(app)  # matched before every other route: see its docstring
    app.include_router(integrations.public_router)
    app.include_router(promotion_routes.public_router)
    app.include_router(automation_routes.public_router)
    app.include_router(webchat_routes.router)
    app.include_router(web_router)

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        return {"status": "ok", "version": __version__}

    return app
