"""Script tasks: shell and Python ``Commands``/``Script``, and the legacy ``core.tasks.scripts.*`` forms."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, model_validator

from daemon.language.common import new_dict, new_list
from daemon.language.namespace_files import NamespaceFiles
from daemon.language.task_base import TaskBase

SHELL = "io.kestra.plugin.scripts.shell"
PYTHON = "io.kestra.plugin.scripts.python"
LEGACY_SCRIPTS = "io.kestra.core.tasks.scripts."


class ScriptTask(TaskBase):
    """What every script task shares: files in and out, environment, where it runs."""

    IGNORED = frozenset({"targetOS", "dockerOptions", "outputDirectory", "requirements", "virtualEnv"})
    env: dict[str, str] = Field(default_factory=new_dict)
    beforeCommands: list[str] = Field(default_factory=new_list)
    inputFiles: dict[str, str] | str | None = None
    outputFiles: list[str] = Field(default_factory=new_list)
    interpreter: list[str] | None = None
    warningOnStdErr: bool = False
    failFast: bool = True
    # legacy runner selection: runner: DOCKER with docker: {image: ...}
    runner: Literal["PROCESS", "DOCKER"] | None = None
    docker: dict[str, Any] | None = None
    namespaceFiles: NamespaceFiles | None = None

    @model_validator(mode="before")
    @classmethod
    def _legacy_script_props(cls, data: Any) -> Any:
        if not isinstance(data, dict) or not str(data.get("type", "")).startswith(LEGACY_SCRIPTS):
            return data
        data = dict(data)
        if "exitOnFailed" in data:
            data.setdefault("failFast", data.pop("exitOnFailed"))
        if "outputsFiles" in data:
            data.setdefault("outputFiles", data.pop("outputsFiles"))
        if "files" in data:  # very old name for outputFiles
            data.setdefault("outputFiles", data.pop("files"))
        # the old Bash ran ``interpreter`` (a path) with ``interpreterArgs`` (["-c"]), then the script
        if isinstance(data.get("interpreter"), str) or "interpreterArgs" in data:
            program = data.pop("interpreter", None) or "/bin/bash"
            args = data.pop("interpreterArgs", None) or ["-c"]
            data["interpreter"] = [program, *args] if isinstance(program, str) else program
        return data


class ShellCommandsTask(ScriptTask):
    TYPE = f"{SHELL}.Commands"
    commands: list[str] = Field(min_length=1)


class ShellScriptTask(ScriptTask):
    TYPE = f"{SHELL}.Script"
    script: str


class PythonTask(ScriptTask):
    """Python tasks may ask for pip requirements, installed into a cached virtual environment."""

    IGNORED = ScriptTask.IGNORED | {"dependencyCacheEnabled", "packageManager", "uvAutoInstallEnabled"}
    dependencies: list[str] = Field(default_factory=new_list)
    pythonVersion: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _legacy_requirements(cls, data: Any) -> Any:
        # the legacy Python task installed ``requirements`` (pip lines) into a virtualenv
        legacy = isinstance(data, dict) and str(data.get("type", "")).startswith(LEGACY_SCRIPTS)
        if legacy and isinstance(data.get("requirements"), list):
            data = dict(data)
            data.setdefault("dependencies", data.pop("requirements"))
        return data


class PythonCommandsTask(PythonTask):
    TYPE = f"{PYTHON}.Commands"
    commands: list[str] = Field(min_length=1)


class PythonScriptTask(PythonTask):
    TYPE = f"{PYTHON}.Script"
    script: str

    @model_validator(mode="before")
    @classmethod
    def _legacy_python(cls, data: Any) -> Any:
        # the legacy Python task ran a main.py from inputFiles when it had no script
        legacy = isinstance(data, dict) and str(data.get("type", "")).startswith(LEGACY_SCRIPTS)
        if legacy and "script" not in data:
            files = data.get("inputFiles")
            main = files.get("main.py") if isinstance(files, dict) else None
            data = {**data, "script": main or ""}
        return data


SCRIPT_TASKS: list[type[TaskBase]] = [
    ShellCommandsTask,
    ShellScriptTask,
    PythonCommandsTask,
    PythonScriptTask,
]
