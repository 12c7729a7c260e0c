"""Webhook triggers, pure: which trigger a call with a key fires, and the ``trigger`` variables it gets."""

from __future__ import annotations

import hmac
import json
from collections.abc import Mapping
from typing import Any

from daemon.language.model import Flow, WebhookTrigger


def match_webhook(flow: Flow, key: str) -> WebhookTrigger | None:
    """The flow's enabled Webhook trigger whose ``key`` equals ``key`` (constant-time compare), or None."""
    if flow.disabled:
        return None
    for trigger in flow.triggers:
        if not isinstance(trigger, WebhookTrigger) or trigger.disabled:
            continue
        if hmac.compare_digest(trigger.key.encode(), key.encode()):
            return trigger
    return None


def parse_body(body: bytes | str | None) -> Any:
    """The request body as JSON when it parses, else its text (None when empty)."""
    if body is None:
        return None
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    if not text:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text


def webhook_variables(body: Any, headers: Mapping[str, Any], parameters: Mapping[str, Any]) -> dict[str, Any]:
    """``trigger.body``, ``trigger.headers`` and ``trigger.parameters`` (lists of values)."""
    return {
        "body": body,
        "headers": {str(k): v if isinstance(v, list) else [v] for k, v in headers.items()},
        "parameters": {str(k): v if isinstance(v, list) else [v] for k, v in parameters.items()},
    }
