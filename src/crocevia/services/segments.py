"""Segments: saved filters over contacts, with a live count before saving.

The filter language is a flat JSON object; every condition present must hold (AND), and a
list inside one condition means "any of" (OR). Validated with pydantic, so a bad filter is a
problem+json naming the exact field (``filter.age_min``). Column conditions run in SQL; tags
and custom attributes are JSON and are checked in Python, to stay portable across engines.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from sqlalchemy import Select, Text, and_, bindparam, exists, or_, select, type_coerce
from sqlalchemy.orm import Session

from crocevia.domain.enums import ConsentStatus
from crocevia.errors import Conflict, NotFound, ValidationFailed
from crocevia.runtime import Runtime
from crocevia.services.accounts import audit
from crocevia.services.actor import Actor
from crocevia.services.scoped import get_in_workspace
from crocevia.storage.fast import FastStatement, connection_of
from crocevia.storage.tables import (
    Booking,
    Campaign,
    Channel,
    Contact,
    ContactConsent,
    ContactIdentity,
    Order,
    Segment,
)

BATCH = 1000
ID_BATCH = 5000  # ids per keyset page: a row is a few bytes
SAMPLE = 5
Scalar = str | int | float | bool


class SegmentFilter(BaseModel):
    """What a contact must match to be in the segment."""

    model_config = ConfigDict(extra="forbid")

    countries: list[str] = Field(default_factory=list, description="ISO 3166 alpha-2 codes, any of")
    languages: list[str] = Field(default_factory=list, description="language codes, any of (it, en...)")
    age_min: int | None = Field(default=None, ge=0, le=120, description="from the birth year")
    age_max: int | None = Field(default=None, ge=0, le=120)
    tags_any: list[str] = Field(default_factory=list, description="has at least one of these tags")
    tags_all: list[str] = Field(default_factory=list, description="has every one of these tags")
    tags_none: list[str] = Field(default_factory=list, description="has none of these tags")
    attributes: dict[str, Scalar] = Field(default_factory=dict, description="custom attribute equals value")
    channel_ids: list[int] = Field(default_factory=list, description="reachable on any of these channels")
    channel_kinds: list[str] = Field(default_factory=list, description="reachable on any of these platforms")
    opted_in_channel_ids: list[int] = Field(default_factory=list,
                                            description="opted in to marketing on any of these channels")
    active_within_days: int | None = Field(default=None, ge=1, le=3650, description="last seen within N days")
    inactive_for_days: int | None = Field(default=None, ge=1, le=3650, description="not seen for N days")
    has_order: bool | None = Field(default=None, description="has (true) / has no (false) order, not cancelled")
    has_booking: bool | None = Field(default=None, description="has (true) / has no (false) booking, not cancelled")

    @field_validator("countries")
    @classmethod
    def _countries(cls, v: list[str]) -> list[str]:
        out = [c.strip().upper() for c in v]
        if any(len(c) != 2 or not c.isalpha() for c in out):
            raise ValueError("countries must be ISO 3166 alpha-2 codes, e.g. IT")
        return out

    @field_validator("languages", "tags_any", "tags_all", "tags_none", "channel_kinds")
    @classmethod
    def _lower(cls, v: list[str]) -> list[str]:
        return [x.strip().lower() for x in v if x.strip()]


def parse_filter(raw: Any) -> SegmentFilter:
    """A validated filter, or ValidationFailed naming the field (``filter.<name>``)."""
    if not isinstance(raw, dict):
        raise ValidationFailed("filter must be an object", field="filter")
    try:
        f = SegmentFilter.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"])
        raise ValidationFailed(f"{where}: {err['msg']}", field=f"filter.{where}" if where else "filter") from exc
    if f.age_min is not None and f.age_max is not None and f.age_min > f.age_max:
        raise ValidationFailed("age_min is above age_max", field="filter.age_min")
    if f.active_within_days and f.inactive_for_days:
        raise ValidationFailed("active_within_days and inactive_for_days exclude each other",
                               field="filter.inactive_for_days")
    return f


def _check_channels(s: Session, workspace_id: int, f: SegmentFilter) -> None:
    for name in ("channel_ids", "opted_in_channel_ids"):
        for i, cid in enumerate(getattr(f, name)):
            ch = s.get(Channel, cid)
            if ch is None or ch.workspace_id != workspace_id:
                raise NotFound("channel not found", field=f"filter.{name}[{i}]")


def _query(workspace_id: int, f: SegmentFilter, now: datetime) -> Select[Contact]:
    stmt = select(Contact).where(Contact.workspace_id == workspace_id, Contact.merged_into_id.is_(None))
    if f.countries:
        stmt = stmt.where(Contact.country.in_(f.countries))
    if f.languages:
        # "it" matches "it" and "it-ch": a marketer means the language, not the region.
        stmt = stmt.where(or_(*[or_(Contact.language == lang, Contact.language.like(f"{lang}-%"))
                                for lang in f.languages]))
    if f.age_min is not None:
        stmt = stmt.where(Contact.birth_year <= now.year - f.age_min)
    if f.age_max is not None:
        stmt = stmt.where(Contact.birth_year >= now.year - f.age_max)
    if f.active_within_days:
        stmt = stmt.where(Contact.last_seen_at >= now - timedelta(days=f.active_within_days))
    if f.inactive_for_days:
        stmt = stmt.where(or_(Contact.last_seen_at.is_(None),
                              Contact.last_seen_at < now - timedelta(days=f.inactive_for_days)))
    if f.channel_ids or f.channel_kinds:
        ident = select(ContactIdentity.id).join(Channel, Channel.id == ContactIdentity.channel_id).where(
            ContactIdentity.contact_id == Contact.id)
        conds = []
        if f.channel_ids:
            conds.append(ContactIdentity.channel_id.in_(f.channel_ids))
        if f.channel_kinds:
            conds.append(Channel.kind.in_(f.channel_kinds))
        stmt = stmt.where(exists(ident.where(and_(*conds))))
    if f.opted_in_channel_ids:
        stmt = stmt.where(exists(select(ContactConsent.id).where(
            ContactConsent.contact_id == Contact.id, ContactConsent.channel_id.in_(f.opted_in_channel_ids),
            ContactConsent.status == ConsentStatus.OPTED_IN.value)))
    for flag, model in ((f.has_order, Order), (f.has_booking, Booking)):
        if flag is not None:
            some = exists(select(model.id).where(model.contact_id == Contact.id, model.status != "cancelled"))
            stmt = stmt.where(some if flag else ~some)
    return stmt


def _matcher(f: SegmentFilter) -> Callable[[Any, Any], bool]:
    """The filter's JSON conditions (tags, custom attributes) as a test of (tags, attributes), sets built once."""
    any_of, all_of, none_of, attributes = set(f.tags_any), set(f.tags_all), set(f.tags_none), f.attributes.items()

    def match(raw_tags: Any, raw_attrs: Any) -> bool:
        tags = set(raw_tags or ())
        if any_of and tags.isdisjoint(any_of):
            return False
        if all_of and not all_of <= tags:
            return False
        if none_of and not tags.isdisjoint(none_of):
            return False
        attrs = raw_attrs or {}
        return all(k in attrs and attrs[k] == v for k, v in attributes)

    return match


