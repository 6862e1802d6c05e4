"""Issue 5 (agent inbox): the workspace's label catalogue.

Conversations already carry label names as free strings (a JSON list); the catalogue gives each
name a colour and lets admins rename or delete it everywhere. Existing names are copied into the
catalogue here, so every label in use appears on the admin page after the upgrade.

Revision ID: 0013
Revises: 0009
Create Date: 2026-11-24
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

import crocevia.storage.types

revision: str = '0013'
down_revision: str | Sequence[str] | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DEFAULT_COLOR = "#6b7280"


def upgrade() -> None:
    labels = op.create_table(
        'labels',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('workspace_id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=40), nullable=False),
        sa.Column('color', sa.String(length=7), nullable=False),
        sa.Column('description', sa.String(length=200), nullable=False),
        sa.Column('created_at', crocevia.storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['workspace_id'], ['workspaces.id'],
                                name=op.f('fk_labels_workspace_id_workspaces'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_labels')),
        sa.UniqueConstraint('workspace_id', 'name', name=op.f('uq_labels_workspace_id')),
    )
    with op.batch_alter_table('labels', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_labels_workspace_id'), ['workspace_id'], unique=False)
    _copy_labels_in_use(labels)


def _copy_labels_in_use(labels: sa.Table) -> None:
    """Every distinct name conversations carry, per workspace (read in id order, a page at a time)."""
    conn = op.get_bind()
    conv = sa.table('conversations', sa.column('id', sa.BigInteger()), sa.column('workspace_id', sa.Integer()),
                    sa.column('labels', sa.JSON()))
    found: set[tuple[int, str]] = set()
    last = 0
    while True:
        rows = conn.execute(sa.select(conv.c.id, conv.c.workspace_id, conv.c.labels)
                            .where(conv.c.id > last).order_by(conv.c.id).limit(5000)).all()
        if not rows:
            break
        for _id, ws, names in rows:
            if isinstance(names, str):  # some drivers hand back the JSON text
                names = json.loads(names)
            found.update((ws, str(n)[:40]) for n in names or [] if str(n).strip())
        last = rows[-1][0]
    now = datetime.now(UTC)
    if found:
        op.bulk_insert(labels, [{"workspace_id": ws, "name": name, "color": DEFAULT_COLOR, "description": "",
                                 "created_at": now} for ws, name in sorted(found)])


def downgrade() -> None:
    with op.batch_alter_table('labels', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_labels_workspace_id'))
    op.drop_table('labels')
