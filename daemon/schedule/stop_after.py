"""``stopAfter``: a schedule trigger is disabled once an execution it started ends in a listed state.

Kestra: "List of execution states after which a trigger should be stopped (a.k.a. disabled)". An executor
end hook reads the ended execution's ``trigger`` record (``{id, type, variables}``), finds that trigger in
the flow revision the execution ran, and disables its state row when the end state is listed. The
scheduler's guarded cursor moves skip a disabled trigger, so no later tick fires; deploying a new revision
of the flow sets the trigger's state from its definition again (enabled unless ``disabled: true``).

Only Schedule and ScheduleOnDates triggers are stopped this way (the validator warns that ``stopAfter`` on
other triggers is not evaluated).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from daemon.clock import Clock
from daemon.language.model import Flow
from daemon.schedule.cursor import SCHEDULE_TYPES
from daemon.store import Execution, Store

log = logging.getLogger(__name__)


def stops(flow: Flow, trigger_id: str, state: str) -> bool:
    """Whether a schedule trigger ``trigger_id`` of ``flow`` stops after an execution ending in ``state``."""
    for trigger in flow.triggers:
        if trigger.id == trigger_id and isinstance(trigger, SCHEDULE_TYPES):
            return state in (trigger.stopAfter or ())
    return False


class StopAfterHook:
    """Call with each ended execution (``Executor.end_hooks``)."""

    def __init__(self, store: Store, clock: Clock, *, parse: Callable[[Execution], Flow]) -> None:
        self.store = store
        self.clock = clock
        self._parse = parse

    def __call__(self, execution: Execution) -> None:
        try:
            self.check(execution)
        except Exception:  # never let a trigger problem break the executor loop
            log.exception("stopAfter after execution %s failed", execution.id)

    def check(self, execution: Execution) -> bool:
        """Disable the trigger that started ``execution`` if its end state is listed; True when it did."""
        trigger_id = (execution.trigger or {}).get("id")
        if not isinstance(trigger_id, str):
            return False
        if not stops(self._parse(execution), trigger_id, execution.state):
            return False
        done = self.store.triggers.disable(
            execution.namespace, execution.flow_id, trigger_id,
            revision=execution.flow_revision, now=self.clock.now(),
        )  # fmt: skip
        if done:
            log.info(
                "trigger %s of %s/%s stopped: execution %s ended %s (stopAfter)",
                trigger_id, execution.namespace, execution.flow_id, execution.id, execution.state,
            )  # fmt: skip
        return done
