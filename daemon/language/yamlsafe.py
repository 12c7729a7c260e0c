"""Safe YAML loading that remembers where every key and value came from.

The file is composed into nodes by libyaml (``CSafeLoader`` when available) and then constructed here, in one
walk that also records marks, refuses duplicate keys, bounds alias expansion ("billion laughs") and notices an
unquoted ``{{ x }}`` that YAML read as a flow mapping. Only plain data comes out: str, int, float, bool, None,
list and dict with str keys. Unquoted dates stay strings, as Kestra reads them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import yaml
from yaml.constructor import SafeConstructor

from daemon.errors import Diagnostic, FlowFileError

Path = tuple[str | int, ...]
Position = tuple[int, int]

_BaseLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # type: ignore[assignment]

DEFAULT_MAX_BYTES = 1024 * 1024
DEFAULT_MAX_ALIAS_NODES = 10_000
# libyaml composes recursively in C: a file of 100,000 nested "[" overflows the C stack (a crash, not an
# exception), so the depth is checked on the event stream first whenever the text could be that deep
MAX_DEPTH = 100

_TAG = "tag:yaml.org,2002:"
_STR, _MAP, _SEQ, _MERGE = _TAG + "str", _TAG + "map", _TAG + "seq", _TAG + "merge"
_SCALAR_TAGS = {_TAG + name for name in ("null", "bool", "int", "float")}
_TIMESTAMP = _TAG + "timestamp"


@dataclass(frozen=True, slots=True)
class Marks:
    """JSON path -> 1-based (line, column) of the value, and of the key for mapping entries."""

    values: dict[Path, Position] = field(default_factory=dict)
    keys: dict[Path, Position] = field(default_factory=dict)

    def value(self, path: Path) -> Position:
        """Where the value at ``path`` starts; the nearest enclosing value when ``path`` is absent."""
        for end in range(len(path), -1, -1):
            found = self.values.get(path[:end])
            if found is not None:
                return found
        return (1, 1)

    def key(self, path: Path) -> Position:
        """Where the key of the entry at ``path`` starts (falls back to :meth:`value`)."""
        return self.keys.get(path) or self.value(path)


@dataclass(frozen=True, slots=True)
class LoadedYaml:
    """The data of one YAML document, its marks, and problems that still left usable data."""

    data: dict[str, Any]
    marks: Marks
    diagnostics: list[Diagnostic] = field(default_factory=list)


def format_path(path: Path) -> str:
    """``("tasks", 2, "retry")`` -> ``tasks[2].retry`` (how diagnostics name a field)."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else part
    return out


class YamlLoadError(FlowFileError):
    """The YAML text could not be turned into data (syntax, size, aliases, not one mapping)."""


class _Loader(_BaseLoader):  # type: ignore[valid-type,misc]
    """Safe loader: composes nodes only; construction is done by :class:`_Builder`."""


