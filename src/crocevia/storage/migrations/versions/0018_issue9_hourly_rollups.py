"""Issue 9 (dashboard p95 under 200 ms at 10M messages): hourly rollups and a distinct-audience count
that reads one row per (channel, day, previous day) instead of one per contact.

- ``analytics_channel_hours`` / ``analytics_status_hours`` replace ``analytics_channel_days`` /
  ``analytics_status_days``: the same counts per UTC hour, so a range whose edges fall inside a day reads
  whole hours from the rollups and at most a partial hour from the messages. The status trigger of 0014
  now writes its -1/+1 rows per hour.
- ``analytics_contact_days`` gains the first/last message of the day and the contact's previous and next
  day with a message on that channel; ``analytics_active_days`` counts each day's contacts per previous
  day (see services/rollups.py for how both answer "distinct contacts over a range" exactly).

Every rollup is dropped and rebuilt by the rollup task (the dashboard reads live meanwhile, so its
numbers stay exact). The trigger is replaced with DROP/CREATE TRIGGER only: ``messages`` is not rebuilt.

Revision ID: 0018
Revises: 0016
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import crocevia.storage.types

revision: str = '0018'
down_revision: str | Sequence[str] | None = '0016'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
COUNTED = "('delivered', 'read', 'failed')"  # the statuses the dashboard counts (services/rollups.py)


def _sqlite_trigger(table: str, hourly: bool) -> str:
    hour_col = ", hour" if hourly else ""
    old_hour = ", CAST(strftime('%H', OLD.created_at) AS INTEGER)" if hourly else ""
    new_hour = ", CAST(strftime('%H', NEW.created_at) AS INTEGER)" if hourly else ""
    return f"""
CREATE TRIGGER trg_messages_analytics_status AFTER UPDATE OF status, failure_reason ON messages
WHEN NEW.direction = 'out' AND (OLD.status IS NOT NEW.status OR OLD.failure_reason IS NOT NEW.failure_reason)
     AND (OLD.status IN {COUNTED} OR NEW.status IN {COUNTED})
BEGIN
  INSERT INTO {table} (workspace_id, channel_id, day{hour_col}, status, reason, n)
  SELECT OLD.workspace_id, OLD.channel_id, date(OLD.created_at){old_hour}, OLD.status,
         CASE WHEN OLD.status = 'failed' THEN coalesce(OLD.failure_reason, '') END, -1
  WHERE OLD.status IN {COUNTED};
  INSERT INTO {table} (workspace_id, channel_id, day{hour_col}, status, reason, n)
  SELECT NEW.workspace_id, NEW.channel_id, date(NEW.created_at){new_hour}, NEW.status,
         CASE WHEN NEW.status = 'failed' THEN coalesce(NEW.failure_reason, '') END, 1
  WHERE NEW.status IN {COUNTED};
END
"""


def _pg_function(table: str, hourly: bool) -> str:
    hour_col = ", hour" if hourly else ""
    old_hour = ", EXTRACT(HOUR FROM OLD.created_at AT TIME ZONE 'UTC')::int" if hourly else ""
    new_hour = ", EXTRACT(HOUR FROM NEW.created_at AT TIME ZONE 'UTC')::int" if hourly else ""
    return f"""
CREATE OR REPLACE FUNCTION analytics_status_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF OLD.status IN {COUNTED} THEN
    INSERT INTO {table} (workspace_id, channel_id, day{hour_col}, status, reason, n)
    VALUES (OLD.workspace_id, OLD.channel_id, (OLD.created_at AT TIME ZONE 'UTC')::date{old_hour}, OLD.status,
            CASE WHEN OLD.status = 'failed' THEN coalesce(OLD.failure_reason, '') END, -1);
  END IF;
  IF NEW.status IN {COUNTED} THEN
    INSERT INTO {table} (workspace_id, channel_id, day{hour_col}, status, reason, n)
    VALUES (NEW.workspace_id, NEW.channel_id, (NEW.created_at AT TIME ZONE 'UTC')::date{new_hour}, NEW.status,
            CASE WHEN NEW.status = 'failed' THEN coalesce(NEW.failure_reason, '') END, 1);
  END IF;
  RETURN NULL;
