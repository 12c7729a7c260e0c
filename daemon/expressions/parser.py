"""Jinja's parser extended with the Pebble operators the translator marks.

- ``a ?? b`` (``a`` undefined or null -> ``b``) and ``a ??? b`` (``a`` undefined -> ``b``): lowest binary
  precedence (below ``or``), left to right. Each operand is evaluated at most once and ``b`` only when needed:
  ``((a | __flowd_present__) or (b | __flowd_box__)) | __flowd_unbox__`` relies on Python's short-circuit
  ``or``. Internal helpers are filters: Jinja calls filters directly, without the sandbox's call check.
- ``cond ? a : b``: below ``??``, right-associative.
- ``a equals b`` is ``a == b``; ``a contains b`` is ``b in a`` (a list ``b`` must be wholly contained).
- ``{% for x in it %}``: ``it`` goes through ``__flowd_iter__`` so a map yields entries (``x.key``,
  ``x.value``) or, with two targets, ``(key, value)`` pairs, as Pebble does.
- ``loop.index``/``loop.revindex`` are zero-based in Pebble: they become Jinja's ``index0``/``revindex0``.
- ``a ~ b ~ c`` goes through ``__flowd_concat__``, which joins as Jinja does but refuses a result over the
  size bound (``limits``): a macro doubling a string at each call cannot exhaust memory.
"""

from __future__ import annotations

from typing import cast

from jinja2 import nodes
from jinja2.environment import Environment
from jinja2.parser import Parser

from daemon.expressions.absorb import TRY_CALL
from daemon.expressions.translate import COALESCE, COALESCE_UNDEFINED, TERNARY

PRESENT = "__flowd_present__"
DEFINED = "__flowd_defined__"
BOX = "__flowd_box__"
UNBOX = "__flowd_unbox__"
CONTAINS = "__flowd_contains__"
ITERATE = "__flowd_iter__"
CONCAT = "__flowd_concat__"
INTERNAL_FILTERS = frozenset({PRESENT, DEFINED, BOX, UNBOX, CONTAINS, ITERATE, CONCAT})

_LOOP_ATTRS = {"index": "index0", "revindex": "revindex0"}


def _filter(name: str, node: nodes.Expr, args: list[nodes.Expr], lineno: int) -> nodes.Filter:
    return nodes.Filter(node, name, args, [], None, None, lineno=lineno)


class PebbleParser(Parser):
    """Parser accepting the Pebble operators (see the module docstring)."""

    def _skip_marker(self, marker: str) -> bool:
        """Consume ``; <marker>`` (see translate.py) if it comes next."""
        if self.stream.current.type == "semicolon" and self.stream.look().test(f"name:{marker}"):
            next(self.stream)
            next(self.stream)
            return True
        return False

    def parse_condexpr(self) -> nodes.Expr:
        lineno = self.stream.current.lineno
        test = super().parse_condexpr()
        if self._skip_marker(TERNARY):
            expr1 = self.parse_condexpr()
            self.stream.expect("colon")
            expr2 = self.parse_condexpr()
            return nodes.CondExpr(test, expr1, expr2, lineno=lineno)
        return test

    def parse_or(self) -> nodes.Expr:
        lineno = self.stream.current.lineno
        left = super().parse_or()
        while True:
            if self._skip_marker(COALESCE):
                check = PRESENT
            elif self._skip_marker(COALESCE_UNDEFINED):
                check = DEFINED
            else:
                return left
            right = super().parse_or()
            if isinstance(left, nodes.Call):  # a failing call reads as undefined (see absorb.py)
                left = nodes.Call(
                    nodes.Name(TRY_CALL, "load", lineno=lineno), [left.node, *left.args], left.kwargs,
                    left.dyn_args, left.dyn_kwargs, lineno=lineno,
                )  # fmt: skip
            boxed = nodes.Or(_filter(check, left, [], lineno), _filter(BOX, right, [], lineno), lineno=lineno)
            left = _filter(UNBOX, boxed, [], lineno)

    def parse_compare(self) -> nodes.Expr:
        lineno = self.stream.current.lineno
        expr = super().parse_compare()
        while True:
            if self.stream.skip_if("name:equals"):
                expr = nodes.Compare(expr, [nodes.Operand("eq", super().parse_compare())], lineno=lineno)
            elif self.stream.skip_if("name:contains"):
                expr = _filter(CONTAINS, expr, [super().parse_compare()], lineno)
            else:
                return expr

    def parse_concat(self) -> nodes.Expr:
        lineno = self.stream.current.lineno
        args = [self.parse_math2()]
        while self.stream.current.type == "tilde":
            next(self.stream)
            args.append(self.parse_math2())
        if len(args) == 1:
            return args[0]
        return _filter(CONCAT, nodes.Tuple(args, "load", lineno=lineno), [], lineno)

    def parse_for(self) -> nodes.For:
        node = super().parse_for()
        targets = len(node.target.items) if isinstance(node.target, nodes.Tuple) else 1
        node.iter = _filter(ITERATE, cast(nodes.Expr, node.iter), [nodes.Const(targets)], node.lineno)
        return node


def parse(environment: Environment, source: str) -> nodes.Template:
    """Parse already-translated source into a Jinja AST with the Pebble semantics applied."""
    tree = PebbleParser(environment, source).parse()
    for attr in tree.find_all(nodes.Getattr):
        if isinstance(attr.node, nodes.Name) and attr.node.name == "loop" and attr.attr in _LOOP_ATTRS:
            attr.attr = _LOOP_ATTRS[attr.attr]
    return tree
