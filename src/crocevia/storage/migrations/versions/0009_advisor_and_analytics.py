"""Channel advisor, audience figures, dashboards (issue 9).

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-24
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import crocevia.storage.types

revision: str = '0009'
down_revision: str | Sequence[str] | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table('advisor_datasets',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('workspace_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=40), nullable=False),
    sa.Column('csv_text', sa.Text(), nullable=False),
    sa.Column('rows', sa.Integer(), nullable=False),
    sa.Column('uploaded_by_id', sa.Integer(), nullable=True),
    sa.Column('uploaded_at', crocevia.storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['uploaded_by_id'], ['users.id'], name=op.f('fk_advisor_datasets_uploaded_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['workspace_id'], ['workspaces.id'], name=op.f('fk_advisor_datasets_workspace_id_workspaces'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_advisor_datasets')),
    sa.UniqueConstraint('workspace_id', 'name', name=op.f('uq_advisor_datasets_workspace_id'))
    )
    with op.batch_alter_table('advisor_datasets', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_advisor_datasets_workspace_id'), ['workspace_id'], unique=False)

    op.create_table('conversation_resolutions',
    sa.Column('id', BigId, nullable=False),
    sa.Column('workspace_id', sa.Integer(), nullable=False),
    sa.Column('conversation_id', BigId, nullable=False),
    sa.Column('channel_id', sa.Integer(), nullable=False),
    sa.Column('opened_at', crocevia.storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('resolved_at', crocevia.storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('seconds', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['channel_id'], ['channels.id'], name=op.f('fk_conversation_resolutions_channel_id_channels'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['conversation_id'], ['conversations.id'], name=op.f('fk_conversation_resolutions_conversation_id_conversations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['workspace_id'], ['workspaces.id'], name=op.f('fk_conversation_resolutions_workspace_id_workspaces'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_conversation_resolutions'))
    )
    with op.batch_alter_table('conversation_resolutions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_conversation_resolutions_workspace_id'), ['workspace_id'], unique=False)
        batch_op.create_index('ix_conversation_resolutions_ws_time', ['workspace_id', 'resolved_at'], unique=False)

    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.create_index('ix_messages_ws_created', ['workspace_id', 'created_at'], unique=False)

    # Daily rollups for the dashboards (services/rollups.py).
    op.create_table('analytics_channel_days',
    sa.Column('id', BigId, nullable=False),
    sa.Column('workspace_id', sa.Integer(), nullable=False),
    sa.Column('channel_id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('inbound', sa.BigInteger(), nullable=False),
    sa.Column('outbound', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['channel_id'], ['channels.id'], name=op.f('fk_analytics_channel_days_channel_id_channels'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['workspace_id'], ['workspaces.id'], name=op.f('fk_analytics_channel_days_workspace_id_workspaces'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_analytics_channel_days')),
    sa.UniqueConstraint('workspace_id', 'day', 'channel_id', name=op.f('uq_analytics_channel_days_workspace_id'))
    )
    op.create_table('analytics_contact_days',
    sa.Column('id', BigId, nullable=False),
    sa.Column('workspace_id', sa.Integer(), nullable=False),
    sa.Column('channel_id', sa.Integer(), nullable=False),
    sa.Column('contact_id', BigId, nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.ForeignKeyConstraint(['channel_id'], ['channels.id'], name=op.f('fk_analytics_contact_days_channel_id_channels'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['contact_id'], ['contacts.id'], name=op.f('fk_analytics_contact_days_contact_id_contacts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['workspace_id'], ['workspaces.id'], name=op.f('fk_analytics_contact_days_workspace_id_workspaces'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_analytics_contact_days')),
    sa.UniqueConstraint('workspace_id', 'day', 'channel_id', 'contact_id', name=op.f('uq_analytics_contact_days_workspace_id'))
    )
    with op.batch_alter_table('analytics_contact_days', schema=None) as batch_op:
        batch_op.create_index('ix_analytics_contact_days_contact', ['channel_id', 'contact_id', 'day'], unique=False)
    op.create_table('analytics_rollup_state',
    sa.Column('workspace_id', sa.Integer(), nullable=False),
    sa.Column('rolled_until', sa.Date(), nullable=False),
    sa.Column('updated_at', crocevia.storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['workspace_id'], ['workspaces.id'], name=op.f('fk_analytics_rollup_state_workspace_id_workspaces'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('workspace_id', name=op.f('pk_analytics_rollup_state'))
    )


def downgrade() -> None:
    op.drop_table('analytics_rollup_state')
    with op.batch_alter_table('analytics_contact_days', schema=None) as batch_op:
        batch_op.drop_index('ix_analytics_contact_days_contact')
    op.drop_table('analytics_contact_days')
    op.drop_table('analytics_channel_days')
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.drop_index('ix_messages_ws_created')
    with op.batch_alter_table('conversation_resolutions', schema=None) as batch_op:
        batch_op.drop_index('ix_conversation_resolutions_ws_time')
        batch_op.drop_index(batch_op.f('ix_conversation_resolutions_workspace_id'))
    op.drop_table('conversation_resolutions')
    with op.batch_alter_table('advisor_datasets', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_advisor_datasets_workspace_id'))
    op.drop_table('advisor_datasets')
