"""Diagnostics and the exception tree.

FlowdError                  root; ``exit_code`` maps it to the CLI's exit status
├── UsageError              bad command-line arguments (exit 2)
├── FlowFileError           a flow file could not be used; carries its diagnostics (exit 1)
├── InputError              an execution input is missing or has the wrong type (exit 2)
├── FlowNotFound            no deployed flow with that namespace/id (exit 2)
├── SourceError             the flow source (Git or folder) cannot be read (exit 2)
├── StoreError              the database refused an operation (exit 1)
└── TaskError               a task failed while running (recorded on the task run, never reaches the CLI)
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

Severity = Literal["error", "warning"]


@dataclass(frozen=True, slots=True)
class Diagnostic:
    """One problem found in a flow file, pointing at the offending value."""

    file: str
    line: int
    column: int
    severity: Severity
    path: str
    message: str
    hint: str | None = None

    def render(self) -> str:
        """``path:line:column: severity: field.path: message`` (+ hint)."""
        where = f"{self.path}: " if self.path else ""
        text = f"{self.file}:{self.line}:{self.column}: {self.severity}: {where}{self.message}"
        if self.hint:
            text += f" (hint: {self.hint})"
        return text

    def as_dict(self) -> dict[str, Any]:
        """The JSON shape printed by ``flowd validate --format json``."""
        return asdict(self)


class FlowdError(Exception):
    """Something went wrong in flowd."""

    exit_code: int = 1

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message or (self.__doc__ or "").strip())

    @property
    def message(self) -> str:
        return str(self.args[0])


class UsageError(FlowdError):
    """The command was called with wrong arguments."""

    exit_code = 2


class FlowFileError(FlowdError):
    """A flow file is invalid."""

    exit_code = 1

    def __init__(self, diagnostics: list[Diagnostic]) -> None:
        self.diagnostics = diagnostics
        first = next((d for d in diagnostics if d.severity == "error"), None)
        super().__init__(first.render() if first else "invalid flow file")


class InputError(FlowdError):
    """An execution input is missing or invalid."""

    exit_code = 2

    def __init__(self, input_id: str, message: str) -> None:
        self.input_id = input_id
        super().__init__(f"input '{input_id}': {message}")


class FlowNotFound(FlowdError):
    """No deployed flow has that namespace and id."""

    exit_code = 2

    def __init__(self, namespace: str, flow_id: str) -> None:
        self.namespace = namespace
        self.flow_id = flow_id
        super().__init__(f"flow {namespace}/{flow_id} is not deployed")


class SourceError(FlowdError):
    """The flow source cannot be read."""

    exit_code = 2


class StoreError(FlowdError):
    """The store refused an operation."""

    exit_code = 1


class TaskError(FlowdError):
    """A task failed; the message is logged on its task run."""

    exit_code = 1
