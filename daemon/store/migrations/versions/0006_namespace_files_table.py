"""Namespace files: every version of each file a flows repository keeps under a ``_files/`` folder.

Revision ID: 0006_namespace_files
Revises: 0001
Create Date: 2026-12-05

Self-contained (no import of daemon.store.tables), like every migration.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006_namespace_files"
down_revision: str | None = "0005_ui"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "namespace_files",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("namespace", sa.String(255), nullable=False),
        sa.Column("path", sa.String(1024), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("hash", sa.String(64), nullable=True),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=True),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        sa.Column("commit", sa.String(64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_namespace_files"),
        sa.UniqueConstraint(
            "namespace", "path", "revision", name="uq_namespace_files_namespace_path_revision"
        ),
    )


def downgrade() -> None:
    op.drop_table("namespace_files")
