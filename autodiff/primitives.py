"""THE table: every primitive's NumPy forward beside its derivative rules, its SymPy
form, where it is tested and what it computes (``defprim`` registers each once; the
shape-changing primitives continue in ``primitives_array.py``).

Each rule reads ``rule(g, z, *inputs, **params)``: ``g`` is the gradient of the
output ``z``. Rules use only Tensor operations (and therefore also run on plain
ndarrays), so every gradient can be differentiated again. Broadcasting and dtype
are undone by the engine, not here: a rule may return a gradient in the output's
broadcast shape.
"""

from __future__ import annotations

from typing import Any, TypeAlias

import numpy as np

from .aliases import TensorLike
from .primitive import Primitive, defprim
from .sampling import Case, Draw, elementwise, separated
from .tensor import Tensor

#: What a rule's operands and results are: Tensors under ``create_graph``, ndarrays during a
#: plain backward pass (every primitive then just evaluates NumPy). There, as in the NumPy
#: forwards typed ``np.ndarray`` below, a 0-d result may be a NumPy scalar, which has the same
#: operations (and which ``Primitive.__call__`` turns into an array when it makes a Tensor).
Val: TypeAlias = Tensor | np.ndarray
#: A reduction's ``axis`` param as the table receives it (``axes.check_axis`` normalises
#: it; a list is taken as a tuple).
Axes: TypeAlias = int | tuple[int, ...] | list[int] | None


# ----------------------------------------------------------------- helpers
def _sign(x: Val) -> Val:
    return Tensor._leaf(np.sign(x._data)) if isinstance(x, Tensor) else np.sign(x)


def _axes_set(shape: tuple[int, ...], axis: Axes) -> set[int]:
    if axis is None:
        return set(range(len(shape)))
    return {a % len(shape) for a in (axis if isinstance(axis, (tuple, list)) else (axis,))}


def _kept_shape(shape: tuple[int, ...], axis: Axes) -> tuple[int, ...]:
    """The shape a reduction over ``axis`` leaves with keepdims=True."""
    axes = _axes_set(shape, axis)
    return tuple(1 if i in axes else n for i, n in enumerate(shape))


def reduced_shape(shape: tuple[int, ...], axis: Axes) -> tuple[int, ...]:
    """The shape a reduction over ``axis`` leaves with keepdims=False."""
    axes = _axes_set(shape, axis)
    return tuple(n for i, n in enumerate(shape) if i not in axes)


def _unreduce(t: Val, x: Val, axis: Axes, keepdims: bool) -> Val:
    """A reduction's output (or gradient) reshaped to keepdims form, so it broadcasts against x."""
    return t if keepdims else reshape_p(t, shape=_kept_shape(x.shape, axis))


def _axis(axis: Axes) -> int | tuple[int, ...] | None:
    return tuple(axis) if isinstance(axis, list) else axis


def _swap(x: Val) -> Val:
    """Swap the last two axes (matrix transpose of a batch); ndarray and Tensor alike."""
    swapped: Val = x.swapaxes(-1, -2)
    return swapped


def _expand(x: Val, axis: int) -> Val:
    shape = list(x.shape)
    shape.insert(axis % (len(shape) + 1), 1)
    return reshape_p(x, shape=tuple(shape))


def _drop(x: Val, axis: int) -> Val:
    shape = list(x.shape)
    del shape[axis]
    return reshape_p(x, shape=tuple(shape))


def sum_to(g: Val, shape: tuple[int, ...]) -> Val:
    """Sum a broadcast gradient ``g`` back down to ``shape`` (NumPy's rules reversed)."""
    if g.shape == shape:
        return g
    lead = g.ndim - len(shape)
    if lead < 0:
        raise ValueError(f"cannot sum a gradient of shape {g.shape} down to shape {shape}")
    axes = tuple(range(lead)) + tuple(
        i + lead for i, n in enumerate(shape) if n == 1 and g.shape[i + lead] != 1
    )
    if axes:
        g = sum_p(g, axis=axes, keepdims=False)
    if g.shape != shape:
        g = reshape_p(g, shape=shape)
    return g


