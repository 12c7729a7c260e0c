"""Indexes for retention: executions by end date, schedule ticks by scheduled date.

Revision ID: 0003_daemon
Revises: 0001
Create Date: 2026-12-05

``flowd db purge`` and the daemon's daily purge select ended executions by ``end_date`` and old ticks by
``scheduled_date``; without these indexes each purge would scan both tables.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0003_daemon"
down_revision: str | None = "0002_fencing"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_executions_end_date", "executions", ["end_date"])
    op.create_index("ix_schedule_ticks_scheduled_date", "schedule_ticks", ["scheduled_date"])


def downgrade() -> None:
    op.drop_index("ix_schedule_ticks_scheduled_date", table_name="schedule_ticks")
    op.drop_index("ix_executions_end_date", table_name="executions")
