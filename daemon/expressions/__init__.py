"""Kestra/Pebble expressions evaluated with Jinja2's sandboxed environment.

Public API: ``render``, ``render_value``, ``check_syntax``, ``references``, ``has_expression``, ``is_truthy``,
``mask_secrets``, ``ExpressionError``, ``ExpressionSyntaxError``. The engine passes services to functions
through reserved context keys: ``__now__`` (datetime or clock), ``__secret__``, ``__kv__``,
``__error_logs__``, ``__read__`` (see ``services.py``).
"""

from daemon.expressions.dates import NOW_KEY
from daemon.expressions.errors import ExpressionError, ExpressionSyntaxError
from daemon.expressions.masking import mask_secrets
from daemon.expressions.render import check_syntax, has_expression, references, render, render_value
from daemon.expressions.services import ERROR_LOGS_KEY, KV_KEY, READ_KEY, SECRET_KEY
from daemon.expressions.truthy import is_truthy

__all__ = [
    "ERROR_LOGS_KEY",
    "KV_KEY",
    "NOW_KEY",
    "READ_KEY",
    "SECRET_KEY",
    "ExpressionError",
    "ExpressionSyntaxError",
    "check_syntax",
    "has_expression",
    "is_truthy",
    "mask_secrets",
    "references",
    "render",
    "render_value",
]
