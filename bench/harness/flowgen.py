"""flowd flow definitions for the workloads, as YAML text (Kestra syntax)."""

from __future__ import annotations

RETURN = "io.kestra.plugin.core.debug.Return"
LOG = "io.kestra.plugin.core.log.Log"
SHELL = "io.kestra.plugin.scripts.shell.Commands"
PARALLEL = "io.kestra.plugin.core.flow.Parallel"
SCHEDULE = "io.kestra.plugin.core.trigger.Schedule"
SLEEP = "io.kestra.plugin.core.flow.Sleep"
NAMESPACE = "bench"


def chain(n: int, flow_id: str = "chain") -> str:
    """``n`` sequential no-op Return tasks."""
    lines = [f"id: {flow_id}", f"namespace: {NAMESPACE}", "tasks:"]
    for i in range(n):
        lines += [f"  - id: t{i}", f"    type: {RETURN}", "    format: ok"]
    return "\n".join(lines) + "\n"


def sleep_chain(n: int, flow_id: str = "sleeps", duration: str = "PT0S") -> str:
    """``n`` sequential ``Sleep`` tasks (``PT0S``: a no-op that is not inline). Each is claimed, runs as its
    own attempt on a worker slot, and its end is committed (with the next one's claim) before the next
    attempt starts: the like-for-like counterpart of the peers' no-op tasks, which persist their states."""
    lines = [f"id: {flow_id}", f"namespace: {NAMESPACE}", "tasks:"]
    for i in range(n):
        lines += [f"  - id: t{i}", f"    type: {SLEEP}", f"    duration: {duration}"]
    return "\n".join(lines) + "\n"


def shell_fan(n: int, concurrency: int = 8, seconds: float = 0.05) -> str:
    """``n`` shell tasks ``sleep seconds`` (process runner) in a Parallel of ``concurrent: concurrency``:
    a fan-out whose tasks do work, so that running them side by side shows."""
    lines = [
        "id: shellfan", f"namespace: {NAMESPACE}", "tasks:",
        "  - id: branches", f"    type: {PARALLEL}", f"    concurrent: {concurrency}", "    tasks:",
    ]  # fmt: skip
    for i in range(n):
        lines += [
            f"      - id: t{i}",
            f"        type: {SHELL}",
            "        taskRunner:",
            "          type: io.kestra.plugin.core.runner.Process",
            "        commands:",
            f"          - sleep {seconds}",
        ]
    return "\n".join(lines) + "\n"


def fan(n: int, concurrency: int = 8) -> str:
    """A root task, ``n`` no-op tasks in a Parallel of ``concurrent: concurrency``, a join task."""
    lines = [
        "id: fan", f"namespace: {NAMESPACE}", "tasks:",
        "  - id: root", f"    type: {RETURN}", "    format: ok",
        "  - id: branches", f"    type: {PARALLEL}", f"    concurrent: {concurrency}", "    tasks:",
    ]  # fmt: skip
    for i in range(n):
        lines += [f"      - id: t{i}", f"        type: {RETURN}", "        format: ok"]
    lines += ["  - id: join", f"    type: {RETURN}", "    format: ok"]
    return "\n".join(lines) + "\n"


def shell(n: int) -> str:
    """``n`` sequential shell tasks running ``echo hi`` (process runner)."""
    lines = ["id: shell", f"namespace: {NAMESPACE}", "tasks:"]
    for i in range(n):
        lines += [
            f"  - id: t{i}",
            f"    type: {SHELL}",
            "    taskRunner:",
            "      type: io.kestra.plugin.core.runner.Process",
            "    commands:",
            "      - echo hi",
        ]
    return "\n".join(lines) + "\n"


def one() -> str:
    """A one-task flow (cold start)."""
    return chain(1, flow_id="one")


def many(i: int) -> str:
    """The ``i``-th of the distinct definitions of W4: three tasks, an input, a daily schedule."""
    return f"""id: flow_{i}
namespace: {NAMESPACE}.many
description: generated flow number {i}
inputs:
  - id: size
    type: INT
    defaults: {i}
tasks:
  - id: extract
    type: {RETURN}
    format: "{{{{ inputs.size }}}}"
  - id: report
    type: {LOG}
    message: "total {{{{ outputs.extract.value }}}}"
  - id: done
    type: {SHELL}
    commands:
      - echo {i}
triggers:
  - id: daily
    type: {SCHEDULE}
    cron: "{i % 60} 3 * * *"
"""


def scheduled(flow_id: str, *, cron: str, with_seconds: bool = False) -> str:
    """A one-task flow with a Schedule trigger."""
    seconds = "\n    withSeconds: true" if with_seconds else ""
    return f"""id: {flow_id}
namespace: {NAMESPACE}
tasks:
  - id: hello
    type: {RETURN}
    format: ok
triggers:
  - id: tick
    type: {SCHEDULE}
    cron: "{cron}"{seconds}
"""
