"""Dedicated PostgreSQL connections (the leader lock, LISTEN) outside the SQLAlchemy pool: psycopg's async
driver, in autocommit, named (``application_name``) so ``pg_stat_activity`` shows whose they are."""

from __future__ import annotations

import psycopg
from sqlalchemy.engine import Engine, make_url


def libpq_url(url: str | Engine) -> str:
    """A libpq URL (``postgresql://...``) for a SQLAlchemy URL or engine of the PostgreSQL store."""
    parsed = url.url if isinstance(url, Engine) else make_url(url)
    return parsed.set(drivername="postgresql").render_as_string(hide_password=False)


async def connect(url: str, *, name: str, timeout: float, options: str = "") -> psycopg.AsyncConnection:
    """An autocommit async connection named ``name``; ``options`` are extra ``-c`` settings."""
    return await psycopg.AsyncConnection.connect(
        url, autocommit=True, application_name=name[:63], connect_timeout=max(int(timeout), 1),
        options=f"-c TimeZone=UTC {options}".strip(),
        # a dead peer is noticed by the kernel too, not only by the next query
        keepalives=1, keepalives_idle=5, keepalives_interval=2, keepalives_count=2,
    )  # fmt: skip
