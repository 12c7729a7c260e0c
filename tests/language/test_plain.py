"""``to_plain`` gives what ``model_dump(exclude_none=True)`` gives, without building a serializer."""

from __future__ import annotations

import pickle
import subprocess
import sys
from pathlib import Path

import pytest

from daemon.language.plain import to_plain
from daemon.language.validate import load_flow

TEMPLATE = Path(__file__).resolve().parents[2] / "flows-repo-template" / "flows"
RICH = """id: rich
namespace: team.a
tasks:
  - id: each
    type: io.kestra.plugin.core.flow.ForEach
    values: ["a", "b"]
    retry: {type: constant, maxAttempt: 2, interval: PT1S}
    tasks:
      - id: sh
        type: io.kestra.plugin.scripts.shell.Commands
        taskRunner: {type: io.kestra.plugin.scripts.runner.docker.Docker, image: alpine, extraOpt: 1}
        commands: ["echo {{ taskrun.value }}"]
  - id: sw
    type: io.kestra.plugin.core.flow.Switch
    value: "{{ outputs.each }}"
    cases:
      x: [{id: l, type: io.kestra.plugin.core.log.Log, message: "{{ 1 }}"}]
"""


@pytest.mark.parametrize(
    "path",
    sorted(p for p in TEMPLATE.rglob("*.yml") if not p.name.endswith(".test.yml")),
    ids=lambda p: p.stem,
)
def test_same_as_model_dump_on_the_template_flows(path: Path) -> None:
    flow = load_flow(path.read_text(), str(path))
    for task in flow.all_tasks():
        assert to_plain(task) == task.model_dump(exclude_none=True)


def test_same_as_model_dump_with_extras_and_nesting() -> None:
    flow = load_flow(RICH)
    assert [to_plain(t) for t in flow.all_tasks()] == [
        t.model_dump(exclude_none=True) for t in flow.all_tasks()
    ]
    assert to_plain(flow.tasks[0])["tasks"][0]["taskRunner"]["extraOpt"] == 1


def test_no_serializer_is_built(tmp_path: Path) -> None:
    # a flow from the parsed-flow cache, unpickled in a fresh process, never built its task classes:
    # walking a flowable task leaves them unbuilt
    pickled = tmp_path / "flow.pickle"
    pickled.write_bytes(pickle.dumps(load_flow(RICH)))
    code = (
        "import pickle\n"
        "from daemon.language.plain import to_plain\n"
        f"flow = pickle.loads(open({str(pickled)!r}, 'rb').read())\n"
        "each = flow.tasks[0]\n"
        "assert to_plain(each)['values'] == ['a', 'b']\n"
        "print(type(each).__pydantic_complete__)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
