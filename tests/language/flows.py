"""Small flow files written for these tests (valid ones; tests derive broken variants from them)."""

from __future__ import annotations

import textwrap

GOOD = textwrap.dedent(
    """\
    id: greet
    namespace: acme.tests
    description: says hello, then branches
    labels:
      owner: qa
    inputs:
      - id: who
        type: STRING
        defaults: world
      - id: mode
        type: SELECT
        values: [fast, slow]
        defaults: fast
    tasks:
      - id: hello
        type: io.kestra.plugin.core.log.Log
        message: "Hello {{ inputs.who }}"
      - id: pick
        type: io.kestra.plugin.core.flow.Switch
        value: "{{ inputs.mode }}"
        cases:
          fast:
            - id: quick
              type: io.kestra.plugin.core.debug.Return
              format: "{{ outputs.hello }}"
        defaults:
          - id: slow_path
            type: io.kestra.plugin.core.flow.Sleep
            duration: PT1S
    errors:
      - id: on_error
        type: io.kestra.plugin.core.log.Log
        message: failed
        level: ERROR
    triggers:
      - id: nightly
        type: io.kestra.plugin.core.trigger.Schedule
        cron: "15 2 * * *"
        timezone: Europe/Paris
    """
)

# the dialect of the older course material: all of it must validate (warnings at most)
SEED_DIALECT = textwrap.dedent(
    """\
    id: nightly_report
    namespace: acme.reports
    inputs:
      - name: day
        type: string
        required: false
      - name: limit
        type: int
        defaults: 10
    tasks:
      - id: fetch
        type: io.kestra.core.tasks.http.Request
        url: "https://example.invalid/data?day={{ inputs.day }}"
        retry:
          maxAttempts: 3
          delay: PT10S
          multiplier: 2
      - id: transform
        type: io.kestra.core.tasks.scripts.Python
        dependsOn: [fetch]
        script: |
          print("rows", {{ inputs.limit }})
      - id: archive
        type: io.kestra.core.tasks.scripts.Shell
        dependsOn: [transform]
        commands:
          - echo archived
      - id: each
        type: io.kestra.core.tasks.flows.EachParallel
        dependsOn: [fetch]
        value: '["a", "b"]'
        concurrent: 2
        tasks:
          - id: child
            type: io.kestra.core.tasks.log.Log
            message: "{{ taskrun.value }}"
      - id: publish
        type: io.kestra.core.tasks.flows.Flow
        dependsOn: [archive]
        namespace: acme.reports
        flowId: publisher
      - id: notify
        type: io.kestra.core.tasks.notifications.Slack
        dependsOn: [archive, each]
        url: https://hooks.example.invalid/x
        message: "done: {{ outputs.transform }}"
        conditions:
          - type: io.kestra.core.models.conditions.types.ExecutionStatusCondition
            in: [SUCCESS]
    triggers:
      - id: every_night
        type: schedule
        cron: "0 3 * * *"
    """
)

PUBLISHER = textwrap.dedent(
    """\
    id: publisher
    namespace: acme.reports
    tasks:
      - id: say
        type: io.kestra.plugin.core.log.Log
        message: published
    """
)


def flow(tasks: str, *, head: str = "", tail: str = "") -> str:
    """A flow ``acme.tests/sample`` around a YAML block of tasks (each block given without indentation)."""
    return (
        "id: sample\nnamespace: acme.tests\n"
        + textwrap.dedent(head)
        + "tasks:\n"
        + textwrap.indent(textwrap.dedent(tasks), "  ")
        + textwrap.dedent(tail)
    )


BROKEN_RETRY = flow("- id: t\n  type: io.kestra.plugin.core.log.Log\n  message: hi\n  retyr: 2\n")
