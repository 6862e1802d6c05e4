"""The workspace's label catalogue: a name and a colour per label, kept in step with conversations.

Conversations carry label *names* in their JSON ``labels`` list (labels were free strings before
the catalogue existed, and bots and automation rules still add them by name). So:

- applying a name that is not in the catalogue adds it (``ensure_in``, with a colour picked from
  the name), and every label in use is on the admin page to be renamed, recoloured or deleted;
- renaming a label rewrites the name on every conversation that carries it (merging with the new
  name if a conversation already had both), in the same transaction;
- deleting a label removes it from every conversation that carries it.

Rename and delete announce one ``label.updated`` / ``label.deleted`` event to the workspace's live
feed (open inboxes fix their chips from it) instead of one event per conversation touched: a label
may sit on a hundred thousand conversations. Renaming also renames the label in the automation rules
that name it (``ticket_rules.rename_label_in``, same transaction). Deleting leaves rules as they are:
a rule adding a deleted label brings it back the next time it runs.
"""

from __future__ import annotations

import json
import re
from zlib import crc32

from sqlalchemy import ColumnElement, String, and_, cast, func, or_, select
from sqlalchemy.orm import Session

from crocevia.errors import Conflict, ValidationFailed
from crocevia.runtime import Runtime
from crocevia.services.accounts import audit
from crocevia.services.actor import Actor
from crocevia.services.events import emit
from crocevia.services.scoped import get_in_workspace
from crocevia.services.ticket_rules import rename_label_in
from crocevia.storage.tables import Conversation, Label

NAME_RE = re.compile(r"^[\w\- ]{1,40}$", re.UNICODE)
COLOR_RE = re.compile(r"^#[0-9a-f]{6}$")
# Distinguishable on light and dark backgrounds; chips pick black or white text for contrast.
PALETTE = ("#2563eb", "#16a34a", "#d97706", "#dc2626", "#7c3aed", "#0891b2", "#db2777", "#4b5563")
REWRITE_BATCH = 500


def clean_name(name: str, field: str = "name") -> str:
    """Labels are compared lower-case, without outer spaces: "VIP " and "vip" are one label."""
    name = (name or "").strip().lower()
    if not NAME_RE.match(name):
        raise ValidationFailed(f"label {name!r} must be 1-40 letters, digits, spaces or dashes", field=field)
    return name


def clean_color(color: str) -> str:
    color = (color or "").strip().lower()
    if not COLOR_RE.match(color):
        raise ValidationFailed("a colour is written #rrggbb", field="color")
    return color


def color_for(name: str) -> str:
    """A new label's colour when nobody chose one: stable for a name, so it looks the same everywhere."""
    return PALETTE[crc32(name.encode()) % len(PALETTE)]


def _by_name(s: Session, workspace_id: int, name: str) -> Label | None:
    return s.scalar(select(Label).where(Label.workspace_id == workspace_id, Label.name == name))


def ensure_in(s: Session, workspace_id: int, names: list[str]) -> None:
    """Add to the catalogue the names it lacks (an agent typed a new label on a conversation)."""
    if not names:
        return
    known = set(s.scalars(select(Label.name).where(Label.workspace_id == workspace_id, Label.name.in_(names))))
    for name in sorted(set(names) - known):
        s.add(Label(workspace_id=workspace_id, name=name, color=color_for(name)))
    s.flush()


def label_dict(label: Label) -> dict[str, object]:
    return {"id": label.id, "name": label.name, "color": label.color, "description": label.description}


def list_labels(rt: Runtime, actor: Actor) -> list[Label]:
    with rt.db.read() as s:
        return list(s.scalars(select(Label).where(Label.workspace_id == actor.workspace_id).order_by(Label.name)))


