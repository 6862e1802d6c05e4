"""Who is acting: the workspace, the user and what they may see and do."""

from __future__ import annotations

from dataclasses import dataclass

from crocevia.domain.enums import Role
from crocevia.errors import NotFound, PermissionDenied


@dataclass(frozen=True)
class Actor:
    workspace_id: int
    user_id: int | None
    role: Role
    # Channels (inboxes) this actor may see; None means every channel of the workspace.
    channel_ids: frozenset[int] | None = None

    @classmethod
    def system(cls, workspace_id: int) -> Actor:
        return cls(workspace_id=workspace_id, user_id=None, role=Role.OWNER)

    def require_write(self) -> None:
        if not self.role.can_write:
            raise PermissionDenied("viewers cannot change anything")

    def require_admin(self) -> None:
        if not self.role.can_administer:
            raise PermissionDenied("only an owner or admin can do this")

    def can_see_channel(self, channel_id: int) -> bool:
        return self.channel_ids is None or channel_id in self.channel_ids

    def require_channel(self, channel_id: int) -> None:
        # Not-found rather than forbidden: an agent must not learn what exists elsewhere.
        if not self.can_see_channel(channel_id):
            raise NotFound("conversation not found")
