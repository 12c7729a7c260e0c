"""Kestra's legacy type names and the current names they map to.

Kestra renamed its core plugins from ``io.kestra.core.tasks.*`` to ``io.kestra.plugin.core.*``; flows
written for either keep working in flowd. A legacy name validates with a warning that names the current one.
"""

from __future__ import annotations

CORE = "io.kestra.plugin.core"

# legacy name -> canonical name (tasks)
TASK_ALIASES: dict[str, str] = {
    "io.kestra.core.tasks.log.Log": f"{CORE}.log.Log",
    "io.kestra.core.tasks.debugs.Echo": f"{CORE}.debug.Echo",
    "io.kestra.core.tasks.debugs.Return": f"{CORE}.debug.Return",
    "io.kestra.core.tasks.outputs.OutputValues": f"{CORE}.output.OutputValues",
    "io.kestra.plugin.core.output.OutputValues": f"{CORE}.output.OutputValues",
    "io.kestra.core.tasks.executions.Fail": f"{CORE}.execution.Fail",
    "io.kestra.core.tasks.executions.Labels": f"{CORE}.execution.Labels",
    "io.kestra.core.tasks.flows.If": f"{CORE}.flow.If",
    "io.kestra.core.tasks.flows.Switch": f"{CORE}.flow.Switch",
    "io.kestra.core.tasks.flows.ForEach": f"{CORE}.flow.ForEach",
    "io.kestra.core.tasks.flows.EachSequential": f"{CORE}.flow.ForEach",
    "io.kestra.core.tasks.flows.EachParallel": f"{CORE}.flow.ForEach",
    f"{CORE}.flow.EachSequential": f"{CORE}.flow.ForEach",
    f"{CORE}.flow.EachParallel": f"{CORE}.flow.ForEach",
    "io.kestra.core.tasks.flows.Parallel": f"{CORE}.flow.Parallel",
    "io.kestra.core.tasks.flows.Sequential": f"{CORE}.flow.Sequential",
    "io.kestra.core.tasks.flows.Dag": f"{CORE}.flow.Dag",
    "io.kestra.core.tasks.flows.Subflow": f"{CORE}.flow.Subflow",
    "io.kestra.core.tasks.flows.Flow": f"{CORE}.flow.Subflow",
    "io.kestra.plugin.core.flow.Flow": f"{CORE}.flow.Subflow",
    "io.kestra.core.tasks.flows.Pause": f"{CORE}.flow.Pause",
    "io.kestra.core.tasks.flows.WorkingDirectory": f"{CORE}.flow.WorkingDirectory",
    "io.kestra.core.tasks.flows.AllowFailure": f"{CORE}.flow.AllowFailure",
    "io.kestra.core.tasks.http.Request": f"{CORE}.http.Request",
    "io.kestra.plugin.fs.http.Request": f"{CORE}.http.Request",
    "io.kestra.core.tasks.http.Download": f"{CORE}.http.Download",
    "io.kestra.plugin.fs.http.Download": f"{CORE}.http.Download",
    "io.kestra.core.tasks.storages.PurgeExecution": f"{CORE}.storage.PurgeCurrentExecutionFiles",
    "io.kestra.plugin.core.storage.PurgeExecution": f"{CORE}.storage.PurgeCurrentExecutionFiles",
    "io.kestra.core.tasks.storages.PurgeCurrentExecutionFiles": f"{CORE}.storage.PurgeCurrentExecutionFiles",
    "io.kestra.core.tasks.kv.Set": f"{CORE}.kv.Set",
    "io.kestra.core.tasks.kv.Get": f"{CORE}.kv.Get",
    "io.kestra.core.tasks.kv.Delete": f"{CORE}.kv.Delete",
    # the old script tasks: their properties differ a little, the model normalises them
    "io.kestra.core.tasks.scripts.Bash": "io.kestra.plugin.scripts.shell.Commands",
    "io.kestra.core.tasks.scripts.Shell": "io.kestra.plugin.scripts.shell.Commands",
    "io.kestra.core.tasks.scripts.Python": "io.kestra.plugin.scripts.python.Script",
    "io.kestra.core.tasks.notifications.Slack": "io.kestra.plugin.notifications.slack.SlackIncomingWebhook",
    "io.kestra.plugin.jdbc.Query": "io.kestra.plugin.jdbc.postgresql.Query",
    # the rest of Kestra's 0.17 renames: flowd supports few of these types, but the current name makes the
    # "unsupported task type" message point at the right entry of the compatibility table
    "io.kestra.core.tasks.executions.Counts": f"{CORE}.execution.Count",
    "io.kestra.core.tasks.flows.ForEachItem": f"{CORE}.flow.ForEachItem",
    "io.kestra.core.tasks.flows.Template": f"{CORE}.flow.Template",
    "io.kestra.core.tasks.flows.Worker": f"{CORE}.flow.WorkingDirectory",
    f"{CORE}.flow.Worker": f"{CORE}.flow.WorkingDirectory",
    "io.kestra.core.tasks.log.Fetch": f"{CORE}.log.Fetch",
    "io.kestra.core.tasks.states.Delete": f"{CORE}.state.Delete",
    "io.kestra.core.tasks.states.Get": f"{CORE}.state.Get",
    "io.kestra.core.tasks.states.Set": f"{CORE}.state.Set",
    **{
        f"io.kestra.core.tasks.storages.{name}": f"{CORE}.storage.{name}"
        for name in (
            "Concat",
            "DeduplicateItems",
            "Delete",
            "FilterItems",
            "LocalFiles",
            "Purge",
            "Reverse",
            "Size",
            "Split",
        )
    },
    "io.kestra.core.tasks.templating.TemplatedTask": f"{CORE}.templating.TemplatedTask",
    "io.kestra.core.tasks.trigger.Toggle": f"{CORE}.trigger.Toggle",
}

