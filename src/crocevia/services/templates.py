"""Message templates: variables, per-language variants, buttons, WhatsApp category and approval.

Media in templates is not supported yet (a campaign sends text and buttons).

Rendering is deliberately not a template engine: ``{{ first_name }}`` or ``{{ first_name | amico }}``
(a default) is replaced from a fixed whitelist of contact fields and ``attributes.<key>``. No
expression, attribute access or code runs, so a template can never read what it should not.
"""

from __future__ import annotations

import re
from typing import Any

from babel import Locale, UnknownLocaleError
from sqlalchemy import select
from sqlalchemy.orm import Session

from crocevia.errors import Conflict, ValidationFailed
from crocevia.runtime import Runtime
from crocevia.services.accounts import audit
from crocevia.services.actor import Actor
from crocevia.services.contacts import get_contact_in
from crocevia.services.scoped import get_in_workspace
from crocevia.storage.tables import Campaign, Contact, MessageTemplate, Workspace

CATEGORIES = ("marketing", "utility", "authentication")
APPROVALS = ("draft", "pending", "approved", "rejected")
FIELDS = ("name", "first_name", "country", "language")
VAR = re.compile(r"{{\s*([a-zA-Z_][\w.]*)\s*(?:\|\s*([^}]*?)\s*)?}}")
MAX_BUTTONS = 3


def variables(text: str) -> list[str]:
    return [m.group(1) for m in VAR.finditer(text)]


def _check_var(name: str, field: str) -> None:
    if name in FIELDS:
        return
    if name.startswith("attributes.") and re.fullmatch(r"attributes\.\w+", name):
        return
    raise ValidationFailed(f"unknown variable {{{{{name}}}}}: use {', '.join(FIELDS)} or attributes.<key>",
                           field=field)


def _clean_variants(raw: Any) -> dict[str, Any]:
    if not isinstance(raw, dict) or not raw:
        raise ValidationFailed("variants must map a language code to {text, buttons}", field="variants")
    out: dict[str, Any] = {}
    for lang, variant in raw.items():
        where = f"variants.{lang}"
        try:
            Locale.parse(str(lang).replace("-", "_"))
        except (ValueError, UnknownLocaleError) as exc:
            raise ValidationFailed("a variant key must be a language code, e.g. it or en", field=where) from exc
        if not isinstance(variant, dict):
            raise ValidationFailed("a variant is an object {text, buttons}", field=where)
        text = str(variant.get("text") or "").strip()
        if not text or len(text) > 4096:
            raise ValidationFailed("a variant needs a text (at most 4096 characters)", field=f"{where}.text")
        for name in variables(text):
            _check_var(name, f"{where}.text")
        buttons = variant.get("buttons") or []
        if not isinstance(buttons, list) or len(buttons) > MAX_BUTTONS:
            raise ValidationFailed(f"at most {MAX_BUTTONS} buttons", field=f"{where}.buttons")
        clean_buttons = []
        for i, b in enumerate(buttons):
            title = str(b.get("title", "")).strip() if isinstance(b, dict) else ""
            if not title or len(title) > 20:
                raise ValidationFailed("a button needs a title of at most 20 characters",
                                       field=f"{where}.buttons[{i}].title")
            clean_buttons.append({"id": str(b.get("id") or f"b{i + 1}"), "title": title})
        entry: dict[str, Any] = {"text": text}
        if clean_buttons:
            entry["buttons"] = clean_buttons
        unknown = set(variant) - {"text", "buttons"}
        if unknown:
            raise ValidationFailed(f"unknown variant field {sorted(unknown)[0]!r}: text, buttons",
                                   field=f"{where}.{sorted(unknown)[0]}")
        out[str(lang).lower()] = entry
    return out


def _value(contact: Any, name: str) -> str:
    """One whitelisted variable of a contact ("" when it has none). Nothing else of the contact is reachable."""
    if name == "first_name":
        full = (contact.name or "").strip()
        return full.split(" ")[0] if full else ""
    if name == "name":
        return (contact.name or "").strip()
    if name == "country":
        return contact.country or ""
    if name == "language":
        return contact.language or ""
    if name.startswith("attributes."):
        v = (contact.attributes or {}).get(name[len("attributes."):])
        return str(v) if isinstance(v, str | int | float | bool) else ""
    return ""


class TextPlan:
    """A variant's text split once into literal parts and variable slots, so rendering it for many
    contacts is a join (campaigns render one plan per template, variant and language, then fill it per
    recipient). The same whitelist as ever: a slot can only name a field ``_value`` knows."""

    __slots__ = ("literals", "slots", "uses_attributes")

    def __init__(self, text: str) -> None:
        self.literals: list[str] = []
        self.slots: list[tuple[str, str]] = []  # (variable, default)
        last = 0
        for m in VAR.finditer(text):
            self.literals.append(text[last:m.start()])
            self.slots.append((m.group(1), m.group(2) or ""))
            last = m.end()
        self.literals.append(text[last:])
        self.uses_attributes = any(name.startswith("attributes.") for name, _ in self.slots)

    def render(self, contact: Any) -> tuple[str, list[str]]:
        """The text for ``contact`` (any object with the contact's fields, or None) and the values in order."""
        if not self.slots:
            return self.literals[0], []
        params = [(_value(contact, name) if contact is not None else "") or default for name, default in self.slots]
        out = [self.literals[0]]
        for value, literal in zip(params, self.literals[1:], strict=True):
            out.append(value)
            out.append(literal)
        return "".join(out), params


