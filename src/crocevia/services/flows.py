"""Bot flows as data: create/update (validated, versioned), list, delete; hand a conversation back to the bot."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from crocevia.automation.flow import FlowDef, parse_source, validate_flow
from crocevia.errors import Conflict, NotFound, ValidationFailed
from crocevia.runtime import Runtime
from crocevia.services.actor import Actor
from crocevia.services.conversations import get_conversation_in
from crocevia.storage.tables import BotFlow, BotSession


def _definition(definition: dict[str, Any] | None, source: str | None, fmt: str) -> FlowDef:
    if (definition is None) == (source is None):
        raise ValidationFailed("send either 'definition' (an object) or 'source' (YAML or JSON text)",
                               field="definition")
    if source is not None:
        return validate_flow(parse_source(source, fmt), source=source, prefix="source")
    assert definition is not None
    return validate_flow(definition)


def save_flow(rt: Runtime, actor: Actor, *, definition: dict[str, Any] | None = None, source: str | None = None,
              fmt: str = "yaml", is_active: bool = True, flow_id: int | None = None) -> BotFlow:
    actor.require_admin()
    flow = _definition(definition, source, fmt)
    with rt.db.transaction() as s:
        clash = s.scalar(select(BotFlow).where(BotFlow.workspace_id == actor.workspace_id,
                                               BotFlow.name == flow.name))
        if flow_id is None:
            if clash is not None:
                raise Conflict(f"a flow named {flow.name!r} exists: update it instead", field="definition.name")
            row = BotFlow(workspace_id=actor.workspace_id, name=flow.name, version=1)
            s.add(row)
        else:
            row = get_flow_in(s, actor, flow_id)
            if clash is not None and clash.id != row.id:
                raise Conflict(f"a flow named {flow.name!r} exists", field="definition.name")
            row.version += 1
        row.name, row.is_active = flow.name, is_active
        row.definition = flow.model_dump(mode="json", by_alias=True, exclude_none=True)
        row.updated_at = rt.clock.now()
        s.flush()
        return row


def get_flow_in(s: Any, actor: Actor, flow_id: int) -> BotFlow:
    row = s.get(BotFlow, flow_id)
    if row is None or row.workspace_id != actor.workspace_id:
        raise NotFound("flow not found")
    return row


def get_flow(rt: Runtime, actor: Actor, flow_id: int) -> BotFlow:
    with rt.db.read() as s:
        return get_flow_in(s, actor, flow_id)


def list_flows(rt: Runtime, actor: Actor) -> list[BotFlow]:
    with rt.db.read() as s:
        return list(s.scalars(select(BotFlow).where(BotFlow.workspace_id == actor.workspace_id).order_by(BotFlow.id)))


def delete_flow(rt: Runtime, actor: Actor, flow_id: int) -> None:
    actor.require_admin()
    with rt.db.transaction() as s:
        s.delete(get_flow_in(s, actor, flow_id))


def set_bot(rt: Runtime, actor: Actor, conversation_id: int, *, active: bool) -> str:
    """An agent hands the conversation back to the bot (active) or takes it over (not active)."""
    actor.require_write()
    with rt.db.transaction() as s:
        conv = get_conversation_in(s, actor, conversation_id)
        sess = s.scalar(select(BotSession).where(BotSession.conversation_id == conv.id))
        if sess is None:
            sess = BotSession(workspace_id=conv.workspace_id, conversation_id=conv.id, slots={}, step="")
            s.add(sess)
        sess.state, sess.step = ("idle" if active else "handoff"), ""
        if active:
            conv.assignee_id = None
            conv.labels = [label for label in (conv.labels or []) if label != "handoff"]
        conv.bot_active = False
        return sess.state
