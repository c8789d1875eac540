"""The one parser for expression text from users: a whitelist over Python's ``ast``.

The text is parsed by ``ast.parse`` in eval mode (which runs nothing), every node is
checked against a short whitelist, and SymPy objects are built directly from the
tree: ``sp.Symbol(name, real=True)``, ``sp.Integer``, ``sp.Float``, ``sp.exp(...)``.
Nothing is ever evaluated as Python, so no attribute, import, call of an arbitrary
name, lambda or string can reach the interpreter.

Accepted: numbers, variable names, ``+ - * /``, ``**`` and ``^`` (both power), unary
``+``/``-``, parentheses, the constants ``e`` and ``pi``, and calls of the functions
in :data:`FUNCTIONS`. Every limit (:data:`LIMITS`) is checked before SymPy computes
anything, so a hostile text costs milliseconds, never minutes.

>>> parse_expression("x**2 * sin(y) + e")
x**2*sin(y) + E
>>> parse_expression("__import__('os')")
Traceback (most recent call last):
    ...
autodiff.parsing.ExpressionError: cannot use '__import__' in "__import__('os')": names must not start with '_'
"""

from __future__ import annotations

import ast
import math
from collections.abc import Callable
from typing import Any, cast

import numpy as np
import sympy as sp

# Bounds on the work any text may cause (checked in this order, before SymPy runs).
LIMITS = {
    "length": 1000,        # characters of the whole expression
    "nodes": 300,          # nodes of the syntax tree
    "depth": 32,           # nesting of calls, powers and unary signs (a + b + c ... counts once)
    "literal": 40,         # characters of one number literal
    "name": 40,            # characters of one variable name
    "exponent": 10_000,    # magnitude of a constant exponent
    "digits": 1000,        # decimal digits of any exact constant (numerator or denominator)
}


class ExpressionError(ValueError):
    """Expression text that the parser refuses; the message is one line saying why."""


def _relu(a: Any) -> Any:
    return a * sp.Heaviside(a, 0)


def _heaviside(a: Any, h0: Any = None) -> Any:
    if h0 is None:
        return sp.Heaviside(a)
    if not (h0.is_Number and h0.is_real):
        raise ExpressionError(f"Heaviside's second argument (its value at 0) must be a real number, got {h0}")
    return sp.Heaviside(a, h0)


def _softplus(a: Any) -> Any:
    return np.logaddexp(0.0, a)


def _registered() -> dict[str, tuple[int, int | None, Callable[..., Any], Callable[..., Any]]]:
    """Every registered elementwise function with a SymPy form, callable by its registry
    name: its SymPy form builds the expression, its NumPy forward folds constants."""
    from . import primitives  # noqa: F401  (fills the registry)
    from .primitive import REGISTRY, Primitive

    table: dict[str, tuple[int, int | None, Callable[..., Any], Callable[..., Any]]] = {}
    for name, entry in REGISTRY.items():
        bounds = getattr(entry.sample, "bounds", None)
        if isinstance(entry, Primitive) and entry.sympy is not None and bounds is not None:
            table[name] = (len(bounds), len(bounds), (lambda f: lambda *a: f(sp, *a))(entry.sympy), entry.forward)
    return table


# name -> (least and most arguments (None: any number), SymPy builder, the same in float64 for constants):
# the registry's elementwise functions, plus SymPy's own spellings of a few
FUNCTIONS: dict[str, tuple[int, int | None, Callable[..., Any], Callable[..., Any]]] = {
    "sinh": (1, 1, sp.sinh, np.sinh), "cosh": (1, 1, sp.cosh, np.cosh),
    "Abs": (1, 1, sp.Abs, np.abs), "sign": (1, 1, sp.sign, np.sign),
    "max": (2, None, sp.Max, max), "min": (2, None, sp.Min, min),
    "Max": (1, None, sp.Max, max), "Min": (1, None, sp.Min, min),
    "Heaviside": (1, 2, _heaviside, lambda a, h0=0.5: np.heaviside(a, h0)),
    **_registered(),
}
CONSTANTS: dict[str, Any] = {"e": sp.E, "pi": sp.pi}

