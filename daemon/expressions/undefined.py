"""The value of a missing variable: strict when used, chainable when navigated.

Kestra runs Pebble in strict mode: printing, comparing or iterating a missing variable is an error.
Navigating into one (``inputs.missing.field``) must not fail by itself, so that ``??``, ``default`` and
``is defined`` can still handle the whole path.
"""

from __future__ import annotations

from typing import Any, NoReturn

from jinja2 import StrictUndefined
from jinja2.exceptions import UndefinedError


class MissingVariableError(UndefinedError):
    """A missing variable was used; carries the name Jinja was looking up."""

    def __init__(self, message: str, name: str | None) -> None:
        super().__init__(message)
        self.name = name


class Missing(StrictUndefined):
    """Strict undefined that returns itself on attribute and item access."""

    __slots__ = ()

    def __getattr__(self, name: str) -> Any:
        # Dunder probes (copy, pickle, ...) must see a plain AttributeError.
        if name[:2] == "__" and name[-2:] == "__":
            raise AttributeError(name)
        return self

    def __getitem__(self, key: Any) -> Any:
        return self

    def _fail_with_undefined_error(self, *args: Any, **kwargs: Any) -> NoReturn:
        if self._undefined_exception is not UndefinedError:
            # The sandbox marks unsafe attributes with SecurityError; keep it.
            raise self._undefined_exception(self._undefined_message)
        name = self._undefined_name if isinstance(self._undefined_name, str) else None
        raise MissingVariableError(self._undefined_message, name)

    __str__ = __iter__ = __len__ = __bool__ = __eq__ = __ne__ = __hash__ = __contains__ = (  # type: ignore[assignment]
        _fail_with_undefined_error
    )
    __add__ = __radd__ = __sub__ = __rsub__ = __mul__ = __rmul__ = __truediv__ = __rtruediv__ = (  # type: ignore[assignment]
        _fail_with_undefined_error
    )
    __lt__ = __le__ = __gt__ = __ge__ = __int__ = __float__ = __call__ = _fail_with_undefined_error  # type: ignore[assignment]
    __mod__ = __rmod__ = __pos__ = __neg__ = __floordiv__ = __rfloordiv__ = __pow__ = __rpow__ = (  # type: ignore[assignment]
        _fail_with_undefined_error
    )
