"""Initial schema: flows, revisions, syncs, executions, task runs, logs, triggers, ticks, kv, heartbeats.

Revision ID: 0001
Revises:
Create Date: 2024-06-01

Self-contained on purpose (no import of daemon.store.tables): a migration is history and must not
change when the current model does. Timestamps are ``timestamptz`` on PostgreSQL and naive-UTC text on
SQLite (``UTCDateTime`` in ``daemon/store/columns.py`` converts); JSON is ``JSONB`` on PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NAME = sa.String(255)
ID = sa.String(64)
STATE = sa.String(32)
HASH = sa.String(64)
COMMIT = sa.String(64)


def ts() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def js() -> sa.types.TypeEngine:
    return sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def big_id() -> sa.types.TypeEngine:
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "flows",
        sa.Column("namespace", NAME, nullable=False),
        sa.Column("flow_id", NAME, nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("hash", HASH, nullable=False),
        sa.Column("path", sa.Text(), nullable=True),
        sa.Column("commit", COMMIT, nullable=True),
        sa.Column("sync_state", STATE, nullable=False),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        sa.Column("updated_at", ts(), nullable=False),
        sa.PrimaryKeyConstraint("namespace", "flow_id", name="pk_flows"),
    )
    op.create_table(
        "flow_revisions",
        sa.Column("namespace", NAME, nullable=False),
        sa.Column("flow_id", NAME, nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("hash", HASH, nullable=False),
        sa.Column("path", sa.Text(), nullable=True),
        sa.Column("commit", COMMIT, nullable=True),
        sa.Column("created_at", ts(), nullable=False),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("namespace", "flow_id", "revision", name="pk_flow_revisions"),
    )
    op.create_table(
        "syncs",
        sa.Column("id", big_id(), autoincrement=True, nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("ref", NAME, nullable=True),
        sa.Column("commit_attempted", COMMIT, nullable=True),
        sa.Column("commit_applied", COMMIT, nullable=True),
        sa.Column("started_at", ts(), nullable=False),
        sa.Column("finished_at", ts(), nullable=True),
        sa.Column("result", STATE, nullable=True),
        sa.Column("counts", js(), nullable=True),
        sa.Column("plan", js(), nullable=True),
        sa.Column("errors", js(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_syncs"),
    )
    op.create_table(
        "executions",
        sa.Column("id", ID, nullable=False),
        sa.Column("namespace", NAME, nullable=False),
        sa.Column("flow_id", NAME, nullable=False),
        sa.Column("flow_revision", sa.Integer(), nullable=False),
        sa.Column("state", STATE, nullable=False),
        sa.Column("histories", js(), nullable=False),
        sa.Column("inputs", js(), nullable=True),
        sa.Column("outputs", js(), nullable=True),
        sa.Column("labels", js(), nullable=True),
        sa.Column("trigger", js(), nullable=True),
        sa.Column("parent_execution_id", ID, nullable=True),
        sa.Column("parent_task_run_id", ID, nullable=True),
        sa.Column("start_date", ts(), nullable=False),
        sa.Column("end_date", ts(), nullable=True),
        sa.Column("owner_id", ID, nullable=True),
        sa.Column("heartbeat_at", ts(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_executions"),
    )
    op.create_index(
        "ix_executions_namespace_flow_id_start_date", "executions", ["namespace", "flow_id", "start_date"]
    )
    op.create_index("ix_executions_state", "executions", ["state"])
    op.create_index("ix_executions_parent_execution_id", "executions", ["parent_execution_id"])
    op.create_table(
        "task_runs",
        sa.Column("id", ID, nullable=False),
        sa.Column("execution_id", ID, nullable=False),
        sa.Column("task_id", NAME, nullable=False),
        sa.Column("parent_task_run_id", ID, nullable=True),
        sa.Column("value", sa.Text(), nullable=True),
        sa.Column("iteration", sa.Integer(), nullable=True),
        sa.Column("state", STATE, nullable=False),
        sa.Column("histories", js(), nullable=False),
        sa.Column("attempts", js(), nullable=False),
        sa.Column("outputs", js(), nullable=True),
        sa.Column("ready_at", ts(), nullable=False),
        sa.Column("claimed_by", ID, nullable=True),
        sa.Column("claimed_at", ts(), nullable=True),
        sa.ForeignKeyConstraint(
            ["execution_id"], ["executions.id"], name="fk_task_runs_execution_id_executions", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_task_runs"),
    )
    op.create_index("ix_task_runs_execution_id", "task_runs", ["execution_id"])
    op.create_index("ix_task_runs_state_ready_at", "task_runs", ["state", "ready_at"])
    op.create_table(
        "logs",
        sa.Column("id", big_id(), autoincrement=True, nullable=False),
        sa.Column("execution_id", ID, nullable=False),
        sa.Column("task_run_id", ID, nullable=True),
        sa.Column("task_id", NAME, nullable=True),
        sa.Column("attempt", sa.Integer(), nullable=True),
        sa.Column("level", sa.String(8), nullable=False),
        sa.Column("timestamp", ts(), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["execution_id"], ["executions.id"], name="fk_logs_execution_id_executions", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_logs"),
    )
    op.create_index("ix_logs_execution_id_id", "logs", ["execution_id", "id"])
    op.create_table(
        "triggers",
        sa.Column("namespace", NAME, nullable=False),
        sa.Column("flow_id", NAME, nullable=False),
        sa.Column("trigger_id", NAME, nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("definition_hash", HASH, nullable=False),
        sa.Column("next_date", ts(), nullable=True),
        sa.Column("last_date", ts(), nullable=True),
        sa.Column("disabled", sa.Boolean(), nullable=False),
        sa.Column("updated_at", ts(), nullable=False),
        sa.PrimaryKeyConstraint("namespace", "flow_id", "trigger_id", name="pk_triggers"),
    )
    op.create_index("ix_triggers_next_date", "triggers", ["next_date"])
    op.create_table(
        "schedule_ticks",
        sa.Column("id", big_id(), autoincrement=True, nullable=False),
        sa.Column("namespace", NAME, nullable=False),
        sa.Column("flow_id", NAME, nullable=False),
        sa.Column("trigger_id", NAME, nullable=False),
        sa.Column("scheduled_date", ts(), nullable=False),
        sa.Column("execution_id", ID, nullable=True),
        sa.Column("created_at", ts(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_schedule_ticks"),
        sa.UniqueConstraint(
            "namespace", "flow_id", "trigger_id", "scheduled_date",
            name="uq_schedule_ticks_namespace_flow_id_trigger_id_scheduled_date",
        ),
    )
    op.create_table(
        "kv",
        sa.Column("namespace", NAME, nullable=False),
        sa.Column("key", NAME, nullable=False),
        sa.Column("value", js(), nullable=True),
        sa.Column("expires_at", ts(), nullable=True),
        sa.Column("updated_at", ts(), nullable=False),
        sa.PrimaryKeyConstraint("namespace", "key", name="pk_kv"),
    )
    op.create_table(
        "heartbeats",
        sa.Column("daemon_id", ID, nullable=False),
        sa.Column("host", NAME, nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("started_at", ts(), nullable=False),
        sa.Column("last_seen", ts(), nullable=False),
        sa.PrimaryKeyConstraint("daemon_id", name="pk_heartbeats"),
    )


def downgrade() -> None:
    for table in (
        "heartbeats", "kv", "schedule_ticks", "triggers", "logs", "task_runs", "executions", "syncs",
        "flow_revisions", "flows",
    ):
        op.drop_table(table)