_BINARY: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: lambda a, b: a + b, ast.Sub: lambda a, b: a - b,
    ast.Mult: lambda a, b: a * b, ast.Div: lambda a, b: a / b,
    ast.Pow: lambda a, b: a ** b, ast.BitXor: lambda a, b: a ** b,
}
_UNARY: dict[type, Callable[[Any], Any]] = {ast.USub: lambda a: -a, ast.UAdd: lambda a: a}
_ALLOWED = (ast.BinOp, ast.UnaryOp, ast.Call, ast.Name, ast.Constant, *_BINARY, *_UNARY)
# What a refused node is, in the user's words.
_REFUSED = {
    ast.Attribute: "attribute access ('.')", ast.Subscript: "indexing ('[]')", ast.Lambda: "lambda",
    ast.Compare: "comparisons", ast.BoolOp: "'and'/'or'", ast.IfExp: "'if ... else'",
    ast.Starred: "'*' unpacking", ast.keyword: "keyword arguments", ast.NamedExpr: "':='",
    ast.JoinedStr: "strings", ast.FormattedValue: "strings", ast.Not: "'not'", ast.Invert: "'~'",
    ast.FloorDiv: "'//'", ast.Mod: "'%'", ast.MatMult: "'@'", ast.BitAnd: "'&'", ast.BitOr: "'|'",
    ast.LShift: "'<<'", ast.RShift: "'>>'", ast.List: "lists", ast.Tuple: "tuples", ast.Set: "sets",
    ast.Dict: "dicts", ast.ListComp: "comprehensions", ast.SetComp: "comprehensions",
    ast.DictComp: "comprehensions", ast.GeneratorExp: "comprehensions", ast.Await: "'await'",
    ast.Yield: "'yield'", ast.YieldFrom: "'yield'", ast.Slice: "slices",
}


def _show(text: str) -> str:
    return repr(text if len(text) <= 60 else text[:57] + "...")


def parse_expression(text: str) -> sp.Expr:
    """The SymPy expression that ``text`` writes, built without evaluating any Python.

    Variables become real SymPy Symbols. Raises :class:`ExpressionError` (a
    ``ValueError``) with a one-line reason for anything outside the grammar or the
    :data:`LIMITS`.

    >>> parse_expression("2^3 * x")
    8*x
    """
    if not isinstance(text, str):
        raise TypeError(f"parse_expression: expected a str, got {type(text).__name__}")
    shown = _show(text)
    if len(text) > LIMITS["length"]:
        raise ExpressionError(f"the expression is {len(text)} characters long; the limit is {LIMITS['length']}")
    if not text.strip():
        raise ExpressionError("the expression is empty")
    source = text.strip().replace("^", "**")  # '^' is power, as in SymPy; strings are refused anyway
    try:
        tree = ast.parse(source, mode="eval")
    except SyntaxError as e:
        where = f" at column {e.offset}" if e.offset else ""
        raise ExpressionError(f"cannot parse {shown}: {e.msg}{where}") from None
    except (ValueError, RecursionError, MemoryError) as e:  # null bytes; nesting too deep for Python
        raise ExpressionError(f"cannot parse {shown}: {type(e).__name__}: {str(e).splitlines()[0]}") from None
    _check_tree(tree, source, shown)
    expr = _build(tree.body, source, shown)
    if _undefined(expr):
        raise ExpressionError(f"{shown} is undefined: a constant part of it is infinite or not a number "
                              f"(e.g. a division by zero)")
    if expr.has(sp.I):
        raise ExpressionError(f"{shown} has a constant part that is not real (e.g. the square root of a "
                              f"negative number)")
    return expr


def _check_tree(tree: ast.Expression, text: str, shown: str) -> None:
    """Whitelist, count and nesting depth of the expression nodes, without recursion."""
    count = 0
    stack: list[tuple[ast.expr, int]] = [(tree.body, 1)]
    while stack:
        node, depth = stack.pop()
        count += 1
        if count > LIMITS["nodes"]:
            raise ExpressionError(f"{shown} is too large: more than {LIMITS['nodes']} terms, operators and calls")
        if depth > LIMITS["depth"]:
            raise ExpressionError(f"{shown} is nested more than {LIMITS['depth']} levels deep")
        op = getattr(node, "op", None)
        for part in (node, op) if op is not None else (node,):
            if not isinstance(part, _ALLOWED):
                what = _REFUSED.get(type(part), f"'{type(part).__name__}'")
                raise ExpressionError(f"{what} not allowed in {shown}{_column(node)}")
        if isinstance(node, ast.Call):
            _check_call(node, shown)
        elif isinstance(node, ast.Name):
            _check_name(node, shown, called=False)
        elif isinstance(node, ast.Constant):
            _check_literal(node, text, shown)
        for child in _operands(node):
            # a chain a + b - c ... (or a * b / c ...) is flat for SymPy: its left spine adds no depth
            flat = isinstance(child, ast.BinOp) and child is getattr(node, "left", None) and _same_family(op, child.op)
            stack.append((child, depth + (0 if flat else 1)))


