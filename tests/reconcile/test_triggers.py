"""Trigger definition hashes and the pure trigger reconciliation."""

from __future__ import annotations

from daemon.language.validate import load_flow
from daemon.reconcile.triggers import TriggerDef, reconcile_triggers, trigger_defs

FLOW = """id: f
namespace: team
{disabled}tasks:
  - id: log
    type: io.kestra.plugin.core.log.Log
    message: {message}
triggers:
  - id: every
    type: io.kestra.plugin.core.trigger.Schedule
    cron: "{cron}"
"""


def defs(cron: str = "0 * * * *", message: str = "hi", disabled: str = "") -> tuple[TriggerDef, ...]:
    return trigger_defs(load_flow(FLOW.format(cron=cron, message=message, disabled=disabled)))


def test_hash_follows_the_trigger_not_the_rest_of_the_flow() -> None:
    assert defs()[0].hash == defs(message="changed")[0].hash
    assert defs()[0].hash != defs(cron="*/5 * * * *")[0].hash


def test_disabling_the_flow_disables_its_triggers() -> None:
    off = defs(disabled="disabled: true\n")[0]
    assert off.disabled and off.hash != defs()[0].hash


def test_reconcile_inserts_resets_keeps_deletes() -> None:
    a, b = TriggerDef("a", "t", "h1", False), TriggerDef("b", "t", "h2", False)
    ops = reconcile_triggers([a, b, TriggerDef("c", "t", "h3", False)], {"a": "h1", "b": "old", "gone": "x"})
    assert [(o.action, o.trigger_id) for o in ops] == [
        ("keep", "a"), ("reset", "b"), ("insert", "c"), ("delete", "gone"),
    ]  # fmt: skip
