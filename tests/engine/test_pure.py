"""The pure core: planner, retry delays, input typing, states (no database)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import yaml

from daemon.engine import states as S
from daemon.engine.inputs import resolve_inputs
from daemon.engine.planner import TaskIndex, plan
from daemon.engine.retry import retry_delay
from daemon.errors import InputError
from daemon.language.common import Retry
from daemon.language.model import Flow, Input

T0 = datetime(2025, 1, 1, tzinfo=UTC)


@dataclass
class Run:
    id: str
    task_id: str
    state: str
    parent_id: str | None = None
    iteration: int | None = None
    value: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)


def index(text: str) -> TaskIndex:
    return TaskIndex(Flow.model_validate(yaml.safe_load(text)))


def log(task_id: str) -> str:
    return f"  - {{id: {task_id}, type: io.kestra.plugin.core.log.Log, message: x}}\n"


def test_sequential_creates_one_at_a_time_and_stops_on_failure() -> None:
    idx = index("id: f\nnamespace: t\ntasks:\n" + log("a") + log("b"))
    assert [c.task_id for c in plan(idx, []).create] == ["a"]
    assert plan(idx, [Run("1", "a", "RUNNING")]).empty
    assert [c.task_id for c in plan(idx, [Run("1", "a", "SUCCESS")]).create] == ["b"]
    assert plan(idx, [Run("1", "a", "FAILED")]).end == "FAILED"
    assert plan(idx, [Run("1", "a", "SUCCESS"), Run("2", "b", "WARNING")]).end == "WARNING"


def test_parallel_limit_and_foreach_iterations() -> None:
    idx = index(
        "id: f\nnamespace: t\ntasks:\n  - id: p\n    type: io.kestra.plugin.core.flow.Parallel\n"
        "    concurrent: 2\n    tasks:\n" + "  " + log("a") + "  " + log("b") + "  " + log("c")
    )
    p = Run("p", "p", "RUNNING", meta={"decided": True})
    assert [c.task_id for c in plan(idx, [p]).create] == ["a", "b"]
    running = [p, Run("1", "a", "SUCCESS", "p"), Run("2", "b", "RUNNING", "p")]
    assert [c.task_id for c in plan(idx, running).create] == ["c"]
    done = [p, Run("1", "a", "SUCCESS", "p"), Run("2", "b", "SUCCESS", "p"), Run("3", "c", "SUCCESS", "p")]
    assert plan(idx, done).finish == [("p", "SUCCESS")]

    each = index(
        "id: f\nnamespace: t\ntasks:\n  - id: e\n    type: io.kestra.plugin.core.flow.ForEach\n"
        "    values: [x, y, z]\n    concurrencyLimit: 2\n    tasks:\n" + "  " + log("i")
    )
    e = Run("e", "e", "RUNNING", meta={"decided": True, "values": ["x", "y", "z"]})
    created = plan(each, [e]).create
    assert [(c.task_id, c.value, c.iteration) for c in created] == [("i", "x", 0), ("i", "y", 1)]


def test_stopping_ends_once_everything_is_terminal() -> None:
    idx = index("id: f\nnamespace: t\ntasks:\n" + log("a") + log("b"))
    assert plan(idx, [Run("1", "a", "RUNNING")], stopping="KILLED").empty
    assert plan(idx, [Run("1", "a", "KILLED")], stopping="KILLED").end == "KILLED"


def test_retry_delays() -> None:
    constant = Retry(type="constant", interval=timedelta(seconds=2), maxAttempt=3)
    assert retry_delay(constant, attempts_done=1, first_start=T0, now=T0) == timedelta(seconds=2)
    assert retry_delay(constant, attempts_done=3, first_start=T0, now=T0) is None
    expo = Retry(type="exponential", interval=timedelta(seconds=1), delayFactor=3, maxAttempt=9,
                 maxInterval=timedelta(seconds=5))  # fmt: skip
    delays = [retry_delay(expo, attempts_done=n, first_start=T0, now=T0) for n in (1, 2, 3)]
    assert delays == [timedelta(seconds=1), timedelta(seconds=3), timedelta(seconds=5)]
    bounded = Retry(type="constant", interval=timedelta(seconds=10), maxDuration=timedelta(seconds=15))
    assert retry_delay(bounded, attempts_done=1, first_start=T0, now=T0 + timedelta(seconds=10)) is None
    assert retry_delay(None, attempts_done=1, first_start=T0, now=T0) is None


def test_input_types() -> None:
    specs = [
        Input(id="s", type="STRING", validator="[a-z]+"),
        Input(id="i", type="INT", min=0, max=10),
        Input(id="b", type="BOOLEAN"),
        Input(id="sel", type="SELECT", values=["a", "b"]),
        Input(id="m", type="MULTISELECT", values=["a", "b"]),
        Input(id="d", type="DATETIME"),
        Input(id="dur", type="DURATION"),
        Input(id="j", type="JSON"),
        Input(id="arr", type="ARRAY", itemType="INT"),
        Input(id="e", type="EMAIL"),
        Input(id="opt", type="STRING", required=False),
        Input(id="def", type="INT", defaults=5),
    ]
    given = {"s": "abc", "i": "3", "b": "true", "sel": "a", "m": '["a","b"]', "d": "2024-01-01T00:00:00Z",
             "dur": "PT1H", "j": '{"k": 1}', "arr": "[1, 2]", "e": "a@b.io"}  # fmt: skip
    out = resolve_inputs(specs, given)
    assert out == {
        "s": "abc", "i": 3, "b": True, "sel": "a", "m": ["a", "b"], "d": "2024-01-01T00:00:00Z",
        "dur": "PT1H",
        "j": {"k": 1}, "arr": [1, 2], "e": "a@b.io", "opt": None, "def": 5,
    }  # fmt: skip


@pytest.mark.parametrize(
    ("spec", "value"),
    [
        (Input(id="x", type="STRING", validator="[a-z]+"), "ABC"),
        (Input(id="x", type="INT", max=2), "3"),
        (Input(id="x", type="BOOLEAN"), "maybe"),
        (Input(id="x", type="SELECT", values=["a"]), "b"),
        (Input(id="x", type="DATETIME"), "yesterday"),
        (Input(id="x", type="EMAIL"), "nope"),
        (Input(id="x", type="URI"), "no scheme"),
        (Input(id="x", type="INT"), None),
    ],
)
def test_bad_inputs_name_the_input(spec: Input, value: Any) -> None:
    with pytest.raises(InputError, match="'x'"):
        resolve_inputs([spec], {} if value is None else {"x": value})


def test_states() -> None:
    assert S.can_transition("RUNNING", "SUCCESS") and not S.can_transition("SUCCESS", "RUNNING")
    assert S.worst(["SUCCESS", "WARNING", "SKIPPED"]) == "WARNING"
    assert S.worst(["WARNING", "FAILED"]) == "FAILED"
    with pytest.raises(S.IllegalTransition):
        S.check_transition("KILLED", "RUNNING")
