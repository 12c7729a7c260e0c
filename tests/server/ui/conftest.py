"""The web UI under test: a real store and executor, the daemon's app (``create_app``), and TestClient.

No event loop drives executions here: a test that needs one to finish calls ``ui.finish(id)``, which runs
the executor until the execution is over; until then it stays as created (handy for Kill).
"""

from __future__ import annotations

import asyncio
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from daemon.clock import SystemClock
from daemon.engine.executor import Executor
from daemon.reconcile.hashing import content_hash
from daemon.server.api import create_app
from daemon.server.services import Services
from daemon.settings import Settings
from daemon.store import Execution, Store
from daemon.store.flows import DeployedFlow
from daemon.tasks.registry import PLUGINS


@dataclass
class Ui:
    client: TestClient
    services: Services
    store: Store

    def deploy(
        self, text: str, *, path: str | None = None, commit: str | None = None, now: datetime | None = None
    ) -> DeployedFlow:
        """Deploy a flow's YAML (namespace and id read from its top-level lines)."""
        source = textwrap.dedent(text).lstrip()
        fields = dict(
            line.split(":", 1) for line in source.splitlines() if line.startswith(("id:", "namespace:"))
        )
        return self.store.flows.deploy(
            fields["namespace"].strip(), fields["id"].strip(), source=source, hash=content_hash(source),
            path=path, commit=commit, now=now or SystemClock().now(),
        )  # fmt: skip

    def finish(self, execution_id: str) -> Execution:
        """Drive an execution to its end with the executor."""
        runner = self.services.executor.run_until_done(execution_id)
        return asyncio.run(asyncio.wait_for(runner, 60))

    def csrf_token(self) -> str:
        """The UI's CSRF cookie (any page sets it), which each state-changing form posts back."""
        if "flowd_csrf" not in self.client.cookies:
            self.client.get("/ui/login")
        return str(self.client.cookies["flowd_csrf"])

    def post(self, url: str, data: dict[str, Any] | None = None, **kwargs: Any) -> Any:
        """POST a UI form as the browser does: with the CSRF token."""
        return self.client.post(url, data={**(data or {}), "csrf_token": self.csrf_token()}, **kwargs)

    def execute(self, namespace: str, flow_id: str, inputs: dict[str, Any] | None = None) -> str:
        """Create an execution as the UI does (through ``Services``)."""
        return self.services.submit_execution(namespace, flow_id, inputs or {})


def make_ui(store: Store, home: Path, **settings: Any) -> Iterator[Ui]:
    config = Settings(home=home, **settings)
    clock = SystemClock()
    executor = Executor(store, config, clock, PLUGINS, workers=4, environ={})
    services = Services(settings=config, store=store, executor=executor, reconciler=None, clock=clock)
    with TestClient(
        create_app(services), base_url="http://localhost", raise_server_exceptions=True
    ) as client:
        yield Ui(client, services, store)


@pytest.fixture
def ui(store: Store, tmp_path: Path) -> Iterator[Ui]:
    """The UI with no login."""
    yield from make_ui(store, tmp_path / "home")


@pytest.fixture
def secured(store: Store, tmp_path: Path) -> Iterator[Ui]:
    """The UI with ``FLOWD_API_TOKEN`` set to ``s3cret``."""
    yield from make_ui(store, tmp_path / "home", api_token="s3cret")