# ----------------------------------------------------------- arithmetic
ANY = elementwise(arity=2)
add = defprim("add", np.add,
              lambda g, z, x, y: g,
              lambda g, z, x, y: g,
              sympy=lambda sp, x, y: x + y, sample=ANY, doc="x + y.  d/dx = 1, d/dy = 1")
sub = defprim("sub", np.subtract,
              lambda g, z, x, y: g,
              lambda g, z, x, y: -g,
              sympy=lambda sp, x, y: x - y, sample=ANY, doc="x - y.  d/dx = 1, d/dy = -1")
mul = defprim("mul", np.multiply,
              lambda g, z, x, y: g * y,
              lambda g, z, x, y: g * x,
              sympy=lambda sp, x, y: x * y, sample=ANY, doc="x * y.  d/dx = y, d/dy = x")
div = defprim("div", np.true_divide,
              lambda g, z, x, y: g / y,
              lambda g, z, x, y: -g * z / y,
              sympy=lambda sp, x, y: x / y, sample=elementwise(bounds=[(-3, 3), (0.5, 3)]),
              doc="x / y.  d/dx = 1/y, d/dy = -x/y²")
neg = defprim("neg", np.negative,
              lambda g, z, x: -g,
              sympy=lambda sp, x: -x, sample=elementwise(), doc="-x.  d/dx = -1")


def _any(b: Val) -> bool:
    """Whether any element is true; always True while ``jit`` traces, so the trace records a
    rule's general branch (valid for every value) rather than the one this call's values
    chose, which made a later call trace a different program."""
    from .compile.trace import active

    return active() is not None or bool(np.any(b._data if isinstance(b, Tensor) else b))


def _values(b: Val) -> np.ndarray:
    return b._data if isinstance(b, Tensor) else np.asarray(b)


def _pow_gx(g: Val, z: Val, x: Val, y: Val) -> Val:
    """y x**(y-1), and exactly 0 where y == 0 (x**0 is constant, also at x = 0: PyTorch's rule).
    The factor y stays in the product, so d/dy of this rule at y == 0 is x**-1 (a select on
    y == 0 would make the mixed second derivative 0); only 0**(-1) is replaced, by 1."""
    if not _any(y == 0):
        return g * y * x ** (y - 1)
    both = (_values(y) == 0) & (_values(x) == 0)
    return g * y * where_p(both, 1, x) ** (y - 1)


def _pow_gy(g: Val, z: Val, x: Val, y: Val) -> Val:
    """x**y log x; at x == 0 (log x = -inf) PyTorch's values: 0 for y >= 0, -inf for y < 0."""
    if not _any(x == 0):
        return g * z * log(x)
    zero = x == 0  # (g * z) * log x as in the branch above, so both round alike
    return where_p(zero, g * where_p(y >= 0, 0, -np.inf), g * z * log(where_p(zero, 1, x)))


pow = defprim("pow", np.power, _pow_gx, _pow_gy,  # noqa: A001  (the table's name for x ** y)
              sympy=lambda sp, x, y: x ** y, sample=elementwise(bounds=[(0.2, 3), (-2, 2)]),
              conventions="as PyTorch: d/dx x**0 = 0 everywhere (also at x = 0); at x = 0, d/dy = 0 for "
              "y >= 0 and -inf for y < 0; a negative base gives NaN for d/dy",
              doc="x ** y.  d/dx = y·x^(y-1), d/dy = x^y·log(x)")


# ---------------------------------------------------------- elementwise
def _sigmoid(x: np.ndarray) -> np.ndarray:
    e = np.exp(-np.abs(x))  # never overflows: stable at |x| = 1e4
    out: np.ndarray = np.where(x >= 0, 1 / (1 + e), e / (1 + e))
    return out


exp: Primitive = defprim("exp", np.exp, lambda g, z, x: g * z,
                         sympy=lambda sp, x: sp.exp(x), sample=elementwise(), doc="eˣ.  d/dx = eˣ")
log = defprim("log", np.log, lambda g, z, x: g / x,
              sympy=lambda sp, x: sp.log(x), sample=elementwise(0.1, 5), doc="Natural logarithm (x > 0).  d/dx = 1/x")