# Kestra's current names for types flowd models under another name (plugins Kestra moved or renamed since):
# aliases without a warning, since a flow using them is written in today's Kestra
CURRENT_TASK_NAMES: dict[str, str] = {
    "io.kestra.plugin.slack.notifications.SlackIncomingWebhook": (
        "io.kestra.plugin.notifications.slack.SlackIncomingWebhook"
    ),
}
TASK_ALIASES.update(CURRENT_TASK_NAMES)
# what a legacy name is read as, when its current name alone does not say it
_READ_AS = {"io.kestra.plugin.jdbc.Query": "flowd reads it as the PostgreSQL task"}

# legacy name -> canonical name (triggers); "schedule" is the seed material's short form
TRIGGER_ALIASES: dict[str, str] = {
    "schedule": f"{CORE}.trigger.Schedule",
    "Schedule": f"{CORE}.trigger.Schedule",
    "io.kestra.core.models.triggers.types.Schedule": f"{CORE}.trigger.Schedule",
    "io.kestra.core.models.triggers.types.Flow": f"{CORE}.trigger.Flow",
    "io.kestra.core.models.triggers.types.Webhook": f"{CORE}.trigger.Webhook",
    "io.kestra.core.models.triggers.types.ScheduleOnDates": f"{CORE}.trigger.ScheduleOnDates",
    "flow": f"{CORE}.trigger.Flow",
    "webhook": f"{CORE}.trigger.Webhook",
    "io.kestra.plugin.fs.http.Trigger": f"{CORE}.http.Trigger",
}

# legacy name -> canonical name (conditions). Kestra 0.17 moved them from
# ``io.kestra.core.models.conditions.types.XCondition`` to ``io.kestra.plugin.core.condition.XCondition``,
# 0.20 dropped the ``Condition`` suffix (the already deprecated kept it); VariableCondition is Expression.
_RENAMED_CONDITIONS = (
    "DateTimeBetween",
    "DayWeek",
    "DayWeekInMonth",
    "ExecutionFlow",
    "ExecutionLabels",
    "ExecutionNamespace",
    "ExecutionOutputs",
    "ExecutionStatus",
    "Expression",
    "HasRetryAttempt",
    "Not",
    "Or",
    "PublicHoliday",
    "TimeBetween",
    "Weekend",
)
_KEPT_CONDITIONS = ("FlowCondition", "FlowNamespaceCondition", "MultipleCondition")
CONDITION_ALIASES: dict[str, str] = {
    **{
        f"{old}.{name}Condition": f"{CORE}.condition.{name}"
        for name in _RENAMED_CONDITIONS
        for old in ("io.kestra.core.models.conditions.types", f"{CORE}.condition")
    },
    **{
        f"io.kestra.core.models.conditions.types.{name}": f"{CORE}.condition.{name}"
        for name in _KEPT_CONDITIONS
    },
    "io.kestra.core.models.conditions.types.VariableCondition": f"{CORE}.condition.Expression",
    # seen in older flows and docs, never a Kestra class name; kept because flows carry it
    "io.kestra.core.models.conditions.ExecutionStatusCondition": f"{CORE}.condition.ExecutionStatus",
}

DOCKER_RUNNER = "io.kestra.plugin.scripts.runner.docker.Docker"

# legacy name -> canonical name (task runners, ``taskRunner.type``)
RUNNER_ALIASES: dict[str, str] = {
    "io.kestra.core.models.tasks.runners.types.ProcessTaskRunner": f"{CORE}.runner.Process",
    f"{DOCKER_RUNNER}TaskRunner": DOCKER_RUNNER,
}


def canonical(name: str, table: dict[str, str]) -> str:
    """The current name for ``name`` (itself when it is not a legacy alias)."""
    return table.get(name, name)


def legacy_warning(name: str, table: dict[str, str]) -> str | None:
    """The warning text for a legacy name, or None when ``name`` is current."""
    current = table.get(name)
    if current is None or current == name or name in CURRENT_TASK_NAMES:
        return None
    note = f" ({_READ_AS[name]})" if name in _READ_AS else ""
    return f"'{name}' is a legacy type name; the current name is '{current}'{note}"
