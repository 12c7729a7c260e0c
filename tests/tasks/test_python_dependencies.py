"""Python ``dependencies``: a cached virtual environment per requirement set, offline from a local wheel."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import sys
import zipfile
from pathlib import Path

import pytest

from daemon.store import Store
from daemon.tasks import python_env
from daemon.tasks.python_env import env_key
from tests.engine.conftest import Harness

SCRIPT = "io.kestra.plugin.scripts.python.Script"
COMMANDS = "io.kestra.plugin.scripts.python.Commands"
SQLITE_ONLY = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


def build_wheel(folder: Path, name: str = "flowdtiny", version: str = "1.0", value: int = 42) -> Path:
    """A minimal pure-Python wheel (a module holding ``VALUE``), so no index or build backend is needed."""
    folder.mkdir(parents=True, exist_ok=True)
    info = f"{name}-{version}.dist-info"
    files = {
        f"{name}/__init__.py": f"VALUE = {value}\n",
        f"{info}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n",
        f"{info}/WHEEL": (
            "Wheel-Version: 1.0\nGenerator: flowd-test\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
        ),
    }
    record = []
    for path, text in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=").decode()
        record.append(f"{path},sha256={digest},{len(text.encode())}")
    record.append(f"{info}/RECORD,,")
    files[f"{info}/RECORD"] = "\n".join(record) + "\n"
    wheel = folder / f"{name}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        for path, text in files.items():
            archive.writestr(path, text)
    return wheel


@pytest.fixture
def offline_index(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point uv and pip at a local folder of wheels and nowhere else."""
    wheels = tmp_path / "wheels"
    build_wheel(wheels)
    for key, value in {
        "UV_NO_INDEX": "1",
        "UV_FIND_LINKS": str(wheels),
        "UV_CACHE_DIR": str(tmp_path / "uv-cache"),
        "UV_PYTHON_DOWNLOADS": "never",
        "PIP_NO_INDEX": "1",
        "PIP_FIND_LINKS": str(wheels),
        "PIP_CONFIG_FILE": "/dev/null",
    }.items():
        monkeypatch.setenv(key, value)
    return wheels


def flow(task_type: str, body: str, deps: str = "[flowdtiny==1.0]", flow_id: str = "deps") -> str:
    return f"""
id: {flow_id}
namespace: test.python
tasks:
  - id: py
    type: {task_type}
    taskRunner: {{type: io.kestra.plugin.core.runner.Process}}
    dependencies: {deps}
{body}
"""


SCRIPT_BODY = """    script: |
      import flowdtiny
      print('::{"outputs": {"value": %d}}::' % flowdtiny.VALUE)
"""


def test_env_key_ignores_order_and_blanks() -> None:
    assert env_key(["b", "a==1"], None) == env_key([" a==1 ", "b", "b"], None)
    assert env_key(["a"], None) != env_key(["a"], "3.12")
    assert env_key(["a"], None) != env_key(["a==2"], None)


@SQLITE_ONLY
@pytest.mark.parametrize("installer", ["uv", "pip"])
def test_script_dependencies_are_installed_once_and_reused(
    store: Store, tmp_path: Path, offline_index: Path, monkeypatch: pytest.MonkeyPatch, installer: str
) -> None:
    if installer == "pip":
        monkeypatch.setattr(python_env, "uv_binary", lambda: None)
    elif python_env.uv_binary() is None:
        pytest.skip("uv is not installed")
    harness = Harness(store, tmp_path / "home")
    first = harness.run(flow(SCRIPT, SCRIPT_BODY))
    assert first.state == "SUCCESS", harness.logs(first.id)
    assert harness.runs(first.id, "py")[0].outputs["vars"] == {"value": 42}
    assert any("building environment" in line for line in harness.logs(first.id))
    second = harness.run(flow(SCRIPT, SCRIPT_BODY))
    assert second.state == "SUCCESS"
    logs = harness.logs(second.id)
    assert any("using the cached environment" in line for line in logs)
    assert not any("building environment" in line for line in logs)
    envs = [p for p in (tmp_path / "home" / "cache" / "python-envs").iterdir() if p.is_dir()]
    assert len(envs) == 1


@SQLITE_ONLY
def test_commands_see_the_environment_on_path(store: Store, tmp_path: Path, offline_index: Path) -> None:
    harness = Harness(store, tmp_path / "home")
    body = """    inputFiles:
      main.py: |
        import flowdtiny
        print('::{"outputs": {"v": %d}}::' % flowdtiny.VALUE)
    commands:
      - python main.py
"""
    ex = harness.run(flow(COMMANDS, body))
    assert ex.state == "SUCCESS", harness.logs(ex.id)
    assert harness.runs(ex.id, "py")[0].outputs["vars"] == {"v": 42}


