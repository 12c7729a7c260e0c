"""Request guards (Host, Origin, NUL bytes, API docs behind the token), the session cookie and the login
limit, push-delivery deduplication, credentials kept out of webhook executions, bad upload names."""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from daemon.server.guards import allowed_host_names, host_name
from daemon.server.ratelimit import DeliveryLog, FailureLimiter
from daemon.server.session import issue, valid
from daemon.store import Store
from tests.server.api_harness import Api, api

TOKEN = "api-token"
SECRET = "hook-secret"

FLOW = """\
id: hello
namespace: demo
inputs:
  - id: doc
    type: FILE
    required: false
tasks:
  - id: log
    type: io.kestra.plugin.core.log.Log
    message: hi
triggers:
  - id: hook
    type: io.kestra.plugin.core.trigger.Webhook
    key: the-key
"""


@pytest.fixture
def open_app(store: Store, tmp_path: Path) -> Iterator[Api]:
    with api(store, tmp_path) as running:
        running.deploy(FLOW)
        yield running


@pytest.fixture
def secured(store: Store, tmp_path: Path) -> Iterator[Api]:
    with api(store, tmp_path, api_token=TOKEN, webhook_secret=SECRET) as running:
        running.deploy(FLOW)
        yield running


# --- Origin / Host ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [("POST", "/api/v1/executions/demo/hello"), ("POST", "/api/v1/sync"),
     ("DELETE", "/api/v1/executions/x/kill"), ("POST", "/ui/flows/demo/hello/execute")],
)  # fmt: skip
def test_cross_origin_state_change_is_refused_without_a_token(open_app: Api, method: str, path: str) -> None:
    evil = open_app.client.request(method, path, headers={"Origin": "http://evil.example"})
    assert evil.status_code == 403
    by_referer = open_app.client.request(method, path, headers={"Referer": "http://evil.example/page"})
    assert by_referer.status_code == 403
    assert open_app.client.request(method, path, headers={"Origin": "null"}).status_code == 403
    assert open_app.store.executions.search(namespace="demo")[1] == 0  # nothing was started


def test_webhook_triggers_may_be_called_from_other_sites(open_app: Api) -> None:
    # the key in the URL is the credential; a foreign page cannot know it
    hooked = open_app.client.post(
        "/api/v1/executions/webhook/demo/hello/the-key", json={}, headers={"Origin": "https://app.example"}
    )
    assert hooked.status_code == 200, hooked.text


def test_same_origin_and_originless_posts_pass(open_app: Api) -> None:
    same = open_app.client.post("/api/v1/executions/demo/hello", headers={"Origin": "http://localhost:8080"})
    assert same.status_code == 200, same.text
    assert open_app.client.post("/api/v1/executions/demo/hello").status_code == 200  # curl sends no Origin


def test_a_foreign_host_is_refused(open_app: Api) -> None:
    assert open_app.client.get("/api/v1/flows/demo", headers={"Host": "evil.example"}).status_code == 400
    assert open_app.client.get("/ui/", headers={"Host": "evil.example:8080"}).status_code == 400
    assert open_app.client.get("/api/v1/flows/demo", headers={"Host": "127.0.0.1:8080"}).status_code == 200
    assert open_app.client.get("/api/v1/flows/demo", headers={"Host": "[::1]:8080"}).status_code == 200


def test_allowed_hosts_setting(store: Store, tmp_path: Path) -> None:
    with api(store, tmp_path, allowed_hosts="flowd.internal, localhost") as running:
        assert running.client.get("/api/health", headers={"Host": "flowd.internal"}).status_code == 200
        assert running.client.get("/api/health", headers={"Host": "127.0.0.1"}).status_code == 400
    assert allowed_host_names("*", "0.0.0.0") is None
    assert allowed_host_names(None, "10.0.0.5") == {"localhost", "127.0.0.1", "::1", "10.0.0.5"}
    assert host_name("[::1]:80") == "::1" and host_name("Example.COM:8080") == "example.com"


# --- NUL bytes, API docs ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    ["/api/v1/flows/demo%00", "/api/v1/executions/x%00y", "/api/v1/logs/a%00", "/ui/flows/demo/h%00",
     "/api/v1/executions/search?namespace=a%00b", "/api/v1/flows/demo?q=%00"],
)  # fmt: skip
def test_nul_bytes_are_400(open_app: Api, path: str) -> None:
    response = open_app.client.get(path)
    assert response.status_code == 400 and "NUL" in response.json()["message"]


