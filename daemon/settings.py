"""Settings read once at start-up from ``FLOWD_*`` environment variables (and CLI flags)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


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
