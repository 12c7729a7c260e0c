"""Cluster wake-ups for work that another node must act on: a kill request (an execution moved to
KILLING) and a subflow child's end (its parent may wait on another node). Both notify ``flowd_work``
from the writing transaction, so the node concerned steps at once instead of at its next poll.

Revision ID: 0007_nodes
Revises: 0006_namespace_files
Create Date: 2026-12-05

Self-contained (no import of daemon.store.tables), like every migration.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0007_nodes"
down_revision: str | None = "0006_namespace_files"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ENDED = "('SUCCESS', 'WARNING', 'FAILED', 'KILLED', 'CANCELLED', 'SKIPPED', 'RETRIED')"


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    # the function ``flowd_notify_work`` comes from 0004_cluster (an empty payload: folded per transaction)
    op.execute(
        "CREATE TRIGGER flowd_work_killing AFTER UPDATE OF state ON executions FOR EACH ROW "
        "WHEN (NEW.state = 'KILLING' AND OLD.state IS DISTINCT FROM 'KILLING') "
        "EXECUTE FUNCTION flowd_notify_work()"
    )
    op.execute(
        "CREATE TRIGGER flowd_work_child_ended AFTER UPDATE OF state ON executions FOR EACH ROW "
        f"WHEN (NEW.parent_execution_id IS NOT NULL AND NEW.state IN {ENDED} "
        f"AND OLD.state NOT IN {ENDED}) EXECUTE FUNCTION flowd_notify_work()"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS flowd_work_child_ended ON executions")
        op.execute("DROP TRIGGER IF EXISTS flowd_work_killing ON executions")
