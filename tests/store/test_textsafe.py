"""Bytes a store cannot hold never fail a write: a task printing NUL ends normally; the executor goes on."""

from __future__ import annotations

from pathlib import Path

import pytest

from daemon.store import Store
from daemon.store.columns import json_dumps
from daemon.store.textsafe import clean_message, clean_text, clean_value
from tests.engine.conftest import Harness

NUL_FLOW = r"""
id: nul
namespace: t
tasks:
  - id: sh
    type: io.kestra.plugin.scripts.shell.Commands
    taskRunner:
      type: io.kestra.plugin.core.runner.Process
    commands:
      - printf 'before\000after\n'
      - echo '::{"outputs":{"x":"a\u0000b","k\u0000":["\ud800"]}}::'
  - id: after
    type: io.kestra.plugin.core.log.Log
    message: "x={{ outputs.sh.vars.x }}"
"""
FINE_FLOW = """
id: fine
namespace: t
tasks:
  - id: hello
    type: io.kestra.plugin.core.log.Log
    message: hello
"""


def test_clean_text_replaces_nul_and_lone_surrogates() -> None:
    assert clean_text("a\x00b\ud800c") == ("a\ufffdb\ufffdc", 2)
    assert clean_text("plain é 😀") == ("plain é 😀", 0)
    assert clean_message("a\x00b").startswith("a\ufffdb [flowd: 1 NUL")
    assert clean_value({"k\x00": ["\udc00", 1]}) == {"k\ufffd": ["\ufffd", 1]}


def test_json_dumps_cleans_only_what_needs_it() -> None:
    assert json_dumps({"x": "a\x00b"}) == '{"x":"a\\ufffdb"}'
    assert json_dumps({"x": "😀", "y": "\\u0000"}) == '{"x":"\\ud83d\\ude00","y":"\\\\u0000"}'


@pytest.mark.integration
def test_task_printing_nul_ends_normally_and_the_executor_goes_on(store: Store, tmp_path: Path) -> None:
    harness = Harness(store, tmp_path / "home")
    ended = harness.run(NUL_FLOW)
    assert ended.state == "SUCCESS", harness.logs(ended.id)
    (run,) = harness.runs(ended.id, "sh")
    assert run.outputs is not None and run.outputs["vars"]["x"] == "a\ufffdb"
    lines = harness.logs(ended.id)
    assert any("before\ufffdafter" in line and "replaced with U+FFFD" in line for line in lines), lines
    assert harness.run(FINE_FLOW).state == "SUCCESS"
