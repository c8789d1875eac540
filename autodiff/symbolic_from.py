"""SymPy expressions as functions of Tensors: ``from_sympy`` walks an expression's nodes
(children first, without recursion) and computes each with the autodiff function for its
SymPy head (``FROM_SYMPY``), using a stable primitive where SymPy spells one naively
(``1/(1 + exp(-a))`` is computed by sigmoid). The other direction, and the check against
SymPy's derivative, are in :mod:`autodiff.symbolic`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import sympy as sp

from . import functions as F, primitives as P, primitives_math as M
from .tensor import Tensor


def _heaviside(x: Tensor, h0: Any = None) -> Tensor:
    half = 0.5 if h0 is None else float(h0)
    return F.where(x > 0, 1.0, F.where(x == 0, half, 0.0))


def _piecewise(*pairs: tuple[Any, Any]) -> Any:
    """SymPy's ``Piecewise((value, cond), ...)``: the first pair whose condition holds."""
    result: Any = None
    for value, cond in reversed(pairs):
        result = value if result is None else F.where(cond, value, result)
    return result


def _fold(fn: Callable[[Any, Any], Any]) -> Callable[..., Any]:
    """A binary function applied left to right over any number of arguments (SymPy's n-ary heads)."""

    def apply(*args: Any) -> Any:
        out = args[0]
        for a in args[1:]:
            out = fn(out, a)
        return out
    return apply


def _add(*args: Any) -> Any:
    return _fold(lambda a, b: a + b)(*args)


def _mul(*args: Any) -> Any:
    return _fold(lambda a, b: a * b)(*args)


def _pow(base: Any, exponent: Any) -> Any:
    if isinstance(exponent, float) and exponent == 0.5:
        return P.sqrt(base)
    return base ** exponent


FROM_SYMPY: dict[Any, Callable[..., Any]] = {
    sp.Add: _add, sp.Mul: _mul, sp.Pow: _pow,
    sp.exp: P.exp, sp.log: P.log, sp.sin: P.sin, sp.cos: P.cos, sp.tan: P.tan, sp.tanh: P.tanh,
    sp.Abs: P.abs, sp.Max: _fold(P.maximum), sp.Min: _fold(P.minimum), sp.Heaviside: _heaviside,
    sp.sign: P._sign, sp.Piecewise: _piecewise,
    sp.StrictGreaterThan: lambda a, b: a > b, sp.GreaterThan: lambda a, b: a >= b,
    sp.StrictLessThan: lambda a, b: a < b, sp.LessThan: lambda a, b: a <= b,
    sp.Equality: lambda a, b: a == b, sp.Unequality: lambda a, b: a != b,
    sp.And: _fold(lambda a, b: a & b), sp.Or: _fold(lambda a, b: a | b),
    sp.sinh: lambda x: (P.exp(x) - P.exp(-x)) / 2, sp.cosh: lambda x: (P.exp(x) + P.exp(-x)) / 2,
}

# the primitives of primitives_math under SymPy's names (SymPy's sinc is sin(u)/u, NumPy's sin(πx)/(πx))
FROM_SYMPY.update({
    sp.sinh: M.sinh, sp.cosh: M.cosh, sp.asin: M.arcsin, sp.acos: M.arccos, sp.atan: M.arctan,
    sp.atan2: M.arctan2, sp.asinh: M.arcsinh, sp.acosh: M.arccosh, sp.atanh: M.arctanh,
    sp.erf: M.erf, sp.erfc: M.erfc, sp.sinc: lambda u: M.sinc(u * (1 / np.pi)),
})


#: A fused node: the primitive that computes it stably and its operands (SymPy nodes).
_Form = tuple[Callable[..., Any], tuple[Any, ...]]
#: The fused nodes by id, and the ids of the nodes the result needs.
_Plan = tuple[dict[int, _Form], set[int]]


def _constant(expr: Any) -> Any:
    if expr is sp.true or expr is sp.false:
        return bool(expr)
    if isinstance(expr, sp.Integer):
        return int(expr)
    if expr.is_number:
        value = complex(expr.evalf(17)) if not expr.is_real else float(expr.evalf(17))
        if isinstance(value, complex):
            raise ValueError(f"from_sympy: the constant {expr} is not real")
        return value
    return None


