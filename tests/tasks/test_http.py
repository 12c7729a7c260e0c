"""HTTP Request/Download and the Slack webhook against a local server."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from daemon.errors import TaskError
from tests.tasks.conftest import Harness, make_task
from tests.tasks.local_server import LocalServer, local_server

HTTP = "io.kestra.plugin.core.http"
SLACK = "io.kestra.plugin.notifications.slack.SlackIncomingWebhook"


@pytest.fixture
def server() -> Iterator[LocalServer]:
    with local_server() as running:
        yield running


def test_get_json_stays_a_string(harness: Harness, server: LocalServer) -> None:
    result = harness.run(make_task({"type": f"{HTTP}.Request", "uri": f"{server.url}/json"}))
    assert result.outputs["code"] == 200
    assert result.outputs["body"] == '{"ok": true}'
    assert result.outputs["headers"]["x-multi"] == ["a", "b"]
    assert result.outputs["uri"] == f"{server.url}/json"


def test_post_json_body_and_headers(harness: Harness, server: LocalServer) -> None:
    harness.variables["inputs"] = {"n": 2}
    task = make_task(
        {
            "type": f"{HTTP}.Request",
            "url": f"{server.url}/echo",  # the seed dialect's name for uri
            "method": "POST",
            "headers": {"X-Token": "t-{{ inputs.n }}"},
            "body": {"n": "{{ inputs.n }}"},
        }
    )
    result = harness.run(task)
    sent = server.received[-1]
    assert json.loads(sent.body) == {"n": "2"}
    assert sent.headers["Content-Type"] == "application/json" and sent.headers["X-Token"] == "t-2"
    assert json.loads(result.outputs["body"]) == {"n": "2"}


def test_string_body_with_content_type_and_form_data(harness: Harness, server: LocalServer) -> None:
    harness.run(
        make_task(
            {
                "type": f"{HTTP}.Request",
                "uri": f"{server.url}/echo",
                "method": "PUT",
                "body": "plain",
                "contentType": "text/plain",
            }
        )
    )
    assert server.received[-1].body == b"plain"
    assert server.received[-1].headers["Content-Type"] == "text/plain"
    harness.run(
        make_task(
            {
                "type": f"{HTTP}.Request",
                "uri": f"{server.url}/echo",
                "method": "POST",
                "formData": {"a": "1 2"},
            }
        )
    )
    assert server.received[-1].body == b"a=1+2"
    harness.run(
        make_task(
            {
                "type": f"{HTTP}.Request",
                "uri": f"{server.url}/echo",
                "method": "POST",
                "formData": {"field": "value"},
                "contentType": "multipart/form-data",
            }
        )
    )
    assert server.received[-1].headers["Content-Type"].startswith("multipart/form-data; boundary=")
    assert b'name="field"' in server.received[-1].body


def test_error_status_fails_unless_allowed(harness: Harness, server: LocalServer) -> None:
    with pytest.raises(TaskError, match="response code '404'"):
        harness.run(make_task({"type": f"{HTTP}.Request", "uri": f"{server.url}/missing"}))
    allowed = make_task({"type": f"{HTTP}.Request", "uri": f"{server.url}/missing", "allowFailed": True})
    assert harness.run(allowed).outputs["code"] == 404


def test_redirect_is_followed(harness: Harness, server: LocalServer) -> None:
    result = harness.run(make_task({"type": f"{HTTP}.Request", "uri": f"{server.url}/redirect"}))
    assert result.outputs["uri"].endswith("/json")


def test_connection_refused_is_a_task_error(harness: Harness) -> None:
    with pytest.raises(TaskError, match="http: GET"):
        harness.run(make_task({"type": f"{HTTP}.Request", "uri": "http://127.0.0.1:9/nothing"}))


def test_download_into_storage(harness: Harness, server: LocalServer) -> None:
    result = harness.run(make_task({"type": f"{HTTP}.Download", "uri": f"{server.url}/file"}))
    assert result.outputs["code"] == 200 and result.outputs["length"] == 4000
    assert result.outputs["uri"].endswith("/report.csv")
    assert harness.storage.path_of(result.outputs["uri"]).read_bytes() == b"a,b\n" * 1000
    assert not list(harness.workdir.iterdir())  # the temporary file is gone


def test_download_empty_and_error(harness: Harness, server: LocalServer) -> None:
    with pytest.raises(TaskError, match="empty response"):
        harness.run(make_task({"type": f"{HTTP}.Download", "uri": f"{server.url}/empty"}))
    ok = make_task({"type": f"{HTTP}.Download", "uri": f"{server.url}/empty", "failOnEmptyResponse": False})
    assert harness.run(ok).outputs["length"] == 0
    with pytest.raises(TaskError, match="404"):
        harness.run(make_task({"type": f"{HTTP}.Download", "uri": f"{server.url}/missing"}))


def test_slack_message_text_and_payload(harness: Harness, server: LocalServer) -> None:
    harness.variables["inputs"] = {"who": "team"}
    harness.run(
        make_task({"type": SLACK, "url": f"{server.url}/slack", "messageText": "hi {{ inputs.who }}"})
    )
    assert json.loads(server.received[-1].body) == {"text": "hi team"}
    payload = '{"text": "{{ inputs.who }}", "channel": "#x"}'
    harness.run(make_task({"type": SLACK, "url": f"{server.url}/slack", "payload": payload}))
    assert json.loads(server.received[-1].body) == {"text": "team", "channel": "#x"}
    harness.run(make_task({"type": SLACK, "url": f"{server.url}/slack", "payload": {"blocks": []}}))
    assert json.loads(server.received[-1].body) == {"blocks": []}


def test_slack_failures(harness: Harness, server: LocalServer) -> None:
    with pytest.raises(TaskError, match="400: invalid_payload"):
        harness.run(make_task({"type": SLACK, "url": f"{server.url}/slack", "messageText": "fail"}))
    with pytest.raises(TaskError, match="not valid JSON"):
        harness.run(make_task({"type": SLACK, "url": f"{server.url}/slack", "payload": "{nope"}))
    with pytest.raises(TaskError, match="payload or messageText"):
        harness.run(make_task({"type": SLACK, "url": f"{server.url}/slack"}))
