"""Cluster: node heartbeats with roles, the source the store follows, internal files stored in the database.

Revision ID: 0004_cluster
Revises: 0001
Create Date: 2026-12-05

Self-contained (no import of daemon.store.tables), like every migration.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004_cluster"
down_revision: str | None = "0003_daemon"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NAME = sa.String(255)
ID = sa.String(64)


def ts() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "nodes",
        sa.Column("node_id", ID, nullable=False),
        sa.Column("host", NAME, nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("roles", NAME, nullable=False),
        sa.Column("version", sa.String(64), nullable=False),
        sa.Column("listen", NAME, nullable=True),
        sa.Column("leader", sa.Boolean(), nullable=False),
        sa.Column("started_at", ts(), nullable=False),
        sa.Column("last_beat", ts(), nullable=False),
        sa.PrimaryKeyConstraint("node_id", name="pk_nodes"),
    )
    op.create_table(
        "store_source",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("ref", NAME, nullable=True),
        sa.Column("path", sa.Text(), nullable=True),
        sa.Column("recorded_at", ts(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_store_source"),
    )
    op.create_table(
        "storage_files",
        sa.Column("uri", sa.String(2048), nullable=False),
        sa.Column("execution_id", ID, nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("chunks", sa.Integer(), nullable=False),
        sa.Column("created_at", ts(), nullable=False),
        sa.PrimaryKeyConstraint("uri", name="pk_storage_files"),
    )
    op.create_index("ix_storage_files_execution_id", "storage_files", ["execution_id"])
    op.create_table(
        "storage_chunks",
        sa.Column("uri", sa.String(2048), nullable=False),
        sa.Column("seq", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["uri"], ["storage_files.uri"], name="fk_storage_chunks_uri_storage_files", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("uri", "seq", name="pk_storage_chunks"),
    )
    if op.get_bind().dialect.name == "postgresql":
        # wake idle nodes (LISTEN flowd_work) when an execution needs a driver: created without an owner
        # (CLI) or handed back by a stopping node. An empty payload lets PostgreSQL fold a transaction's
        # notifications into one.
        op.execute(
            "CREATE FUNCTION flowd_notify_work() RETURNS trigger LANGUAGE plpgsql AS "
            "$$ BEGIN PERFORM pg_notify('flowd_work', ''); RETURN NULL; END $$"
        )
        op.execute(
            "CREATE TRIGGER flowd_work_created AFTER INSERT ON executions FOR EACH ROW "
            "WHEN (NEW.owner_id IS NULL) EXECUTE FUNCTION flowd_notify_work()"
        )
        op.execute(
            "CREATE TRIGGER flowd_work_released AFTER UPDATE OF owner_id ON executions FOR EACH ROW "
            "WHEN (NEW.owner_id IS NULL AND OLD.owner_id IS NOT NULL) EXECUTE FUNCTION flowd_notify_work()"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS flowd_work_released ON executions")
        op.execute("DROP TRIGGER IF EXISTS flowd_work_created ON executions")
        op.execute("DROP FUNCTION IF EXISTS flowd_notify_work()")
    for table in ("storage_chunks", "storage_files", "store_source", "nodes"):
        op.drop_table(table)
