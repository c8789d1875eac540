"""The SymPy bridge: a graph as a SymPy expression, a SymPy expression as a function of
Tensors, and a gradient check of autodiff against SymPy's derivative.

Each registered primitive carries its SymPy form (``defprim(..., sympy=...)``); ``from_sympy``
(in :mod:`autodiff.symbolic_from`, importable from here) walks SymPy's heads back to autodiff
functions. Kinks follow the engine: relu'(0) = 0 (``x*Heaviside(x, 0)``), ties of maximum/minimum share (``Max``
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

from .engine import gradients
from .graph import argument_names, topo_order
from .primitive import Primitive
from .symbolic_from import FROM_SYMPY, _postorder as _postorder, from_sympy  # from_sympy's home; importable here too
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


def to_object_array(*outputs: Tensor,
                    inputs: Sequence[Tensor] = ()) -> tuple[list[np.ndarray], dict[Tensor, np.ndarray]]:
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


def sympy_gradient(expr: Any, symbols: np.ndarray, values: dict[Any, float]) -> np.ndarray:
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
    values: dict[Any, float] = {}
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