@SQLITE_ONLY
def test_parallel_tasks_build_the_environment_once(store: Store, tmp_path: Path, offline_index: Path) -> None:
    harness = Harness(store, tmp_path / "home")
    task = """      - id: {id}
        type: io.kestra.plugin.scripts.python.Script
        taskRunner: {{type: io.kestra.plugin.core.runner.Process}}
        dependencies: [flowdtiny]
        script: "import flowdtiny"
"""
    text = (
        "id: par\nnamespace: test.python\ntasks:\n  - id: both\n"
        "    type: io.kestra.plugin.core.flow.Parallel\n    tasks:\n"
        + task.format(id="a")
        + task.format(id="b")
    )
    ex = harness.run(text)
    assert ex.state == "SUCCESS", harness.logs(ex.id)
    assert sum("building environment" in line for line in harness.logs(ex.id)) == 1


@SQLITE_ONLY
def test_unavailable_package_fails_with_one_clear_line(
    store: Store, tmp_path: Path, offline_index: Path
) -> None:
    harness = Harness(store, tmp_path / "home")
    ex = harness.run(flow(SCRIPT, SCRIPT_BODY, deps="[flowd-no-such-package==9.9]"))
    assert ex.state == "FAILED"
    errors = [line for line in harness.logs(ex.id) if "could not be installed" in line]
    assert errors, harness.logs(ex.id)
    assert "flowd-no-such-package==9.9" in errors[0] and "\n" not in errors[0]
    # nothing half-built is left to be mistaken for a ready environment
    envs = tmp_path / "home" / "cache" / "python-envs"
    assert not [p for p in envs.iterdir() if p.is_dir()]


@SQLITE_ONLY
def test_python_version_selects_the_interpreter(store: Store, tmp_path: Path, offline_index: Path) -> None:
    harness = Harness(store, tmp_path / "home")
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    body = f"""    pythonVersion: "{version}"
    script: |
      import sys, flowdtiny
      print('::{{"outputs": {{"v": "%d.%d"}}}}::' % sys.version_info[:2])
"""
    ex = harness.run(flow(SCRIPT, body))
    assert ex.state == "SUCCESS", harness.logs(ex.id)
    assert harness.runs(ex.id, "py")[0].outputs["vars"] == {"v": version}


def test_docker_runner_installs_the_dependencies_in_the_container(tmp_path: Path) -> None:
    # no image with pip is reachable here: check the command the container runs
    from daemon.tasks.script_runner import Placement
    from daemon.tasks.scripts import python_for
    from tests.tasks.conftest import Harness as PluginHarness
    from tests.tasks.conftest import make_task

    task = make_task({"type": SCRIPT, "script": "print(1)", "dependencies": ["pandas==2.2.3", "requests"]})
    ctx = PluginHarness(tmp_path).context()
    where = Placement(kind="DOCKER", image="python:3.12-slim")
    python, env, install = asyncio.run(python_for(task, ctx, where))
    assert python == "python" and env == {}
    assert install.startswith("python -m pip install") and install.endswith("pandas==2.2.3 requests")


@SQLITE_ONLY
def test_a_build_cut_short_leaves_no_lock_and_no_half_environment(
    store: Store, tmp_path: Path, offline_index: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # an installer that hangs: the task times out while building
    hanging = tmp_path / "hanging-uv"
    hanging.write_text('#!/bin/sh\nmkdir -p "$5" && exec sleep 60\n')
    hanging.chmod(0o755)
    monkeypatch.setattr(python_env, "uv_binary", lambda: str(hanging))
    harness = Harness(store, tmp_path / "home")
    slow = flow(SCRIPT, "    timeout: PT1S\n" + SCRIPT_BODY)
    assert harness.run(slow).state == "FAILED"
    # the next task (with a working installer) takes the lock and builds from scratch
    monkeypatch.setattr(python_env, "uv_binary", lambda: None)
    ex = harness.run(flow(SCRIPT, SCRIPT_BODY))
    assert ex.state == "SUCCESS", harness.logs(ex.id)
    assert harness.runs(ex.id, "py")[0].outputs["vars"] == {"value": 42}


def test_legacy_python_requirements_are_dependencies() -> None:
    from tests.tasks.conftest import make_task

    legacy = make_task(
        {
            "type": "io.kestra.core.tasks.scripts.Python",
            "script": "print(1)",
            "requirements": ["requests==2.31"],
        }
    )
    assert legacy.dependencies == ["requests==2.31"]
    current = make_task(
        {"type": SCRIPT, "script": "print(1)", "dependencies": ["a"], "pythonVersion": "3.12"}
    )
    assert (current.dependencies, current.pythonVersion) == (["a"], "3.12")
