"""Adapters between the store and what tasks and expressions see: secrets, key-value store, storage."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from daemon.errors import TaskError
from daemon.store.kv import KvRepository
from daemon.store.storage import InternalStorage


class Secrets:
    """Kestra open-source secrets: ``SECRET_<NAME>`` holds the value base64-encoded; flowd also reads a plain
    ``FLOWD_SECRET_<NAME>``. Every value handed out is remembered, so logs can be masked."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        self._environ = dict(environ)

    def get(self, name: str) -> str:
        """The secret's value; TaskError naming it when it is not defined."""
        plain = self._environ.get(f"FLOWD_SECRET_{name}")
        if plain is not None:
            return plain
        encoded = self._environ.get(f"SECRET_{name}")
        if encoded is None:
            raise TaskError(
                f"secret '{name}' is not set in the daemon's environment (SECRET_{name}, base64-encoded, or "
                f"FLOWD_SECRET_{name} in plain text; with no daemon running, in flowd execute's environment)"
            )
        try:
            return base64.b64decode(encoded.strip(), validate=False).decode()
        except (binascii.Error, UnicodeDecodeError) as exc:
            raise TaskError(f"secret '{name}': SECRET_{name} is not valid base64") from exc

    def values(self) -> list[str]:
        """Every secret defined in the environment (to mask them wherever they appear)."""
        out = []
        for key in self._environ:
            name = key.removeprefix("FLOWD_SECRET_") if key.startswith("FLOWD_SECRET_") else None
            if name is None and key.startswith("SECRET_"):
                name = key.removeprefix("SECRET_")
            if name:
                try:
                    out.append(self.get(name))
                except TaskError:
                    pass
        return out


class SecretAccessor:
    """``secret('NAME')`` and the seed form ``secret.NAME`` in one object."""

    def __init__(self, lookup: Callable[[str], str]) -> None:
        self._lookup = lookup

    def __call__(self, name: str) -> str:
        return self._lookup(name)

    def __getattr__(self, name: str) -> str:
        # the sandbox probes these markers on anything it is asked to call
        if name.startswith(("_", "jinja_")) or name in ("unsafe_callable", "alters_data"):
            raise AttributeError(name)
        return self._lookup(name)

    def __getitem__(self, name: str) -> str:
        return self._lookup(name)


def env_vars(environ: Mapping[str, str]) -> dict[str, str]:
    """``envs``: variables named ``ENV_X`` as ``x`` (Kestra lower-cases the rest of the name)."""
    return {k[4:].lower(): v for k, v in environ.items() if k.startswith("ENV_") and len(k) > 4}


class KvAdapter:
    """The store's key-value repository as a task's ``KvPort``."""

    def __init__(self, repo: KvRepository, now: Callable[[], datetime]) -> None:
        self._repo = repo
        self._now = now

    def get(self, namespace: str, key: str) -> Any | None:
        return self._repo.get(namespace, key, now=self._now())

    def set(self, namespace: str, key: str, value: Any, *, ttl_seconds: float | None = None) -> None:
        now = self._now()
        expires = now + timedelta(seconds=ttl_seconds) if ttl_seconds is not None else None
        self._repo.put(namespace, key, value, now=now, expires_at=expires)

    def delete(self, namespace: str, key: str) -> bool:
        return self._repo.delete(namespace, key)

    def keys(self, namespace: str) -> list[str]:
        return self._repo.keys(namespace, now=self._now())


class StorageAdapter:
    """Internal storage as a task's ``StoragePort`` (bound to one execution's flow)."""

    def __init__(self, storage: InternalStorage, namespace: str, flow_id: str, task_id: str) -> None:
        self._storage = storage
        self._namespace = namespace
        self._flow_id = flow_id
        self._task_id = task_id

    def put_file(self, execution_id: str, task_run_id: str, name: str, src: Path) -> str:
        return self._storage.put(
            self._namespace, self._flow_id, execution_id, self._task_id, task_run_id, src, filename=name
        )

    def path_of(self, uri: str) -> Path:
        return self._storage.path_of(uri)

    def delete_execution_files(self, execution_id: str) -> int:
        return self._storage.delete_execution_files(
            execution_id, namespace=self._namespace, flow_id=self._flow_id
        )