log1p = defprim("log1p", np.log1p, lambda g, z, x: g / (1 + x),
                sympy=lambda sp, x: sp.log(1 + x), sample=elementwise(-0.9, 5),
                doc="log(1 + x), accurate for small x (x > -1).  d/dx = 1/(1 + x)")
sqrt = defprim("sqrt", np.sqrt, lambda g, z, x: g / (2 * z),
               sympy=lambda sp, x: sp.sqrt(x), sample=elementwise(0.1, 5), doc="√x (x ≥ 0).  d/dx = 1/(2√x)")
sin = defprim("sin", np.sin, lambda g, z, x: g * cos(x),
              sympy=lambda sp, x: sp.sin(x), sample=elementwise(-4, 4), doc="sin x.  d/dx = cos x")
# `name: Primitive` where a rule calls a primitive defined after it (or itself): mypy cannot infer the type there
cos: Primitive = defprim("cos", np.cos, lambda g, z, x: -g * sin(x),
                         sympy=lambda sp, x: sp.cos(x), sample=elementwise(-4, 4), doc="cos x.  d/dx = -sin x")
tan = defprim("tan", np.tan, lambda g, z, x: g * (1 + z * z),
              sympy=lambda sp, x: sp.tan(x), sample=elementwise(-1.2, 1.2), doc="tan x.  d/dx = 1 + tan² x")
tanh = defprim("tanh", np.tanh, lambda g, z, x: g * (1 - z * z),
               sympy=lambda sp, x: sp.tanh(x), sample=elementwise(-4, 4), doc="tanh x.  d/dx = 1 - tanh² x")
sigmoid = defprim("sigmoid", _sigmoid, lambda g, z, x: g * (z * (1 - z)),
                  sympy=lambda sp, x: 1 / (1 + sp.exp(-x)), sample=elementwise(-6, 6),
                  doc="1 / (1 + e⁻ˣ), stable for |x| = 1e4.  d/dx = σ(x)(1 - σ(x))")
softplus = defprim("softplus", lambda x: np.logaddexp(0, x), lambda g, z, x: g * sigmoid(x),
                   sympy=lambda sp, x: sp.log(1 + sp.exp(x)), sample=elementwise(-6, 6),
                   doc="log(1 + eˣ), stable for large |x|.  d/dx = σ(x)")
# kinks: relu'(0) = 0, abs'(0) = 0, ties of maximum/minimum split the gradient.
# relu multiplies by its mask: 15x faster than a select on a random mask, and the
# mask is constant, so the rule stays differentiable.
relu = defprim("relu", lambda x: np.maximum(x, 0), lambda g, z, x: g * (x > 0),
               sympy=lambda sp, x: x * sp.Heaviside(x, 0), sample=elementwise(kinks=(0,)),
               conventions="relu'(0) = 0", doc="max(x, 0).  d/dx = 1 for x > 0, else 0")
abs = defprim("abs", np.abs, lambda g, z, x: g * _sign(x),  # noqa: A001
              sympy=lambda sp, x: sp.Abs(x), sample=elementwise(kinks=(0,)),
              conventions="abs'(0) = 0", doc="|x|.  d/dx = sign(x)")


def _tie_apart(draw: Draw, dtype: Any) -> Case:
    x, y = elementwise(arity=2)(draw, dtype).args
    x, y = separated(x, y)
    return Case([x.astype(dtype), y.astype(dtype)])


_TIES = "ties (x == y) split the gradient 0.5/0.5"
maximum = defprim("maximum", np.maximum,
                  lambda g, z, x, y: where_p(x > y, g, where_p(x == y, g * 0.5, 0)),
                  lambda g, z, x, y: where_p(y > x, g, where_p(x == y, g * 0.5, 0)),
                  sympy=lambda sp, x, y: sp.Max(x, y), sample=_tie_apart, conventions=_TIES,
                  doc="Elementwise max(x, y).  d/dx = 1 where x > y, 0 where x < y")
minimum = defprim("minimum", np.minimum,
                  lambda g, z, x, y: where_p(x < y, g, where_p(x == y, g * 0.5, 0)),
                  lambda g, z, x, y: where_p(y < x, g, where_p(x == y, g * 0.5, 0)),
                  sympy=lambda sp, x, y: sp.Min(x, y), sample=_tie_apart, conventions=_TIES,
                  doc="Elementwise min(x, y).  d/dx = 1 where x < y, 0 where x > y")


