"""``f(...) ?? b``: a function call on the left of ``??``/``???`` that fails reads as undefined, as in Kestra
(``kv('k', errorOnMissing=true) ?? null`` is null for a missing key, not an error).

The parser rewrites such a call to ``__flowd_try_call__(f, args...)``; the call still goes through the
sandbox's own call check.
"""

from __future__ import annotations

from typing import Any

from jinja2 import UndefinedError, pass_context
from jinja2.runtime import Context

from daemon.expressions.errors import ExpressionError

TRY_CALL = "__flowd_try_call__"


@pass_context
def try_call(context: Context, function: Any, *args: Any, **kwargs: Any) -> Any:
    """``function(*args, **kwargs)``, or an undefined value when it raises an expression error."""
    call = getattr(context.environment, "call", None)
    try:
        if call is not None:  # the sandbox: checks that ``function`` may be called
            return call(context, function, *args, **kwargs)
        return context.call(function, *args, **kwargs)
    except (ExpressionError, UndefinedError):
        return context.environment.undefined(name="call")


FUNCTIONS = {TRY_CALL: try_call}
