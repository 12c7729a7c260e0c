"""What one attempt may log: the whole output and each line are capped; one line says what was dropped."""

from __future__ import annotations

from pathlib import Path

import pytest

from daemon.runners.output_cap import OutputCap, OutputLimits
from daemon.store import Store
from tests.engine.conftest import Harness


def test_cap_keeps_the_first_bytes_and_counts_the_rest() -> None:
    cap = OutputCap(OutputLimits(max_bytes=100, max_line=1000))
    kept = [cap.admit("x" * 30) for _ in range(5)]
    assert kept[:3] == ["x" * 30] * 3 and kept[3:] == [None, None]
    assert cap.kept == 90 and (cap.dropped_lines, cap.dropped_bytes) == (2, 60)
    summary = cap.summary()
    assert summary is not None and "2 more lines (60 bytes)" in summary


def test_long_lines_are_cut_utf8_safely() -> None:
    cap = OutputCap(OutputLimits(max_bytes=0, max_line=10))
    cut = cap.admit("é" * 20)  # 40 bytes
    assert cut is not None and cut.startswith("é" * 5) and "line cut: 30 more bytes" in cut
    assert OutputCap(OutputLimits(max_bytes=0, max_line=0)).admit("y" * 10**6) == "y" * 10**6
    assert OutputCap().summary() is None


FLOOD = """
id: flood
namespace: caps
tasks:
  - id: print
    type: io.kestra.plugin.scripts.shell.Commands
    commands:
      - python3 -c "import sys; [sys.stdout.write('x' * 999 + '\\n') for _ in range(30000)]"
      - python3 -c "print('y' * 1000000)"
"""


@pytest.mark.integration
def test_a_task_printing_30_mb_stores_at_most_the_cap_and_one_line(store: Store, tmp_path: Path) -> None:
    harness = Harness(store, tmp_path / "home")
    execution = harness.run(FLOOD)
    lines = store.logs.for_execution(execution.id, task_id="print")
    limits = OutputCap().limits
    notes = [line for line in lines if "reached its cap" in line.message]
    body = [line for line in lines if "reached its cap" not in line.message]
    assert len(notes) == 1 and notes[0].level == "WARN"
    assert sum(len(line.message.encode()) for line in body) <= limits.max_bytes
    assert len(body) < 30000
    assert "lines (" in notes[0].message and "were dropped" in notes[0].message
    assert execution.state == "SUCCESS"


LONG_LINE = """
id: long
namespace: caps
tasks:
  - id: print
    type: io.kestra.plugin.scripts.shell.Commands
    commands:
      - python3 -c "print('y' * 1000000)"
"""


@pytest.mark.integration
def test_a_single_long_line_is_cut(store: Store, tmp_path: Path) -> None:
    harness = Harness(store, tmp_path / "home")
    execution = harness.run(LONG_LINE)
    [line] = [x for x in store.logs.for_execution(execution.id, task_id="print")]
    assert len(line.message) < 70 * 1024 and "line cut" in line.message
