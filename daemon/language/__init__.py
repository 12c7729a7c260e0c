"""The flow language: YAML loading with marks, the flow model, the JSON schema, semantic checks, validation.

Public API (imported lazily, so ``import daemon.language.aliases`` stays cheap)::

    validate_text(text, file) -> ValidationResult      one file's text; never raises on bad input
    validate_paths(paths) -> list[ValidationResult]    files and folders, with checks across files
    load_flow(text, file="<flow>") -> Flow             raises FlowFileError with every diagnostic
    ValidationResult(file, flow, diagnostics).ok
    load_yaml(text, file) -> LoadedYaml(data, marks, diagnostics)   raises YamlLoadError
    flow_schema() -> dict                              the JSON schema of a flow file
    Flow                                               the pydantic flow model
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from daemon.language.model import Flow
    from daemon.language.schema import flow_schema
    from daemon.language.validate import ValidationResult, load_flow, validate_paths, validate_text
    from daemon.language.yamlsafe import LoadedYaml, Marks, YamlLoadError, load_yaml

_EXPORTS = {
    "Flow": "model",
    "ValidationResult": "validate",
    "load_flow": "validate",
    "validate_paths": "validate",
    "validate_text": "validate",
    "LoadedYaml": "yamlsafe",
    "Marks": "yamlsafe",
    "YamlLoadError": "yamlsafe",
    "load_yaml": "yamlsafe",
    "flow_schema": "schema",
}

__all__ = [
    "Flow",
    "LoadedYaml",
    "Marks",
    "ValidationResult",
    "YamlLoadError",
    "flow_schema",
    "load_flow",
    "load_yaml",
    "validate_paths",
    "validate_text",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'daemon.language' has no attribute {name!r}")
    return getattr(importlib.import_module(f"daemon.language.{module}"), name)
