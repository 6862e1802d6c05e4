"""The agent UI's pages. Each one renders a shell with what its JS needs to start; the JS then talks
to the REST API (/api/v1) and the live WebSocket like any other client.

Pages answer "not found" for what the viewer may not see, exactly as the API does, so an agent
cannot learn that a conversation exists in an inbox they are not a member of.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse

from crocevia.api.deps import MAX_ID, get_runtime
from crocevia.channels.registry import get_adapter
from crocevia.errors import CroceviaError, NotFound
from crocevia.services import accounts, channels, contacts, conversations, labels
from crocevia.storage.tables import Channel
from crocevia.web import tickets_pages
from crocevia.web.assets import serve_static
from crocevia.web.bots_pages import router as bots_router
from crocevia.web.dashboards import router as dashboards_router
from crocevia.web.pages import page as _page
from crocevia.web.promotion_pages import router as promotion_router
from crocevia.web.render import render
from crocevia.web.rules_pages import router as rules_router
from crocevia.web.session import Viewer, anonymous_language, safe_next, to_login, viewer

router = APIRouter(include_in_schema=False)
router.include_router(dashboards_router)  # /ui/analytics and /ui/advisor (issue 9)
router.include_router(promotion_router)  # /ui/promotion (issue 7)
router.include_router(bots_router)  # /ui/bots (issue 6)
# /ui/tickets/rules (issue 8): before /ui/tickets/{ticket_id}, which would take "rules" for an id.
router.include_router(rules_router)

ADMIN_SECTIONS = ("channels", "users", "teams", "labels", "canned", "webhooks")


def channel_info(c: Channel) -> dict[str, Any]:
    """A channel as the composer needs it: what it can send, and its reply-window rule."""
    info: dict[str, Any] = {"id": c.id, "name": c.name, "kind": c.kind, "display_name": c.kind,
                            "is_active": c.is_active, "caps": {}}
    try:
        adapter = get_adapter(c.kind)
    except (CroceviaError, ImportError):
        return info  # an adapter that cannot load still lets agents read the history
    caps = adapter.capabilities
    info["display_name"] = adapter.display_name
    info["caps"] = {
        "templates": caps.templates, "media": caps.media, "buttons": caps.buttons,
        "location": caps.location, "max_text_length": caps.max_text_length,
        "reply_window_hours": caps.reply_window.total_seconds() / 3600 if caps.reply_window else None,
        "reply_window_rule": caps.reply_window_rule or None,
    }
    return info


def _inbox(request: Request, v: Viewer, open_id: int | None) -> Response:
    rt = get_runtime(request)
    actor = v.who.actor
    chans = [channel_info(c) for c in channels.list_channels(rt, actor)]
    users = [{"id": u.id, "name": u.name, "email": u.email, "role": u.role, "is_active": u.is_active}
             for u in accounts.list_users(rt, actor)]
    teams = [{"id": t.id, "name": t.name, "member_ids": m} for t, m in accounts.list_teams(rt, actor)]
    label_list = [labels.label_dict(lbl) for lbl in labels.list_labels(rt, actor)]
    return _page(request, v, "inbox.html", section="inbox", channels=chans, teams=teams,
                 extra_boot={"channels": chans, "users": users, "teams": teams, "labels": label_list,
                             "open_id": open_id})


@router.get("/")
def home(request: Request) -> Response:
    v = viewer(request)
    if v is None:
        return to_login(request)
    return _inbox(request, v, None)


@router.get("/ui/login")
def login_page(request: Request, next: str = "/") -> Response:
    target = safe_next(next)
    if viewer(request) is not None:
        return RedirectResponse(target, status_code=303)
    lang = anonymous_language(request)
    return render(request, "login.html", lang=lang, next_url=target)


@router.get("/ui/conversations/{conversation_id}")
def conversation_page(conversation_id: int, request: Request) -> Response:
    v = viewer(request)
    if v is None:
        return to_login(request)
    try:
        conversations.get_conversation(get_runtime(request), v.who.actor, conversation_id)
    except NotFound:
        return _page(request, v, "not_found.html", status_code=404, section="inbox", missing="conversation")
    return _inbox(request, v, conversation_id)


def _contacts(request: Request, v: Viewer, open_id: int | None) -> Response:
    chans = [channel_info(c) for c in channels.list_channels(get_runtime(request), v.who.actor)]
    return _page(request, v, "contacts.html", section="contacts", open_id=open_id,
                 extra_boot={"channels": chans, "open_id": open_id})


@router.get("/ui/contacts")
def contacts_page(request: Request) -> Response:
    v = viewer(request)
    if v is None:
        return to_login(request)
    return _contacts(request, v, None)


@router.get("/ui/contacts/{contact_id}")
def contact_page(contact_id: int, request: Request) -> Response:
    v = viewer(request)
    if v is None:
        return to_login(request)
    try:
        if not 1 <= contact_id <= MAX_ID:
            raise NotFound("no such contact")
        contacts.get_contact(get_runtime(request), v.who.actor, contact_id)
    except NotFound:
        return _page(request, v, "not_found.html", status_code=404, section="contacts", missing="contact")
    return _contacts(request, v, contact_id)


@router.get("/ui/tickets")
def tickets_page(request: Request) -> Response:
    v = viewer(request)
    return to_login(request) if v is None else tickets_pages.list_page(request, v)


@router.get("/ui/tickets/{ticket_id}")
def ticket_page(ticket_id: int, request: Request) -> Response:
    v = viewer(request)
    return to_login(request) if v is None else tickets_pages.detail_page(request, v, ticket_id)


@router.get("/ui/admin/{section}")
def admin_page(section: str, request: Request) -> Response:
    v = viewer(request)
    if v is None:
        return to_login(request)
    if section not in ADMIN_SECTIONS:
        return _page(request, v, "not_found.html", status_code=404, missing="page")
    if not v.is_admin:
        return _page(request, v, "forbidden.html", status_code=403, section=section)
    return _page(request, v, f"admin/{section}.html", section=section)


@router.get("/ui/settings/tokens")
def tokens_page(request: Request) -> Response:
    v = viewer(request)
    if v is None:
        return to_login(request)
    return _page(request, v, "settings/tokens.html", section="tokens")


@router.get("/ui/static/{path:path}")
async def static(path: str, request: Request) -> Response:
    return await serve_static(path, request)
