"""The one Jinja environment flowd evaluates expressions with: sandboxed, strict, Pebble-flavoured."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, datetime
from typing import Any

from jinja2 import TemplateSyntaxError, Undefined, nodes
from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment

from daemon.expressions import absorb, dates, jq, json_fns, limits, sequences, services, strings
from daemon.expressions.parser import BOX, CONCAT, CONTAINS, DEFINED, ITERATE, PRESENT, UNBOX, parse
from daemon.expressions.translate import translate
from daemon.expressions.undefined import Missing


def finalize(value: Any) -> Any:
    """How a ``{{ }}`` value prints: null as empty text, booleans in lower case, maps and lists as JSON.
    What is printed counts against the render's output budget (``limits``)."""
    printed = _printed(value)
    if isinstance(printed, str):
        limits.charge_output(len(printed))
    return printed


def _printed(value: Any) -> Any:
    if type(value) is str:
        return value
    if value is None:
        return ""
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, Mapping | list | tuple):
        return json_fns.to_json(value)
    if isinstance(value, datetime):
        return dates.iso(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


def to_string(value: Any) -> str:
    """``value | string``: the text ``{{ value }}`` would print."""
    printed = finalize(value)
    return printed if isinstance(printed, str) else str(printed)


class FlowdEnvironment(ImmutableSandboxedEnvironment):
    """Sandboxed environment (no mutation of lists/maps, no ``_`` attributes) with Pebble map lookup and
    bounded operators (``limits``)."""

    intercepted_binops = frozenset(limits.CHECKED_BINOPS)

    def getattr(self, obj: Any, attribute: str) -> Any:
        # Pebble looks a map's keys up before anything else: ``outputs.t.values`` is the key "values",
        # not dict.values. Methods stay reachable for keys the map does not have.
        if type(obj) is dict or isinstance(obj, Mapping):
            try:
                return obj[attribute]
            except (KeyError, TypeError):
                pass
        elif isinstance(obj, Undefined):
            return obj  # navigating a missing value keeps the first cause (missing name or unsafe access)
        return super().getattr(obj, attribute)

    def getitem(self, obj: Any, argument: Any) -> Any:
        if isinstance(obj, Undefined):
            return obj
        return super().getitem(obj, argument)

    def parse_pebble(self, source: str) -> nodes.Template:
        """Translate and parse Pebble source into a Jinja AST; too deep nesting and too long integer
        literals are syntax errors (not RecursionError / ValueError from the parser)."""
        translated = translate(source)
        nesting = limits.nesting_depth(translated)
        if nesting > limits.MAX_NESTING:
            raise TemplateSyntaxError(
                f"expression nests too deeply ({nesting} levels of brackets; at most {limits.MAX_NESTING})", 1
            )
        try:
            return parse(self, translated)
        except RecursionError:
            raise TemplateSyntaxError("expression nests too deeply", 1) from None
        except ValueError as exc:  # the lexer's int() of a literal of more than 4,300 digits
            if "digits" not in str(exc):
                raise
            raise TemplateSyntaxError("number too large (more than 4300 digits)", 1) from None

    def call(__self, __context: Context, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        """Every call of a template (functions, macros) counts against the render's budget."""
        limits.charge_call()
        return super().call(__context, __obj, *args, **kwargs)

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        """Every ``*``, ``**``, ``%`` and ``+`` goes through here (``intercepted_binops``): results that would
        exhaust memory or the CPU are refused before they are computed."""
        limits.check_binop(operator, left, right)
        return super().call_binop(context, operator, left, right)


def build_environment(extra_functions: Mapping[str, Callable[..., Any]]) -> FlowdEnvironment:
    """Create the environment with every Kestra filter, function and test registered."""
    env = FlowdEnvironment(
        undefined=Missing,
        autoescape=False,
        keep_trailing_newline=True,  # YAML block scalars end with a newline that must survive
        trim_blocks=True,  # Pebble's newLineTrimming: drop the newline right after a block tag
        finalize=finalize,
        cache_size=0,  # templates are cached by our own LRU (render.py)
    )
    for module in (dates, json_fns, jq, sequences, strings):
        env.filters.update(module.FILTERS)
    env.filters.update({"string": to_string, "raw": lambda value: value})  # raw: Pebble's no-escape
    env.tests.update(json_fns.TESTS)
    env.tests.update(sequences.TESTS)
    env.globals.update(dates.FUNCTIONS)
    env.globals.update(json_fns.FUNCTIONS)
    env.globals.update(sequences.FUNCTIONS)
    env.globals.update(services.FUNCTIONS)
    env.globals.update(absorb.FUNCTIONS)
    env.globals.update(extra_functions)
    env.filters.update(
        {
            PRESENT: sequences.present,
            DEFINED: sequences.defined,
            BOX: sequences.box,
            UNBOX: sequences.unbox,
            CONTAINS: sequences.contains,
            ITERATE: lambda value, targets: limits.counted(sequences.iterate(value, targets)),
            CONCAT: limits.concat,
        }
    )
    for name in ("center", "indent", "nindent", "format"):
        env.filters[name] = limits.bounded_width(env.filters[name], name)
    # Jinja's own globals that make no sense in flows.
    for name in ("lipsum", "cycler", "joiner"):
        env.globals.pop(name, None)
    return env
