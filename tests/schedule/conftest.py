"""Helpers for scheduler tests: deploy a folder of flows into a store with a frozen clock."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from daemon.clock import FrozenClock
from daemon.engine.executor import Executor
from daemon.reconcile import Reconciler
from daemon.settings import Settings
from daemon.sources import LocalFolderSource
from daemon.store import Store
from daemon.tasks.registry import PLUGINS

START = datetime(2024, 5, 6, 10, 0, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(START)


@pytest.fixture
def executor(store: Store, clock: FrozenClock, tmp_path: Path) -> Executor:
    return Executor(store, Settings(home=tmp_path / "home"), clock, PLUGINS, workers=2)


@pytest.fixture
def deploy(store: Store, clock: FrozenClock, tmp_path: Path) -> Callable[[dict[str, str]], None]:
    """Write ``{file name: yaml}`` into a flow folder and sync it (files not given are removed)."""
    folder = tmp_path / "flows"
    folder.mkdir()
    reconciler = Reconciler(store, LocalFolderSource(folder), clock=clock)

    def apply(files: dict[str, str]) -> None:
        for old in folder.glob("*.yml"):
            if old.name not in files:
                old.unlink()
        for name, text in files.items():
            (folder / name).write_text(text)
        outcome = reconciler.sync()
        assert outcome.result == "SUCCESS", outcome

    return apply


def schedule_flow(flow_id: str, cron: str, *, policy: str = "ALL", extra: str = "") -> str:
    return f"""
id: {flow_id}
namespace: test.sched
inputs:
  - id: when
    type: STRING
    required: false
tasks:
  - id: hello
    type: io.kestra.plugin.core.log.Log
    message: "tick {{{{ trigger.date }}}}"
triggers:
  - id: cron
    type: io.kestra.plugin.core.trigger.Schedule
    cron: "{cron}"
    recoverMissedSchedules: {policy}
    inputs:
      when: "{{{{ trigger.date }}}}"
{extra}
"""
