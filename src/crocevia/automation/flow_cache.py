"""Validated flows kept in memory by (flow id, version): a bot turn must not re-validate every flow's
definition (a pydantic walk over hundreds of steps) for every customer message.

A turn asks the database only for the ids and versions of the workspace's active flows — two small
columns — and loads and validates a definition only the first time a (id, version) pair is seen.
``services.flows.save_flow`` bumps the version on every edit, so an edited flow is a new key in
every process at once, with no invalidation message to lose. The cache belongs to one database
engine (a test's throwaway database reuses ids 1, 2, ... with other definitions), and it is
bounded: old versions fall out.
"""

from __future__ import annotations

import threading
import weakref
from collections import OrderedDict

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from crocevia.automation.flow import FlowDef
from crocevia.storage.tables import BotFlow

MAX_FLOWS = 512
_TURN_KEY = "crocevia.bots.flows"

_lock = threading.Lock()
_by_engine: weakref.WeakKeyDictionary[Engine, OrderedDict[tuple[int, int], FlowDef]] = weakref.WeakKeyDictionary()


def _cache_for(s: Session) -> OrderedDict[tuple[int, int], FlowDef]:
    bind = s.get_bind()
    engine = bind if isinstance(bind, Engine) else bind.engine
    with _lock:
        cache = _by_engine.get(engine)
        if cache is None:
            cache = _by_engine[engine] = OrderedDict()
        return cache


def _parsed(s: Session, flow_id: int, version: int) -> FlowDef | None:
    cache = _cache_for(s)
    key = (flow_id, version)
    with _lock:
        flow = cache.get(key)
        if flow is not None:
            cache.move_to_end(key)
            return flow
    definition = s.scalar(select(BotFlow.definition).where(BotFlow.id == flow_id, BotFlow.version == version))
    if definition is None:
        return None  # edited meanwhile: the caller's next turn sees the new version
    # Stored definitions were validated when saved; this only turns them back into objects.
    flow = FlowDef.model_validate(definition)
    with _lock:
        cache[key] = flow
        while len(cache) > MAX_FLOWS:
            cache.popitem(last=False)
    return flow


def active_flows_in(s: Session, workspace_id: int) -> list[tuple[int, FlowDef]]:
    """The workspace's active flows as (id, definition), oldest first; asked once per transaction."""
    per_turn: dict[int, list[tuple[int, FlowDef]]] = s.info.setdefault(_TURN_KEY, {})
    if workspace_id not in per_turn:
        rows = s.execute(select(BotFlow.id, BotFlow.version).where(
            BotFlow.workspace_id == workspace_id, BotFlow.is_active.is_(True)).order_by(BotFlow.id)).all()
        found = [(fid, _parsed(s, fid, ver)) for fid, ver in rows]
        per_turn[workspace_id] = [(fid, flow) for fid, flow in found if flow is not None]
    return per_turn[workspace_id]


def active_flow_in(s: Session, workspace_id: int, flow_id: int | None) -> FlowDef | None:
    """One active flow of the workspace, or None (deleted, switched off, another workspace's)."""
    if flow_id is None:
        return None
    return next((flow for fid, flow in active_flows_in(s, workspace_id) if fid == flow_id), None)


def clear() -> None:
    """Forget every parsed flow (tests that edit definitions behind the service's back)."""
    with _lock:
        _by_engine.clear()
