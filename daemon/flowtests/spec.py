"""The test file format and its loader.

A test file is a YAML file named ``*.test.yml`` / ``*.test.yaml`` (beside the flows or in any folder):

```yaml
id: hello_tests
namespace: tutorial
flowId: hello
testCases:
  - id: greets_by_name
    type: io.kestra.core.tests.flow.UnitTest   # optional: the only type there is
    fixtures:
      inputs: {name: Ada}
      files: {data.csv: "a,b\\n1,2\\n"}       # usable as {{ fileURI('data.csv') }} in fixtures
      tasks:
        - id: notify                          # not run: ends in ``state`` with ``outputs``
          state: SUCCESS
          outputs: {code: 200}
    assertions:
      - value: "{{ outputs.greet.value }}"
        equalTo: Hello Ada
      - taskId: notify                          # optional: the value defaults to that task's state
        equalTo: SUCCESS
```
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from daemon.errors import Diagnostic, FlowFileError
from daemon.language.validate import TEST_FILE_SUFFIXES, is_test_file
from daemon.language.yamlsafe import format_path, load_yaml

__all__ = ["TEST_FILE_SUFFIXES", "Assertion", "TestCase", "TestSuite", "is_test_file", "load_suite"]

UNIT_TEST = "io.kestra.core.tests.flow.UnitTest"
OPERATORS = (
    "equalTo",
    "notEqualTo",
    "contains",
    "startsWith",
    "endsWith",
    "isNull",
    "isNotNull",
    "greaterThan",
    "greaterThanOrEqualTo",
    "lessThan",
    "lessThanOrEqualTo",
    "in",
    "notIn",
)
TaskState = Literal["SUCCESS", "WARNING", "FAILED", "KILLED"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class TaskFixture(_Strict):
    """A task that is not run: it ends at once in ``state`` with ``outputs``."""

    id: str
    description: str | None = None
    state: TaskState = "SUCCESS"
    outputs: dict[str, Any] = Field(default_factory=dict)


class Fixtures(_Strict):
    inputs: dict[str, Any] = Field(default_factory=dict)
    files: dict[str, str] = Field(default_factory=dict)
    tasks: list[TaskFixture] = Field(default_factory=list)


class Assertion(_Strict):
    """``value`` (an expression; by default the state of ``taskId``, or of the execution) checked with
    exactly one operator."""

    value: Any = None
    task_id: str | None = Field(default=None, alias="taskId")
    description: str | None = None
    error_message: str | None = Field(default=None, alias="errorMessage")
    equal_to: Any = Field(default=None, alias="equalTo")
    not_equal_to: Any = Field(default=None, alias="notEqualTo")
    contains: Any = None
    starts_with: Any = Field(default=None, alias="startsWith")
    ends_with: Any = Field(default=None, alias="endsWith")
    is_null: bool | None = Field(default=None, alias="isNull")
    is_not_null: bool | None = Field(default=None, alias="isNotNull")
    greater_than: Any = Field(default=None, alias="greaterThan")
    greater_than_or_equal_to: Any = Field(default=None, alias="greaterThanOrEqualTo")
    less_than: Any = Field(default=None, alias="lessThan")
    less_than_or_equal_to: Any = Field(default=None, alias="lessThanOrEqualTo")
    in_: list[Any] | None = Field(default=None, alias="in")
    not_in: list[Any] | None = Field(default=None, alias="notIn")

    @model_validator(mode="after")
    def _one_operator(self) -> Assertion:
        given = self.operators()
        if len(given) != 1:
            names = ", ".join(OPERATORS)
            found = ", ".join(name for name, _ in given) or "none"
            raise ValueError(f"an assertion needs exactly one operator ({names}); found {found}")
        return self

    def operators(self) -> list[tuple[str, Any]]:
        """The operators set on this assertion, by their YAML names, with their expected values."""
        fields = type(self).model_fields
        out = []
        for name, info in fields.items():
            alias = info.alias or name
            if alias in OPERATORS and name in self.model_fields_set:
                out.append((alias, getattr(self, name)))
        return out

    @property
    def operator(self) -> tuple[str, Any]:
        """The one operator and its expected value."""
        return self.operators()[0]


class TestCase(_Strict):
    __test__ = False  # not a pytest class

    id: str
    type: str = UNIT_TEST
    description: str | None = None
    disabled: bool = False
    fixtures: Fixtures = Field(default_factory=Fixtures)
    assertions: list[Assertion] = Field(default_factory=list)


class TestSuite(_Strict):
    __test__ = False

    id: str
    namespace: str
    flow_id: str = Field(alias="flowId")
    description: str | None = None
    disabled: bool = False
    test_cases: list[TestCase] = Field(alias="testCases", min_length=1)
    file: str = Field(default="<test>", exclude=True)
    lines: dict[str, int] = Field(default_factory=dict, exclude=True)  # "case id" -> line

    @property
    def flow_uid(self) -> str:
        return f"{self.namespace}/{self.flow_id}"


def load_suite(text: str, file: str) -> TestSuite:
    """Parse a test file; FlowFileError with file:line:field diagnostics when it is not valid."""
    loaded = load_yaml(text, file)
    errors = [d for d in loaded.diagnostics if d.severity == "error"]
    if errors:
        raise FlowFileError(errors)
    try:
        suite = TestSuite.model_validate(loaded.data)
    except ValidationError as exc:
        diagnostics = []
        for err in exc.errors():
            loc = tuple(err["loc"])
            if loc and loc[-1] == "[key]":
                loc = loc[:-1]
            line, column = loaded.marks.key(loc)
            diagnostics.append(Diagnostic(file, line, column, "error", format_path(loc), _message(err)))
        raise FlowFileError(diagnostics) from None
    if unknown := [c.id for c in suite.test_cases if c.type != UNIT_TEST]:
        line, column = loaded.marks.key(("testCases",))
        raise FlowFileError(
            [Diagnostic(file, line, column, "error", "testCases", f"unknown test case type in {unknown}")]
        )
    lines = {c.id: loaded.marks.value(("testCases", i))[0] for i, c in enumerate(suite.test_cases)}
    return suite.model_copy(update={"file": file, "lines": lines})


def _message(err: Any) -> str:
    if err["type"] == "extra_forbidden":
        return "unknown property"
    if err["type"] == "missing":
        return "required property is missing"
    if err["type"] == "too_short":
        return "needs at least one entry"
    return str(err["msg"]).removeprefix("Value error, ")
