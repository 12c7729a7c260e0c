"""The operator's console: search indexes, a trigger's operator override, collapsed unchanged syncs.

Revision ID: 0005_ui
Revises: 0001
Create Date: 2026-12-05

- ``executions (start_date, id)`` and ``(state, start_date, id)``: keyset pages of the executions search,
  newest first, with or without a state filter; ``(flow_id, start_date)`` for a flow id alone.
- ``logs (timestamp, id)``: the logs search by time range, newest first.
- ``triggers.disabled_override``: NULL follows the Git source; TRUE/FALSE is an operator's disable/enable
  that a sync keeps (``disabled`` stays the effective value).
- ``syncs.unchanged_polls`` / ``unchanged_until``: polls that changed nothing, counted on the row before.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_ui"
down_revision: str | None = "0004_cluster"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_executions_start_date_id", "executions", ["start_date", "id"])
    op.create_index("ix_executions_state_start_date_id", "executions", ["state", "start_date", "id"])
    op.create_index("ix_executions_flow_id_start_date", "executions", ["flow_id", "start_date"])
    op.create_index("ix_logs_timestamp_id", "logs", ["timestamp", "id"])
    with op.batch_alter_table("triggers") as batch:
        batch.add_column(sa.Column("disabled_override", sa.Boolean(), nullable=True))
    with op.batch_alter_table("syncs") as batch:
        batch.add_column(sa.Column("unchanged_polls", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("unchanged_until", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("syncs") as batch:
        batch.drop_column("unchanged_until")
        batch.drop_column("unchanged_polls")
    with op.batch_alter_table("triggers") as batch:
        batch.drop_column("disabled_override")
    op.drop_index("ix_logs_timestamp_id", "logs")
    op.drop_index("ix_executions_flow_id_start_date", "executions")
    op.drop_index("ix_executions_state_start_date_id", "executions")
    op.drop_index("ix_executions_start_date_id", "executions")
