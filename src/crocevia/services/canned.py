"""Canned responses: a workspace's saved replies, inserted in the composer by typing "/shortcut".

Everyone who can read the inbox may list them (agents use them all day); only admins change them,
so the wording customers receive stays the team's agreed one. Variables such as {{contact.name}}
are left in the text: the composer fills them from the open conversation, where the agent sees
(and can correct) the result before sending it through the normal send path.
"""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.orm import Session

from crocevia.clock import utcnow
from crocevia.errors import Conflict, ValidationFailed
from crocevia.runtime import Runtime
from crocevia.services.accounts import audit
from crocevia.services.actor import Actor
from crocevia.services.scoped import get_in_workspace
from crocevia.storage.tables import CannedResponse

SHORTCUT_RE = re.compile(r"^[\w\-]{1,40}$", re.UNICODE)
MAX_TEXT = 4096


def _clean(shortcut: str, text: str) -> tuple[str, str]:
    shortcut = shortcut.strip().lstrip("/").lower()
    if not SHORTCUT_RE.match(shortcut):
        raise ValidationFailed("a shortcut is 1-40 letters, digits, '-' or '_' (no spaces)", field="shortcut")
    text = text.strip()
    if not text:
        raise ValidationFailed("a canned response needs a text", field="text")
    if len(text) > MAX_TEXT:
        raise ValidationFailed(f"a canned response has at most {MAX_TEXT} characters", field="text")
    return shortcut, text


def _get_in(s: Session, actor: Actor, canned_id: int) -> CannedResponse:
    return get_in_workspace(s, CannedResponse, canned_id, actor, "no such canned response", field="canned_response_id")


def _taken(s: Session, actor: Actor, shortcut: str, but: int | None = None) -> bool:
    stmt = select(CannedResponse.id).where(CannedResponse.workspace_id == actor.workspace_id,
                                           CannedResponse.shortcut == shortcut)
    found = s.scalar(stmt)
    return found is not None and found != but


def list_canned(rt: Runtime, actor: Actor, q: str = "") -> list[CannedResponse]:
    with rt.db.read() as s:
        stmt = select(CannedResponse).where(CannedResponse.workspace_id == actor.workspace_id)
        if q.strip():
            stmt = stmt.where(CannedResponse.shortcut.like(f"{q.strip().lstrip('/').lower()}%"))
        return list(s.scalars(stmt.order_by(CannedResponse.shortcut)))


def create_canned(rt: Runtime, actor: Actor, *, shortcut: str, text: str) -> CannedResponse:
    actor.require_admin()
    shortcut, text = _clean(shortcut, text)
    with rt.db.transaction() as s:
        if _taken(s, actor, shortcut):
            raise Conflict(f"the shortcut /{shortcut} exists already", field="shortcut")
        row = CannedResponse(workspace_id=actor.workspace_id, shortcut=shortcut, text=text)
        s.add(row)
        s.flush()
        audit(s, actor, "canned.create", f"canned:{row.id}")
        return row


def update_canned(rt: Runtime, actor: Actor, canned_id: int, *, shortcut: str | None = None,
                  text: str | None = None) -> CannedResponse:
    actor.require_admin()
    with rt.db.transaction() as s:
        row = _get_in(s, actor, canned_id)
        new_shortcut, new_text = _clean(shortcut if shortcut is not None else row.shortcut,
                                        text if text is not None else row.text)
        if _taken(s, actor, new_shortcut, but=row.id):
            raise Conflict(f"the shortcut /{new_shortcut} exists already", field="shortcut")
        row.shortcut, row.text, row.updated_at = new_shortcut, new_text, utcnow()
        audit(s, actor, "canned.update", f"canned:{row.id}")
        return row


def delete_canned(rt: Runtime, actor: Actor, canned_id: int) -> None:
    actor.require_admin()
    with rt.db.transaction() as s:
        row = _get_in(s, actor, canned_id)
        audit(s, actor, "canned.delete", f"canned:{row.id}")
        s.delete(row)
