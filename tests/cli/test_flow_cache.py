"""``flowd sync`` remembers parsed flows under ``FLOWD_HOME/cache``; ``flowd execute`` runs from there."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from daemon.cli.main import cli
from daemon.language import validate
from daemon.language.parsed_cache import DB_NAME, cache_directory

FLOW = """id: hello
namespace: test
tasks:
  - {id: r, type: io.kestra.plugin.core.debug.Return, format: "ok"}
"""


@pytest.fixture
def source(tmp_path: Path) -> Path:
    folder = tmp_path / "flows"
    folder.mkdir()
    (folder / "hello.yml").write_text(FLOW)
    return folder


def test_sync_fills_the_cache_and_execute_reads_it(
    source: Path, flowd_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    runner = CliRunner()
    synced = runner.invoke(cli, ["sync", "--source", str(source)])
    assert synced.exit_code == 0, synced.output
    assert (flowd_home / "cache" / DB_NAME).is_file()
    assert cache_directory() is None  # the command's block ended: library callers see no cache

    def no_validation(text: str, file: str = "<flow>") -> None:
        raise AssertionError("the deployed flow was validated again")

    monkeypatch.setattr(validate, "load_flow", no_validation)
    run = runner.invoke(cli, ["execute", "test/hello", "--local"])
    assert run.exit_code == 0, run.output
    assert "SUCCESS" in run.output


def test_the_cache_can_be_switched_off(
    source: Path, flowd_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FLOWD_FLOW_CACHE", "0")
    runner = CliRunner()
    assert runner.invoke(cli, ["sync", "--source", str(source)]).exit_code == 0
    assert runner.invoke(cli, ["execute", "test/hello", "--local"]).exit_code == 0
    assert not (flowd_home / "cache").exists()