END $$
"""


def _point_trigger_at(table: str, hourly: bool) -> None:
    if op.get_context().dialect.name == 'postgresql':
        op.execute(_pg_function(table, hourly))  # the trigger of 0014 calls this function
    else:
        op.execute("DROP TRIGGER IF EXISTS trg_messages_analytics_status")
        op.execute(_sqlite_trigger(table, hourly))


def _fks(table: str) -> list[sa.ForeignKeyConstraint]:
    return [sa.ForeignKeyConstraint(['channel_id'], ['channels.id'], name=op.f(f'fk_{table}_channel_id_channels'),
                                    ondelete='CASCADE'),
            sa.ForeignKeyConstraint(['workspace_id'], ['workspaces.id'],
                                    name=op.f(f'fk_{table}_workspace_id_workspaces'), ondelete='CASCADE')]


def _clear_rollups() -> None:
    for table in ('analytics_pending_waits', 'analytics_contact_days', 'analytics_rollup_state'):
        op.execute(f"DELETE FROM {table}")


def upgrade() -> None:
    _clear_rollups()
    op.create_table('analytics_channel_hours',
    sa.Column('id', BigId, nullable=False),
    sa.Column('workspace_id', sa.Integer(), nullable=False),
    sa.Column('channel_id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('hour', sa.Integer(), nullable=False),
    sa.Column('inbound', sa.BigInteger(), nullable=False),
    sa.Column('outbound', sa.BigInteger(), nullable=False),
    sa.Column('waiting', sa.BigInteger(), nullable=False),
    sa.Column('answered', sa.BigInteger(), nullable=False),
    sa.Column('response_seconds', sa.Float(), nullable=False),
    sa.Column('bot_conversations', sa.BigInteger(), nullable=False),
    sa.Column('bot_contained', sa.BigInteger(), nullable=False),
    *_fks('analytics_channel_hours'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_analytics_channel_hours')),
    sa.UniqueConstraint('workspace_id', 'day', 'channel_id', 'hour',
                        name=op.f('uq_analytics_channel_hours_workspace_id'))
    )
    op.create_table('analytics_status_hours',
    sa.Column('id', BigId, nullable=False),
    sa.Column('workspace_id', sa.Integer(), nullable=False),
    sa.Column('channel_id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('hour', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('n', sa.BigInteger(), nullable=False),
    *_fks('analytics_status_hours'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_analytics_status_hours'))
    )
    op.create_index('ix_analytics_status_hours_ws_day', 'analytics_status_hours',
                    ['workspace_id', 'day', 'channel_id'], unique=False)
    op.create_table('analytics_active_days',
    sa.Column('id', BigId, nullable=False),
    sa.Column('workspace_id', sa.Integer(), nullable=False),
    sa.Column('channel_id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('prev_day', sa.Date(), nullable=True),
    sa.Column('contacts', sa.BigInteger(), nullable=False),
    *_fks('analytics_active_days'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_analytics_active_days'))
    )
    op.create_index('ix_analytics_active_days_ws_day', 'analytics_active_days',
                    ['workspace_id', 'day', 'channel_id'], unique=False)
    # Emptied above; batch mode because SQLite cannot add NOT NULL columns otherwise (no trigger on it).
    with op.batch_alter_table('analytics_contact_days', schema=None) as batch_op:
        batch_op.add_column(sa.Column('first_at', crocevia.storage.types.UTCDateTime(timezone=True), nullable=False))
        batch_op.add_column(sa.Column('last_at', crocevia.storage.types.UTCDateTime(timezone=True), nullable=False))
        batch_op.add_column(sa.Column('prev_day', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('next_day', sa.Date(), nullable=True))
    _point_trigger_at('analytics_status_hours', hourly=True)
    op.drop_index('ix_analytics_status_days_ws_day', table_name='analytics_status_days')
    op.drop_table('analytics_status_days')
    op.drop_table('analytics_channel_days')


def downgrade() -> None:
    _clear_rollups()
    op.create_table('analytics_channel_days',
    sa.Column('id', BigId, nullable=False),
    sa.Column('workspace_id', sa.Integer(), nullable=False),
    sa.Column('channel_id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('inbound', sa.BigInteger(), nullable=False),
    sa.Column('outbound', sa.BigInteger(), nullable=False),
    sa.Column('waiting', sa.BigInteger(), nullable=False, server_default='0'),
    sa.Column('answered', sa.BigInteger(), nullable=False, server_default='0'),
    sa.Column('bot_conversations', sa.BigInteger(), nullable=False, server_default='0'),
    sa.Column('bot_contained', sa.BigInteger(), nullable=False, server_default='0'),
    sa.Column('response_seconds', sa.Float(), nullable=False, server_default='0'),
    *_fks('analytics_channel_days'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_analytics_channel_days')),
    sa.UniqueConstraint('workspace_id', 'day', 'channel_id', name=op.f('uq_analytics_channel_days_workspace_id'))
    )
    op.create_table('analytics_status_days',
    sa.Column('id', BigId, nullable=False),
    sa.Column('workspace_id', sa.Integer(), nullable=False),
    sa.Column('channel_id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('n', sa.BigInteger(), nullable=False),
    *_fks('analytics_status_days'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_analytics_status_days'))
    )
    op.create_index('ix_analytics_status_days_ws_day', 'analytics_status_days', ['workspace_id', 'day', 'channel_id'],
                    unique=False)
    _point_trigger_at('analytics_status_days', hourly=False)
    with op.batch_alter_table('analytics_contact_days', schema=None) as batch_op:
        for name in ('next_day', 'prev_day', 'last_at', 'first_at'):
            batch_op.drop_column(name)
    op.drop_index('ix_analytics_active_days_ws_day', table_name='analytics_active_days')
    op.drop_table('analytics_active_days')
    op.drop_index('ix_analytics_status_hours_ws_day', table_name='analytics_status_hours')
    op.drop_table('analytics_status_hours')
    op.drop_table('analytics_channel_hours')
