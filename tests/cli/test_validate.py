from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from daemon.cli.main import cli
from tests.language.flows import GOOD, flow

LEGACY = flow("- id: t\n  type: io.kestra.core.tasks.log.Log\n  message: hi\n")
BROKEN = flow("- id: t\n  type: io.kestra.plugin.core.log.Log\n  message: hi\n  retyr: 2\n")


def invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["validate", *args])
    return result.exit_code, result.output


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    (tmp_path / "good.yml").write_text(GOOD)
    return tmp_path


def test_valid_folder_exits_0_with_summary(folder: Path) -> None:
    code, out = invoke(str(folder))
    assert code == 0
    assert out == "1 file, 0 errors, 0 warnings\n"


def test_errors_exit_1_and_name_file_line(folder: Path) -> None:
    (folder / "sub").mkdir()
    (folder / "sub" / "broken.yaml").write_text(BROKEN)
    code, out = invoke(str(folder))
    assert code == 1
    lines = out.splitlines()
    assert lines[0] == (
        f"{folder / 'sub' / 'broken.yaml'}:7:5: error: tasks[0].retyr: unknown property 'retyr' for "
        "io.kestra.plugin.core.log.Log (hint: did you mean 'retry'?)"
    )
    assert lines[-1] == "2 files, 1 error, 0 warnings"


def test_warnings_pass_unless_strict(tmp_path: Path) -> None:
    path = tmp_path / "legacy.yml"
    path.write_text(LEGACY)
    assert invoke(str(path))[0] == 0
    code, out = invoke("--strict", str(path))
    assert code == 1 and "1 warning" in out


def test_json_output_shape(tmp_path: Path) -> None:
    path = tmp_path / "broken.yml"
    path.write_text(BROKEN)
    code, out = invoke("--format", "json", str(path))
    assert code == 1
    (item,) = json.loads(out)
    assert item == {
        "file": str(path),
        "line": 7,
        "column": 5,
        "severity": "error",
        "path": "tasks[0].retyr",
        "message": "unknown property 'retyr' for io.kestra.plugin.core.log.Log",
        "hint": "did you mean 'retry'?",
    }
    (tmp_path / "good.yml").write_text(GOOD)
    assert invoke("--format", "json", str(tmp_path / "good.yml")) == (0, "[]\n")


def test_usage_errors_exit_2(tmp_path: Path) -> None:
    assert invoke()[0] == 2
    assert invoke(str(tmp_path / "missing.yml"))[0] == 2
    assert invoke("--format", "xml", str(tmp_path))[0] == 2


def test_bad_yaml_is_a_diagnostic_not_a_traceback(tmp_path: Path) -> None:
    (tmp_path / "a.yml").write_text("id: a\n  bad: [\n")
    (tmp_path / "b.yml").write_bytes(b"\xff\xfe garbage")
    (tmp_path / "c.yml").write_text("message: {{ inputs.x }}\n")
    code, out = invoke(str(tmp_path))
    assert code == 1
    assert "Traceback" not in out
    assert f"{tmp_path / 'a.yml'}:2:" in out and "YAML syntax error" in out
    assert "file is not valid UTF-8" in out
    assert 'quote it: message: "{{ inputs.x }}"' in out


@pytest.mark.integration
def test_console_script_in_a_subprocess(folder: Path) -> None:
    (folder / "broken.yml").write_text(BROKEN)
    run = subprocess.run(
        [sys.executable, "-c", "from daemon.cli.main import main; main()", "validate", str(folder)],
        capture_output=True,
        text=True,
    )
    assert run.returncode == 1
    assert "broken.yml:7:5: error" in run.stdout and run.stderr == ""


def test_cli_import_does_not_load_the_model() -> None:
    code = (
        "import sys; import daemon.cli.main, daemon.cli.validate; "
        "print('daemon.language.model' in sys.modules, 'pydantic' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]


def test_strict_turns_flowds_own_checks_into_errors(tmp_path: Path) -> None:
    path = tmp_path / "undeclared.yml"
    path.write_text(flow("- id: t\n  type: io.kestra.plugin.core.log.Log\n  message: '{{ inputs.nope }}'\n"))
    code, out = invoke(str(path))
    assert code == 0 and "warning: tasks[0].message: 'inputs.nope' is not a declared input" in out
    code, out = invoke("--strict", str(path))
    assert code == 1 and "error: tasks[0].message: 'inputs.nope' is not a declared input" in out
