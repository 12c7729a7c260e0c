"""What a runner is given (``ScriptSpec``), what it returns (``RunResult``) and the ``Runner`` port."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

# on_line(stream, line): stream is "stdout" or "stderr"; line has no trailing newline.
LineHandler = Callable[[str, str], None]

PULL_POLICIES = ("IF_NOT_PRESENT", "ALWAYS", "NEVER")


@dataclass(frozen=True)
class ScriptSpec:
    """One attempt of a script task, ready to run.

    ``workdir`` is fresh per task run and already holds the task's input files. The process runner merges
    ``env`` over a minimal base environment; the docker runner passes ``env`` alone. The fields after
    ``timeout`` are used by the docker runner only.
    """

    argv: list[str]
    workdir: Path
    env: dict[str, str]
    timeout: float | None
    image: str | None = None
    pull_policy: str = "IF_NOT_PRESENT"
    cpu: float | None = None
    memory: str | None = None
    user: str | None = None
    volumes: Sequence[str] = ()
    network_mode: str | None = None
    credentials: dict[str, Any] | None = None
    labels: dict[str, str] = field(default_factory=dict)


@dataclass
class RunResult:
    """How an attempt ended.

    ``exit_code`` is None when the script never ran to an exit status we could read (cancelled before it
    started); a process killed by a signal reports ``-signal`` (process runner) or ``128+signal`` (docker).
    ``killed`` is set whenever flowd stopped it (timeout or cancel); ``timed_out`` only for the timeout.
    """

    exit_code: int | None
    outputs: dict[str, Any]
    timed_out: bool = False
    killed: bool = False
    metrics: list[dict[str, Any]] = field(default_factory=list)


class Runner(Protocol):
    """Runs one script attempt, streaming its output lines as they come."""

    async def run(self, spec: ScriptSpec, *, on_line: LineHandler, cancelled: asyncio.Event) -> RunResult:
        """Run ``spec`` to its end, its timeout, or until ``cancelled`` is set."""
        ...