def from_sympy(expr: Any, symbols: Sequence[Any]) -> Callable[..., Tensor]:
    """A function of Tensors (one per symbol, in order) that computes ``expr`` with
    autodiff primitives, so a model can be written as a formula.

    ``expr`` is a SymPy expression, a Python number, or text, which goes through the
    safe parser :func:`autodiff.parsing.parse_expression` (never ``sympify``);
    ``symbols`` are SymPy Symbols or names.

    >>> import sympy as sp, autodiff as ad
    >>> x, y = sp.symbols("x y")
    >>> f = ad.from_sympy(x ** 2 * sp.sin(y), [x, y])
    >>> f(ad.Tensor(3.0), ad.Tensor(0.5)).item()      # doctest: +ELLIPSIS
    4.31...
    >>> ad.from_sympy("x**2 * sin(y)", ["x", "y"])(ad.Tensor(3.0), ad.Tensor(0.5)).item()  # doctest: +ELLIPSIS
    4.31...
    """
    expr = _as_sympy(expr)
    nodes = _postorder(expr)
    found = {n for n in nodes if isinstance(n, sp.Symbol)}
    symbols = [_symbol(s, found) for s in symbols]
    missing = found - set(symbols)
    if missing:
        raise ValueError(f"from_sympy: the expression uses {sorted(map(str, missing))}, which are not in symbols")
    _check_supported(nodes, expr)
    constants = _constants(nodes)
    plan = _plan(nodes)

    def f(*args: Any) -> Tensor:
        if len(args) != len(symbols):
            raise TypeError(f"from_sympy function: expected {len(symbols)} arguments "
                            f"({', '.join(map(str, symbols))}), got {len(args)}")
        out = _build(nodes, constants, plan, dict(zip(symbols, args, strict=True)))
        return out if isinstance(out, Tensor) else Tensor(out)

    f.__doc__ = f"autodiff function computing {_short_text(expr, nodes)}"
    return f


def _as_sympy(expr: Any) -> Any:
    if isinstance(expr, str):
        from .parsing import parse_expression

        return parse_expression(expr)
    if isinstance(expr, sp.Basic):
        return expr
    if isinstance(expr, (int, np.integer)) and not isinstance(expr, (bool, np.bool_)):
        return sp.Integer(int(expr))
    if isinstance(expr, (float, np.floating)):
        return sp.Float(float(expr))
    raise TypeError(f"from_sympy: expected a SymPy expression, a number or expression text, "
                    f"got {type(expr).__name__}")


def _symbol(s: Any, found: set[Any]) -> Any:
    """A symbol given by name matches the expression's symbol of that name (whatever its assumptions)."""
    if not isinstance(s, str):
        if not isinstance(s, sp.Symbol):
            raise TypeError(f"from_sympy: symbols must be SymPy Symbols or names, got {type(s).__name__}")
        return s
    same = [f for f in found if f.name == s]
    if len(same) > 1:
        raise ValueError(f"from_sympy: the expression has {len(same)} different symbols named {s!r} "
                         f"(with different assumptions); pass the Symbol itself")
    return same[0] if same else sp.Symbol(s, real=True)


def _short_text(expr: Any, nodes: list[Any]) -> str:
    """``str(expr)`` cut to 200 characters; SymPy's printer recurses, so large expressions are only counted."""
    if len(nodes) > 200:
        return f"a SymPy expression of {len(nodes)} nodes"
    text = str(expr)
    return text if len(text) <= 200 else text[:197] + "..."


def _children(node: Any) -> tuple[Any, ...]:
    return node.args if isinstance(node, sp.Basic) else ()


def _postorder(expr: Any) -> list[Any]:
    """Every distinct node object of ``expr``, children before parents, without recursion
    (SymPy's own walks recurse and fail on expressions a few hundred levels deep)."""
    order: list[Any] = []
    seen: set[int] = set()
    stack: list[tuple[Any, bool]] = [(expr, False)]
    while stack:
        node, done = stack.pop()
        if done:
            order.append(node)
        elif id(node) not in seen:
            seen.add(id(node))
            stack.append((node, True))
            stack.extend((c, False) for c in reversed(_children(node)))
    return order


