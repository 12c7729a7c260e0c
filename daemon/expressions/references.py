"""Variable paths an expression reads, from its AST: ``outputs['t'].value`` -> ("outputs", "t", "value")."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from jinja2 import nodes

from daemon.expressions.parser import DEFINED, PRESENT

Path = tuple[str | int, ...]

# Paths read under these are allowed to be missing.
_GUARD_FILTERS = frozenset({"default", "d", PRESENT, DEFINED})
_GUARD_TESTS = frozenset({"defined", "undefined", "none", "null", "empty"})


def _path(node: nodes.Node) -> Path | None:
    """The path of a pure chain of names, attributes and constant subscripts, else None."""
    if isinstance(node, nodes.Name):
        return (node.name,) if node.ctx == "load" else None
    if isinstance(node, nodes.Getattr):
        base = _path(node.node)
        return None if base is None else (*base, node.attr)
    if isinstance(node, nodes.Getitem) and isinstance(node.arg, nodes.Const):
        key = node.arg.value
        if isinstance(key, str | int) and not isinstance(key, bool):
            base = _path(node.node)
            return None if base is None else (*base, key)
    return None


def _bound_names(tree: nodes.Node) -> set[str]:
    """Names the template itself assigns (for targets, set, macro parameters), plus ``loop``."""
    names = {"loop"}
    for name in tree.find_all(nodes.Name):
        if name.ctx in ("store", "param"):
            names.add(name.name)
    return names


def _arguments(call: nodes.Call) -> list[nodes.Node]:
    extra = [n for n in (call.dyn_args, call.dyn_kwargs) if n is not None]
    return [*call.args, *call.kwargs, *extra]


def iter_paths(tree: nodes.Node, skip: set[str], guarded: bool = False) -> Iterator[tuple[Path, bool]]:
    """Yield (path, guarded) for every variable path in source order; roots in ``skip`` are left out."""
    path = _path(tree) if isinstance(tree, nodes.Name | nodes.Getattr | nodes.Getitem) else None
    if path is not None:
        if path[0] not in skip:
            yield path, guarded
        return
    if isinstance(tree, nodes.Call):
        callee = tree.node
        if isinstance(callee, nodes.Name):
            # A function name is not a variable.
            for argument in _arguments(tree):
                yield from iter_paths(argument, skip, guarded)
            return
        if isinstance(callee, nodes.Getattr):
            # ``x.items()``: the method name is not part of the variable path.
            yield from iter_paths(callee.node, skip, guarded)
            for argument in _arguments(tree):
                yield from iter_paths(argument, skip, guarded)
            return
    if isinstance(tree, nodes.Filter) and tree.name in _GUARD_FILTERS and tree.node is not None:
        yield from iter_paths(tree.node, skip, True)
        for child in (*tree.args, *tree.kwargs):
            yield from iter_paths(child, skip, guarded)
        return
    if isinstance(tree, nodes.Test) and tree.name in _GUARD_TESTS:
        yield from iter_paths(tree.node, skip, True)
        return
    for child in tree.iter_child_nodes():
        yield from iter_paths(child, skip, guarded)


def variable_paths(tree: nodes.Template, globals_: Mapping[str, Any]) -> Iterator[tuple[Path, bool]]:
    """Every context variable path read by a parsed template (globals and local names excluded)."""
    skip = _bound_names(tree) | set(globals_)
    return iter_paths(tree, skip)


def public_path(path: Path) -> tuple[str, ...]:
    """The leading string segments of a path (stops at the first integer index)."""
    out: list[str] = []
    for part in path:
        if not isinstance(part, str):
            break
        out.append(part)
    return tuple(out)


def format_path(path: Path) -> str:
    """``inputs.x``, ``outputs['my-task'].value``, ``list[0]``."""
    text = str(path[0])
    for part in path[1:]:
        if isinstance(part, str) and part.isidentifier():
            text += f".{part}"
        else:
            text += f"[{part!r}]"
    return text


def _step(value: Any, part: str | int) -> tuple[bool, Any]:
    if isinstance(value, Mapping):
        return (True, value[part]) if part in value else (False, None)
    if isinstance(part, int) and isinstance(value, Sequence) and not isinstance(value, str):
        return (True, value[part]) if -len(value) <= part < len(value) else (False, None)
    if isinstance(part, str) and not part.startswith("_") and hasattr(value, part):
        return True, getattr(value, part)
    return False, None


def missing_prefix(path: Path, context: Mapping[str, Any]) -> Path | None:
    """The shortest prefix of ``path`` absent from ``context`` (None when the whole path resolves)."""
    root = path[0]
    if not isinstance(root, str) or root not in context:
        return path[:1]
    value = context[root]
    for index, part in enumerate(path[1:], start=2):
        if value is None:
            return None  # null navigation gives undefined in Jinja, but the variable itself exists
        found, value = _step(value, part)
        if not found:
            return path[:index]
    return None
