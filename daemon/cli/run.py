"""``flowd run``: the daemon (sync loop, scheduler, executor pool, HTTP API) until SIGTERM / SIGINT.

Every flag can also be set in the environment (``FLOWD_SOURCE``, ``FLOWD_REF``, ``FLOWD_PATH``,
``FLOWD_INTERVAL``, ``FLOWD_LISTEN``, ``FLOWD_DATABASE_URL``, ``FLOWD_WORKERS``, ``FLOWD_GRACE_PERIOD``,
``FLOWD_ROLE``, ``FLOWD_LEADER_FAILOVER``). Without a database URL the embedded SQLite store
``$FLOWD_HOME/flowd.db`` is used (one daemon); several nodes share one PostgreSQL database (see
docs/deployment.md: roles, the leader, ``FLOWD_STORAGE=database``).
"""

from __future__ import annotations

import logging
import re
import sys

import click

from daemon.cli.common import db_option, handle_errors
from daemon.errors import UsageError

_SIMPLE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$", re.IGNORECASE)
_ISO = re.compile(r"^P(?:T(?:(\d+(?:\.\d+)?)H)?(?:(\d+(?:\.\d+)?)M)?(?:(\d+(?:\.\d+)?)S)?)$", re.IGNORECASE)
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_seconds(text: str, *, option: str) -> float:
    """``30s``, ``500ms``, ``2m``, ``1h``, a bare number of seconds, or ISO-8601 ``PT30S``."""
    simple = _SIMPLE.match(text)
    if simple:
        return float(simple.group(1)) * _UNITS[(simple.group(2) or "s").lower()]
    iso = _ISO.match(text.strip())
    if iso and any(iso.groups()):
        hours, minutes, seconds = (float(g) if g else 0.0 for g in iso.groups())
        return hours * 3600 + minutes * 60 + seconds
    raise UsageError(f"{option} '{text}' is not a duration (e.g. 30s, 2m, PT30S)")


@click.command("run")
@click.option("--source", envvar="FLOWD_SOURCE", default=None, help="Git URL or local folder of flows.")
@click.option("--ref", envvar="FLOWD_REF", default=None, help="Branch, tag or commit (Git).")
@click.option("--path", envvar="FLOWD_PATH", default=None, help="Subfolder holding the flows.")
@click.option(
    "--interval", envvar="FLOWD_INTERVAL", default="30s", show_default=True, help="Git fetch interval."
)
@click.option(
    "--listen", envvar="FLOWD_LISTEN", default="127.0.0.1:8080", show_default=True, help="HOST:PORT."
)
@click.option("--workers", envvar="FLOWD_WORKERS", default=8, type=int, show_default=True, help="Task slots.")
@click.option(
    "--grace-period", "grace_period", envvar="FLOWD_GRACE_PERIOD", default="30s", show_default=True,
    help="On SIGTERM, how long running tasks may take to finish before they are killed.",
)  # fmt: skip
@click.option(
    "--role",
    "role",
    envvar="FLOWD_ROLE",
    default=None,
    metavar="ROLES",
    help="Comma-separated subset of scheduler,executor,worker,webserver (default: all).",
)
@click.option(
    "--leader-failover",
    "leader_failover",
    envvar="FLOWD_LEADER_FAILOVER",
    default="10s",
    show_default=True,
    help="Bound within which another node leads once the leader is gone (PostgreSQL).",
)
@click.option(
    "--replace-source", is_flag=True, help="Make the store follow --source even if it follows another one."
)
@db_option
@handle_errors
def command(
    source: str | None,
    ref: str | None,
    path: str | None,
    interval: str,
    listen: str,
    workers: int,
    grace_period: str,
    role: str | None,
    leader_failover: str,
    replace_source: bool,
    db: str | None,
) -> None:
    """Run the daemon: keep the flows of SOURCE deployed, fire their triggers and run their executions."""
    sys.exit(
        run(source=source, ref=ref, path=path, interval=interval, listen=listen, workers=workers,
            grace_period=grace_period, db=db, role=role, leader_failover=leader_failover,
            replace_source=replace_source)
    )  # fmt: skip


def run(
    *,
    source: str | None,
    ref: str | None,
    path: str | None,
    interval: str,
    listen: str,
    workers: int,
    grace_period: str,
    db: str | None,
    role: str | None = None,
    leader_failover: str = "10s",
    replace_source: bool = False,
) -> int:
    """Parse the options and run the daemon until it is stopped; returns the exit status."""
    from daemon.cluster.roles import Roles
    from daemon.server.process import DaemonOptions, run_daemon, split_listen
    from daemon.settings import Settings, normalize_db_url

    if workers < 1:
        raise UsageError(f"--workers must be at least 1 (got {workers})")
    try:
        split_listen(listen)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    options = DaemonOptions(
        source=source, ref=ref, path=path, listen=listen, workers=workers,
        interval=parse_seconds(interval, option="--interval"),
        grace=parse_seconds(grace_period, option="--grace-period"),
        db_url=normalize_db_url(db) if db else None,
        roles=str(Roles.parse(role)), replace_source=replace_source,
        failover=parse_seconds(leader_failover, option="--leader-failover"),
    )  # fmt: skip
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings = Settings()
    settings.home.mkdir(parents=True, exist_ok=True)
    if not source:
        click.echo("flowd: no --source (FLOWD_SOURCE): serving deployed flows without syncing", err=True)
    return run_daemon(settings, options)
