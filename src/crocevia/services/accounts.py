"""Workspaces, users, sessions and API tokens."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from crocevia.domain.enums import Role
from crocevia.errors import AuthenticationFailed, Conflict, NotFound, PermissionDenied, ValidationFailed
from crocevia.runtime import Runtime
from crocevia.security import hash_password, new_token, token_hash, verify_password
from crocevia.services.actor import Actor
from crocevia.services.scoped import get_in_workspace
from crocevia.storage.tables import (
    ApiToken,
    AuditLog,
    ChannelMember,
    Team,
    TeamMember,
    User,
    WebSession,
    Workspace,
)

SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9-]{1,62}$")
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MIN_PASSWORD = 8


def audit(session: Session, actor: Actor, action: str, target: str = "", **data: object) -> None:
    session.add(
        AuditLog(workspace_id=actor.workspace_id, actor_user_id=actor.user_id, action=action, target=target,
                 data=dict(data))
    )


# -- workspaces & users -------------------------------------------------------------------
def create_workspace(
    rt: Runtime, *, slug: str, name: str, owner_email: str, owner_password: str, owner_name: str = "Owner",
    language: str = "it", timezone: str = "Europe/Rome",
) -> tuple[Workspace, User]:
    if not SLUG_RE.match(slug):
        raise ValidationFailed("slug must be 2-63 lowercase letters, digits or dashes", field="slug")
    _check_user_fields(owner_email, owner_password)
    with rt.db.transaction() as s:
        if s.scalar(select(Workspace.id).where(Workspace.slug == slug)):
            raise Conflict(f"workspace {slug!r} already exists", field="slug")
        _check_email_free(s, owner_email)
        ws = Workspace(slug=slug, name=name, language=language, timezone=timezone)
        s.add(ws)
        s.flush()
        owner = User(workspace_id=ws.id, email=owner_email.lower(), name=owner_name, role=Role.OWNER.value,
                     password_hash=hash_password(owner_password))
        s.add(owner)
        s.flush()
        return ws, owner


def _check_user_fields(email: str, password: str | None) -> None:
    if not EMAIL_RE.match(email or ""):
        raise ValidationFailed("not a valid e-mail address", field="email")
    if password is not None and len(password) < MIN_PASSWORD:
        raise ValidationFailed(f"password must have at least {MIN_PASSWORD} characters", field="password")


def _check_email_free(s: Session, email: str) -> None:
    if s.scalar(select(User.id).where(User.email == email.lower())):
        raise Conflict("a user with this e-mail already exists", field="email")


def create_user(
    rt: Runtime, actor: Actor, *, email: str, name: str, role: Role, password: str, language: str | None = None,
) -> User:
    actor.require_admin()
    if role is Role.OWNER and actor.role is not Role.OWNER:
        raise PermissionDenied("only an owner can create another owner", field="role")
    _check_user_fields(email, password)
    with rt.db.transaction() as s:
        _check_email_free(s, email)
        user = User(workspace_id=actor.workspace_id, email=email.lower(), name=name, role=role.value,
                    password_hash=hash_password(password), language=language)
        s.add(user)
        s.flush()
        audit(s, actor, "user.create", f"user:{user.id}", role=role.value)
        return user


def get_user(s: Session, actor: Actor, user_id: int, *, field: str | None = None) -> User:
    """``field`` names the request field the id came from, when it came from a body."""
    user = s.get(User, user_id)
    if user is None or user.workspace_id != actor.workspace_id:
        raise NotFound("user not found", field=field)
    return user


def list_users(rt: Runtime, actor: Actor) -> list[User]:
    with rt.db.read() as s:
        return list(s.scalars(select(User).where(User.workspace_id == actor.workspace_id).order_by(User.id)))


def update_user(
    rt: Runtime, actor: Actor, user_id: int, *, role: Role | None = None, name: str | None = None,
    is_active: bool | None = None, password: str | None = None, language: str | None = None,
    settings: dict[str, object] | None = None,
) -> User:
    # Users may change their own name, language, password and settings; the rest is admin work.
    if user_id != actor.user_id or role is not None or is_active is not None:
        actor.require_admin()
    if password is not None and len(password) < MIN_PASSWORD:
        raise ValidationFailed(f"password must have at least {MIN_PASSWORD} characters", field="password")
    with rt.db.transaction() as s:
        user = get_user(s, actor, user_id)
        is_owner = Role(user.role) is Role.OWNER
        # Only owners manage owners: otherwise an admin could promote himself, or reset an
        # owner's password, and take the workspace over.
        if actor.role is not Role.OWNER and (role is Role.OWNER or (is_owner and user.id != actor.user_id)):
            raise PermissionDenied("only an owner can change an owner or make one")
        last_owner = is_owner and user.is_active and _active_owner_count(s, actor) <= 1
        if role is not None:
            if last_owner and role is not Role.OWNER:
                raise ValidationFailed("a workspace keeps at least one active owner", field="role")
            user.role = role.value
        if is_active is False and last_owner:
            raise ValidationFailed("a workspace keeps at least one active owner", field="is_active")
        if name is not None:
            user.name = name
        if language is not None:
            user.language = language
        if settings is not None:
            user.settings = {**(user.settings or {}), **settings}
        if is_active is not None:
            user.is_active = is_active
            if not is_active:
                s.execute(delete(WebSession).where(WebSession.user_id == user.id))
        if password is not None:
            user.password_hash = hash_password(password)
            # A password reset signs the user out everywhere.
            s.execute(delete(WebSession).where(WebSession.user_id == user.id))
        audit(s, actor, "user.update", f"user:{user.id}")
        return user


def _active_owner_count(s: Session, actor: Actor) -> int:
    # A deactivated owner cannot sign in, so does not count as the one who keeps the workspace.
    return int(
        s.scalar(select(func.count()).where(User.workspace_id == actor.workspace_id, User.role == Role.OWNER.value,
                                            User.is_active.is_(True)))
        or 0
    )


# -- sign-in --------------------------------------------------------------------------------
@dataclass(frozen=True)
class NewSession:
    token: str
    csrf_token: str
    user: User


def login(rt: Runtime, *, email: str, password: str) -> NewSession:
    with rt.db.transaction() as s:
        user = s.scalar(select(User).where(User.email == (email or "").lower()))
        ok = verify_password(user.password_hash if user else None, password or "")
        if user is None or not ok or not user.is_active:
            raise AuthenticationFailed("wrong e-mail or password")
        token = new_token("cs")
        csrf = secrets.token_urlsafe(24)
        s.add(WebSession(workspace_id=user.workspace_id, user_id=user.id, token_hash=token_hash(token),
                         csrf_token=csrf,
                         expires_at=rt.clock.now() + timedelta(seconds=rt.settings.session_max_age_seconds)))
        return NewSession(token, csrf, user)


def logout(rt: Runtime, token: str) -> None:
    with rt.db.transaction() as s:
        s.execute(delete(WebSession).where(WebSession.token_hash == token_hash(token)))


@dataclass(frozen=True)
class Authenticated:
    actor: Actor
    user: User
    csrf_token: str | None  # set for browser sessions, which must echo it on writes


def actor_for_user(s: Session, user: User) -> Actor:
    role = Role(user.role)
    channel_ids: frozenset[int] | None = None
    if not role.sees_all_inboxes:
        channel_ids = frozenset(s.scalars(select(ChannelMember.channel_id).where(ChannelMember.user_id == user.id)))
    return Actor(workspace_id=user.workspace_id, user_id=user.id, role=role, channel_ids=channel_ids)


def authenticate_session(rt: Runtime, token: str) -> Authenticated:
    with rt.db.read() as s:
        row = s.execute(
            select(WebSession, User).join(User, User.id == WebSession.user_id)
            .where(WebSession.token_hash == token_hash(token))
        ).first()
        if row is None:
            raise AuthenticationFailed("not signed in")
        ws_session, user = row
        if ws_session.expires_at < rt.clock.now() or not user.is_active:
            raise AuthenticationFailed("session expired")
        return Authenticated(actor_for_user(s, user), user, ws_session.csrf_token)


def authenticate_token(rt: Runtime, token: str) -> Authenticated:
    with rt.db.read() as s:
        row = s.execute(
            select(ApiToken, User).join(User, User.id == ApiToken.user_id)
            .where(ApiToken.token_hash == token_hash(token))
        ).first()
        if row is None:
            raise AuthenticationFailed("invalid API token")
        api_token, user = row
        if api_token.revoked_at is not None or not user.is_active:
            raise AuthenticationFailed("API token revoked")
        return Authenticated(actor_for_user(s, user), user, None)


# -- API tokens ----------------------------------------------------------------------------
def create_api_token(rt: Runtime, actor: Actor, *, name: str) -> tuple[ApiToken, str]:
    """Returns the row and the token itself, which is shown once and never stored."""
    actor.require_write()
    if actor.user_id is None:
        raise ValidationFailed("tokens belong to a user", field="user")
    if not name.strip():
        raise ValidationFailed("a token needs a name", field="name")
    token = new_token("crv")
    with rt.db.transaction() as s:
        row = ApiToken(workspace_id=actor.workspace_id, user_id=actor.user_id, name=name.strip(),
                       prefix=token[:8], token_hash=token_hash(token))
        s.add(row)
        s.flush()
        audit(s, actor, "token.create", f"token:{row.id}")
        return row, token


def list_api_tokens(rt: Runtime, actor: Actor) -> list[ApiToken]:
    with rt.db.read() as s:
        q = select(ApiToken).where(ApiToken.workspace_id == actor.workspace_id)
        if not actor.role.can_administer:
            q = q.where(ApiToken.user_id == actor.user_id)
        return list(s.scalars(q.order_by(ApiToken.id)))


def revoke_api_token(rt: Runtime, actor: Actor, token_id: int) -> None:
    actor.require_write()
    with rt.db.transaction() as s:
        row = s.get(ApiToken, token_id)
        if row is None or row.workspace_id != actor.workspace_id or (
            row.user_id != actor.user_id and not actor.role.can_administer
        ):
            raise NotFound("token not found")
        s.execute(update(ApiToken).where(ApiToken.id == token_id).values(revoked_at=rt.clock.now()))
        audit(s, actor, "token.revoke", f"token:{token_id}")


# -- teams ---------------------------------------------------------------------------------
def create_team(rt: Runtime, actor: Actor, *, name: str, member_ids: list[int]) -> Team:
    actor.require_admin()
    name = _team_name(name)
    with rt.db.transaction() as s:
        if s.scalar(select(Team.id).where(Team.workspace_id == actor.workspace_id, Team.name == name)):
            raise Conflict("a team with this name exists", field="name")
        team = Team(workspace_id=actor.workspace_id, name=name)
        s.add(team)
        s.flush()
        for uid in sorted(set(member_ids)):  # the same person twice is one membership
            get_user(s, actor, uid, field="member_ids")
            s.add(TeamMember(team_id=team.id, user_id=uid))
        audit(s, actor, "team.create", f"team:{team.id}", name=name)
        return team


def _team_name(name: str) -> str:
    name = name.strip()
    if not name:
        raise ValidationFailed("a team needs a name", field="name")
    if len(name) > 200:
        raise ValidationFailed("a team name has at most 200 characters", field="name")
    return name


def update_team(rt: Runtime, actor: Actor, team_id: int, *, name: str | None = None,
                member_ids: list[int] | None = None) -> tuple[Team, list[int]]:
    """Rename a team and/or replace its members (the list given is the whole new membership)."""
    actor.require_admin()
    with rt.db.transaction() as s:
        team = get_in_workspace(s, Team, team_id, actor, "team not found")
        if name is not None:
            name = _team_name(name)
            if s.scalar(select(Team.id).where(Team.workspace_id == actor.workspace_id, Team.name == name,
                                              Team.id != team_id)):
                raise Conflict("a team with this name exists", field="name")
            team.name = name
        if member_ids is not None:
            wanted = sorted(set(member_ids))
            for uid in wanted:
                get_user(s, actor, uid, field="member_ids")
            s.execute(delete(TeamMember).where(TeamMember.team_id == team_id))
            s.add_all(TeamMember(team_id=team_id, user_id=uid) for uid in wanted)
        members = sorted(s.scalars(select(TeamMember.user_id).where(TeamMember.team_id == team_id)))
        s.flush()
        audit(s, actor, "team.update", f"team:{team_id}", name=team.name, member_ids=members)
        return team, members


def delete_team(rt: Runtime, actor: Actor, team_id: int) -> None:
    """Conversations and tickets handed to the team keep their assignee and lose only the team
    (the foreign keys say SET NULL); automation rules that named it skip that action."""
    actor.require_admin()
    with rt.db.transaction() as s:
        team = get_in_workspace(s, Team, team_id, actor, "team not found")
        name = team.name
        s.delete(team)
        s.flush()
        audit(s, actor, "team.delete", f"team:{team_id}", name=name)


def list_teams(rt: Runtime, actor: Actor) -> list[tuple[Team, list[int]]]:
    with rt.db.read() as s:
        teams = list(s.scalars(select(Team).where(Team.workspace_id == actor.workspace_id).order_by(Team.id)))
        members = s.execute(
            select(TeamMember.team_id, TeamMember.user_id).where(TeamMember.team_id.in_([t.id for t in teams]))
        ).all()
        by_team: dict[int, list[int]] = {}
        for team_id, user_id in members:
            by_team.setdefault(team_id, []).append(user_id)
        return [(t, by_team.get(t.id, [])) for t in teams]
