"""The ::{...}:: protocol parser and the line splitter/sink (pure)."""

from __future__ import annotations

import pytest

from daemon.runners.lines import LineSink, LineSplitter
from daemon.runners.protocol import LogEntry, ProtocolMessage, parse_line


def test_outputs_line() -> None:
    assert parse_line('::{"outputs": {"a": 1}}::') == ProtocolMessage(outputs={"a": 1})


def test_surrounding_whitespace_is_ignored() -> None:
    assert parse_line('  ::{"outputs": {"a": [1, 2]}}::\r') == ProtocolMessage(outputs={"a": [1, 2]})


def test_metrics_and_logs() -> None:
    message = parse_line(
        '::{"metrics": [{"name": "n", "type": "counter", "value": 1}],'
        ' "logs": [{"level": "warn", "message": "m"}, "plain"]}::'
    )
    assert message is not None
    assert message.metrics == [{"name": "n", "type": "counter", "value": 1}]
    assert message.logs == [LogEntry("WARN", "m"), LogEntry("INFO", "plain")]


@pytest.mark.parametrize(
    "line",
    [
        "hello",
        "::",
        "::{}::",
        "::{not json}::",
        '::{"other": 1}::',
        '::{"outputs": [1]}::',
        '::{"metrics": {"a": 1}}::',
        '::{"metrics": [1]}::',
        '::{"logs": [{"level": "INFO"}]}::',
        '::["outputs"]::',
        'x ::{"outputs": {"a": 1}}::',
    ],
)
def test_anything_else_is_plain_text(line: str) -> None:
    assert parse_line(line) is None


def collect() -> tuple[LineSink, list[tuple[str, str]]]:
    lines: list[tuple[str, str]] = []
    return LineSink(lambda stream, line: lines.append((stream, line))), lines


def test_sink_merges_outputs_later_keys_win() -> None:
    sink, lines = collect()
    sink.line("stdout", '::{"outputs": {"a": 1, "b": 1}}::')
    sink.line("stderr", '::{"outputs": {"b": 2}}::')
    sink.line("stderr", "text")
    assert sink.outputs == {"a": 1, "b": 2}
    assert lines == [("stderr", "text")]


def test_splitter_joins_chunks_and_splits_lines() -> None:
    sink, lines = collect()
    splitter = LineSplitter("stdout", sink)
    for chunk in [b"he", b"llo\nwor", b"ld\r\n\n", "é".encode()[:1], "é".encode()[1:], b"\xff"]:
        splitter.feed(chunk)
    assert lines == [("stdout", "hello"), ("stdout", "world"), ("stdout", "")]
    splitter.close()
    assert lines[-1] == ("stdout", "é\ufffd")


def test_splitter_caps_line_length() -> None:
    sink, lines = collect()
    splitter = LineSplitter("stderr", sink, max_line=4)
    # A line still open past the cap is passed on in pieces (chunks themselves are small).
    splitter.feed(b"abcdefghij")
    splitter.feed(b"\n")
    splitter.close()
    assert [line for _, line in lines] == ["abcd", "efgh", "ij"]
