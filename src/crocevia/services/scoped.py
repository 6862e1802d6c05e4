"""Loading one row of the actor's workspace: the tenancy check every service shares."""

from __future__ import annotations

from typing import Protocol, TypeVar

from sqlalchemy.orm import Session

from crocevia.errors import NotFound
from crocevia.services.actor import Actor


class _WorkspaceRow(Protocol):
    workspace_id: int


RowT = TypeVar("RowT", bound=_WorkspaceRow)


def get_in_workspace(s: Session, model: type[RowT], row_id: int, actor: Actor, missing: str,
                     field: str | None = None) -> RowT:
    """The row, or NotFound: another workspace's id answers exactly like an id that does not exist."""
    row = s.get(model, row_id)
    if row is None or row.workspace_id != actor.workspace_id:
        raise NotFound(missing, field=field)
    return row
