from __future__ import annotations

import functools
import json
import shutil
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

from daemon.language.schema import flow_schema, render_schema
from daemon.language.yamlsafe import load_yaml
from tests.language.flows import GOOD, PUBLISHER, SEED_DIALECT

ROOT = Path(__file__).resolve().parents[2]
COMMITTED = ROOT / "schema" / "flow.schema.json"
UNKNOWN_TYPE = PUBLISHER.replace("io.kestra.plugin.core.log.Log", "io.kestra.plugin.core.log.Shout")


@functools.cache
def validator() -> jsonschema.Draft202012Validator:
    schema = flow_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def test_committed_schema_is_up_to_date() -> None:
    out = subprocess.run(
        [sys.executable, "-c", "from daemon.cli.main import main; main()", "schema"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert out == render_schema()
    assert COMMITTED.read_text() == out, (
        "schema/flow.schema.json is stale: run `flowd schema > schema/flow.schema.json`"
    )


def test_schema_is_standalone_draft_2020_12() -> None:
    schema = flow_schema()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"] and schema["title"]
    text = json.dumps(schema)
    assert '"discriminator"' not in text
    assert all(ref.startswith("#/$defs/") for ref in _refs(schema))


def _refs(node: object) -> list[str]:
    if isinstance(node, dict):
        return [v for k, v in node.items() if k == "$ref"] + [r for v in node.values() for r in _refs(v)]
    if isinstance(node, list):
        return [r for v in node for r in _refs(v)]
    return []


def test_task_type_is_an_enum_of_canonical_and_legacy_names() -> None:
    log = flow_schema()["$defs"]["LogTask"]
    assert log["properties"]["type"]["enum"][0] == "io.kestra.plugin.core.log.Log"
    assert "io.kestra.core.tasks.log.Log" in log["properties"]["type"]["enum"]
    assert log["additionalProperties"] is False
    assert "logToFile" in log["properties"] and "workerGroup" not in log["properties"]


@pytest.mark.parametrize("text", [GOOD, SEED_DIALECT, PUBLISHER])
def test_good_flows_pass(text: str) -> None:
    assert list(validator().iter_errors(load_yaml(text).data)) == []


@pytest.mark.parametrize(
    "text",
    [
        UNKNOWN_TYPE,
        PUBLISHER.replace("message: published", "message: published\n    retyr: 1"),
        PUBLISHER.replace("namespace: acme.reports\n", ""),
    ],
)
def test_bad_flows_fail(text: str) -> None:
    assert list(validator().iter_errors(load_yaml(text).data))


@pytest.mark.integration
def test_check_jsonschema_cli(tmp_path: Path) -> None:
    tool = shutil.which("check-jsonschema")
    if tool is None:
        pytest.skip("check-jsonschema is not installed")
    good = [tmp_path / "good.yml", tmp_path / "seed.yml", tmp_path / "publisher.yml"]
    for path, text in zip(good, [GOOD, SEED_DIALECT, PUBLISHER], strict=True):
        path.write_text(text)
    run = subprocess.run(
        [tool, "--schemafile", str(COMMITTED), *map(str, good)], capture_output=True, text=True
    )
    assert run.returncode == 0, run.stdout + run.stderr
    bad = tmp_path / "bad.yml"
    bad.write_text(UNKNOWN_TYPE)
    run = subprocess.run([tool, "--schemafile", str(COMMITTED), str(bad)], capture_output=True, text=True)
    assert run.returncode == 1, run.stdout + run.stderr
    assert "bad.yml" in run.stdout


PLUGIN_DEFAULTS_FLOW = """\
id: load
namespace: company.team
tasks:
  - id: create
    type: io.kestra.plugin.jdbc.postgresql.Queries
    sql: CREATE TABLE IF NOT EXISTS t (x int)
  - id: hello
    type: io.kestra.plugin.core.http.Request
pluginDefaults:
  - type: io.kestra.plugin.jdbc.postgresql
    values:
      url: jdbc:postgresql://localhost:5432/db
  - type: io.kestra.plugin.core.http.Request
    values:
      uri: https://example.com
"""


def test_properties_plugin_defaults_supply_are_not_required() -> None:
    assert list(validator().iter_errors(load_yaml(PLUGIN_DEFAULTS_FLOW).data)) == []


def test_check_jsonschema_accepts_a_flow_using_plugin_defaults(tmp_path: Path) -> None:
    flow = tmp_path / "load.yml"
    flow.write_text(PLUGIN_DEFAULTS_FLOW)
    result = subprocess.run(
        [sys.executable, "-m", "check_jsonschema", "--schemafile", str(COMMITTED), str(flow)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_flowd_still_checks_the_merged_task() -> None:
    from daemon.language.validate import validate_text

    without_defaults = PLUGIN_DEFAULTS_FLOW.split("pluginDefaults:")[0]
    result = validate_text(without_defaults, "load.yml")
    errors = [d for d in result.diagnostics if d.severity == "error"]
    assert {d.path.split(".")[-1] for d in errors} >= {"url", "uri"}, [d.render() for d in errors]
    assert validate_text(PLUGIN_DEFAULTS_FLOW, "load.yml").flow is not None


def test_schema_takes_kestras_null_switch_defaults() -> None:
    data = {
        "id": "f",
        "namespace": "a.b",
        "tasks": [
            {
                "id": "s",
                "type": "io.kestra.plugin.core.flow.Switch",
                "value": "x",
                "cases": {"x": [{"id": "l", "type": "io.kestra.plugin.core.log.Log", "message": "m"}]},
                "defaults": None,
            }
        ],
    }
    assert list(validator().iter_errors(data)) == []
