"""Key-value tasks and kv() end to end through the engine, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from daemon.store import Store
from tests.engine.conftest import Harness

KV = "io.kestra.plugin.core.kv"
FLOW = f"""
id: kv
namespace: test.kv
tasks:
  - {{id: set_day, type: {KV}.Set, key: day, value: monday}}
  - {{id: set_count, type: {KV}.Set, key: count, value: "41", kvType: NUMBER}}
  - {{id: set_doc, type: {KV}.Set, key: doc, value: '{{"a": [1, 2]}}', kvType: JSON}}
  - {{id: set_other, type: {KV}.Set, key: day, value: tuesday, namespace: other.ns}}
  - {{id: get, type: {KV}.Get, key: day}}
  - {{id: get_other, type: {KV}.Get, key: day, namespace: other.ns}}
  - {{id: keys, type: {KV}.GetKeys}}
  - {{id: keys_d, type: {KV}.GetKeys, prefix: d}}
  - id: expr
    type: io.kestra.plugin.core.debug.Return
    format: >-
      {{{{ kv('count') + 1 }}}}-{{{{ kv('doc').a[1] }}}}-{{{{ kv('nope', errorOnMissing=false) ?? 'none' }}}}
  - {{id: delete, type: {KV}.Delete, key: day}}
  - {{id: delete_again, type: {KV}.Delete, key: day}}
  - {{id: after, type: {KV}.Get, key: day}}
  - id: absorbed
    type: io.kestra.plugin.core.debug.Return
    format: "{{{{ kv('day', errorOnMissing=true) ?? 'gone' }}}}"
"""


def test_kv_tasks_and_function(store: Store, tmp_path: Path) -> None:
    harness = Harness(store, tmp_path / "home")
    ex = harness.run(FLOW)
    assert ex.state == "SUCCESS", harness.logs(ex.id)
    out = {r.task_id: r.outputs or {} for r in harness.runs(ex.id)}
    assert out["get"] == {"value": "monday"}
    assert out["get_other"] == {"value": "tuesday"}
    assert out["keys"] == {"keys": ["count", "day", "doc"]}
    assert out["keys_d"] == {"keys": ["day", "doc"]}
    assert out["expr"]["value"] == "42-2-none"
    assert out["delete"] == {"deleted": True}
    assert out["delete_again"] == {"deleted": False}
    assert out["after"] == {"value": None}
    assert out["absorbed"]["value"] == "gone"
    assert store.kv.get("other.ns", "day", now=datetime.now(UTC)) == "tuesday"


def test_get_error_on_missing_fails_the_task(store: Store, tmp_path: Path) -> None:
    harness = Harness(store, tmp_path / "home")
    ex = harness.run(
        "id: miss\nnamespace: test.kv\ntasks:\n"
        f"  - {{id: g, type: {KV}.Get, key: nope, errorOnMissing: true}}\n"
    )
    assert ex.state == "FAILED"
    assert any("no key 'nope'" in line for line in harness.logs(ex.id))
