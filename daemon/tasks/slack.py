"""Slack incoming webhook: POST a JSON message to the webhook URL."""

from __future__ import annotations

import json
from typing import Any

import httpx

from daemon.engine.context import RunContext, TaskResult
from daemon.errors import TaskError
from daemon.language.tasks_io import SlackIncomingWebhookTask
from daemon.tasks.cancel import until_cancelled

TIMEOUT = httpx.Timeout(30.0)


def slack_payload(task: SlackIncomingWebhookTask, ctx: RunContext) -> str:
    """The JSON body: the rendered ``payload`` (a JSON string or a map), else ``{"text": messageText}``."""
    payload: Any
    if task.payload is not None:
        payload = ctx.render(task.payload)
        if isinstance(payload, str):
            try:
                payload = json.loads(payload)
            except ValueError as exc:
                raise TaskError(f"slack: payload is not valid JSON: {exc}") from exc
    elif task.messageText is not None:
        payload = {"text": ctx.render(task.messageText)}
    else:
        raise TaskError("slack: set payload or messageText")
    return json.dumps(payload)


async def run_slack_incoming_webhook(task: SlackIncomingWebhookTask, ctx: RunContext) -> TaskResult:
    """Send the message; any answer but 2xx fails the task with Slack's reply."""
    url = str(ctx.render(task.url))
    body = slack_payload(task, ctx)
    try:
        async with httpx.AsyncClient(timeout=TIMEOUT) as client:
            post = client.post(url, content=body, headers={"Content-Type": "application/json"})
            response = await until_cancelled(post, ctx.cancelled)
    except httpx.HTTPError as exc:
        raise TaskError(f"slack: cannot post to the webhook: {exc or type(exc).__name__}") from exc
    if not response.is_success:
        raise TaskError(f"slack: webhook answered {response.status_code}: {response.text[:500]}")
    return TaskResult(outputs={"code": response.status_code})
