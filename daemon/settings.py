"""Settings read once at start-up from ``FLOWD_*`` environment variables (and CLI flags)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

if TYPE_CHECKING:
    from daemon.reconcile.plan import MassDeleteGuard


class Settings(BaseSettings):
    """Everything configurable about a flowd process."""

    # env_ignore_empty: docker-compose passes unset variables as empty strings
    model_config = SettingsConfigDict(env_prefix="FLOWD_", extra="ignore", env_ignore_empty=True)

    home: Path = Field(default_factory=lambda: Path.home() / ".flowd")
    database_url: str | None = None
    source: str | None = None
    ref: str | None = None
    path: str | None = None
    interval: str = "30s"
    listen: str = "127.0.0.1:8080"
    api_token: str | None = None
    # serve the API on a non-loopback address without a token (a proxy in front authenticates): see startup.py
    allow_anonymous: bool = False
    # Host names the HTTP server answers (comma-separated; "*" any); default: loopback and the bound host
    allowed_hosts: str | None = None
    webhook_secret: str | None = None
    git_token: str | None = None
    git_ssh_key: str | None = None
    workers: int = 8
    default_runner: str = "PROCESS"
    grace_period: str = "30s"
    # cluster (several daemons on one PostgreSQL): internal storage ``local`` (a folder under home; set
    # ``storage_shared`` when that folder is a mount every node shares) or ``database``; the leader bound
    storage: str = "local"
    storage_shared: bool = False
    leader_failover: str = "10s"
    role: str | None = None  # ``flowd run --role`` (comma-separated; all when unset)
    # keep parsed flows under ``cache_dir`` so running a deployed flow skips re-validating it
    flow_cache: bool = True
    # validate synced flows strictly: flowd's checks beyond Kestra's (undeclared inputs, ...) become errors
    strict: bool = False
    # run script tasks as this user (name or uid) when the daemon runs as root (docs/security.md)
    task_user: str | None = None
    # what one task attempt may log, and one line of it (bytes; 0 = no cap)
    max_log_bytes: int = 10 * 1024 * 1024
    max_log_line_bytes: int = 64 * 1024
    # the mass-delete guard of a sync (see ``daemon.reconcile.plan.MassDeleteGuard``)
    allow_mass_delete: bool = False
    mass_delete_share: float = 0.25
    mass_delete_max: int = 50

    def mass_delete_guard(self, *, allow: bool = False) -> MassDeleteGuard:
        """The sync's mass-delete guard; ``allow`` (``--allow-mass-delete``) lifts it like the setting."""
        from daemon.reconcile.plan import MassDeleteGuard

        return MassDeleteGuard(
            share=self.mass_delete_share, max_count=self.mass_delete_max,
            allowed=allow or self.allow_mass_delete,
        )  # fmt: skip

    # retention: the daemon deletes executions ended longer ago than this (e.g. "30d"), daily; unset keeps all
    retention: str | None = None
    retention_keep_failed: bool = False
    # seconds a Git fetch may take before the sync gives up (SOURCE_ERROR) and frees the sync lock
    git_timeout: float = 120.0

    def db_url(self) -> str:
        """The SQLAlchemy URL: the configured one, or the embedded SQLite file under ``home``."""
        if self.database_url:
            return normalize_db_url(self.database_url)
        return f"sqlite:///{self.home / 'flowd.db'}"

    @property
    def storage_dir(self) -> Path:
        """Internal storage for task output files."""
        return self.home / "storage"

    @property
    def cache_dir(self) -> Path:
        """Caches flowd can rebuild at any time (parsed flows)."""
        return self.home / "cache"

    @property
    def repos_dir(self) -> Path:
        """Where Git sources are cloned."""
        return self.home / "repos"


def normalize_db_url(url: str) -> str:
    """Map ``postgresql://`` / ``postgres://`` to the psycopg 3 driver; leave others alone."""
    for prefix in ("postgresql+psycopg://", "sqlite:"):
        if url.startswith(prefix):
            return url
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url
