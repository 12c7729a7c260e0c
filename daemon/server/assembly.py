"""Assembling a daemon: its options, the object graph built from settings (store, executor, storage,
reconciler), and the start-up clean-up of Docker containers left by earlier runs. ``process`` runs what this
builds."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from daemon.clock import Clock, SystemClock
from daemon.cluster.source import SourceRef, check_source
from daemon.engine.executor import Executor
from daemon.reconcile import Reconciler
from daemon.server.services import Services
from daemon.settings import Settings
from daemon.store import Store

log = logging.getLogger("flowd.daemon")


@dataclass(frozen=True, slots=True)
class DaemonOptions:
    """``flowd run`` options, already parsed (durations in seconds)."""

    source: str | None
    ref: str | None = None
    path: str | None = None
    interval: float = 30.0
    listen: str = "127.0.0.1:8080"
    workers: int = 8
    grace: float = 30.0
    db_url: str | None = None
    # bound by ``flowd run`` before anything else starts (daemon/server/startup.py); None: uvicorn binds
    listen_socket: Any = None
    allow_mass_delete: bool = False
    # cluster: this node's roles (None: all), the leader fail-over bound, and --replace-source
    roles: str | None = None
    failover: float = 10.0
    replace_source: bool = False


def split_listen(listen: str) -> tuple[str, int]:
    """``host:port`` (``[v6]:port``; ``:port`` listens on all interfaces)."""
    host, _, port = listen.rpartition(":")
    if not port.isdigit():
        raise ValueError(f"--listen '{listen}' is not HOST:PORT")
    return (host.strip("[]") or "0.0.0.0"), int(port)


def build_services(settings: Settings, options: DaemonOptions, *, clock: Clock | None = None) -> Services:
    """The object graph: store, executor, reconciler (when there is a source)."""
    from daemon.runners.output_cap import OutputLimits, configure
    from daemon.security.task_user import configure as configure_task_user
    from daemon.sources import open_source
    from daemon.sources.git import GitSource
    from daemon.tasks.registry import PLUGINS

    configure(OutputLimits(settings.max_log_bytes, settings.max_log_line_bytes))
    configure_task_user(settings.task_user)
    clock = clock or SystemClock()
    store = Store.open(options.db_url or settings.db_url())
    if options.source:  # one store, one source: refused before anything is fetched
        try:
            wanted = SourceRef.of(options.source, options.ref, options.path)
            check_source(store.engine, wanted, replace=options.replace_source)
        except BaseException:
            store.close()
            raise
    executor = Executor(store, settings, clock, PLUGINS, workers=options.workers)
    reconciler = None
    if options.source:
        source = open_source(
            options.source, cache_dir=settings.repos_dir, ref=options.ref, path=options.path,
            token=settings.git_token, ssh_key=settings.git_ssh_key,
        )  # fmt: skip
        if isinstance(source, GitSource):
            source.set_timeout(settings.git_timeout)
        guard = settings.mass_delete_guard(allow=options.allow_mass_delete)
        reconciler = Reconciler(
            store, source, ref=options.ref, clock=clock, strict=settings.strict, mass_delete=guard
        )
    return Services(settings=settings, store=store, executor=executor, reconciler=reconciler, clock=clock)


def cleanup_docker() -> None:
    """Remove containers left by earlier runs, only when a Docker engine answers (never fails start-up)."""
    try:
        import docker

        from daemon.runners.docker import cleanup_orphans

        client = docker.from_env(timeout=3)
        client.ping()
    except Exception:  # no Docker SDK, no engine, no permission: nothing to clean
        return
    try:
        removed = cleanup_orphans(client)
        if removed:
            log.info("removed %d orphan container(s) of earlier runs", removed)
    except Exception as exc:  # a cleanup problem never stops start-up
        log.warning("could not clean orphan containers: %s", exc)
    finally:
        client.close()
