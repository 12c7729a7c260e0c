"""``kill -9`` of the daemon at random moments, 5 times in a row under a mixed load (schedules every second,
flow triggers, subflows, shell tasks): nothing lost, nothing duplicated, nothing stuck. The long version is
``python bench/kill9_soak.py --kills 20``."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.integration


def soak_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("kill9_soak", ROOT / "bench" / "kill9_soak.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["kill9_soak"] = module
    spec.loader.exec_module(module)
    return module


def test_kill_9_five_times_loses_duplicates_and_strands_nothing(db_url: str, tmp_path: Path) -> None:
    counts = soak_module().soak(kills=5, db=db_url, seed=5, workdir=tmp_path, say=False)
    print(counts.render())
    assert counts.executions > 0
    assert counts.lost == 0, counts.render()
    assert counts.duplicated_ticks == 0, counts.render()
    assert counts.duplicated_downstream == 0, counts.render()
    assert counts.stuck == 0, counts.render()
