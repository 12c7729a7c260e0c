"""Fixtures of the cluster tests: a PostgreSQL-only database URL (a fresh database per test)."""

from __future__ import annotations

import pytest

# ``db_url`` narrowed to its PostgreSQL parameter: these tests need LISTEN/NOTIFY and advisory locks
postgres_only = pytest.mark.parametrize(
    "db_url", [pytest.param("postgresql", marks=pytest.mark.integration)], indirect=True
)
