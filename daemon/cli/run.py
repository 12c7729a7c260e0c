"""``flowd run``: the daemon (sync loop, scheduler, executor pool, HTTP API) until SIGTERM / SIGINT.

Every flag can also be set in the environment (``FLOWD_SOURCE``, ``FLOWD_REF``, ``FLOWD_PATH``,
``FLOWD_INTERVAL``, ``FLOWD_LISTEN``, ``FLOWD_DATABASE_URL``, ``FLOWD_WORKERS``, ``FLOWD_GRACE_PERIOD``,
``FLOWD_FOLLOW_COMMITS``, ``FLOWD_ROLE``, ``FLOWD_LEADER_FAILOVER``). Without a database URL the embedded
SQLite store ``$FLOWD_HOME/flowd.db`` is used (one daemon); several nodes share one PostgreSQL database
(see docs/deployment.md: roles, the leader, ``FLOWD_STORAGE=database``).

Start-up order (daemon/server/startup.py): the options are checked, the listening address is bound (a busy
port exits 2 with one line), an API open to the network needs FLOWD_API_TOKEN, then the daemon says which
source mode it runs in, and only then opens the store and syncs.

A local folder is read as saved, even inside a Git repository (uncommitted edits deploy); ``--follow-commits``
deploys the repository's commits instead (checked every 2 s unless ``--interval`` says otherwise).
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
    "--interval",
    envvar="FLOWD_INTERVAL",
    default=None,
    help="Git fetch interval.  [default: 30s; 2s with --follow-commits]",
)
@click.option(
    "--follow-commits",
    "follow_commits",
    is_flag=True,
    envvar="FLOWD_FOLLOW_COMMITS",
    help="SOURCE is a folder in a Git repository: deploy its commits, not the files as saved.",
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
    "--allow-mass-delete", "allow_mass_delete", is_flag=True,
    help="Let syncs delete more than FLOWD_MASS_DELETE_SHARE (25%) or FLOWD_MASS_DELETE_MAX (50) flows.",
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
    interval: str | None,
    follow_commits: bool,
    listen: str,
    workers: int,
    grace_period: str,
    role: str | None,
    leader_failover: str,
    replace_source: bool,
    db: str | None,
    allow_mass_delete: bool,
) -> None:
    """Run the daemon: keep the flows of SOURCE deployed, fire their triggers and run their executions.

    SOURCE is a local folder (watched: a saved file deploys within a second) or a Git URL. The daemon's
    data lives under FLOWD_HOME (default ~/.flowd): the SQLite store flowd.db unless FLOWD_DATABASE_URL
    (or --db) names another database, task output files and the Git clone cache.
    """
    sys.exit(
        run(source=source, ref=ref, path=path, interval=interval, listen=listen, workers=workers,
            grace_period=grace_period, db=db, follow_commits=follow_commits,
            allow_mass_delete=allow_mass_delete, role=role, leader_failover=leader_failover,
            replace_source=replace_source)
    )  # fmt: skip


def run(
    *,
    source: str | None,
    ref: str | None,
    path: str | None,
    interval: str | None,
    listen: str,
    workers: int,
    grace_period: str,
    db: str | None,
    follow_commits: bool = False,
    allow_mass_delete: bool = False,
    role: str | None = None,
    leader_failover: str = "10s",
    replace_source: bool = False,
) -> int:
    """Parse the options, harden the process, bind the address, say the mode, and run the daemon until it is
    stopped; returns the exit status."""
    from daemon.cluster.roles import Roles
    from daemon.security.hardening import harden_process
    from daemon.server.process import DaemonOptions, run_daemon, split_listen
    from daemon.server.startup import bind_listen, check_exposure, quiet_migrations
    from daemon.settings import Settings, normalize_db_url
    from daemon.sources.mode import resolve_source

    if workers < 1:
        raise UsageError(f"--workers must be at least 1 (got {workers})")
    try:
        host, port = split_listen(listen)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    every = parse_seconds(interval or ("2s" if follow_commits else "30s"), option="--interval")
    grace = parse_seconds(grace_period, option="--grace-period")
    if follow_commits and not source:
        raise UsageError("--follow-commits needs --source (a folder in a Git repository)")
    roles = str(Roles.parse(role))
    failover = parse_seconds(leader_failover, option="--leader-failover")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # before the settings are read and the port is bound: re-exec without secrets in the initial
    # environment, become non-dumpable (docs/security.md)
    harden_process()
    resolved = resolve_source(source, path=path, follow_commits=follow_commits) if source else None
    settings = Settings()
    warning = check_exposure(host, api_token=settings.api_token, allow_anonymous=settings.allow_anonymous)
    quiet_migrations()
    listen_socket = bind_listen(host, port)  # before the store and the first sync: a busy port stops here
    log = logging.getLogger("flowd.daemon")
    if warning:
        log.warning(warning)
    settings.home.mkdir(parents=True, exist_ok=True)
    db_url = normalize_db_url(db) if db else None
    log.info("data: %s (FLOWD_HOME %s)", _redact(db_url or settings.db_url()), settings.home)
    if resolved is None:
        log.warning("no --source (FLOWD_SOURCE): serving deployed flows without syncing")
    else:
        log.info("source: %s", resolved.mode.describe())
    options = DaemonOptions(
        source=resolved.source if resolved else None, ref=ref, path=resolved.path if resolved else path,
        listen=listen, workers=workers, interval=every, grace=grace, db_url=db_url,
        listen_socket=listen_socket, allow_mass_delete=allow_mass_delete,
        roles=roles, failover=failover, replace_source=replace_source,
    )  # fmt: skip
    return run_daemon(settings, options)


def _redact(url: str) -> str:
    """A database URL without its password."""
    return re.sub(r"(://[^:/@]+:)[^@]*@", r"\1***@", url)