@pytest.mark.parametrize("path", ["/openapi.json", "/docs", "/redoc"])
def test_api_docs_need_the_token_when_one_is_set(secured: Api, path: str) -> None:
    assert secured.client.get(path).status_code == 401
    assert secured.client.get(path, headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200


def test_api_docs_open_without_token(open_app: Api) -> None:
    assert open_app.client.get("/openapi.json").status_code == 200


# --- session cookie and login limit -------------------------------------------------------------------------


def test_session_values_are_signed_and_expire() -> None:
    value = issue(TOKEN, now=1000.0, lifetime=60)
    assert TOKEN not in value
    assert valid(value, TOKEN, now=1059.0)
    assert not valid(value, TOKEN, now=1061.0)  # expired
    assert not valid(value, "another-token", now=1001.0)  # the token changed: sessions end
    expires, nonce, signature = value.split(".")
    assert not valid(f"{int(expires) + 9999}.{nonce}.{signature}", TOKEN, now=1001.0)  # tampered
    assert not valid("", TOKEN, now=0) and not valid("a.b", TOKEN, now=0)


def test_login_is_rate_limited_per_client(secured: Api) -> None:
    codes = [
        secured.client.post("/ui/login", data={"token": f"guess{i}"}, follow_redirects=False).status_code
        for i in range(15)
    ]
    assert codes[:10] == [401] * 10 and set(codes[10:]) == {429}
    # even the right token waits: guessing cannot continue by interleaving it
    limited = secured.client.post("/ui/login", data={"token": TOKEN}, follow_redirects=False)
    assert limited.status_code == 429 and int(limited.headers["retry-after"]) > 0


def test_wrong_bearer_tokens_are_rate_limited_with_the_login(secured: Api) -> None:
    codes = [
        secured.client.get("/api/v1/flows/demo", headers={"Authorization": f"Bearer guess{i}"}).status_code
        for i in range(12)
    ]
    assert codes[:10] == [401] * 10 and set(codes[10:]) == {429}
    right = secured.client.get("/api/v1/flows/demo", headers={"Authorization": f"Bearer {TOKEN}"})
    assert right.status_code == 429 and "retry-after" in right.headers
    login = secured.client.post("/ui/login", data={"token": TOKEN}, follow_redirects=False)
    assert login.status_code == 429  # one limit for the API and the UI's login


def test_failure_limiter_window() -> None:
    limiter = FailureLimiter(limit=2, window=10)
    limiter.failed("a", now=0)
    assert limiter.retry_after("a", now=1) == 0
    limiter.failed("a", now=1)
    assert limiter.retry_after("a", now=2) == 8 and limiter.retry_after("b", now=2) == 0
    assert limiter.retry_after("a", now=11) == 0  # the first failure left the window


# --- push deliveries ----------------------------------------------------------------------------------------


def _signed(body: bytes) -> str:
    return "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()


def test_a_replayed_push_hook_syncs_once(secured: Api) -> None:
    body = b'{"ref": "refs/heads/main"}'
    headers = {"X-Hub-Signature-256": _signed(body), "X-GitHub-Event": "push", "X-GitHub-Delivery": "d-1"}
    answers = [secured.client.post("/api/v1/sync/webhook", content=body, headers=headers) for _ in range(20)]
    assert all(a.status_code == 202 for a in answers)
    assert len(secured.store.syncs.latest(limit=50)) == 1
    assert "duplicate" in answers[-1].json()["message"]
    # a new delivery syncs again; without a delivery id the body's hash identifies it
    other = {**headers, "X-GitHub-Delivery": "d-2"}
    secured.client.post("/api/v1/sync/webhook", content=body, headers=other)
    gitlab = {"X-Gitlab-Token": SECRET}
    for _ in range(3):
        secured.client.post("/api/v1/sync/webhook", content=b'{"after": "abc"}', headers=gitlab)
    assert len(secured.store.syncs.latest(limit=50)) == 3


def test_delivery_log_window() -> None:
    log = DeliveryLog(window=10)
    assert log.first_time("a", now=0) and not log.first_time("a", now=5)
    assert log.first_time("a", now=11)  # forgotten after the window


# --- credentials never stored with a webhook execution ------------------------------------------------------


def test_webhook_execution_drops_credential_headers(open_app: Api) -> None:
    response = open_app.client.post(
        "/api/v1/executions/webhook/demo/hello/the-key",
        json={},
        headers={
            "X-Gitlab-Token": "glt-secret", "X-Hub-Signature-256": "sha256=abc", "X-Hub-Signature": "sha1=x",
            "Authorization": "Bearer x", "Cookie": "a=b", "X-Custom": "kept",
        },
    )  # fmt: skip
    assert response.status_code == 200, response.text
    headers = {k.lower() for k in response.json()["trigger"]["variables"]["headers"]}
    assert "x-custom" in headers
    assert not headers & {
        "x-gitlab-token",
        "x-hub-signature-256",
        "x-hub-signature",
        "authorization",
        "cookie",
    }
    assert "glt-secret" not in response.text


# --- uploads ------------------------------------------------------------------------------------------------


def test_a_backslash_in_an_upload_name_is_400(open_app: Api) -> None:
    response = open_app.client.post(
        "/api/v1/executions/demo/hello", files={"doc": ("..\\..\\evil.txt", b"x", "text/plain")}
    )
    assert response.status_code == 400, response.text
    assert "backslash" in response.json()["message"]


def test_sessions_outlive_nothing_they_should_not(secured: Api) -> None:
    stale = issue(TOKEN, now=time.time() - 13 * 3600)
    secured.client.cookies.set("flowd_session", stale)
    assert secured.client.get("/api/v1/flows/demo").status_code == 401
