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
    # keep parsed flows under ``cache_dir`` so running a deployed flow skips re-validating it
    flow_cache: bool = True
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
