"""The daemon builds FastAPI's per-route state (dependencies, parameter models) in its start-up worker
thread (``prepare_routes``), so the first API calls do not build it on the main loop."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from daemon.clock import SystemClock
from daemon.engine.executor import Executor
from daemon.server.api import create_app, prepare_routes
from daemon.server.services import Services
from daemon.settings import Settings
from daemon.store import Store
from daemon.tasks.registry import PLUGINS


@pytest.fixture
def services(tmp_path: Path) -> Iterator[Services]:
    store = Store.open(f"sqlite:///{tmp_path / 'flowd.db'}")
    config = Settings(home=tmp_path / "home")
    clock = SystemClock()
    executor = Executor(store, config, clock, PLUGINS, workers=1, environ={})
    try:
        yield Services(settings=config, store=store, executor=executor, reconciler=None, clock=clock)
    finally:
        store.close()


def _route_states_built(app: FastAPI, monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """What FastAPI builds while a request walks past every router (a path no route has)."""
    import fastapi.routing as routing

    built: list[Any] = []
    original = routing._populate_api_route_state  # type: ignore[attr-defined]

    def counted(*args: Any, **kwargs: Any) -> Any:
        built.append(args)
        return original(*args, **kwargs)

    with monkeypatch.context() as patch:
        patch.setattr(routing, "_populate_api_route_state", counted)
        with TestClient(app, base_url="http://localhost") as client:
            assert client.get("/api/v1/no-such-route").status_code == 404
    return built


def test_prepared_routes_are_not_built_again_at_the_first_request(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    import fastapi.routing as routing

    if not hasattr(routing, "_populate_api_route_state"):
        pytest.skip("this FastAPI builds each route in include_router: nothing is left for a request")
    assert _route_states_built(create_app(services), monkeypatch)  # unprepared: the request builds them
    app = create_app(services)
    assert prepare_routes(app) > 0
    assert _route_states_built(app, monkeypatch) == []
