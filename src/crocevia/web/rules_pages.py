"""/ui/tickets/rules (admins): the workspace's automation rules — list, create, edit, enable/disable,
delete. The page carries what the editor offers (events, condition fields, teams, users, templates,
webhooks); ``js/rules.js`` then reads and writes the rules through ``/api/v1/ticket-rules``, so the API's
validation (problem+json naming the field) is what the admin sees next to the field at fault."""

from __future__ import annotations

from typing import Any, get_args

from fastapi import APIRouter, Request, Response

from crocevia.api.deps import get_runtime
from crocevia.services import accounts, sla, templates, ticket_rules, webhooks_out
from crocevia.web.pages import admin_viewer, page

router = APIRouter(include_in_schema=False)


@router.get("/ui/tickets/rules")
def rules_page(request: Request) -> Response:
    v = admin_viewer(request, "rules")
    if isinstance(v, Response):
        return v
    rt = get_runtime(request)
    actor = v.who.actor
    editor: dict[str, Any] = {
        "events": list(get_args(ticket_rules.Event)),
        "fields": list(get_args(ticket_rules.ConditionField)),
        "conversation_events": list(ticket_rules.CONVERSATION_EVENTS),
        "priorities": list(sla.PRIORITIES),
        "teams": [{"id": t.id, "name": t.name} for t, _ in accounts.list_teams(rt, actor)],
        "users": [{"id": u.id, "name": u.name} for u in accounts.list_users(rt, actor) if u.is_active],
        "templates": [{"id": t.id, "name": t.name, "approval_status": t.approval_status}
                      for t in templates.list_templates(rt, actor)],
        "webhooks": [{"id": w.id, "url": w.url} for w in webhooks_out.list_subscriptions(rt, actor)],
    }
    return page(request, v, "rules.html", section="rules", extra_boot={"rules_editor": editor})
