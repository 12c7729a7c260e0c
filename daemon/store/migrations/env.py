"""Alembic environment: migrations run on the connection handed over in ``config.attributes``.

``daemon.store.migrate.upgrade`` opens that connection (and its transaction); a URL in the config's
``sqlalchemy.url`` is accepted too so the plain ``alembic`` command can be pointed at a database.
"""

from __future__ import annotations

from alembic import context

from daemon.store.engine import create_engine
from daemon.store.tables import metadata

config = context.config


def run_migrations_online() -> None:
    """Run the migrations against a live connection."""
    connection = config.attributes.get("connection")
    if connection is not None:
        context.configure(connection=connection, target_metadata=metadata, compare_type=True)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = create_engine(config.get_main_option("sqlalchemy.url") or "")
    with engine.begin() as conn:
        context.configure(connection=conn, target_metadata=metadata, compare_type=True)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    raise SystemExit("flowd migrations run online only")
run_migrations_online()
