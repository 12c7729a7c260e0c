"""``flowd plan --against URL``: plan against a running daemon's API (token-protected, read-only), so CI
needs no database credentials. A real uvicorn server on 127.0.0.1 serves the app over a real store."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from daemon.cli.main import cli
from daemon.clock import SystemClock
from daemon.reconcile.hashing import content_hash
from daemon.store import Store
from tests.server.served_api import free_port, served_api

TOKEN = "s3cret-token"


def flow(fid: str, message: str = "hi") -> str:
    head = f"id: {fid}\nnamespace: team\ntasks:\n"
    return head + f"  - id: log\n    type: io.kestra.plugin.core.log.Log\n    message: {message}\n"


@pytest.fixture
def daemon_url(store: Store, tmp_path: Path) -> Iterator[str]:
    for fid, message in (("a", "hi"), ("b", "hi"), ("gone", "bye")):
        text = flow(fid, message)
        store.flows.deploy(
            "team",
            fid,
            source=text,
            hash=content_hash(text),
            path=f"{fid}.yml",
            commit=None,
            now=SystemClock().now(),
        )
    with served_api(store, tmp_path / "home", token=TOKEN) as url:
        yield url


def test_plan_against_a_daemon(daemon_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    flows = tmp_path / "pr"
    flows.mkdir()
    (flows / "a.yml").write_text(flow("a"))
    (flows / "b.yml").write_text(flow("b", "changed"))
    (flows / "c.yml").write_text(flow("c"))
    monkeypatch.setenv("FLOWD_HOME", str(tmp_path / "cli-home"))
    monkeypatch.delenv("FLOWD_DATABASE_URL", raising=False)
    runner = CliRunner()
    args = ["plan", "--source", str(flows), "--against", daemon_url, "--format", "json"]
    refused = runner.invoke(cli, args)
    assert refused.exit_code == 2 and "refused the API token" in refused.output
    result = runner.invoke(cli, [*args, "--token", TOKEN])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    assert doc["summary"] == "1 to create, 1 to update, 1 to delete, 1 unchanged"
    assert [c["uid"] for c in doc["created"]] == ["team/c"]
    assert [c["uid"] for c in doc["deleted"]] == ["team/gone"]
    [updated] = doc["updated"]
    assert "-    message: hi" in updated["diff"] and "+    message: changed" in updated["diff"]
    # the CLI opened no database of its own
    assert not (tmp_path / "cli-home" / "flowd.db").exists()
    markdown = runner.invoke(cli, [*args[:-2], "--format", "markdown", "--token", TOKEN])
    assert markdown.output.startswith("<!-- flowd-plan -->\n### flowd plan: 1 to create")


def test_unreachable_daemon_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "a.yml").write_text(flow("a"))
    result = CliRunner().invoke(
        cli, ["plan", "--source", str(tmp_path), "--against", f"http://127.0.0.1:{free_port()}"]
    )
    assert result.exit_code == 2
    assert "cannot reach the daemon at http://127.0.0.1:" in result.output
