"""The channel advisor for a workspace: the public figures (shipped, or replaced by an admin's CSV)
combined with the workspace's own contacts — which apps they are on and answer on."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from crocevia.advisor import figures as figs
from crocevia.advisor.scoring import ACTIVE_DAYS, KIND_APP, Audience, OwnApp, OwnAudience, advice_dict, recommend
from crocevia.errors import NotFound
from crocevia.runtime import Runtime
from crocevia.services.accounts import audit
from crocevia.services.actor import Actor
from crocevia.storage.tables import AdvisorDataset, Channel, Contact, ContactIdentity, Conversation, Message


def _dataset_name(name: str) -> str:
    if name not in figs.DATASETS:
        raise NotFound(f"no data set {name!r}; one of {', '.join(figs.DATASETS)}", field="dataset")
    return name


def workspace_figures(rt: Runtime, actor: Actor) -> figs.Figures:
    """The shipped figures with this workspace's uploaded replacements applied."""
    with rt.db.read() as s:
        uploads = list(s.scalars(select(AdvisorDataset).where(AdvisorDataset.workspace_id == actor.workspace_id)))
    current = figs.shipped()
    for up in sorted(uploads, key=lambda u: u.name):
        current = current.with_dataset(up.name, up.csv_text)
    return current


def datasets(rt: Runtime, actor: Actor) -> list[dict[str, Any]]:
    with rt.db.read() as s:
        uploads = {u.name: u for u in s.scalars(
            select(AdvisorDataset).where(AdvisorDataset.workspace_id == actor.workspace_id))}
    out = []
    for name in figs.DATASETS:
        up = uploads.get(name)
        rows = up.rows if up else len(figs.shipped_text(name).strip().splitlines()) - 1
        out.append({"name": name, "origin": "uploaded" if up else "shipped", "rows": rows,
                    "uploaded_at": up.uploaded_at.isoformat() if up else None,
                    "uploaded_by_id": up.uploaded_by_id if up else None})
    return out


def dataset_csv(rt: Runtime, actor: Actor, name: str) -> str:
    name = _dataset_name(name)
    with rt.db.read() as s:
        up = s.scalar(select(AdvisorDataset).where(AdvisorDataset.workspace_id == actor.workspace_id,
                                                   AdvisorDataset.name == name))
    return up.csv_text if up else figs.shipped_text(name)


def upload_dataset(rt: Runtime, actor: Actor, name: str, csv_text: str) -> dict[str, Any]:
    """Replace one data set for this workspace (admins only); rejected whole if any cell is wrong."""
    actor.require_admin()
    name = _dataset_name(name)
    parsed = figs.parse_dataset(name, csv_text)
    rows = len(parsed) if isinstance(parsed, tuple | dict) else 0
    with rt.db.transaction() as s:
        up = s.scalar(select(AdvisorDataset).where(AdvisorDataset.workspace_id == actor.workspace_id,
                                                   AdvisorDataset.name == name))
        if up is None:
            up = AdvisorDataset(workspace_id=actor.workspace_id, name=name, csv_text=csv_text, rows=rows)
            s.add(up)
        up.csv_text, up.rows, up.uploaded_by_id, up.uploaded_at = csv_text, rows, actor.user_id, rt.clock.now()
        audit(s, actor, "advisor.dataset_uploaded", name, rows=rows)
    return {"name": name, "origin": "uploaded", "rows": rows}


def reset_dataset(rt: Runtime, actor: Actor, name: str | None) -> None:
    """Go back to the shipped copy of one data set."""
    actor.require_admin()
    name = _dataset_name(name or "")
    with rt.db.transaction() as s:
        up = s.scalar(select(AdvisorDataset).where(AdvisorDataset.workspace_id == actor.workspace_id,
                                                   AdvisorDataset.name == name))
        if up is not None:
            s.delete(up)
            audit(s, actor, "advisor.dataset_reset", name)


def _matching(stmt: Any, actor: Actor, audience: Audience, now_year: int) -> Any:
    stmt = stmt.where(Contact.workspace_id == actor.workspace_id, Contact.merged_into_id.is_(None))
    codes = [c for c, _ in audience.countries]
    if codes:
        stmt = stmt.where(Contact.country.in_(codes))
    # Born in year Y, a person is (now_year - Y - 1) or (now_year - Y) old: counted by the latter.
    if audience.age_min is not None:
        stmt = stmt.where(Contact.birth_year <= now_year - audience.age_min)
    if audience.age_max is not None:
        stmt = stmt.where(Contact.birth_year >= now_year - audience.age_max)
    return stmt


def _visible(stmt: Any, actor: Actor) -> Any:
    if actor.channel_ids is not None:
        stmt = stmt.where(Channel.id.in_(sorted(actor.channel_ids) or [-1]))
    return stmt


def own_audience(s: Session, rt: Runtime, actor: Actor, audience: Audience) -> OwnAudience:
    """Contacts matching the audience (country, age from birth year, interests = tags), and per app how many
    have an identity on it and how many wrote on it lately. Contacts lacking a field a filter needs are left out."""
    now = rt.clock.now()
    wanted = set(audience.interests)

    def interested(tags: Any) -> bool:
        return not wanted or bool(wanted & {str(t).lower() for t in (tags or [])})

    ids = {cid for cid, tags in s.execute(_matching(select(Contact.id, Contact.tags), actor, audience, now.year))
           if interested(tags)}
    on_app: dict[str, set[int]] = {}
    q = _visible(_matching(select(ContactIdentity.contact_id, Channel.kind)
                           .join(Contact, Contact.id == ContactIdentity.contact_id)
                           .join(Channel, Channel.id == ContactIdentity.channel_id), actor, audience, now.year), actor)
    for cid, kind in s.execute(q):
        if cid in ids and kind in KIND_APP:
            on_app.setdefault(KIND_APP[kind], set()).add(cid)
    answered: dict[str, set[int]] = {}
    q = _visible(_matching(select(Conversation.contact_id, Channel.kind).distinct()
                           .join(Message, Message.conversation_id == Conversation.id)
                           .join(Contact, Contact.id == Conversation.contact_id)
                           .join(Channel, Channel.id == Conversation.channel_id)
                           .where(Message.workspace_id == actor.workspace_id, Message.direction == "in",
                                  Message.created_at >= now - timedelta(days=ACTIVE_DAYS)),
                           actor, audience, now.year), actor)
    for cid, kind in s.execute(q):
        if cid in ids and kind in KIND_APP:
            answered.setdefault(KIND_APP[kind], set()).add(cid)
    apps = {app: OwnApp(users=len(users), answered=len(answered.get(app, set()) & users))
            for app, users in on_app.items()}
    return OwnAudience(sample=len(ids), apps=apps)


def advise(rt: Runtime, actor: Actor, audience: Audience, *, lang: str = "en",
           use_own: bool = True) -> dict[str, Any]:
    current = workspace_figures(rt, actor)
    own = None
    if use_own:
        with rt.db.read() as s:
            own = own_audience(s, rt, actor, audience)
    result = recommend(current, audience, own=own, today=rt.clock.now().date())
    return advice_dict(result, current, lang)
