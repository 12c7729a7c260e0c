"""The daemon never serves a stub API: an API that cannot be imported fails the start."""

from __future__ import annotations

import sys
from typing import Any

import pytest

from daemon.server import process


def test_api_import_error_fails_start(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "daemon.server.api", None)  # makes ``import`` raise ImportError
    services: Any = object()
    with pytest.raises(ImportError):
        process._app(services)


def test_liveness_is_one_threshold() -> None:
    from daemon.engine.runtime import STALE_AFTER
    from daemon.server.heartbeat import ALIVE_WITHIN

    assert ALIVE_WITHIN == STALE_AFTER
