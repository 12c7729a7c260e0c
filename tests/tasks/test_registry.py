"""The registry covers every runnable task type and loads heavy libraries only when needed."""

from __future__ import annotations

import subprocess
import sys

from daemon.language.tasks import TASK_CLASSES
from daemon.language.tasks_core import PauseTask
from daemon.language.tasks_flow import SubflowTask
from daemon.tasks.registry import PLUGINS


def test_every_runnable_task_type_has_a_plugin() -> None:
    engine_owned = (PauseTask, SubflowTask)  # the engine runs these itself
    runnable = {name for name, cls in TASK_CLASSES.items() if not cls.FLOWABLE and cls not in engine_owned}
    assert runnable == set(PLUGINS)


def test_importing_the_registry_loads_no_heavy_library() -> None:
    code = (
        "import sys, daemon.tasks.registry\n"
        "print(sorted(m for m in ('httpx', 'psycopg', 'docker') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
