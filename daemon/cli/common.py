"""Shared CLI plumbing: turning FlowdError into a message and an exit code, and opening settings."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import click

from daemon.errors import FlowdError

F = TypeVar("F", bound=Callable[..., Any])


def handle_errors(fn: F) -> F:
    """Print a FlowdError as one line on stderr and exit with its code; never a traceback."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except FlowdError as exc:
            click.echo(f"flowd: {exc.message}", err=True)
            sys.exit(exc.exit_code)

    return wrapper  # type: ignore[return-value]


def db_option(fn: F) -> F:
    """``--db URL`` (default: ``FLOWD_DATABASE_URL`` or the SQLite file under ``FLOWD_HOME``)."""
    return click.option(
        "--db",
        "db",
        envvar="FLOWD_DATABASE_URL",
        default=None,
        help="Database URL (default: FLOWD_DATABASE_URL, else the SQLite file $FLOWD_HOME/flowd.db).",
    )(fn)


@contextmanager
def flow_cache_from_settings() -> Iterator[None]:
    """Turn the parsed-flow cache on under ``FLOWD_HOME/cache`` for the block (off with
    ``FLOWD_FLOW_CACHE=0``); settings that do not parse leave it off (the command reports them)."""
    from pydantic import ValidationError

    from daemon.language.parsed_cache import use_flow_cache
    from daemon.settings import Settings

    try:
        settings = Settings()
    except ValidationError:
        yield
        return
    with use_flow_cache(settings.cache_dir if settings.flow_cache else None):
        yield
