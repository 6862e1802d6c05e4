"""Indexes for the ingest hot path (issue 2).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa  # issue 5 (canned responses)
from alembic import op  # issue 5 (canned responses)

import crocevia.storage.types  # issue 5 (canned responses)

revision: str = '0005'
down_revision: str | Sequence[str] | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # -- issue 2: ingest hot path -- begin --
    # Inbound group messages find the latest conversation of (channel, group): without this
    # index that lookup scans every conversation of the channel.
    with op.batch_alter_table('conversations', schema=None) as batch_op:
        batch_op.create_index('ix_conversations_channel_thread', ['channel_id', 'thread_key', 'id'], unique=False)
    # -- issue 2: ingest hot path -- end --
    # -- issue 5: canned responses (agent inbox) -- begin --
    op.create_table('canned_responses',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('workspace_id', sa.Integer(), nullable=False),
    sa.Column('shortcut', sa.String(length=40), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('created_at', crocevia.storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', crocevia.storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['workspace_id'], ['workspaces.id'],
                            name=op.f('fk_canned_responses_workspace_id_workspaces'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_canned_responses')),
    sa.UniqueConstraint('workspace_id', 'shortcut', name=op.f('uq_canned_responses_workspace_id'))
    )
    with op.batch_alter_table('canned_responses', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_canned_responses_workspace_id'), ['workspace_id'], unique=False)
    # -- issue 5: canned responses -- end --
    pass


def downgrade() -> None:
    # -- issue 2: ingest hot path -- begin --
    with op.batch_alter_table('conversations', schema=None) as batch_op:
        batch_op.drop_index('ix_conversations_channel_thread')
    # -- issue 2: ingest hot path -- end --
    # -- issue 5: canned responses (agent inbox) -- begin --
    with op.batch_alter_table('canned_responses', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_canned_responses_workspace_id'))
    op.drop_table('canned_responses')
    # -- issue 5: canned responses -- end --
    pass
