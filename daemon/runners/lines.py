"""Turn a script's output bytes into lines, and route each line: protocol message or plain text."""

from __future__ import annotations

from typing import Any

from daemon.runners.protocol import parse_line
from daemon.runners.spec import LineHandler

# A line longer than this is passed on in pieces, so output without newlines cannot grow memory forever.
MAX_LINE_BYTES = 16 * 1024 * 1024


class LineSink:
    """Receives whole lines; collects protocol outputs/metrics and hands every other line to ``on_line``."""

    def __init__(self, on_line: LineHandler) -> None:
        self._on_line = on_line
        self.outputs: dict[str, Any] = {}
        self.metrics: list[dict[str, Any]] = []

    def line(self, stream: str, text: str) -> None:
        """Route one line read from ``stream`` ("stdout" or "stderr")."""
        message = parse_line(text)
        if message is None:
            self._on_line(stream, text)
            return
        self.outputs.update(message.outputs)  # later keys win
        self.metrics.extend(message.metrics)
        # on_line carries no level, so protocol log entries arrive as stdout lines.
        for entry in message.logs:
            self._on_line("stdout", entry.message)


class LineSplitter:
    """Splits a byte stream arriving in chunks into utf-8 lines (invalid bytes replaced) for a sink."""

    def __init__(self, stream: str, sink: LineSink, *, max_line: int = MAX_LINE_BYTES) -> None:
        self._stream = stream
        self._sink = sink
        self._max_line = max_line
        self._buffer = bytearray()

    def feed(self, data: bytes) -> None:
        """Add a chunk; every completed line goes to the sink at once."""
        buffer = self._buffer
        buffer += data
        start = 0
        # A multi-byte utf-8 sequence never contains b"\n", so splitting bytes first is safe.
        while (end := buffer.find(b"\n", start)) >= 0:
            self._emit(buffer[start:end])
            start = end + 1
        del buffer[:start]
        while len(buffer) > self._max_line:
            self._emit(buffer[: self._max_line])
            del buffer[: self._max_line]

    def close(self) -> None:
        """End of stream: a last line without a newline is still a line."""
        if self._buffer:
            self._emit(self._buffer)
            self._buffer = bytearray()

    def _emit(self, raw: bytes | bytearray) -> None:
        if raw.endswith(b"\r"):
            raw = raw[:-1]
        self._sink.line(self._stream, raw.decode("utf-8", errors="replace"))