def render_text(text: str, contact: Contact | None) -> tuple[str, list[str]]:
    """The text with variables filled in, and the values in order (a WhatsApp template's parameters)."""
    return TextPlan(text).render(contact)


def pick_variant(tpl: MessageTemplate, language: str | None, workspace_language: str) -> tuple[str, dict[str, Any]]:
    """The contact's language, else the workspace's, else the first variant."""
    variants = tpl.variants or {}
    for lang in (language or "", (language or "").split("-")[0], workspace_language):
        if lang and lang.lower() in variants:
            return lang.lower(), variants[lang.lower()]
    first = next(iter(variants))
    return first, variants[first]


def render(s: Session, tpl: MessageTemplate, contact: Contact | None, *,
           workspace_language: str | None = None) -> dict[str, Any]:
    """``workspace_language``: the caller's, when it renders for many contacts (saves a lookup each)."""
    if workspace_language is None:
        ws = s.get(Workspace, tpl.workspace_id)
        workspace_language = ws.language if ws else "it"
    lang, variant = pick_variant(tpl, contact.language if contact else None, workspace_language)
    text, params = render_text(variant["text"], contact)
    return {"language": lang, "text": text, "parameters": params, "buttons": variant.get("buttons", [])}


def template_dict(t: MessageTemplate) -> dict[str, Any]:
    return {"id": t.id, "name": t.name, "category": t.category, "approval_status": t.approval_status,
            "provider_name": t.provider_name, "variants": t.variants, "created_at": t.created_at.isoformat(),
            "updated_at": t.updated_at.isoformat()}


def _apply(t: MessageTemplate, fields: dict[str, Any]) -> None:
    if "name" in fields:
        name = str(fields["name"] or "").strip()
        if not name or len(name) > 200:
            raise ValidationFailed("a template needs a name (at most 200 characters)", field="name")
        t.name = name
    if "category" in fields:
        if fields["category"] not in CATEGORIES:
            raise ValidationFailed(f"category must be one of {', '.join(CATEGORIES)}", field="category")
        t.category = fields["category"]
    if "approval_status" in fields:
        if fields["approval_status"] not in APPROVALS:
            raise ValidationFailed(f"approval_status must be one of {', '.join(APPROVALS)}",
                                   field="approval_status")
        t.approval_status = fields["approval_status"]
    if "provider_name" in fields:
        pname = fields["provider_name"]
        if pname is not None and not re.fullmatch(r"[a-z0-9_]{1,200}", str(pname)):
            raise ValidationFailed("provider_name: lower-case letters, digits and _ (as WhatsApp requires)",
                                   field="provider_name")
        t.provider_name = pname
    if "variants" in fields:
        t.variants = _clean_variants(fields["variants"])


def _unique(s: Session, t: MessageTemplate) -> None:
    other = s.scalar(select(MessageTemplate.id).where(MessageTemplate.workspace_id == t.workspace_id,
                                                      MessageTemplate.name == t.name))
    if other is not None and other != t.id:
        raise Conflict("a template with this name exists", field="name")


def create_template(rt: Runtime, actor: Actor, fields: dict[str, Any]) -> MessageTemplate:
    actor.require_write()
    if "variants" not in fields:
        raise ValidationFailed("variants are required", field="variants")
    now = rt.clock.now()
    t = MessageTemplate(workspace_id=actor.workspace_id, name="", category="marketing", approval_status="draft",
                        created_at=now, updated_at=now)
    _apply(t, {"name": fields.get("name", ""), **fields})
    with rt.db.transaction() as s:
        _unique(s, t)
        s.add(t)
        s.flush()
        return t


def get_template_in(s: Session, actor: Actor, template_id: int, *, field: str | None = None) -> MessageTemplate:
    return get_in_workspace(s, MessageTemplate, template_id, actor, "template not found", field=field)


def get_template(rt: Runtime, actor: Actor, template_id: int) -> MessageTemplate:
    with rt.db.read() as s:
        return get_template_in(s, actor, template_id)


def list_templates(rt: Runtime, actor: Actor) -> list[MessageTemplate]:
    with rt.db.read() as s:
        return list(s.scalars(select(MessageTemplate).where(MessageTemplate.workspace_id == actor.workspace_id)
                              .order_by(MessageTemplate.name)))


def update_template(rt: Runtime, actor: Actor, template_id: int, fields: dict[str, Any]) -> MessageTemplate:
    actor.require_write()
    with rt.db.transaction() as s:
        t = get_template_in(s, actor, template_id)
        _apply(t, fields)
        _unique(s, t)
        t.updated_at = rt.clock.now()
        return t


def delete_template(rt: Runtime, actor: Actor, template_id: int) -> None:
    actor.require_write()
    with rt.db.transaction() as s:
        t = get_template_in(s, actor, template_id)
        if s.scalar(select(Campaign.id).where(Campaign.template_id == t.id).limit(1)) is not None:
            raise Conflict("a campaign uses this template", field="template_id")
        s.delete(t)
        audit(s, actor, "template.delete", f"template:{template_id}")


def preview_template(rt: Runtime, actor: Actor, template_id: int, contact_id: int | None) -> dict[str, Any]:
    """The template as this (real) contact would receive it."""
    with rt.db.read() as s:
        t = get_template_in(s, actor, template_id)
        contact = get_contact_in(s, actor, contact_id, field="contact_id") if contact_id else None
        return render(s, t, contact)
