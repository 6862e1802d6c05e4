"""Drop ix_messages_workspace_id: ix_messages_ws_created (workspace_id, created_at) covers it,
and every stored message paid for updating both (issue 2, ingest).

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-24
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = '0016'
down_revision: str | Sequence[str] | None = '0015'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# Plain DROP/CREATE INDEX, not batch mode: on SQLite a batch rebuild of ``messages`` would drop the
# triggers 0014 and 0015 put on it.
def upgrade() -> None:
    op.drop_index('ix_messages_workspace_id', table_name='messages')


def downgrade() -> None:
    op.create_index('ix_messages_workspace_id', 'messages', ['workspace_id'], unique=False)