class _Fatal(Exception):
    def __init__(self, line: int, column: int, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.line, self.column, self.message, self.hint = line, column, message, hint


def load_yaml(
    text: str,
    file: str = "<flow>",
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_alias_nodes: int = DEFAULT_MAX_ALIAS_NODES,
) -> LoadedYaml:
    """Load one YAML mapping document safely, with marks.

    Raises :class:`YamlLoadError` when no data can be produced (syntax error, too large, too many alias
    expansions, several documents, empty, top level not a mapping). Duplicate keys, unquoted templates and
    unsupported tags are reported in ``LoadedYaml.diagnostics`` (as errors) so later checks still run.
    """

    def fatal(line: int, column: int, message: str, hint: str | None = None) -> YamlLoadError:
        return YamlLoadError([Diagnostic(file, line, column, "error", "", message, hint)])

    if len(text) > max_bytes or len(text.encode("utf-8", "surrogatepass")) > max_bytes:
        raise fatal(1, 1, f"file is larger than the {max_bytes} bytes a flow file may have")
    if text.startswith("\ufeff"):
        text = text[1:]
    loader = _Loader(text)
    try:
        if _could_nest_deeper(text, MAX_DEPTH):
            _check_depth(text, MAX_DEPTH)
        node = loader.get_single_node()
    except yaml.MarkedYAMLError as exc:
        raise _syntax_error(exc, text, file) from None
    except _Fatal as exc:
        raise fatal(exc.line, exc.column, exc.message, exc.hint) from None
    except yaml.YAMLError as exc:  # reader errors (control characters) carry a position, not a mark
        raise fatal(1, 1, f"YAML error: {str(exc).splitlines()[0]}") from None
    finally:
        loader.dispose()
    if node is None:
        raise fatal(1, 1, "empty file: a flow file is one YAML mapping with id, namespace and tasks")
    builder = _Builder(file, text, max_alias_nodes)
    try:
        data = builder.build(node, ())
    except _Fatal as exc:
        raise fatal(exc.line, exc.column, exc.message, exc.hint) from None
    if not isinstance(data, dict):
        line, column = node.start_mark.line + 1, node.start_mark.column + 1
        kind = type(data).__name__ if data is not None else "null"
        raise fatal(line, column, f"the top level must be a mapping (id, namespace, tasks, ...), not {kind}")
    return LoadedYaml(data, Marks(builder.values, builder.keys), builder.diagnostics)


def _could_nest_deeper(text: str, depth: int) -> bool:
    # every level needs an indicator ([ { - ?) or a key's ":"; most flows stay far below the limit
    bound = sum(text.count(c) for c in "[{-?:")
    return bound >= depth


def _check_depth(text: str, limit: int) -> None:
    loader = _Loader(text)
    depth = 0
    try:
        while loader.check_event():
            event = loader.get_event()
            if isinstance(event, yaml.CollectionStartEvent):
                depth += 1
                if depth > limit:
                    line, column = (m.line + 1, m.column + 1) if (m := event.start_mark) else (1, 1)
                    raise _Fatal(line, column, f"YAML nesting is deeper than {limit} levels")
            elif isinstance(event, yaml.CollectionEndEvent):
                depth -= 1
    finally:
        loader.dispose()


def _syntax_error(exc: yaml.MarkedYAMLError, text: str, file: str) -> YamlLoadError:
    mark = exc.problem_mark or exc.context_mark
    line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
    problem = exc.problem or "invalid YAML"
    hint = None
    if exc.context == "expected a single document in the stream":
        problem = "a flow file holds one YAML document, but another one starts here"
    elif exc.context:
        problem = f"{problem} ({exc.context}"
        if exc.context_mark and exc.context_mark is not mark:
            problem += f" at line {exc.context_mark.line + 1}"
        problem += ")"
    source_line = _line(text, line)
    if "\t" in source_line:
        hint = "indent YAML with spaces, not tabs"
    elif "{{" in source_line and not _quoted_braces(source_line):
        hint = "a value starting with '{{' must be quoted, e.g. key: \"{{ inputs.name }}\""
    return YamlLoadError([Diagnostic(file, line, column, "error", "", f"YAML syntax error: {problem}", hint)])


def _line(text: str, line: int) -> str:
    lines = text.splitlines()
    return lines[line - 1] if 0 < line <= len(lines) else ""


def _quoted_braces(source_line: str) -> bool:
    before = source_line.split("{{", 1)[0]
    return before.count('"') % 2 == 1 or before.count("'") % 2 == 1


class _Builder:
    """Turns a node tree into plain data, recording marks and non-fatal problems."""

    def __init__(self, file: str, text: str, max_alias_nodes: int) -> None:
        self.file = file
        self.text = text
        self.lines: list[str] | None = None
        self.max_alias_nodes = max_alias_nodes
        self.values: dict[Path, Position] = {}
        self.keys: dict[Path, Position] = {}
        self.diagnostics: list[Diagnostic] = []
        self.seen: set[int] = set()
        self.active: set[int] = set()
        self.expanded = 0
        self.constructor = SafeConstructor()

    def error(self, mark: yaml.Mark, path: Path, message: str, hint: str | None = None) -> None:
        self.diagnostics.append(
            Diagnostic(self.file, mark.line + 1, mark.column + 1, "error", format_path(path), message, hint)
        )

    def build(self, node: yaml.Node, path: Path) -> Any:
        key = id(node)
        if key in self.active:
            mark = node.start_mark
            raise _Fatal(mark.line + 1, mark.column + 1, "recursive YAML alias: a node contains itself")
        if (
            key in self.seen
        ):  # reached again through an alias: the expansion is what a billion laughs inflates
            self.expanded += 1
            if self.expanded > self.max_alias_nodes:
                mark = node.start_mark
                raise _Fatal(
                    mark.line + 1,
                    mark.column + 1,
                    f"YAML aliases expand to more than {self.max_alias_nodes} nodes",
                    "anchors and aliases are for small shared blocks; write the values out",
                )
        else:
            self.seen.add(key)
        self.values[path] = (node.start_mark.line + 1, node.start_mark.column + 1)
        if isinstance(node, yaml.ScalarNode):
            return self.scalar(node, path)
        self.active.add(key)
        try:
            if isinstance(node, yaml.SequenceNode):
                self.check_tag(node, _SEQ, path)
                return [self.build(child, (*path, index)) for index, child in enumerate(node.value)]
            assert isinstance(node, yaml.MappingNode)
            if node.flow_style and self.is_unquoted_template(node):
                return self.unquoted_template(node, path)
            self.check_tag(node, _MAP, path)
            return self.mapping(node, path)
        finally:
            self.active.discard(key)

    def check_tag(self, node: yaml.Node, expected: str, path: Path) -> None:
        if node.tag != expected:
            self.error(node.start_mark, path, f"unsupported YAML tag '{node.tag}'")

    def scalar(self, node: yaml.ScalarNode, path: Path) -> Any:
        tag = node.tag
        if tag in (_STR, _TIMESTAMP):
            return node.value
        if tag in _SCALAR_TAGS:
            construct: Callable[[Any, yaml.Node], Any] = self.constructor.yaml_constructors[tag]
            try:
                return construct(self.constructor, node)
            except ValueError:  # Python refuses to convert integers of more than 4,300 digits
                self.error(
                    node.start_mark, path, "number too large (more than 4300 digits)",
                    "quote it to keep it as text",
                )  # fmt: skip
                return node.value
        self.error(node.start_mark, path, f"unsupported YAML tag '{tag}'", "flowd reads plain YAML only")
        return node.value

    def mapping(self, node: yaml.MappingNode, path: Path) -> dict[str, Any]:
        out: dict[str, Any] = {}
        first_line: dict[str, int] = {}
        merges: list[yaml.Node] = []
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE:
                merges.append(value_node)
                continue
            if not isinstance(key_node, yaml.ScalarNode):
                self.error(key_node.start_mark, path, "a mapping key must be a plain string")
                continue
            key = str(key_node.value)
            child = (*path, key)
            line = key_node.start_mark.line + 1
            if key in first_line:
                self.error(
                    key_node.start_mark,
                    child,
                    f"duplicate key '{key}' (first at line {first_line[key]}, again at line {line})",
                    "YAML keeps only one of them; remove or rename the other",
                )
                continue
            first_line[key] = line
            self.keys[child] = (line, key_node.start_mark.column + 1)
            out[key] = self.build(value_node, child)
        own = self.values[path]
        for merge in merges:  # ``<<: *anchor``: explicit keys win, then earlier merges
            sources = merge.value if isinstance(merge, yaml.SequenceNode) else [merge]
            for source in sources:
                if not isinstance(source, yaml.MappingNode):
                    self.error(merge.start_mark, path, "'<<' merges mappings only")
                    continue
                merged = self.build(source, path)
                for key, value in merged.items():
                    out.setdefault(key, value)
            self.values[path] = own
        return out

    def is_unquoted_template(self, node: yaml.MappingNode) -> bool:
        if self.lines is None:
            self.lines = self.text.splitlines()
        mark = node.start_mark
        return mark.line < len(self.lines) and self.lines[mark.line].startswith("{{", mark.column)

    def unquoted_template(self, node: yaml.MappingNode, path: Path) -> str:
        assert self.lines is not None
        start, end = node.start_mark, node.end_mark
        source = self.lines[start.line]
        raw = source[start.column : end.column] if end.line == start.line else source[start.column :]
        key = path[-1] if path and isinstance(path[-1], str) else None
        example = f'{key}: "{raw}"' if key is not None else f'- "{raw}"'
        self.error(
            start,
            path,
            f"unquoted '{raw}' was read by YAML as a mapping, not as an expression",
            f"quote it: {example}",
        )
        return raw
