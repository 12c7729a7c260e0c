"""Rendering Pebble expressions: ``render``, ``render_value``, ``check_syntax``, ``references``.

Compiled templates are cached by source text (LRU); a string without ``{{`` or ``{%`` never reaches Jinja.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from jinja2 import Template, nodes, pass_context
from jinja2.exceptions import SecurityError, TemplateSyntaxError, UndefinedError
from jinja2.runtime import Context

from daemon.errors import FlowdError
from daemon.expressions import limits
from daemon.expressions.environment import build_environment
from daemon.expressions.errors import ExpressionError, ExpressionSyntaxError
from daemon.expressions.references import format_path, missing_prefix, public_path, variable_paths
from daemon.expressions.translate import COALESCE, COALESCE_UNDEFINED, TERNARY
from daemon.expressions.undefined import MissingVariableError

MAX_RENDER_DEPTH = 10
_DEPTH_KEY = "__render_depth__"
_CACHE_SIZE = 4096
_MARKERS = {f"; {COALESCE}": "??", f"; {COALESCE_UNDEFINED}": "???", f"; {TERNARY}": "?"}


def has_expression(text: str) -> bool:
    """True when ``text`` contains ``{{`` or ``{%`` (anything else is returned as is by render)."""
    return "{{" in text or "{%" in text


def render(template: str, context: Mapping[str, Any]) -> str:
    """Render a Pebble template with ``context``; raises ExpressionError (syntax or evaluation)."""
    if "{{" not in template and "{%" not in template:
        return template
    try:
        compiled = _compile(template)
    except ExpressionSyntaxError as exc:
        raise ExpressionSyntaxError(
            f"invalid expression: {exc}", expression=template, line=exc.line
        ) from None
    try:
        with limits.budget():
            return compiled.render(context)
    except limits.ExpressionLimitError as exc:
        raise exc.naming(template) from None
    except ExpressionError as exc:
        if exc.expression is None:
            exc.expression = template
        missing = _first_missing(template, context) if "type Missing" in exc.message else None
        if missing is not None:  # a filter or function was handed a missing variable: name the variable
            message = explain_missing(f"Missing variable: '{missing}'", template, context)
            raise ExpressionError(message, expression=template) from None
        raise
    except MissingVariableError as exc:
        message = explain_missing(_missing_message(template, exc, context), template, context)
        raise ExpressionError(message, expression=template) from None
    except SecurityError as exc:
        raise ExpressionError(f"not allowed: {exc}", expression=template) from None
    except UndefinedError as exc:
        raise ExpressionError(str(exc), expression=template) from None
    except RecursionError:
        raise ExpressionError("expression nests too deeply", expression=template) from None
    except FlowdError as exc:  # a service an expression called (secret('X') not set): its own message
        raise ExpressionError(exc.message, expression=template) from None
    except Exception as exc:  # any other failure is the expression's (bad operand types, division by 0...)
        raise ExpressionError(f"{type(exc).__name__}: {exc}", expression=template) from exc


def render_value(value: Any, context: Mapping[str, Any]) -> Any:
    """Render every string inside dicts/lists/tuples (keys too); other values are returned unchanged."""
    if isinstance(value, str):
        return render(value, context) if ("{{" in value or "{%" in value) else value
    if isinstance(value, dict):
        return {render_value(k, context): render_value(v, context) for k, v in value.items()}
    if isinstance(value, list):
        return [render_value(v, context) for v in value]
    if isinstance(value, tuple):
        return tuple(render_value(v, context) for v in value)
    return value


def check_syntax(template: str) -> ExpressionSyntaxError | None:
    """The syntax error of ``template`` (unknown tag, filter or function included), or None when valid."""
    if not has_expression(template):
        return None
    try:
        _compile(template)
        tree = _parse(template)
    except ExpressionSyntaxError as exc:
        return exc
    bound = {n.name for n in tree.find_all(nodes.Name) if n.ctx in ("store", "param")}
    bound |= {m.name for m in tree.find_all(nodes.Macro)}
    for call in tree.find_all(nodes.Call):
        callee = call.node
        if isinstance(callee, nodes.Name) and callee.name not in ENV.globals and callee.name not in bound:
            return ExpressionSyntaxError(
                f"unknown function '{callee.name}'", expression=template, line=call.lineno
            )
    return None


def references(template: str) -> set[tuple[str, ...]]:
    """Context variable paths ``template`` reads, e.g. {("inputs", "x"), ("outputs", "extract", "uri")}.

    Attribute and constant-subscript steps are followed (``outputs['my-task'].value``); a dynamic subscript
    ends the path and its own references are collected; integer indexes end a path. Names bound by the
    template (for, set, macro) and function names are not references. Raises ExpressionSyntaxError.
    """
    if not has_expression(template):
        return set()
    return {public_path(path) for path, _ in variable_paths(_parse(template), ENV.globals)}


@lru_cache(maxsize=_CACHE_SIZE)
def _compile(template: str) -> Template:
    try:
        compiled = ENV.from_string(ENV.parse_pebble(template))
    except TemplateSyntaxError as exc:
        raise _syntax_error(template, exc) from None
    except RecursionError:  # the compiler walks the tree recursively too
        raise ExpressionSyntaxError("expression nests too deeply", expression=template, line=1) from None
    # Each render merges globals and context into a new dict; a plain dict copies far faster than the
    # ChainMap Jinja keeps here.
    compiled.globals = dict(compiled.globals)
    return compiled


@lru_cache(maxsize=256)
def _parse(template: str) -> nodes.Template:
    try:
        return ENV.parse_pebble(template)
    except TemplateSyntaxError as exc:
        raise _syntax_error(template, exc) from None


def _syntax_error(template: str, exc: TemplateSyntaxError) -> ExpressionSyntaxError:
    message = exc.message or "invalid expression"
    for marker, operator in _MARKERS.items():
        message = message.replace(marker, operator)
    message = message.replace("'semicolon'", "'?'").replace("';'", "'?'")
    message = message.replace(". Jinja was looking for the following tags", "; expected one of the tags")
    message = message.replace("'elif'", "'elseif'")
    line = f"line {exc.lineno}: " if "\n" in template.strip() else ""
    return ExpressionSyntaxError(f"{line}{message}", expression=template, line=exc.lineno)


def _missing_message(template: str, exc: MissingVariableError, context: Mapping[str, Any]) -> str:
    """``Missing variable: 'inputs.foo'``: the first unguarded path of the template the context lacks."""
    candidates: list[str] = []
    try:
        tree = _parse(template)
        for call in tree.find_all(nodes.Call):
            if isinstance(call.node, nodes.Name) and call.node.name == exc.name and exc.name not in context:
                return f"Unknown function: '{exc.name}'"
        for path, guarded in variable_paths(tree, ENV.globals):
            prefix = None if guarded else missing_prefix(path, context)
            if prefix is not None:
                if prefix[-1] == exc.name:
                    return f"Missing variable: '{format_path(prefix)}'"
                candidates.append(format_path(prefix))
    except ExpressionSyntaxError:
        pass
    if candidates:
        return f"Missing variable: '{candidates[0]}'"
    if exc.name is not None:
        return f"Missing variable: '{exc.name}'"
    return f"Missing variable: {exc}"


def _first_missing(template: str, context: Mapping[str, Any]) -> str | None:
    """The first unguarded variable path of ``template`` that ``context`` lacks."""
    try:
        for path, guarded in variable_paths(_parse(template), ENV.globals):
            prefix = None if guarded else missing_prefix(path, context)
            if prefix is not None:
                return format_path(prefix)
    except ExpressionSyntaxError:
        pass
    return None


def explain_missing(message: str, template: str, context: Mapping[str, Any]) -> str:
    """Say why a variable is missing where flowd knows (the environment behind ``envs``, a flow started by
    hand that reads ``trigger``), and name the expression it was read in."""
    from daemon.expressions.missing import explain

    return explain(message, template, context)


def _render_again(context: Context, value: Any, *, recursive: bool) -> Any:
    if not isinstance(value, str):
        return value
    depth = int(context.get(_DEPTH_KEY) or 0) + 1
    if depth > MAX_RENDER_DEPTH:
        raise ExpressionError(f"render(): more than {MAX_RENDER_DEPTH} nested renders")
    inner = {**context.get_all(), _DEPTH_KEY: depth}
    result = render(value, inner)
    if not recursive:
        return result
    for _ in range(MAX_RENDER_DEPTH):
        if result == value or not has_expression(result):
            return result
        value, result = result, render(result, inner)
    if result != value and has_expression(result):
        raise ExpressionError(f"render(): still changing after {MAX_RENDER_DEPTH} passes")
    return result


@pass_context
def render_function(context: Context, value: Any, recursive: bool = True) -> Any:
    """``render(expr, recursive=true)``: render a string holding expressions with the current context.

    With ``recursive`` the result is rendered again until it stops changing or holds no expression
    (at most 10 passes); nested ``render()`` calls are limited to 10 levels.
    """
    return _render_again(context, value, recursive=recursive)


@pass_context
def render_once_function(context: Context, value: Any) -> Any:
    """``renderOnce(expr)``: ``render(expr, recursive=false)``."""
    return _render_again(context, value, recursive=False)


ENV = build_environment({"render": render_function, "renderOnce": render_once_function})
