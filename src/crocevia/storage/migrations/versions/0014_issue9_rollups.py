"""Issue 9 (dashboards at 10M messages): every dashboard metric from daily rollups.

- ``analytics_channel_days`` gains first-response and bot-containment counts per (channel, UTC day).
- ``analytics_status_days``: outbound messages per (channel, day, status, failure reason), as rows of
  counts (``n``) that are summed. The rollup writes one row per key; a trigger on ``messages`` adds a
  -1 row for the old and a +1 row for the new status whenever an outbound message's status or failure
  reason changes, so a read receipt arriving weeks later is counted at once, with no lock on the
  receipt path. Rebuilding a day replaces all its rows (see services/rollups.py).
- ``analytics_pending_waits``: customer waits (first customer message of a conversation on a day)
  that had no agent reply when their day was rolled up; the dashboard looks their replies up live.

The existing rollups are dropped so that every day is rebuilt with the new columns (the dashboard
reads live until the rollup task has caught up, so numbers stay exact meanwhile).

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import crocevia.storage.types

revision: str = '0014'
down_revision: str | Sequence[str] | None = '0013'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
COUNTED = "('delivered', 'read', 'failed')"  # the statuses the dashboard counts (services/rollups.py)

# Two inserts at most per change: -1 under the old (status, reason), +1 under the new one. Only
# outbound messages, and only when a counted status is involved (queued -> sent writes nothing).
SQLITE_TRIGGER = f"""
CREATE TRIGGER trg_messages_analytics_status AFTER UPDATE OF status, failure_reason ON messages
WHEN NEW.direction = 'out' AND (OLD.status IS NOT NEW.status OR OLD.failure_reason IS NOT NEW.failure_reason)
     AND (OLD.status IN {COUNTED} OR NEW.status IN {COUNTED})
BEGIN
  INSERT INTO analytics_status_days (workspace_id, channel_id, day, status, reason, n)
  SELECT OLD.workspace_id, OLD.channel_id, date(OLD.created_at), OLD.status,
         CASE WHEN OLD.status = 'failed' THEN coalesce(OLD.failure_reason, '') END, -1
  WHERE OLD.status IN {COUNTED};
  INSERT INTO analytics_status_days (workspace_id, channel_id, day, status, reason, n)
  SELECT NEW.workspace_id, NEW.channel_id, date(NEW.created_at), NEW.status,
         CASE WHEN NEW.status = 'failed' THEN coalesce(NEW.failure_reason, '') END, 1
  WHERE NEW.status IN {COUNTED};
END
"""

PG_FUNCTION = f"""
CREATE FUNCTION analytics_status_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF OLD.status IN {COUNTED} THEN
    INSERT INTO analytics_status_days (workspace_id, channel_id, day, status, reason, n)
    VALUES (OLD.workspace_id, OLD.channel_id, (OLD.created_at AT TIME ZONE 'UTC')::date, OLD.status,
            CASE WHEN OLD.status = 'failed' THEN coalesce(OLD.failure_reason, '') END, -1);
  END IF;
  IF NEW.status IN {COUNTED} THEN
    INSERT INTO analytics_status_days (workspace_id, channel_id, day, status, reason, n)
    VALUES (NEW.workspace_id, NEW.channel_id, (NEW.created_at AT TIME ZONE 'UTC')::date, NEW.status,
            CASE WHEN NEW.status = 'failed' THEN coalesce(NEW.failure_reason, '') END, 1);
  END IF;
  RETURN NULL;
END $$
"""

PG_TRIGGER = f"""
CREATE TRIGGER trg_messages_analytics_status AFTER UPDATE OF status, failure_reason ON messages
FOR EACH ROW WHEN (NEW.direction = 'out'
                   AND (OLD.status IS DISTINCT FROM NEW.status OR OLD.failure_reason IS DISTINCT FROM NEW.failure_reason)
                   AND (OLD.status IN {COUNTED} OR NEW.status IN {COUNTED}))
