"""Webhook triggers, ``POST /api/v1/sync`` and the GitHub / GitLab push hook."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from daemon.store import Store
from tests.server.api_harness import Api, api

HOOKED = """\
id: hooked
namespace: company.team
tasks:
  - id: echo
    type: io.kestra.plugin.core.log.Log
    message: "body {{ trigger.body.name }}"
triggers:
  - id: on_call
    type: io.kestra.plugin.core.trigger.Webhook
    key: s3cr3tKey
"""

SYNCED = """\
id: from_git
namespace: company.team
tasks:
  - id: hello
    type: io.kestra.plugin.core.log.Log
    message: hi
"""

SECRET = "hook-secret"
TOKEN = "api-token"


@pytest.fixture
def app(store: Store, tmp_path: Path) -> Iterator[Api]:
    with api(store, tmp_path, api_token=TOKEN, webhook_secret=SECRET) as running:
        running.deploy(HOOKED)
        running.client.headers["Authorization"] = f"Bearer {TOKEN}"
        (running.source_dir / "from_git.yml").write_text(SYNCED)
        yield running


def test_webhook_with_the_right_key_starts_the_flow(app: Api) -> None:
    response = app.client.post(
        "/api/v1/executions/webhook/company.team/hooked/s3cr3tKey?x=1&x=2",
        json={"name": "Ada"},
        headers={"X-Custom": "yes", "Authorization": ""},
    )
    assert response.status_code == 200, response.text
    created = response.json()
    variables = created["trigger"]["variables"]
    assert created["trigger"]["id"] == "on_call"
    assert variables["body"] == {"name": "Ada"}
    assert variables["headers"]["x-custom"] == ["yes"]
    assert variables["parameters"] == {"x": ["1", "2"]}
    assert "authorization" not in variables["headers"]
    assert app.wait(created["id"])["state"]["current"] == "SUCCESS"
    logs = app.client.get(f"/api/v1/logs/{created['id']}").json()
    assert any(line["message"] == "body Ada" for line in logs)


def test_webhook_get_without_body(app: Api) -> None:
    response = app.client.get("/api/v1/executions/webhook/company.team/hooked/s3cr3tKey")
    assert response.status_code == 200
    assert response.json()["trigger"]["variables"]["body"] is None


@pytest.mark.parametrize(
    "path", ["company.team/hooked/wrong", "company.team/nope/s3cr3tKey", "other/hooked/s3cr3tKey"]
)
def test_webhook_wrong_key_or_flow_is_404(app: Api, path: str) -> None:
    response = app.client.post(f"/api/v1/executions/webhook/{path}", json={})
    assert response.status_code == 404
    assert app.client.get("/api/v1/executions/search").json()["total"] == 0


def test_sync_now_applies_the_source(app: Api) -> None:
    response = app.client.post("/api/v1/sync")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["result"] in ("SUCCESS", "PARTIAL") and body["syncId"] is not None
    assert app.client.get("/api/v1/flows/company.team/from_git").status_code == 200


def _signed(body: bytes, secret: str = SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _deployed(app: Api) -> bool:
    return app.store.flows.get("company.team", "from_git") is not None


def test_push_hook_with_the_right_github_signature_syncs(app: Api) -> None:
    payload = json.dumps({"ref": "refs/heads/main"}).encode()
    del app.client.headers["Authorization"]
    response = app.client.post(
        "/api/v1/sync/webhook",
        content=payload,
        headers={"X-Hub-Signature-256": _signed(payload), "X-GitHub-Event": "push"},
    )
    assert response.status_code == 202, response.text
    assert _deployed(app)


@pytest.mark.parametrize(
    "headers",
    [
        {"X-Hub-Signature-256": _signed(b"other body")},
        {"X-Hub-Signature-256": _signed(b'{"ref": "x"}', "wrong-secret")},
        {"X-Hub-Signature-256": "sha256=zz"},
        {"X-Gitlab-Token": "wrong"},
        {},
    ],
)
def test_push_hook_with_a_wrong_signature_is_401(app: Api, headers: dict[str, str]) -> None:
    del app.client.headers["Authorization"]
    response = app.client.post("/api/v1/sync/webhook", content=b'{"ref": "x"}', headers=headers)
    assert response.status_code == 401
    assert not _deployed(app)


def test_push_hook_gitlab_token(app: Api) -> None:
    del app.client.headers["Authorization"]
    response = app.client.post("/api/v1/sync/webhook", json={}, headers={"X-Gitlab-Token": SECRET})
    assert response.status_code == 202
    assert _deployed(app)


def test_push_hook_github_ping_does_not_sync(app: Api) -> None:
    payload = b'{"zen": "hi"}'
    headers = {"X-Hub-Signature-256": _signed(payload), "X-GitHub-Event": "ping"}
    response = app.client.post("/api/v1/sync/webhook", content=payload, headers=headers)
    assert response.status_code == 202 and response.json()["message"] == "pong"
    assert not _deployed(app)


def test_push_hook_without_a_secret_needs_the_api_token(store: Store, tmp_path: Path) -> None:
    with api(store, tmp_path, api_token=TOKEN) as running:
        (running.source_dir / "from_git.yml").write_text(SYNCED)
        assert running.client.post("/api/v1/sync/webhook", json={}).status_code == 401
        unsigned = running.client.post(
            "/api/v1/sync/webhook", json={}, headers={"X-Gitlab-Token": "anything"}
        )
        assert unsigned.status_code == 401
        assert not _deployed(running)
        authorized = running.client.post(
            "/api/v1/sync/webhook", json={}, headers={"Authorization": f"Bearer {TOKEN}"}
        )
        assert authorized.status_code == 202
        assert _deployed(running)


def test_push_hook_without_a_secret_says_it_is_disabled_and_how_to_enable_it(
    store: Store, tmp_path: Path
) -> None:
    with api(store, tmp_path) as running:
        response = running.client.post(
            "/api/v1/sync/webhook", content=b"{}", headers={"X-Hub-Signature-256": "sha256=00"}
        )
        assert response.status_code == 401
        detail = response.text
        assert "disabled" in str(detail) and "FLOWD_WEBHOOK_SECRET" in str(detail)
        assert "signature" not in str(detail).split("disabled")[0]
