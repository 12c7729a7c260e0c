"""Node roles, named as Kestra names them: ``flowd run --role scheduler,executor,worker,webserver``.

- ``scheduler``: may become the leader, which alone runs the singleton duties (Git reconcile, schedule
  ticks, retention); a node without it never takes the leader lock.
- ``executor`` / ``worker``: drive executions and run their task runs (flowd's engine does both in one loop,
  so a node with either runs it).
- ``webserver``: the HTTP API and the UI.
"""

from __future__ import annotations

from dataclasses import dataclass

from daemon.errors import UsageError

ALL_ROLES: tuple[str, ...] = ("scheduler", "executor", "worker", "webserver")


@dataclass(frozen=True, slots=True)
class Roles:
    """The roles one node runs."""

    names: frozenset[str] = frozenset(ALL_ROLES)

    @classmethod
    def parse(cls, text: str | None) -> Roles:
        """``scheduler,executor`` (any subset, any order; empty or ``all`` means every role).
        Raises UsageError naming an unknown role."""
        if text is None or not text.strip() or text.strip().lower() == "all":
            return cls()
        names = {part.strip().lower() for part in text.split(",") if part.strip()}
        unknown = sorted(names - set(ALL_ROLES))
        if unknown:
            raise UsageError(
                f"--role: unknown role {', '.join(unknown)} (choose among {', '.join(ALL_ROLES)})"
            )
        return cls(frozenset(names))

    @property
    def scheduler(self) -> bool:
        """Whether this node competes for leadership (and then syncs, ticks schedules, purges)."""
        return "scheduler" in self.names

    @property
    def runs_executions(self) -> bool:
        """Whether this node drives executions and runs task runs."""
        return bool({"executor", "worker"} & self.names)

    @property
    def webserver(self) -> bool:
        """Whether this node serves the HTTP API and the UI."""
        return "webserver" in self.names

    def __str__(self) -> str:
        return ",".join(r for r in ALL_ROLES if r in self.names)