def _is_pair(node: Any) -> bool:
    return type(node).__name__ == "ExprCondPair"


def _check_supported(nodes: list[Any], expr: Any) -> None:
    for node in nodes:
        if node.is_Atom or isinstance(node, sp.Piecewise) or _is_pair(node) or type(node) in FROM_SYMPY:
            continue
        raise ValueError(f"from_sympy: unsupported SymPy function '{type(node).__name__}' in "
                         f"{_short_text(expr, nodes)}")


def _constants(nodes: list[Any]) -> dict[int, Any]:
    """The value of every node free of symbols, by id (computed once, when the function is made)."""
    constant: set[int] = set()
    values: dict[int, Any] = {}
    for node in nodes:
        if isinstance(node, sp.Symbol) or not all(id(c) in constant for c in node.args):
            continue
        constant.add(id(node))
        value = None if _is_pair(node) else _constant(node)
        if value is not None:
            values[id(node)] = value
    return values


def _plan(nodes: list[Any]) -> _Plan:
    """Which nodes a stable primitive computes (with its operands), and which nodes are
    needed at all (the inner nodes of a replaced form are not: exp(-a) of sigmoid would
    overflow for nothing)."""
    fused = {id(n): form for n in nodes if (form := _stable_form(n)) is not None}
    needed = {id(nodes[-1])}
    for node in reversed(nodes):
        if id(node) in needed:
            needed.update(id(c) for c in (fused[id(node)][1] if id(node) in fused else node.args))
    return fused, needed


def _build(nodes: list[Any], constants: dict[int, Any], plan: _Plan, inputs: dict[Any, Any]) -> Any:
    """Evaluate the needed nodes in order (children first): shared node objects once, no recursion."""
    fused, needed = plan
    values: dict[int, Any] = dict(constants)
    for node in nodes:
        key = id(node)
        if key in values or key not in needed:
            continue
        if key in fused:
            fn, operands = fused[key]
            values[key] = fn(*[values[id(c)] for c in operands])
        elif isinstance(node, sp.Symbol):
            values[key] = inputs[node]
        elif _is_pair(node):
            values[key] = tuple(values[id(c)] for c in node.args)
        elif isinstance(node, sp.Piecewise):
            values[key] = _piecewise(*[values[id(c)] for c in node.args])
        else:
            values[key] = FROM_SYMPY[type(node)](*[values[id(c)] for c in node.args])
    return values[id(nodes[-1])]


def _one_plus(node: Any) -> Any:
    """The terms ``rest`` when ``node`` is ``1 + rest`` (a SymPy Add), else None."""
    if isinstance(node, sp.Add) and node.args[0] == 1 and len(node.args) >= 2:
        return node.args[1:]
    return None


def _log1p_of_sum(*terms: Any) -> Any:
    return P.log1p(_add(*terms))


def _stable_form(node: Any) -> _Form | None:
    """SymPy's spelling of a numerically stable primitive, to be computed by that
    primitive: ``1/(1 + exp(-a))`` is sigmoid(a), ``log(1 + exp(a))`` softplus(a),
    ``log(1 + a)`` log1p(a) (the naive forms overflow or lose digits where these do not)."""
    if isinstance(node, sp.Pow) and node.exp == -1:
        rest = _one_plus(node.base)
        if rest and len(rest) == 1 and isinstance(rest[0], sp.exp):
            minus_a = rest[0].args[0]
            if isinstance(minus_a, sp.Mul) and len(minus_a.args) == 2 and minus_a.args[0] == -1:
                return P.sigmoid, (minus_a.args[1],)
    if isinstance(node, sp.log):
        rest = _one_plus(node.args[0])
        if rest and len(rest) == 1 and isinstance(rest[0], sp.exp):
            return P.softplus, rest[0].args
        if rest:
            return _log1p_of_sum, rest
    return None


__all__ = ["FROM_SYMPY", "from_sympy"]