def _python_match(c: Contact, f: SegmentFilter) -> bool:
    return _matcher(f)(c.tags, c.attributes)


def iter_member_ids(s: Session, workspace_id: int, f: SegmentFilter, now: datetime,
                    after_id: int = 0) -> Iterator[int]:
    """Like ``iter_members``, the ids only: reads the id (and a JSON column only when the filter needs it
    in Python) as plain rows on the raw cursor — what a campaign's audience resolution needs, a million times."""
    wants_tags, wants_attrs = bool(f.tags_any or f.tags_all or f.tags_none), bool(f.attributes)
    conn = connection_of(s)
    # On SQLite a tags-only filter reads the tags as their stored JSON text and decides once per distinct
    # text: contacts share a few tag lists, so a million json.loads become a handful (PostgreSQL's driver
    # decodes JSON itself).
    by_text = wants_tags and not wants_attrs and conn.dialect.name == "sqlite"
    tags_col = type_coerce(Contact.tags, Text) if by_text else Contact.tags
    cols = [Contact.id, *([tags_col] if wants_tags else []), *([Contact.attributes] if wants_attrs else [])]
    # Compiled once for the whole walk (a million contacts are hundreds of keyset pages).
    page = FastStatement(_query(workspace_id, f, now).with_only_columns(*cols)
                         .where(Contact.id > bindparam("last_id")).order_by(Contact.id).limit(ID_BATCH))
    match = _matcher(f)
    decided: dict[str | None, bool] = {}
    last = after_id
    while True:
        batch = page.rows(conn, {"last_id": last})
        if not (wants_tags or wants_attrs):
            yield from (int(row[0]) for row in batch)
        elif by_text:
            if len(decided) > 10_000:  # every contact with its own tags: keep the memory bounded
                decided.clear()
            for row in batch:
                hit = decided.get(row[1])
                if hit is None:
                    hit = decided[row[1]] = match(json.loads(row[1]) if row[1] else None, None)
                if hit:
                    yield int(row[0])
        else:
            for row in batch:
                if match(row[1] if wants_tags else None, row[-1] if wants_attrs else None):
                    yield int(row[0])
        if len(batch) < ID_BATCH:
            return
        last = batch[-1][0]