def create_label(rt: Runtime, actor: Actor, *, name: str, color: str | None = None, description: str = "") -> Label:
    actor.require_admin()
    name = clean_name(name)
    color = clean_color(color) if color else color_for(name)
    description = _clean_description(description)
    with rt.db.transaction() as s:
        if _by_name(s, actor.workspace_id, name) is not None:
            raise Conflict("a label with this name exists", field="name")
        label = Label(workspace_id=actor.workspace_id, name=name, color=color, description=description)
        s.add(label)
        s.flush()
        audit(s, actor, "label.create", f"label:{label.id}", name=name)
        emit(s, "label.created", actor.workspace_id, label_dict(label))
        return label


def _clean_description(description: str | None) -> str:
    description = (description or "").strip()
    if len(description) > 200:
        raise ValidationFailed("a description has at most 200 characters", field="description")
    return description


def update_label(rt: Runtime, actor: Actor, label_id: int, *, name: str | None = None, color: str | None = None,
                 description: str | None = None) -> tuple[Label, int]:
    """The label and how many conversations were rewritten (a rename touches them all)."""
    actor.require_admin()
    with rt.db.transaction() as s:
        label = get_in_workspace(s, Label, label_id, actor, "no such label")
        old = label.name
        touched, rules = 0, []
        if name is not None and clean_name(name) != old:
            new = clean_name(name)
            if _by_name(s, actor.workspace_id, new) is not None:
                raise Conflict("a label with this name exists", field="name")
            label.name = new
            touched = _rewrite(s, actor.workspace_id, old, new)
            rules = rename_label_in(s, actor.workspace_id, old, new)
        if color is not None:
            label.color = clean_color(color)
        if description is not None:
            label.description = _clean_description(description)
        s.flush()
        audit(s, actor, "label.update", f"label:{label.id}", name=label.name, old_name=old, conversations=touched,
              rules=rules)
        emit(s, "label.updated", actor.workspace_id, {**label_dict(label), "old_name": old})
        return label, touched


def delete_label(rt: Runtime, actor: Actor, label_id: int) -> int:
    """Removes the label from every conversation; returns how many carried it."""
    actor.require_admin()
    with rt.db.transaction() as s:
        label = get_in_workspace(s, Label, label_id, actor, "no such label")
        name = label.name
        touched = _rewrite(s, actor.workspace_id, name, None)
        s.delete(label)
        audit(s, actor, "label.delete", f"label:{label_id}", name=name, conversations=touched)
        emit(s, "label.deleted", actor.workspace_id, {"id": label_id, "name": name})
        return touched


def carrying(workspace_id: int, name: str) -> ColumnElement[bool]:
    """Conversations whose JSON text holds the quoted name: a portable pre-filter (the JSON is
    written escaped on SQLite and as UTF-8 on PostgreSQL, so both spellings are tried); each row
    is then checked exactly in Python."""
    text = cast(Conversation.labels, String)
    spellings = {json.dumps(name), json.dumps(name, ensure_ascii=False)}
    return and_(Conversation.workspace_id == workspace_id,
                or_(*(text.contains(sp, autoescape=True) for sp in spellings)))


def _rewrite(s: Session, workspace_id: int, old: str, new: str | None) -> int:
    """Replace ``old`` by ``new`` (or drop it) on every conversation of the workspace, in id order."""
    touched, last = 0, 0
    where = carrying(workspace_id, old)
    while True:
        batch = list(s.scalars(select(Conversation).where(where, Conversation.id > last)
                               .order_by(Conversation.id).limit(REWRITE_BATCH)))
        if not batch:
            return touched
        for conv in batch:
            labels = list(conv.labels or [])
            if old in labels:
                conv.labels = sorted({*(lbl for lbl in labels if lbl != old), *([new] if new else [])})
                touched += 1
        last = batch[-1].id
        s.flush()


def count_in_use(rt: Runtime, actor: Actor) -> dict[str, int]:
    """How many conversations carry each catalogue label (the admin page shows it before a delete)."""
    with rt.db.read() as s:
        names = list(s.scalars(select(Label.name).where(Label.workspace_id == actor.workspace_id)))
        counts = dict.fromkeys(names, 0)
        for name in names:
            counts[name] = int(s.scalar(select(func.count()).select_from(Conversation)
                                        .where(carrying(actor.workspace_id, name))) or 0)
        return counts