def _where_case(draw: Draw, dtype: Any) -> Case:
    sc, sa, sb = draw.shapes(3)
    return Case([draw.booleans(sc), draw.floats(sa, -3, 3, dtype), draw.floats(sb, -3, 3, dtype)])


def _where_objects(sp: Any, c: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.where(np.asarray(c, dtype=bool), a, b).astype(object)


# The branch not taken receives an exact zero (a select, not a product), so a
# NaN/inf in g never leaks into it; see functions.where for the double-where idiom.
where_p: Primitive = defprim("where", np.where,
                             None,
                             lambda g, z, c, a, b: where_p(c, g, 0),
                             lambda g, z, c, a, b: where_p(c, 0, g),
                             sympy_array=_where_objects,
                             sample=_where_case, conventions="the branch not taken gets an exact 0 (NaN does not leak)",
                             doc="a where cond else b.  d/da = cond, d/db = not cond; cond is not differentiable")


def _clip_rule(g: Val, z: Val, x: Val, lo: TensorLike | None, hi: TensorLike | None) -> Val:
    """The gradient inside [lo, hi]; the bounds are numbers or arrays (Tensor bounds go to clip_bounds)."""
    inside = (x >= (-np.inf if lo is None else lo)) & (x <= (np.inf if hi is None else hi))
    return where_p(inside, g, 0)


def _clip_sympy(sp: Any, x: Any, lo: Any, hi: Any) -> Any:
    pieces = ([(lo, x < lo)] if lo is not None else []) + ([(hi, x > hi)] if hi is not None else [])
    return sp.Piecewise(*pieces, (x, True))


def _clip_case(draw: Draw, dtype: Any) -> Case:
    lo, hi = draw.choice([(-1.0, 1.0), (None, 0.5), (-0.5, None)])
    (x,) = elementwise(kinks=[k for k in (lo, hi) if k is not None])(draw, dtype).args
    return Case([x], {"lo": lo, "hi": hi})


clip_p = defprim("clip", lambda x, lo, hi: np.clip(x, lo, hi), _clip_rule,
                 sympy=_clip_sympy, sample=_clip_case, conventions="the gradient passes where lo <= x <= hi (as "
                 "torch.clamp)", doc="x limited to [lo, hi].  d/dx = 1 inside, 0 outside")


def _astype_case(draw: Draw, dtype: Any) -> Case:
    (x,) = elementwise()(draw, dtype).args
    # cast to the dtype under test: a float64 proof through a float32 cast would measure
    # float32's rounding, not the rule; the float32 check then covers the float32 -> float64 cast
    return Case([x], {"dtype": np.dtype(dtype)})


astype_p: Primitive = defprim("astype", lambda x, dtype: x.astype(dtype),
                              lambda g, z, x, dtype: astype_p(g, dtype=x.dtype),
                              sympy=lambda sp, x, dtype: x, sample=_astype_case,
                              doc="x cast to another dtype.  d/dx = 1 (the gradient is cast back to x's dtype)")


# The shape-changing half of the table; the helpers above call these at run time.
from .primitives_array import (  # noqa: E402  (re-exported: P.sum_p, ...)
    broadcast_to_p as broadcast_to_p,
    concatenate_p as concatenate_p,
    einsum_p as einsum_p,
    getitem_p as getitem_p,
    linear_p as linear_p,
    log_softmax_p as log_softmax_p,
    logsumexp_p as logsumexp_p,
    matmul as matmul,
    max_p as max_p,
    min_p as min_p,
    reshape_p as reshape_p,
    scatter_p as scatter_p,
    softmax_p as softmax_p,
    stack_p as stack_p,
    sum_p as sum_p,
    transpose_p as transpose_p,
)
from .primitives_loss import (  # noqa: E402  (fused)
    softmax_cross_entropy_grad_p as softmax_cross_entropy_grad_p,
    softmax_cross_entropy_p as softmax_cross_entropy_p,
)
