"""The SymPy bridge: a graph as a SymPy expression, a SymPy expression as a function of
Tensors, and a gradient check of autodiff against SymPy's derivative.

Each registered primitive carries its SymPy form (``defprim(..., sympy=...)``); ``from_sympy``
walks SymPy's heads back to autodiff functions. Kinks follow the engine:
relu'(0) = 0 (``x*Heaviside(x, 0)``), ties of maximum/minimum share (``Max``
gives ``Heaviside(a - b)`` with H(0) = 1/2), abs'(0) = 0 (``sign``).

>>> import autodiff as ad
>>> x = ad.Tensor(1.5, requires_grad=True, name="x")
>>> ad.to_sympy(ad.exp(x * x))
exp(x**2)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, cast

import numpy as np
import sympy as sp

from . import functions as F, primitives as P, primitives_math as M
from .engine import gradients
from .graph import argument_names, topo_order
from .primitive import Primitive
from .tensor import Tensor


def sympy_form(prim: Primitive) -> Callable[..., np.ndarray]:
    """A primitive's SymPy form as a function of object arrays of SymPy expressions
    (and the primitive's params) returning an object array."""
    array_form = prim.sympy_array
    if array_form is not None:
        return lambda *xs, **params: np.asarray(array_form(sp, *xs, **params), dtype=object)
    scalar = prim.sympy
    if scalar is not None:
        elementwise = scalar  # bound for the closure (mypy does not carry the narrowing into it)

        def apply(*xs: Any, **params: Any) -> np.ndarray:
            arrays = np.broadcast_arrays(*[np.asarray(x, dtype=object) for x in xs])
            out = np.empty(arrays[0].shape, dtype=object)
            for idx in np.ndindex(out.shape):
                out[idx] = elementwise(sp, *[a[idx] for a in arrays], **params)
            return out
        return apply
    reason = prim.no_sympy or "none was given (teach it with prim.defsympy(...))"
    raise NotImplementedError(f"to_sympy: the primitive '{prim.name}' has no SymPy form: {reason}")


def register_sympy(prim: Primitive, fn: Callable[..., np.ndarray]) -> None:
    """Teach ``to_sympy`` a custom primitive: ``fn`` maps object arrays of SymPy
    expressions (and the primitive's params) to an object array. The form belongs to
    that primitive object, never to its name (a user's "tanh" is not the built-in one)."""
    if not isinstance(prim, Primitive):
        raise TypeError(f"register_sympy: expected the Primitive itself, got {type(prim).__name__} "
                        f"(forms are attached to primitives, not names)")
    prim.defsympy(array=lambda _sp, *xs, **params: fn(*xs, **params))


def _number(value: Any) -> Any:
    if isinstance(value, (bool, np.bool_)):
        return sp.true if value else sp.false
    if float(value).is_integer():
        return sp.Integer(int(value))
    return sp.Float(float(value))


def _leaf_symbols(t: Tensor, name: str) -> np.ndarray:
    if t.ndim == 0:
        return np.asarray(sp.Symbol(name, real=True), dtype=object)
    out = np.empty(t.shape, dtype=object)
    for idx in np.ndindex(t.shape):
        out[idx] = sp.Symbol(name + "_" + "_".join(str(i) for i in idx), real=True)
    return out


EVALUATE_DEPTH = 500


def _depth(outputs: Sequence[Tensor]) -> int:
    """The longest path (in ops) from a leaf to one of ``outputs``."""
    depth: dict[int, int] = {}
    for node in topo_order(*outputs):
        depth[id(node)] = 1 + max((depth[id(p)] for p in node.parents), default=-1)
    return max((depth[id(o)] for o in outputs), default=0)


def to_object_array(*outputs: Tensor, inputs: Sequence[Tensor] = ()) -> tuple[list[np.ndarray], dict]:
    """Object arrays of SymPy expressions for ``outputs``, and the symbols of each leaf
    that requires grad or has a name (and of every tensor in ``inputs``, used or not).
    Shared nodes are converted once. Graphs deeper than ``EVALUATE_DEPTH`` ops are built
    without SymPy's automatic simplification, which costs quadratic time and recursion
    on deep expressions."""
    if sp.core.parameters.global_parameters.evaluate and _depth(outputs) > EVALUATE_DEPTH:
        with sp.evaluate(False):
            return to_object_array(*outputs, inputs=inputs)
    memo: dict[int, np.ndarray] = {}
    leaves: dict[Tensor, np.ndarray] = {}
    used: set[str] = set()
    for node in [*inputs, *topo_order(*outputs)]:
        if id(node) in memo:
            continue
        if node.is_leaf:
            if node.requires_grad or node.name:
                name = node.name or f"t{len(leaves)}"
                while name in used:
                    name += "_"
                used.add(name)
                memo[id(node)] = leaves[node] = _leaf_symbols(node, name)
            else:
                memo[id(node)] = np.vectorize(_number, otypes=[object])(node._data)
            continue
        rule = sympy_form(node.prim)
        memo[id(node)] = np.asarray(rule(*[memo[id(p)] for p in node.parents], **(node.saved or {})),
                                    dtype=object)
    return [memo[id(o)] for o in outputs], leaves


def to_sympy(t: Tensor) -> Any:
    """The SymPy expression the graph of ``t`` computes (a ``sympy.Array`` for arrays).

    Leaves become real Symbols named after ``.name`` (array leaves get one symbol per
    element: ``x_0, x_1``, or ``W_0_1`` for 2-D).
    """
    (arr,), _ = to_object_array(t)
    return arr.item() if arr.ndim == 0 else sp.Array(arr.tolist())


# -------------------------------------------------------------- from_sympy
def _heaviside(x, h0=None):
    half = 0.5 if h0 is None else float(h0)
    return F.where(x > 0, 1.0, F.where(x == 0, half, 0.0))


def _piecewise(*pairs):
    result = None
    for value, cond in reversed(pairs):
        result = value if result is None else F.where(cond, value, result)
    return result


def _fold(fn):
    def apply(*args):
        out = args[0]
        for a in args[1:]:
            out = fn(out, a)
        return out
    return apply


def _add(*args):
    return _fold(lambda a, b: a + b)(*args)


def _mul(*args):
    return _fold(lambda a, b: a * b)(*args)


def _pow(base, exponent):
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


def _symbol(s: Any, found: set) -> Any:
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


def _short_text(expr: Any, nodes: list) -> str:
    """``str(expr)`` cut to 200 characters; SymPy's printer recurses, so large expressions are only counted."""
    if len(nodes) > 200:
        return f"a SymPy expression of {len(nodes)} nodes"
    text = str(expr)
    return text if len(text) <= 200 else text[:197] + "..."


def _children(node: Any) -> tuple:
    return node.args if isinstance(node, sp.Basic) else ()


def _postorder(expr: Any) -> list:
    """Every distinct node object of ``expr``, children before parents, without recursion
    (SymPy's own walks recurse and fail on expressions a few hundred levels deep)."""
    order: list = []
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


def _check_supported(nodes: list, expr: Any) -> None:
    for node in nodes:
        if node.is_Atom or isinstance(node, sp.Piecewise) or _is_pair(node) or type(node) in FROM_SYMPY:
            continue
        raise ValueError(f"from_sympy: unsupported SymPy function '{type(node).__name__}' in "
                         f"{_short_text(expr, nodes)}")


def _constants(nodes: list) -> dict[int, Any]:
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


def _plan(nodes: list) -> tuple[dict[int, tuple[Callable[..., Any], tuple]], set[int]]:
    """Which nodes a stable primitive computes (with its operands), and which nodes are
    needed at all (the inner nodes of a replaced form are not: exp(-a) of sigmoid would
    overflow for nothing)."""
    fused = {id(n): form for n in nodes if (form := _stable_form(n)) is not None}
    needed = {id(nodes[-1])}
    for node in reversed(nodes):
        if id(node) in needed:
            needed.update(id(c) for c in (fused[id(node)][1] if id(node) in fused else node.args))
    return fused, needed


def _build(nodes: list, constants: dict[int, Any], plan: tuple[dict, set[int]], inputs: dict) -> Any:
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


def _stable_form(node: Any) -> tuple[Callable[..., Any], tuple] | None:
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


# -------------------------------------------------------- check_against_sympy
@dataclass
class SympyCheck:
    """The result of :func:`check_against_sympy`: per input, the largest absolute and
    relative difference between autodiff's gradient and SymPy's."""

    expression: Any
    names: list[str]
    max_abs: list[float]
    max_rel: list[float]

    def __str__(self) -> str:
        rows = [f"SymPy check of {self.expression}"]
        rows += [f"  d/d{n}: max abs error {a:.2e}, max rel error {r:.2e}"
                 for n, a, r in zip(self.names, self.max_abs, self.max_rel, strict=True)]
        return "\n".join(rows)


def sympy_derivative(expr: Any, symbol: Any) -> Any:
    """SymPy's derivative with DiracDelta terms (the derivatives of kinks) set to 0, the
    engine's convention away from measure-zero points."""
    return sp.diff(expr, symbol).replace(sp.DiracDelta, lambda *a: sp.Integer(0))


def sympy_gradient(expr: Any, symbols: np.ndarray, values: dict) -> np.ndarray:
    """SymPy's gradient of ``expr`` with respect to each symbol of the object array
    ``symbols``, evaluated numerically at ``values`` (DiracDelta counts as 0)."""
    flat = list(np.asarray(symbols, dtype=object).reshape(-1))
    keys, vals = list(values), list(values.values())
    grads = [sympy_derivative(expr, s) for s in flat]
    fn = sp.lambdify(keys, grads, modules="numpy")
    return np.asarray(fn(*vals), dtype=np.float64).reshape(np.shape(symbols))


def check_against_sympy(f: Callable[..., Any], *args: Any, rtol: float = 1e-7, atol: float = 1e-9) -> SympyCheck:
    """Differentiate ``f`` at ``args`` with autodiff and with SymPy (on the traced
    expression) and compare. Returns a :class:`SympyCheck`; raises
    ``AssertionError`` naming the worst mismatch.

    >>> import autodiff as ad
    >>> print(ad.check_against_sympy(lambda x: ad.sqrt(x ** 2 + ad.exp(x ** 2)), 1.5))  # doctest: +ELLIPSIS
    SymPy check of sqrt(x**2 + exp(x**2))
      d/dx: max abs error ...
    """
    names = argument_names(f, len(args))
    tensors = [Tensor(np.asarray(a._data if isinstance(a, Tensor) else a, dtype=np.float64),
                      requires_grad=True, name=n) for a, n in zip(args, names, strict=True)]
    out = f(*tensors)
    if not isinstance(out, Tensor) or out.size != 1:
        raise ValueError("check_against_sympy: f must return a single-element Tensor")
    (expr_arr,), leaves = to_object_array(out, inputs=tensors)
    expr = expr_arr.reshape(-1)[0]
    values = {}
    for t in tensors:
        for s, v in zip(leaves[t].reshape(-1), t._data.reshape(-1), strict=True):
            values[s] = float(v)
    auto = cast(list[Tensor], gradients(out, tensors))  # without allow_unused, never None
    max_abs, max_rel = [], []
    worst = None
    for t, g, n in zip(tensors, auto, names, strict=True):
        s = sympy_gradient(expr, leaves[t], values)
        err = np.abs(g._data - s)
        rel = err / np.maximum(np.abs(s), 1e-300)
        max_abs.append(float(err.max(initial=0.0)))
        max_rel.append(float(np.where(s == 0, 0.0, rel).max(initial=0.0)))
        excess = err - (atol + rtol * np.abs(s))
        if excess.size and (excess.max() > 0 or not np.all(np.isfinite(g._data))):
            i = np.unravel_index(int(np.argmax(np.where(np.isfinite(excess), excess, np.inf))), s.shape)
            if worst is None or excess[i] > worst[0]:
                worst = (excess[i], n, i, g._data[i], s[i])
    report = SympyCheck(expr, names, max_abs, max_rel)
    if worst is not None:
        _, n, i, a, s = worst
        raise AssertionError(f"check_against_sympy: d/d{n} at element {tuple(int(j) for j in i)}: "
                             f"autodiff gives {a:.12g}, SymPy gives {s:.12g}\n{report}")
    return report


__all__ = ["FROM_SYMPY", "SympyCheck", "check_against_sympy", "from_sympy", "register_sympy",
           "sympy_derivative", "sympy_form", "sympy_gradient", "to_object_array", "to_sympy"]
