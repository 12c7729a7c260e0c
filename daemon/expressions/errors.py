"""Errors raised while checking or evaluating an expression.

ExpressionError(FlowdError)        an expression could not be evaluated (missing variable, bad argument, ...)
└── ExpressionSyntaxError          an expression cannot be parsed (also returned, not raised, by check_syntax)
"""

from __future__ import annotations

from daemon.errors import FlowdError


class ExpressionError(FlowdError):
    """An expression could not be evaluated."""

    exit_code = 1

    def __init__(self, message: str, *, expression: str | None = None) -> None:
        super().__init__(message)
        self.expression = expression


class ExpressionSyntaxError(ExpressionError):
    """An expression is not valid Pebble/Jinja syntax."""

    def __init__(self, message: str, *, expression: str | None = None, line: int | None = None) -> None:
        super().__init__(message, expression=expression)
        self.line = line
