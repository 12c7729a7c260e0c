"""Partial indexes for adoption: the executions waiting for a driver (no owner, not ended) by start date, and
the owned active ones by heartbeat: a daemon's adoption reads the oldest 100 unowned ones and the stale ones
without scanning and sorting every active execution (30 ms per batch with a backlog of 20,000 before; see
docs/scaling.md).

Revision ID: 0008_cbench
Revises: 0007_nodes
Create Date: 2026-12-05

Self-contained (no import of daemon.store.tables), like every migration.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008_cbench"
down_revision: str | None = "0007_nodes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# the same states and text as daemon.store.tables (ACTIVE_STATES): PostgreSQL uses a partial index only for
# a query whose WHERE implies its predicate
ACTIVE = "state IN ('CREATED', 'QUEUED', 'RUNNING', 'PAUSED', 'RETRYING', 'RESTARTED', 'KILLING')"
ADOPTABLE = f"owner_id IS NULL AND {ACTIVE}"
OWNED = f"owner_id IS NOT NULL AND {ACTIVE}"


def upgrade() -> None:
    op.create_index(
        "ix_executions_adoptable", "executions", ["start_date"],
        postgresql_where=sa.text(ADOPTABLE), sqlite_where=sa.text(ADOPTABLE),
    )  # fmt: skip
    op.create_index(
        "ix_executions_owned_active", "executions", ["heartbeat_at"],
        postgresql_where=sa.text(OWNED), sqlite_where=sa.text(OWNED),
    )  # fmt: skip


def downgrade() -> None:
    op.drop_index("ix_executions_owned_active", table_name="executions")
    op.drop_index("ix_executions_adoptable", table_name="executions")
