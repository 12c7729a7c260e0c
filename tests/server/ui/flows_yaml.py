"""Flow files the UI tests deploy."""

HELLO = """
id: hello
namespace: company.team
description: "Greets <b>people</b>"
inputs:
  - id: name
    type: STRING
    defaults: world
  - id: count
    type: INT
    defaults: 2
  - id: ratio
    type: FLOAT
    required: false
  - id: color
    type: SELECT
    values: [red, green]
    defaults: red
  - id: tags
    type: MULTISELECT
    values: [a, b, c]
    defaults: [a]
  - id: loud
    type: BOOLEAN
    defaults: false
  - id: day
    type: DATE
    required: false
  - id: at
    type: DATETIME
    required: false
  - id: payload
    type: JSON
    defaults: {"k": 1}
tasks:
  - id: greet
    type: io.kestra.plugin.core.log.Log
    message: "hello {{ inputs.name }} x{{ inputs.count }}"
  - id: each
    type: io.kestra.plugin.core.flow.ForEach
    values: ["v1", "v2"]
    tasks:
      - id: item
        type: io.kestra.plugin.core.log.Log
        message: "item {{ taskrun.value }}"
  - id: check
    type: io.kestra.plugin.core.flow.If
    condition: "{{ inputs.loud }}"
    then:
      - id: shout
        type: io.kestra.plugin.core.log.Log
        message: "LOUD"
    else:
      - id: whisper
        type: io.kestra.plugin.core.log.Log
        message: "quiet"
  - id: both
    type: io.kestra.plugin.core.flow.Parallel
    tasks:
      - id: left
        type: io.kestra.plugin.core.log.Log
        message: left
      - id: right
        type: io.kestra.plugin.core.log.Log
        message: right
triggers:
  - id: nightly
    type: io.kestra.plugin.core.trigger.Schedule
    cron: "0 2 * * *"
"""

DAG = """
id: pipeline
namespace: company.etl
tasks:
  - id: extract
    type: io.kestra.plugin.core.log.Log
    message: e
  - id: transform
    type: io.kestra.plugin.core.log.Log
    message: t
    dependsOn: [extract]
  - id: load
    type: io.kestra.plugin.core.log.Log
    message: l
    dependsOn: [transform]
"""

SLOW = """
id: slow
namespace: company.ops
tasks:
  - id: wait
    type: io.kestra.plugin.core.flow.Sleep
    duration: PT30S
"""


def simple(namespace: str, flow_id: str, message: str = "hi") -> str:
    """A one-task flow."""
    return f"""
id: {flow_id}
namespace: {namespace}
tasks:
  - id: say
    type: io.kestra.plugin.core.log.Log
    message: "{message}"
"""
