"""Bounds on what one expression may cost, so no flow can exhaust the daemon through a template.

- operators (the sandbox's ``call_binop``, and ``~`` through the parser): ``'a' * n``, ``list * n``,
  ``a + b``, ``a ~ b`` may not build a string or list longer than ``MAX_SEQUENCE``; ``a ** b`` and
  ``a * b`` may not make an integer longer than ``MAX_INT_BITS`` (about 4,300 digits, what Python itself
  will print); ``'%999999999d' % x`` may not pad beyond ``MAX_WIDTH``;
- padding filters (``center``, ``indent``, ``nindent``, ``format``) the same width bound;
- one render (and the renders it makes, ``render()`` inside an expression) may run at most
  ``MAX_ITERATIONS`` loop iterations and ``MAX_CALLS`` function or macro calls, and print at most
  ``MAX_OUTPUT`` characters (``Budget``);
- brackets may nest at most ``MAX_NESTING`` deep (the parser would otherwise hit Python's recursion limit).

Every refusal is an ``ExpressionLimitError`` (an ``ExpressionError``); ``render`` adds the expression's
text to its message, so the task's error names the expression.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from daemon.expressions.errors import ExpressionError

MAX_SEQUENCE = 10_000_000
MAX_INT_BITS = 14_300  # 4,300 decimal digits
MAX_WIDTH = 100_000
MAX_ITERATIONS = 1_000_000
MAX_CALLS = 100_000  # a macro or function call costs ~100 times a loop iteration
MAX_OUTPUT = 16_000_000
MAX_NESTING = 50
CHECKED_BINOPS = ("*", "**", "+", "%")

_WIDTHS = re.compile(r"%[-#0 +]*(\*|\d+)?(?:\.(\*|\d+))?")


class ExpressionLimitError(ExpressionError):
    """An expression would cost more than flowd allows."""

    def naming(self, template: str) -> ExpressionLimitError:
        """The same error, its message naming the expression (shortened); once only, the innermost."""
        if self.expression is not None:
            return self
        shown = template if len(template) <= 200 else template[:197] + "..."
        return ExpressionLimitError(f"{self.message}, in expression {shown}", expression=template)


@dataclass
class Budget:
    """What one render has spent."""

    iterations: int = 0
    calls: int = 0
    output: int = 0


_BUDGET: ContextVar[Budget | None] = ContextVar("flowd_render_budget", default=None)


@contextmanager
def budget() -> Iterator[Budget]:
    """The budget of the current render: a new one for a top-level render, the caller's when nested."""
    current = _BUDGET.get()
    if current is not None:
        yield current
        return
    fresh = Budget()
    token = _BUDGET.set(fresh)
    try:
        yield fresh
    finally:
        _BUDGET.reset(token)


def charge_output(size: int) -> None:
    """Count ``size`` printed characters; ExpressionError past ``MAX_OUTPUT``."""
    current = _BUDGET.get()
    if current is None:
        return
    current.output += size
    if current.output > MAX_OUTPUT:
        raise ExpressionLimitError(f"expression output exceeds {MAX_OUTPUT} characters")


def charge_call() -> None:
    """Count one call (function, macro, method) of the current render: a macro calling itself twice per
    level cannot run for ever."""
    current = _BUDGET.get()
    if current is not None:
        current.calls += 1
        if current.calls > MAX_CALLS:
            raise ExpressionLimitError(f"expression makes more than {MAX_CALLS} function or macro calls")


def counted(items: Iterable[Any]) -> Iterator[Any]:
    """``items``, each counted as one loop iteration of the current render."""
    current = _BUDGET.get()
    for item in items:
        if current is not None:
            current.iterations += 1
            if current.iterations > MAX_ITERATIONS:
                raise ExpressionLimitError(f"expression loops more than {MAX_ITERATIONS} times")
        yield item


def _is_int(value: Any) -> bool:
    return isinstance(value, int)


def _is_sequence(value: Any) -> bool:
    return isinstance(value, str | list | tuple | bytes)


def check_binop(operator: str, left: Any, right: Any) -> None:
    """ExpressionError when ``left <operator> right`` would be too large to compute."""
    if operator == "*":
        for seq, times in ((left, right), (right, left)):
            if _is_sequence(seq) and _is_int(times) and len(seq) * times > MAX_SEQUENCE:
                size = len(seq) * times
                kind = type(seq).__name__
                raise ExpressionLimitError(
                    f"'*' would make a {kind} of {size} items (at most {MAX_SEQUENCE})"
                )
        if _is_int(left) and _is_int(right) and left.bit_length() + right.bit_length() > MAX_INT_BITS:
            raise ExpressionLimitError(f"'*' would make an integer of more than {MAX_INT_BITS} bits")
    elif operator == "**":
        big = _is_int(left) and _is_int(right) and right > 1 and abs(left) > 1
        if big and right * math.log2(abs(left)) > MAX_INT_BITS:
            raise ExpressionLimitError(
                f"'**' would make an integer of more than {MAX_INT_BITS} bits (about 4300 digits)"
            )
    elif operator == "+":
        if _is_sequence(left) and _is_sequence(right) and len(left) + len(right) > MAX_SEQUENCE:
            raise ExpressionLimitError(f"'+' would make a sequence of more than {MAX_SEQUENCE} items")
    elif operator == "%" and isinstance(left, str):
        check_format(left, right)


def concat(values: tuple[Any, ...]) -> str:
    """``a ~ b ~ ...``: the values' texts joined (as Jinja's ``~``), refused past ``MAX_SEQUENCE``."""
    texts = [str(v) for v in values]
    if sum(len(t) for t in texts) > MAX_SEQUENCE:
        raise ExpressionLimitError(f"'~' would make a string of more than {MAX_SEQUENCE} characters")
    return "".join(texts)


def check_format(template: str, args: Any) -> None:
    """ExpressionError when a ``%`` format pads beyond ``MAX_WIDTH``."""
    values = args if isinstance(args, tuple | list) else (args,)
    for match in _WIDTHS.finditer(template):
        for size in match.groups():
            if size == "*":
                if any(_is_int(v) and abs(v) > MAX_WIDTH for v in values):
                    raise ExpressionLimitError(f"format width over {MAX_WIDTH}")
            elif size is not None and int(size) > MAX_WIDTH:
                raise ExpressionLimitError(f"format width {size} over {MAX_WIDTH}")


def check_width(width: Any, what: str) -> None:
    """ExpressionError for a padding width over ``MAX_WIDTH``."""
    if _is_int(width) and width > MAX_WIDTH:
        raise ExpressionLimitError(f"{what}: width {width} over {MAX_WIDTH}")


def bounded_width(fn: Callable[..., Any], what: str) -> Callable[..., Any]:
    """``fn`` (a padding filter) with each integer argument checked by ``check_width``."""

    def checked(value: Any, *args: Any, **kwargs: Any) -> Any:
        for arg in (*args, *kwargs.values()):
            check_width(arg, what)
        return fn(value, *args, **kwargs)

    checked.__name__ = getattr(fn, "__name__", what)
    checked.__doc__ = fn.__doc__
    for attr in ("jinja_pass_arg",):  # keep Jinja's pass_context / pass_environment marks
        if hasattr(fn, attr):
            setattr(checked, attr, getattr(fn, attr))
    return checked


def nesting_depth(source: str) -> int:
    """The deepest nesting of ``( [ {`` in ``source`` (quotes not considered: an upper bound)."""
    depth = deepest = 0
    for char in source:
        if char in "([{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in ")]}" and depth:
            depth -= 1
    return deepest
