"""Tickets, SLA policies and customer updates (issue 8).

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-24
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import crocevia.storage.types

revision: str = '0007'
down_revision: str | Sequence[str] | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('sla_policies',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('workspace_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('priority', sa.String(length=16), nullable=True),
    sa.Column('ticket_type', sa.String(length=40), nullable=True),
    sa.Column('first_response_minutes', sa.Integer(), nullable=True),
    sa.Column('resolution_minutes', sa.Integer(), nullable=True),
    sa.Column('warn_minutes', sa.Integer(), nullable=False),
    sa.Column('timezone', sa.String(length=64), nullable=False),
    sa.Column('business_hours', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('holidays', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('escalate_team_id', sa.Integer(), nullable=True),
    sa.Column('is_active', sa.Boolean(), nullable=False),
    sa.Column('created_at', crocevia.storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['escalate_team_id'], ['teams.id'], name=op.f('fk_sla_policies_escalate_team_id_teams'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['workspace_id'], ['workspaces.id'], name=op.f('fk_sla_policies_workspace_id_workspaces'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sla_policies'))
    )
    with op.batch_alter_table('sla_policies', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sla_policies_workspace_id'), ['workspace_id'], unique=False)

    op.create_table('tickets',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('workspace_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('subject', sa.String(length=300), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('type', sa.String(length=40), nullable=False),
    sa.Column('priority', sa.String(length=16), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('contact_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('conversation_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('assignee_id', sa.Integer(), nullable=True),
    sa.Column('team_id', sa.Integer(), nullable=True),
    sa.Column('custom_fields', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('sla_policy_id', sa.Integer(), nullable=True),
    sa.Column('first_response_due_at', crocevia.storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('first_response_warn_at', crocevia.storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('resolution_due_at', crocevia.storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('resolution_warn_at', crocevia.storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('sla_paused_at', crocevia.storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('sla_next_check_at', crocevia.storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('first_responded_at', crocevia.storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('first_response_warned_at', crocevia.storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('first_response_breached_at', crocevia.storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('resolution_warned_at', crocevia.storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('resolution_breached_at', crocevia.storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('solved_at', crocevia.storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('closed_at', crocevia.storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('csat_requested_at', crocevia.storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('csat_score', sa.Integer(), nullable=True),
    sa.Column('created_at', crocevia.storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', crocevia.storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['assignee_id'], ['users.id'], name=op.f('fk_tickets_assignee_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['contact_id'], ['contacts.id'], name=op.f('fk_tickets_contact_id_contacts'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['conversation_id'], ['conversations.id'], name=op.f('fk_tickets_conversation_id_conversations'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['sla_policy_id'], ['sla_policies.id'], name=op.f('fk_tickets_sla_policy_id_sla_policies'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['team_id'], ['teams.id'], name=op.f('fk_tickets_team_id_teams'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['workspace_id'], ['workspaces.id'], name=op.f('fk_tickets_workspace_id_workspaces'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tickets')),
    sa.UniqueConstraint('workspace_id', 'number', name=op.f('uq_tickets_workspace_id'))
    )
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_tickets_contact_id'), ['contact_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_tickets_sla_next_check_at'), ['sla_next_check_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_tickets_workspace_id'), ['workspace_id'], unique=False)
        batch_op.create_index('ix_tickets_ws_status', ['workspace_id', 'status', 'id'], unique=False)

    op.create_table('ticket_conversations',
    sa.Column('ticket_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('conversation_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('workspace_id', sa.Integer(), nullable=False),
    sa.Column('created_at', crocevia.storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['conversation_id'], ['conversations.id'], name=op.f('fk_ticket_conversations_conversation_id_conversations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], name=op.f('fk_ticket_conversations_ticket_id_tickets'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['workspace_id'], ['workspaces.id'], name=op.f('fk_ticket_conversations_workspace_id_workspaces'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('ticket_id', 'conversation_id', name=op.f('pk_ticket_conversations'))
    )
    with op.batch_alter_table('ticket_conversations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ticket_conversations_workspace_id'), ['workspace_id'], unique=False)

    op.create_table('ticket_events',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('workspace_id', sa.Integer(), nullable=False),
    sa.Column('ticket_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('actor_user_id', sa.Integer(), nullable=True),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('data', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('created_at', crocevia.storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['actor_user_id'], ['users.id'], name=op.f('fk_ticket_events_actor_user_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], name=op.f('fk_ticket_events_ticket_id_tickets'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['workspace_id'], ['workspaces.id'], name=op.f('fk_ticket_events_workspace_id_workspaces'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ticket_events'))
    )
    with op.batch_alter_table('ticket_events', schema=None) as batch_op:
        batch_op.create_index('ix_ticket_events_ticket', ['ticket_id', 'id'], unique=False)
        batch_op.create_index(batch_op.f('ix_ticket_events_workspace_id'), ['workspace_id'], unique=False)


    op.create_table('ticket_rules',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('workspace_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('event', sa.String(length=40), nullable=False),
    sa.Column('conditions', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('actions', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('is_active', sa.Boolean(), nullable=False),
    sa.Column('created_at', crocevia.storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['workspace_id'], ['workspaces.id'], name=op.f('fk_ticket_rules_workspace_id_workspaces'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ticket_rules'))
    )
    with op.batch_alter_table('ticket_rules', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ticket_rules_workspace_id'), ['workspace_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('ticket_rules', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ticket_rules_workspace_id'))

    op.drop_table('ticket_rules')
    with op.batch_alter_table('ticket_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ticket_events_workspace_id'))
        batch_op.drop_index('ix_ticket_events_ticket')

    op.drop_table('ticket_events')
    with op.batch_alter_table('ticket_conversations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ticket_conversations_workspace_id'))

    op.drop_table('ticket_conversations')
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.drop_index('ix_tickets_ws_status')
        batch_op.drop_index(batch_op.f('ix_tickets_workspace_id'))
        batch_op.drop_index(batch_op.f('ix_tickets_sla_next_check_at'))
        batch_op.drop_index(batch_op.f('ix_tickets_contact_id'))

    op.drop_table('tickets')
    with op.batch_alter_table('sla_policies', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sla_policies_workspace_id'))

    op.drop_table('sla_policies')