def iter_members(s: Session, workspace_id: int, f: SegmentFilter, now: datetime,
                 after_id: int = 0) -> Iterator[Contact]:
    """Every matching contact in id order, read in keyset batches (a million contacts stay bounded)."""
    base = _query(workspace_id, f, now)
    last = after_id
    while True:
        batch = list(s.scalars(base.where(Contact.id > last).order_by(Contact.id).limit(BATCH)))
        for c in batch:
            if _python_match(c, f):
                yield c
        if len(batch) < BATCH:
            return
        last = batch[-1].id


def preview(rt: Runtime, actor: Actor, raw_filter: Any) -> dict[str, Any]:
    """The live count (and a few names) for a filter, before it is saved."""
    f = parse_filter(raw_filter)
    with rt.db.read() as s:
        _check_channels(s, actor.workspace_id, f)
        return _count(s, actor.workspace_id, f, rt.clock.now())


def _count(s: Session, workspace_id: int, f: SegmentFilter, now: datetime) -> dict[str, Any]:
    # Ids only (no contact objects), then the names of the first few for the sample.
    count, first = 0, list[int]()
    for contact_id in iter_member_ids(s, workspace_id, f, now):
        count += 1
        if len(first) < SAMPLE:
            first.append(contact_id)
    names = {cid: name for cid, name in s.execute(select(Contact.id, Contact.name).where(Contact.id.in_(first)))}
    return {"count": count, "sample": [{"id": cid, "name": names.get(cid)} for cid in first]}


def segment_dict(seg: Segment) -> dict[str, Any]:
    return {"id": seg.id, "name": seg.name, "filter": seg.filter, "created_at": seg.created_at.isoformat(),
            "updated_at": seg.updated_at.isoformat()}


def _clean_name(name: str) -> str:
    name = (name or "").strip()
    if not name or len(name) > 200:
        raise ValidationFailed("a segment needs a name (at most 200 characters)", field="name")
    return name


def _unique_name(s: Session, workspace_id: int, name: str, own_id: int | None = None) -> None:
    other = s.scalar(select(Segment.id).where(Segment.workspace_id == workspace_id, Segment.name == name))
    if other is not None and other != own_id:
        raise Conflict("a segment with this name exists", field="name")


def create_segment(rt: Runtime, actor: Actor, *, name: str, filter: Any) -> Segment:
    actor.require_write()
    name = _clean_name(name)
    f = parse_filter(filter)
    with rt.db.transaction() as s:
        _check_channels(s, actor.workspace_id, f)
        _unique_name(s, actor.workspace_id, name)
        now = rt.clock.now()
        seg = Segment(workspace_id=actor.workspace_id, name=name, filter=f.model_dump(exclude_defaults=True),
                      created_at=now, updated_at=now)
        s.add(seg)
        s.flush()
        return seg


def get_segment_in(s: Session, actor: Actor, segment_id: int, *, field: str | None = None) -> Segment:
    return get_in_workspace(s, Segment, segment_id, actor, "segment not found", field=field)


def get_segment(rt: Runtime, actor: Actor, segment_id: int) -> Segment:
    with rt.db.read() as s:
        return get_segment_in(s, actor, segment_id)


def list_segments(rt: Runtime, actor: Actor) -> list[Segment]:
    with rt.db.read() as s:
        return list(s.scalars(select(Segment).where(Segment.workspace_id == actor.workspace_id)
                              .order_by(Segment.name)))


def update_segment(rt: Runtime, actor: Actor, segment_id: int, *, name: str | None = None,
                   filter: Any = None) -> Segment:
    actor.require_write()
    with rt.db.transaction() as s:
        seg = get_segment_in(s, actor, segment_id)
        if name is not None:
            seg.name = _clean_name(name)
            _unique_name(s, actor.workspace_id, seg.name, seg.id)
        if filter is not None:
            f = parse_filter(filter)
            _check_channels(s, actor.workspace_id, f)
            seg.filter = f.model_dump(exclude_defaults=True)
        seg.updated_at = rt.clock.now()
        return seg


def delete_segment(rt: Runtime, actor: Actor, segment_id: int) -> None:
    actor.require_write()
    with rt.db.transaction() as s:
        seg = get_segment_in(s, actor, segment_id)
        if s.scalar(select(Campaign.id).where(Campaign.segment_id == seg.id).limit(1)) is not None:
            raise Conflict("a campaign uses this segment", field="segment_id")
        s.delete(seg)
        audit(s, actor, "segment.delete", f"segment:{segment_id}")


def count_segment(rt: Runtime, actor: Actor, segment_id: int) -> dict[str, Any]:
    with rt.db.read() as s:
        seg = get_segment_in(s, actor, segment_id)
        return _count(s, actor.workspace_id, parse_filter(seg.filter), rt.clock.now())
