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
}

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
}

# legacy name -> canonical name (conditions)
CONDITION_ALIASES: dict[str, str] = {
    "io.kestra.core.models.conditions.types.ExecutionStatusCondition": f"{CORE}.condition.ExecutionStatus",
    "io.kestra.core.models.conditions.ExecutionStatusCondition": f"{CORE}.condition.ExecutionStatus",
    "io.kestra.plugin.core.condition.ExecutionStatusCondition": f"{CORE}.condition.ExecutionStatus",
    "io.kestra.core.models.conditions.types.ExecutionFlowCondition": f"{CORE}.condition.ExecutionFlow",
    "io.kestra.plugin.core.condition.ExecutionFlowCondition": f"{CORE}.condition.ExecutionFlow",
    "io.kestra.core.models.conditions.types.ExecutionNamespaceCondition": (
        f"{CORE}.condition.ExecutionNamespace"
    ),
    "io.kestra.plugin.core.condition.ExecutionNamespaceCondition": f"{CORE}.condition.ExecutionNamespace",
}


def canonical(name: str, table: dict[str, str]) -> str:
    """The current name for ``name`` (itself when it is not a legacy alias)."""
    return table.get(name, name)


def legacy_warning(name: str, table: dict[str, str]) -> str | None:
    """The warning text for a legacy name, or None when ``name`` is current."""
    current = table.get(name)
    if current is None or current == name:
        return None
    return f"'{name}' is a legacy type name; the current name is '{current}'"
