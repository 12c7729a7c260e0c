"""``flowd run`` option parsing (the daemon itself is tested as a subprocess in tests/server)."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from daemon.cli.run import command, parse_seconds
from daemon.errors import UsageError
from daemon.server.process import split_listen


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("30s", 30.0), ("500ms", 0.5), ("2m", 120.0), ("1h", 3600.0), ("15", 15.0), ("PT1M30S", 90.0)],
)
def test_durations(text: str, seconds: float) -> None:
    assert parse_seconds(text, option="--interval") == seconds


def test_bad_duration_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="--interval 'soon'"):
        parse_seconds("soon", option="--interval")


def test_listen() -> None:
    assert split_listen("127.0.0.1:8080") == ("127.0.0.1", 8080)
    assert split_listen(":9000") == ("0.0.0.0", 9000)
    assert split_listen("[::1]:8080") == ("::1", 8080)
    with pytest.raises(ValueError, match="HOST:PORT"):
        split_listen("localhost")


@pytest.mark.parametrize(
    "args", [["--interval", "never"], ["--workers", "0"], ["--listen", "nowhere"], ["--grace-period", "x"]]
)
def test_bad_options_exit_2(args: list[str], flowd_home: object) -> None:
    result = CliRunner().invoke(command, ["--source", ".", *args])
    assert result.exit_code == 2, result.output


def test_environment_sets_the_options(monkeypatch: pytest.MonkeyPatch, flowd_home: object) -> None:
    monkeypatch.setenv("FLOWD_WORKERS", "0")
    result = CliRunner().invoke(command, ["--source", "."])
    assert result.exit_code == 2 and "--workers" in result.output