def _same_family(a: Any, b: Any) -> bool:
    additive = (ast.Add, ast.Sub)
    multiplicative = (ast.Mult, ast.Div)
    return (isinstance(a, additive) and isinstance(b, additive)) or (
        isinstance(a, multiplicative) and isinstance(b, multiplicative))


def _column(node: ast.AST) -> str:
    offset = getattr(node, "col_offset", None)
    return f" (at column {offset + 1})" if offset is not None else ""


def _check_call(node: ast.Call, shown: str) -> None:
    if node.keywords:
        raise ExpressionError(f"keyword arguments not allowed in {shown}{_column(node)}")
    if not isinstance(node.func, ast.Name):
        what = _REFUSED.get(type(node.func), "calling the result of an expression")
        raise ExpressionError(f"{what} not allowed in {shown}{_column(node.func)}")
    _check_name(node.func, shown, called=True)
    name = node.func.id
    least, most, *_ = FUNCTIONS[name]
    n = len(node.args)
    if n < least or (most is not None and n > most):
        want = f"{least}" if least == most else f"at least {least}" if most is None else f"{least} or {most}"
        raise ExpressionError(f"{name}() takes {want} argument{'s' if want != '1' else ''}, got {n}, in {shown}")


def _check_name(node: ast.Name, shown: str, called: bool) -> None:
    name = node.id
    if name.startswith("_"):
        raise ExpressionError(f"cannot use {name!r} in {shown}: names must not start with '_'")
    if len(name) > LIMITS["name"] or not name.isascii():
        raise ExpressionError(f"the name {name[:20]!r}... in {shown} is not a short ASCII name"
                              if len(name) > 20 else f"the name {name!r} in {shown} is not a short ASCII name")
    if called and name not in FUNCTIONS:
        known = ", ".join(sorted(FUNCTIONS, key=str.lower))
        raise ExpressionError(f"unknown function {name} in {shown} (known: {known})")
    if not called and name in FUNCTIONS:
        raise ExpressionError(f"{name} is a function: write {name}(...) in {shown}")


def _check_literal(node: ast.Constant, text: str, shown: str) -> None:
    value = node.value
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        kind = {str: "strings", bytes: "strings", complex: "complex numbers", bool: "True/False",
                type(None): "None"}.get(type(value), "this constant")
        raise ExpressionError(f"{kind} not allowed in {shown}{_column(node)}")
    literal = ast.get_source_segment(text, node) or repr(value)
    if len(literal) > LIMITS["literal"]:
        raise ExpressionError(f"the number {literal[:20]}... in {shown} has {len(literal)} characters; "
                              f"the limit is {LIMITS['literal']}")
    if isinstance(value, float) and not math.isfinite(value):
        raise ExpressionError(f"the number {literal} in {shown} is too large for float64")
    if isinstance(value, float) and value == 0.0 and any(c in "123456789" for c in literal.lower().split("e")[0]):
        raise ExpressionError(f"the number {literal} in {shown} is too small for float64 (it would be 0)")


