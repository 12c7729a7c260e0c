"""The API token: bearer header or cookie on every endpoint but health and the two webhooks."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from daemon.server.session import issue
from daemon.store import Store
from tests.server.api_harness import Api, api

TOKEN = "t0ken-value"

FLOW = """\
id: hello
namespace: demo
tasks:
  - id: log
    type: io.kestra.plugin.core.log.Log
    message: hi
triggers:
  - id: hook
    type: io.kestra.plugin.core.trigger.Webhook
    key: the-key
"""

PROTECTED = [
    ("GET", "/api/v1/flows/demo"),
    ("GET", "/api/v1/flows/demo/hello"),
    ("GET", "/api/v1/flows/demo/hello/revisions"),
    ("POST", "/api/v1/flows/validate"),
    ("GET", "/api/v1/executions/search"),
    ("GET", "/api/v1/executions/x"),
    ("POST", "/api/v1/executions/demo/hello"),
    ("DELETE", "/api/v1/executions/x/kill"),
    ("POST", "/api/v1/executions/x/resume"),
    ("GET", "/api/v1/logs/x"),
    ("GET", "/api/v1/logs/x/follow"),
    ("POST", "/api/v1/sync"),
    ("GET", "/metrics"),
]


@pytest.fixture
def app(store: Store, tmp_path: Path) -> Iterator[Api]:
    with api(store, tmp_path, api_token=TOKEN) as running:
        running.deploy(FLOW)
        yield running


@pytest.mark.parametrize(("method", "path"), PROTECTED)
def test_without_or_with_a_wrong_token_is_401(app: Api, method: str, path: str) -> None:
    assert app.client.request(method, path).status_code == 401
    wrong = app.client.request(method, path, headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401
    assert wrong.headers["www-authenticate"] == "Bearer"
    assert app.client.request(method, path, headers={"Authorization": TOKEN}).status_code == 401
    assert app.client.request(method, path, headers={"Cookie": "flowd_session=nope"}).status_code == 401


def test_bearer_token_and_session_cookie_are_accepted(app: Api) -> None:
    bearer = app.client.get("/api/v1/flows/demo/hello", headers={"Authorization": f"Bearer {TOKEN}"})
    assert bearer.status_code == 200
    app.client.cookies.set("flowd_token", TOKEN)  # the raw token as a cookie is no longer a login
    assert app.client.get("/api/v1/flows/demo/hello").status_code == 401
    app.client.cookies.clear()
    app.client.cookies.set("flowd_session", issue(TOKEN, now=time.time()))
    assert app.client.get("/api/v1/flows/demo/hello").status_code == 200
    assert app.client.get("/metrics").status_code == 200


def test_health_and_webhook_need_no_token(app: Api) -> None:
    health = app.client.get("/api/health")
    assert health.status_code == 200
    assert health.json()["status"] == "UP" and health.json()["store"] == "UP"
    hooked = app.client.post("/api/v1/executions/webhook/demo/hello/the-key", json={})
    assert hooked.status_code == 200


def test_no_token_configured_means_open(store: Store, tmp_path: Path) -> None:
    with api(store, tmp_path) as running:
        running.deploy(FLOW)
        assert running.client.get("/api/v1/flows/demo/hello").status_code == 200


def test_health_is_down_when_the_store_is_gone(tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    from daemon.clock import SystemClock
    from daemon.engine.executor import Executor
    from daemon.server.api import create_app
    from daemon.server.services import Services
    from daemon.settings import Settings
    from daemon.store.engine import create_engine
    from daemon.tasks.registry import PLUGINS

    # nothing listens on port 1: every connection fails
    unreachable = Store(create_engine("postgresql+psycopg://postgres@127.0.0.1:1/none?connect_timeout=2"))
    settings = Settings(home=tmp_path)
    clock = SystemClock()
    executor = Executor(unreachable, settings, clock, PLUGINS, environ={})
    services = Services(settings=settings, store=unreachable, executor=executor, reconciler=None, clock=clock)
    with TestClient(create_app(services), base_url="http://localhost") as client:
        response = client.get("/api/health")
    assert response.status_code == 503
    assert response.json()["status"] == "DOWN" and response.json()["message"]
    assert "Traceback" not in response.text
