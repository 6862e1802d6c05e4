"""Contacts: profile, identities per channel, consent per channel, merging, CSV in and out."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import phonenumbers
from babel import Locale, UnknownLocaleError
from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from crocevia.domain.enums import ConsentStatus
from crocevia.errors import NotFound, ValidationFailed
from crocevia.runtime import Runtime
from crocevia.services.accounts import EMAIL_RE, audit
from crocevia.services.actor import Actor
from crocevia.services.events import emit
from crocevia.services.scoped import get_in_workspace
from crocevia.storage.tables import (
    Channel,
    ConsentEvent,
    Contact,
    ContactConsent,
    ContactIdentity,
    Conversation,
    Message,
)

PROFILE_FIELDS = ("name", "phone", "email", "country", "language", "timezone", "birth_year", "tags", "attributes")
FILTER_BATCH = 500
# A spreadsheet runs a cell starting with one of these as a formula (CSV injection); contact
# names come from chat profiles, i.e. from anyone, so such cells are exported behind a quote.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
CSV_COLUMNS = ["id", "name", "phone", "email", "country", "language", "birth_year", "tags", "created_at"]


def normalize_phone(raw: str, default_region: str | None = "IT") -> str:
    try:
        num = phonenumbers.parse(raw, default_region)
    except phonenumbers.NumberParseException as exc:
        raise ValidationFailed(f"not a phone number: {exc}", field="phone") from exc
    if not phonenumbers.is_valid_number(num):
        raise ValidationFailed("not a valid phone number", field="phone")
    return phonenumbers.format_number(num, phonenumbers.PhoneNumberFormat.E164)


def _clean_profile(fields: dict[str, Any], now_year: int) -> dict[str, Any]:
    """Validate profile fields a marketer relies on; returns column values."""
    out: dict[str, Any] = {}
    # The country is checked first: a local phone number is read in it.
    for key, value in sorted(fields.items(), key=lambda kv: kv[0] != "country"):
        if key not in PROFILE_FIELDS:
            raise ValidationFailed(f"unknown field {key!r}", field=key)
        if value is None or value == "":
            out["phone_e164" if key == "phone" else key] = None if key not in ("tags", "attributes") else (
                [] if key == "tags" else {})
            continue
        if key == "phone":
            out["phone_e164"] = normalize_phone(str(value), out.get("country") or "IT")
        elif key == "email":
            if not EMAIL_RE.match(str(value)):
                raise ValidationFailed("not a valid e-mail address", field="email")
            out["email"] = str(value).lower()
        elif key == "country":
            code = str(value).upper()
            if len(code) != 2 or code not in phonenumbers.SUPPORTED_REGIONS:
                raise ValidationFailed("country must be an ISO 3166 alpha-2 code, e.g. IT", field="country")
            out["country"] = code
        elif key == "language":
            try:
                Locale.parse(str(value).replace("-", "_"))
            except (ValueError, UnknownLocaleError) as exc:
                raise ValidationFailed("language must be a language code, e.g. it or en", field="language") from exc
            out["language"] = str(value).lower()[:8]
        elif key == "birth_year":
            try:
                year = int(value)
            except (TypeError, ValueError) as exc:
                raise ValidationFailed("birth_year must be a year", field="birth_year") from exc
            if not now_year - 120 <= year <= now_year:
                raise ValidationFailed("birth_year is out of range", field="birth_year")
            out["birth_year"] = year
        elif key == "tags":
            if not isinstance(value, list) or not all(isinstance(t, str) for t in value):
                raise ValidationFailed("tags must be a list of strings", field="tags")
            out["tags"] = sorted({t.strip().lower() for t in value if t.strip()})
        elif key == "attributes":
            if not isinstance(value, dict):
                raise ValidationFailed("attributes must be an object", field="attributes")
            out["attributes"] = value
        else:
            out[key] = str(value)[:200]
    return out


def contact_dict(c: Contact) -> dict[str, Any]:
    return {
        "id": c.id, "name": c.name, "phone": c.phone_e164, "email": c.email, "country": c.country,
        "language": c.language, "timezone": c.timezone, "birth_year": c.birth_year, "tags": c.tags or [],
        "attributes": c.attributes or {}, "merged_into_id": c.merged_into_id,
        "created_at": c.created_at.isoformat(), "updated_at": c.updated_at.isoformat(),
        "last_seen_at": c.last_seen_at.isoformat() if c.last_seen_at else None,
    }


def create_contact(rt: Runtime, actor: Actor, fields: dict[str, Any]) -> Contact:
    actor.require_write()
    values = _clean_profile(fields, rt.clock.now().year)
    with rt.db.transaction() as s:
        contact = Contact(workspace_id=actor.workspace_id, **values)
        s.add(contact)
        s.flush()
        emit(s, "contact.created", actor.workspace_id, contact_dict(contact))
        return contact


def get_contact_in(s: Session, actor: Actor, contact_id: int, *, field: str | None = None) -> Contact:
    return get_in_workspace(s, Contact, contact_id, actor, "contact not found", field=field)


def get_contact(rt: Runtime, actor: Actor, contact_id: int) -> Contact:
    with rt.db.read() as s:
        return get_contact_in(s, actor, contact_id)


def update_contact(rt: Runtime, actor: Actor, contact_id: int, fields: dict[str, Any]) -> Contact:
    actor.require_write()
    with rt.db.transaction() as s:
        contact = get_contact_in(s, actor, contact_id)
        if "phone" in fields and "country" not in fields and contact.country:
            fields = {**fields, "country": contact.country}
        for key, value in _clean_profile(fields, rt.clock.now().year).items():
            setattr(contact, key, value)
        contact.updated_at = rt.clock.now()
        emit(s, "contact.updated", actor.workspace_id, contact_dict(contact))
        return contact


def delete_contact(rt: Runtime, actor: Actor, contact_id: int) -> None:
    actor.require_admin()
    with rt.db.transaction() as s:
        contact = get_contact_in(s, actor, contact_id)
        s.delete(contact)
        audit(s, actor, "contact.delete", f"contact:{contact_id}")


@dataclass(frozen=True)
class ContactPage:
    items: list[Contact]
    next_cursor: int | None


def list_contacts(
    rt: Runtime, actor: Actor, *, q: str = "", tag: str | None = None, country: str | None = None,
    after: int | None = None, limit: int = 50,
) -> ContactPage:
    limit = max(1, min(limit, 500))
    with rt.db.read() as s:
        stmt = select(Contact).where(Contact.workspace_id == actor.workspace_id, Contact.merged_into_id.is_(None))
        if q:
            like = f"%{q.lower()}%"
            stmt = stmt.where(or_(func.lower(Contact.name).like(like), Contact.email.like(like),
                                  Contact.phone_e164.like(f"%{q}%")))
        if country:
            stmt = stmt.where(Contact.country == country.upper())
        if after is not None:
            stmt = stmt.where(Contact.id < after)
        stmt = stmt.order_by(Contact.id.desc())
        if not tag:
            rows = list(s.scalars(stmt.limit(limit + 1)))
        else:
            # Tags are a JSON list, filtered here to stay portable across both engines. Read in
            # batches until the page is full, so a rare tag deep in the list is still found.
            rows = []
            batch_stmt = stmt
            while len(rows) <= limit:
                batch = list(s.scalars(batch_stmt.limit(FILTER_BATCH)))
                rows += [c for c in batch if tag.lower() in (c.tags or [])]
                if len(batch) < FILTER_BATCH:
                    break
                batch_stmt = stmt.where(Contact.id < batch[-1].id)
        items = rows[:limit]
        return ContactPage(items, items[-1].id if len(rows) > limit else None)


def identities(rt: Runtime, actor: Actor, contact_id: int) -> list[tuple[ContactIdentity, Channel]]:
    with rt.db.read() as s:
        get_contact_in(s, actor, contact_id)
        rows = s.execute(
            select(ContactIdentity, Channel).join(Channel, Channel.id == ContactIdentity.channel_id)
            .where(ContactIdentity.contact_id == contact_id)
        ).all()
        return [(i, c) for i, c in rows]


# -- consent --------------------------------------------------------------------------------
def set_consent_in(
    s: Session, *, workspace_id: int, contact_id: int, channel_id: int, status: ConsentStatus, source: str,
    evidence: str | None, now: datetime,
) -> bool:
    """Record a consent change; returns False when it was already so (no duplicate proof rows)."""
    current = s.scalar(
        select(ContactConsent).where(ContactConsent.contact_id == contact_id, ContactConsent.channel_id == channel_id)
    )
    if current is not None and current.status == status.value:
        return False
    if current is None:
        s.add(ContactConsent(workspace_id=workspace_id, contact_id=contact_id, channel_id=channel_id,
                             status=status.value, source=source, changed_at=now))
    else:
        current.status, current.source, current.changed_at = status.value, source, now
    s.add(ConsentEvent(workspace_id=workspace_id, contact_id=contact_id, channel_id=channel_id,
                       status=status.value, source=source, evidence=evidence, created_at=now))
    emit(s, "contact.consent_changed", workspace_id,
         {"contact_id": contact_id, "channel_id": channel_id, "status": status.value, "source": source},
         channel_id=channel_id)
    return True


def set_consent(
    rt: Runtime, actor: Actor, contact_id: int, *, channel_id: int, status: ConsentStatus, source: str = "agent",
    evidence: str | None = None,
) -> None:
    actor.require_write()
    with rt.db.transaction() as s:
        get_contact_in(s, actor, contact_id)
        channel = s.get(Channel, channel_id)
        if channel is None or channel.workspace_id != actor.workspace_id:
            raise NotFound("channel not found", field="channel_id")
        set_consent_in(s, workspace_id=actor.workspace_id, contact_id=contact_id, channel_id=channel_id,
                       status=status, source=source, evidence=evidence, now=rt.clock.now())


def consents(rt: Runtime, actor: Actor, contact_id: int) -> tuple[list[ContactConsent], list[ConsentEvent]]:
    with rt.db.read() as s:
        get_contact_in(s, actor, contact_id)
        current = list(s.scalars(select(ContactConsent).where(ContactConsent.contact_id == contact_id)))
        history = list(s.scalars(select(ConsentEvent).where(ConsentEvent.contact_id == contact_id)
                                 .order_by(ConsentEvent.id)))
        return current, history


# -- merging --------------------------------------------------------------------------------
def merge_contacts(rt: Runtime, actor: Actor, *, keep_id: int, merge_id: int) -> Contact:
    """Fold a duplicate into the contact we keep: identities, conversations, consent, profile gaps."""
    actor.require_write()
    if keep_id == merge_id:
        raise ValidationFailed("cannot merge a contact into itself", field="merge_id")
    with rt.db.transaction() as s:
        keep = get_contact_in(s, actor, keep_id)
        dup = get_contact_in(s, actor, merge_id, field="merge_id")
        for col in ("name", "phone_e164", "email", "country", "language", "timezone", "birth_year"):
            if getattr(keep, col) in (None, "") and getattr(dup, col) not in (None, ""):
                setattr(keep, col, getattr(dup, col))
        keep.tags = sorted(set(keep.tags or []) | set(dup.tags or []))
        keep.attributes = {**(dup.attributes or {}), **(keep.attributes or {})}
        s.execute(update(ContactIdentity).where(ContactIdentity.contact_id == dup.id).values(contact_id=keep.id))
        s.execute(update(Conversation).where(Conversation.contact_id == dup.id).values(contact_id=keep.id))
        kept_channels = set(s.scalars(select(ContactConsent.channel_id).where(ContactConsent.contact_id == keep.id)))
        for consent in list(s.scalars(select(ContactConsent).where(ContactConsent.contact_id == dup.id))):
            if consent.channel_id in kept_channels:
                s.delete(consent)  # the kept contact's own answer wins
            else:
                consent.contact_id = keep.id
        s.execute(update(ConsentEvent).where(ConsentEvent.contact_id == dup.id).values(contact_id=keep.id))
        dup.merged_into_id = keep.id
        keep.updated_at = rt.clock.now()
        audit(s, actor, "contact.merge", f"contact:{keep.id}", merged=dup.id)
        emit(s, "contact.merged", actor.workspace_id, {"kept": keep.id, "merged": dup.id})
        return keep


# -- CSV ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ImportResult:
    created: int
    updated: int
    errors: list[dict[str, Any]]


def import_csv(rt: Runtime, actor: Actor, data: str) -> ImportResult:
    """Import contacts; a row whose e-mail or phone matches an existing contact updates it.

    Rows with errors are reported with their line number and skipped; good rows still land.
    """
    actor.require_write()
    reader = csv.DictReader(io.StringIO(data))
    if not reader.fieldnames or not ({"name", "phone", "email"} & set(reader.fieldnames)):
        raise ValidationFailed("CSV needs a header with at least one of name, phone, email", field="file")
    created = updated = 0
    errors: list[dict[str, Any]] = []
    year = rt.clock.now().year
    with rt.db.transaction() as s:
        for line_no, row in enumerate(reader, start=2):
            raw: dict[str, Any] = {k: _csv_unescape((v or "").strip()) for k, v in row.items()
                                   if k in PROFILE_FIELDS}
            if "tags" in raw:
                raw["tags"] = [t for t in raw["tags"].replace(";", ",").split(",") if t.strip()]
            try:
                values = _clean_profile({k: v for k, v in raw.items() if v not in ("", [])}, year)
            except ValidationFailed as exc:
                errors.append({"line": line_no, "field": exc.field, "detail": exc.detail})
                continue
            existing = _find_existing(s, actor.workspace_id, values, (row.get("id") or "").strip())
            if existing is not None:
                for k, v in values.items():
                    setattr(existing, k, v)
                existing.updated_at = rt.clock.now()
                updated += 1
            else:
                s.add(Contact(workspace_id=actor.workspace_id, **values))
                created += 1
        audit(s, actor, "contact.import", created=created, updated=updated, errors=len(errors))
    return ImportResult(created, updated, errors)


def _find_existing(s: Session, workspace_id: int, values: dict[str, Any], row_id: str = "") -> Contact | None:
    # Our own export carries ids: re-importing it updates those contacts, even name-only ones.
    if row_id.isdigit() and len(row_id) < 19:
        by_id = s.get(Contact, int(row_id))
        if by_id is not None and by_id.workspace_id == workspace_id and by_id.merged_into_id is None:
            return by_id
    conds = []
    if values.get("email"):
        conds.append(Contact.email == values["email"])
    if values.get("phone_e164"):
        conds.append(Contact.phone_e164 == values["phone_e164"])
    if not conds:
        return None
    return s.scalar(select(Contact).where(Contact.workspace_id == workspace_id, or_(*conds),
                                          Contact.merged_into_id.is_(None)).limit(1))


def export_csv(rt: Runtime, actor: Actor) -> Iterator[str]:
    with rt.db.read() as s:
        buf = io.StringIO()
        writer = csv.writer(buf)
        writer.writerow(CSV_COLUMNS)
        stmt = select(Contact).where(Contact.workspace_id == actor.workspace_id,
                                     Contact.merged_into_id.is_(None)).order_by(Contact.id)
        for c in s.scalars(stmt):
            writer.writerow([c.id, _csv_escape(c.name or ""), c.phone_e164 or "", c.email or "", c.country or "",
                             c.language or "", c.birth_year or "", _csv_escape(",".join(c.tags or [])),
                             c.created_at.isoformat()])
            if buf.tell() > 64 * 1024:
                yield buf.getvalue()
                buf.seek(0)
                buf.truncate()
        yield buf.getvalue()


def _csv_escape(text: str) -> str:
    return "'" + text if text.startswith(FORMULA_START) else text


def _csv_unescape(text: str) -> str:
    return text[1:] if text.startswith("'") and text[1:].startswith(FORMULA_START) else text


def message_count(s: Session, contact_id: int) -> int:
    return int(s.scalar(select(func.count(Message.id)).join(Conversation).where(
        Conversation.contact_id == contact_id)) or 0)