def _build(root: ast.expr, source: str, shown: str) -> Any:
    """SymPy objects from the checked tree, children before parents (no recursion).

    Beside each constant subexpression runs its float64 value: a constant that
    overflows or leaves its domain is refused before SymPy sees it (SymPy's exact
    arithmetic on such a constant can take unbounded time, and autodiff computes in
    float64 anyway)."""
    values: dict[int, tuple[Any, Any]] = {}  # id(node) -> (SymPy object, float64 value or None)
    stack: list[tuple[ast.expr, bool]] = [(root, False)]
    while stack:
        node, ready = stack.pop()
        if not ready:
            stack.append((node, True))
            stack.extend((c, False) for c in _operands(node))
            continue
        args = [values.pop(id(c)) for c in _operands(node)]
        symbolic, numeric = [a for a, _ in args], [f for _, f in args]
        if isinstance(node, ast.Constant):
            out: Any = sp.Integer(node.value) if isinstance(node.value, int) else sp.Float(node.value)
            approx: Any = np.float64(cast(float, node.value))
        elif isinstance(node, ast.Name):
            out = CONSTANTS.get(node.id, sp.Symbol(node.id, real=True))
            approx = np.float64(float(out)) if node.id in CONSTANTS else None
        else:
            exact, floating = _operation(node)
            approx = None if any(f is None for f in numeric) else _float64(floating, numeric, node, source, shown)
            if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Pow, ast.BitXor)):
                _check_power(symbolic[0], symbolic[1], numeric[1], shown)
            out = exact(*symbolic)
        _check_size(out, shown)
        values[id(node)] = (out, approx)
    return values[id(root)][0]


def _operation(node: ast.expr) -> tuple[Callable[..., Any], Callable[..., Any]]:
    """The SymPy builder and the float64 function of an operator or call node."""
    if isinstance(node, ast.UnaryOp):
        return _UNARY[type(node.op)], _UNARY[type(node.op)]
    if isinstance(node, ast.BinOp):
        return _BINARY[type(node.op)], _BINARY[type(node.op)]
    assert isinstance(node, ast.Call) and isinstance(node.func, ast.Name)  # _check_tree allowed nothing else
    _, _, exact, floating = FUNCTIONS[node.func.id]
    return exact, floating


def _float64(fn: Callable[..., Any], args: list[Any], node: ast.expr, source: str, shown: str) -> Any:
    try:
        with np.errstate(over="raise", divide="raise", invalid="raise", under="ignore"):
            value = np.float64(fn(*args))
    except (FloatingPointError, OverflowError, ZeroDivisionError, ValueError):
        value = np.float64("nan")
    if not np.isfinite(value):
        part = ast.get_source_segment(source, node) or "a constant"
        raise ExpressionError(f"the constant part {_short(part)} of {shown} is not a finite real float64 "
                              f"number (overflow, division by zero or outside its domain)")
    return value


def _operands(node: ast.expr) -> list[ast.expr]:
    if isinstance(node, ast.BinOp):
        return [node.left, node.right]
    if isinstance(node, ast.UnaryOp):
        return [node.operand]
    if isinstance(node, ast.Call):
        return list(node.args)
    return []


def _digits(q: Any) -> float:
    """Decimal digits of the larger of a rational's numerator and denominator (a float: 10**3 has 3.0)."""
    return math.log10(max(abs(int(q.p)), abs(int(q.q)), 1))


def _check_power(base: Any, exponent: Any, exponent_value: Any, shown: str) -> None:
    """Bound a constant exponent, and the digits of an exact power, before SymPy computes it."""
    if exponent_value is None:
        return
    size = abs(float(exponent_value))
    if size > LIMITS["exponent"]:
        raise ExpressionError(f"the exponent {_short(exponent)} in {shown} is too large "
                              f"(the limit is {LIMITS['exponent']:,} in magnitude)")
    if base.is_number and max(map(_digits, base.atoms(sp.Rational)), default=0) * size > LIMITS["digits"]:
        raise ExpressionError(f"({_short(base)})**{_short(exponent)} in {shown} would have more than "
                              f"{LIMITS['digits']} digits")


def _undefined(value: Any) -> bool:
    return bool(value.has(sp.zoo, sp.nan, sp.oo, -sp.oo))


def _check_size(value: Any, shown: str) -> None:
    """New exact constants appear at the top of what SymPy just built (a coefficient it folded or
    distributed): look two levels down, older ones were checked when they were made."""
    near = [value, *value.args, *(g for a in value.args for g in a.args)]
    if any(v.is_Rational and _digits(v) > LIMITS["digits"] for v in near):
        raise ExpressionError(f"a constant in {shown} has more than {LIMITS['digits']} digits")


def _short(value: Any) -> str:
    text = str(value)
    return text if len(text) <= 30 else text[:27] + "..."


__all__ = ["CONSTANTS", "FUNCTIONS", "LIMITS", "ExpressionError", "parse_expression"]