EXECUTE FUNCTION analytics_status_change()
"""


def upgrade() -> None:
    # Rebuilt from the messages by the rollup task, with the new columns filled.
    op.execute("DELETE FROM analytics_channel_days")
    op.execute("DELETE FROM analytics_contact_days")
    op.execute("DELETE FROM analytics_rollup_state")
    with op.batch_alter_table('analytics_channel_days', schema=None) as batch_op:
        for name in ('waiting', 'answered', 'bot_conversations', 'bot_contained'):
            batch_op.add_column(sa.Column(name, sa.BigInteger(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('response_seconds', sa.Float(), nullable=False, server_default='0'))
    with op.batch_alter_table('analytics_rollup_state', schema=None) as batch_op:
        batch_op.add_column(sa.Column('waits_checked_at', crocevia.storage.types.UTCDateTime(timezone=True),
                                      nullable=True))

    op.create_table('analytics_status_days',
    sa.Column('id', BigId, nullable=False),
    sa.Column('workspace_id', sa.Integer(), nullable=False),
    sa.Column('channel_id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('n', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['channel_id'], ['channels.id'], name=op.f('fk_analytics_status_days_channel_id_channels'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['workspace_id'], ['workspaces.id'], name=op.f('fk_analytics_status_days_workspace_id_workspaces'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_analytics_status_days'))
    )
    with op.batch_alter_table('analytics_status_days', schema=None) as batch_op:
        batch_op.create_index('ix_analytics_status_days_ws_day', ['workspace_id', 'day', 'channel_id'], unique=False)

    op.create_table('analytics_pending_waits',
    sa.Column('id', BigId, nullable=False),
    sa.Column('workspace_id', sa.Integer(), nullable=False),
    sa.Column('channel_id', sa.Integer(), nullable=False),
    sa.Column('conversation_id', BigId, nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('first_in', crocevia.storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['channel_id'], ['channels.id'], name=op.f('fk_analytics_pending_waits_channel_id_channels'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['conversation_id'], ['conversations.id'], name=op.f('fk_analytics_pending_waits_conversation_id_conversations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['workspace_id'], ['workspaces.id'], name=op.f('fk_analytics_pending_waits_workspace_id_workspaces'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_analytics_pending_waits'))
    )
    with op.batch_alter_table('analytics_pending_waits', schema=None) as batch_op:
        batch_op.create_index('ix_analytics_pending_waits_ws_day', ['workspace_id', 'day'], unique=False)
        batch_op.create_index('ix_analytics_pending_waits_conversation', ['conversation_id'], unique=False)

    if op.get_context().dialect.name == 'postgresql':
        op.execute(PG_FUNCTION)
        op.execute(PG_TRIGGER)
    else:
        op.execute(SQLITE_TRIGGER)


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS trg_messages_analytics_status" +
               (" ON messages" if op.get_context().dialect.name == 'postgresql' else ""))
    if op.get_context().dialect.name == 'postgresql':
        op.execute("DROP FUNCTION IF EXISTS analytics_status_change()")
    with op.batch_alter_table('analytics_pending_waits', schema=None) as batch_op:
        batch_op.drop_index('ix_analytics_pending_waits_conversation')
        batch_op.drop_index('ix_analytics_pending_waits_ws_day')
    op.drop_table('analytics_pending_waits')
    with op.batch_alter_table('analytics_status_days', schema=None) as batch_op:
        batch_op.drop_index('ix_analytics_status_days_ws_day')
    op.drop_table('analytics_status_days')
    op.execute("DELETE FROM analytics_rollup_state")
    with op.batch_alter_table('analytics_rollup_state', schema=None) as batch_op:
        batch_op.drop_column('waits_checked_at')
    with op.batch_alter_table('analytics_channel_days', schema=None) as batch_op:
        for name in ('response_seconds', 'bot_contained', 'bot_conversations', 'answered', 'waiting'):
            batch_op.drop_column(name)
