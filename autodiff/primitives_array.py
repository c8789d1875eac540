"""THE table, continued: primitives that change shapes — linear algebra, reductions,
normalisations, reshaping, indexing and joining — beside their derivative rules,
SymPy forms and test domains (``primitives.py`` holds the elementwise ones).
"""

from __future__ import annotations

import builtins
import math
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from . import symforms as S
from .mode import state
from .primitive import Primitive, defprim
from .primitives import Axes, Val, _axis, _drop, _expand, _swap, _unreduce, astype_p, exp, reduced_shape, where_p
from .sampling import Case, Draw, along_axis, reduction


# ---------------------------------------------------------- linear algebra
def _matmul_gx(g: Val, z: Val, x: Val, y: Val) -> Val:
    if x.ndim == 1 and y.ndim == 1:
        return g * y
    if y.ndim == 1:
        return _expand(g, -1) * y
    if x.ndim == 1:
        return _drop(_expand(g, -2) @ _swap(y), -2)
    return g @ _swap(y)


def _matmul_gy(g: Val, z: Val, x: Val, y: Val) -> Val:
    if x.ndim == 1 and y.ndim == 1:
        return g * x
    if x.ndim == 1:
        return _expand(x, -1) * _expand(g, -2)
    if y.ndim == 1:
        return _drop(_swap(x) @ _expand(g, -1), -1)
    return _swap(x) @ g


def _matmul_case(draw: Draw, dtype: Any) -> Case:
    n, k, m = (draw.integers(1, 3) for _ in range(3))
    batch = draw.shapes(2, max_dims=2)
    a: tuple[int, ...] = (n, k) if draw.integers(0, 2) else (k,)
    b: tuple[int, ...] = (k, m) if draw.integers(0, 2) else (k,)
    a, b = (batch[0] + a if len(a) == 2 else a), (batch[1] + b if len(b) == 2 else b)
    return Case([draw.floats(a, -2, 2, dtype), draw.floats(b, -2, 2, dtype)])


def _matmul_objects(sp: Any, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    return S.objects(np.matmul(x, y))


matmul = defprim("matmul", np.matmul, _matmul_gx, _matmul_gy, sympy_array=_matmul_objects, sample=_matmul_case,
                 aligned_error=True, doc="x @ y with NumPy's rules for 1-D operands and batches.  "
                 "d/dx = g @ yᵀ, d/dy = xᵀ @ g")


def _linear_gw(g: Val, z: Val, x: Val, w: Val, b: Val) -> Val:
    """x.T @ g with every leading (batch) axis of x folded into the rows."""
    if x.ndim == 2:
        gw: Val = x.swapaxes(-1, -2) @ g  # (_swap, inline: this runs for every dense layer of every step)
        return gw
    return _swap(reshape_p(x, shape=(-1, w.shape[0]))) @ reshape_p(g, shape=(-1, w.shape[1]))


def _linear_case(draw: Draw, dtype: Any) -> Case:
    n_in, n_out = draw.integers(1, 3), draw.integers(1, 3)
    (lead,) = draw.shapes(1, max_dims=2)
    return Case([draw.floats(lead + (n_in,), -2, 2, dtype), draw.floats((n_in, n_out), -2, 2, dtype),
                 draw.floats((n_out,), -2, 2, dtype)])


def _linear_gb(g: Val, z: Val, x: Val, w: Val, b: Val) -> Val:
    """Σ g over every leading (batch) axis when b is a vector (the sum itself, not the
    engine's general un-broadcasting); g as it is for any other b, which the engine sums down."""
    if g.ndim > 1 and b.ndim == 1 and b.shape[0] == g.shape[-1]:
        axes = tuple(range(g.ndim - 1))
        if state.raw:  # a plain backward: what sum_p would run, without its call
            summed: np.ndarray = np.add.reduce(g, axis=axes)
            return summed
        return sum_p(g, axis=axes, keepdims=False)
    return g


def _linear_forward(x: np.ndarray, w: np.ndarray, b: np.ndarray) -> np.ndarray:
    """x @ w + b, the bias added into the product's own (fresh) memory when that gives
    the same array: a vector bias of the product's dtype (one buffer fewer per layer)."""
    out: np.ndarray = np.matmul(x, w)
    if b.shape == out.shape[-1:] and b.ndim and (b.dtype is out.dtype or b.dtype == out.dtype):
        out += b
        return out
    summed: np.ndarray = out + b
    return summed


# The affine map of a dense layer as one node (PyTorch's F.linear).
linear_p = defprim("linear", _linear_forward,
                   lambda g, z, x, w, b: g @ w.swapaxes(-1, -2),  # (w is 2-D: _swap, inline)
                   _linear_gw,
                   _linear_gb,
                   sympy_array=lambda sp, x, w, b: S.objects(np.matmul(x, w) + b), sample=_linear_case,
                   aligned_error=True, doc="x @ w + b for w of shape (in, out), one node.  "
                   "d/dx = g @ wᵀ, d/dw = xᵀ @ g, d/db = Σ g")


# ------------------------------------------------------------- reductions
def _sum_rule(g: Val, z: Val, x: Val, axis: Axes, keepdims: bool) -> Val:
    return broadcast_to_p(_unreduce(g, x, axis, keepdims), shape=x.shape)


def _extremum_rule(g: Val, z: Val, x: Val, axis: Axes, keepdims: bool) -> Val:
    """Ties share the gradient equally (as PyTorch's amax/amin and JAX do)."""
    g, z = _unreduce(g, x, axis, keepdims), _unreduce(z, x, axis, keepdims)
    hit = x == z
    count = astype_p(sum_p(hit, axis=axis, keepdims=True), dtype=g.dtype)
    return where_p(hit, g / count, 0)


def _reduce_form(combine: Callable[[Any, list[Any]], Any]) -> Callable[..., np.ndarray]:
    return lambda sp, x, axis, keepdims: S.reduce_objects(x, axis, keepdims, lambda v: combine(sp, v))


def _pairwise(op: Callable[..., Any], v: Iterable[Any]) -> Any:
    """``op`` over ``v`` as a balanced tree of two-argument calls: the same value as
    ``op(*v)``, but SymPy builds and differentiates it in linear time (a many-argument
    Max compares every pair of its arguments, and each derivative builds another; left
    unevaluated, SymPy does not flatten the tree back)."""
    v = list(v)
    while len(v) > 1:
        v = [op(v[i], v[i + 1], evaluate=False) if i + 1 < len(v) else v[i] for i in range(0, len(v), 2)]
    return v[0]


_SHARE = "tied extrema share the gradient equally (as PyTorch's amax/amin and JAX)"
# ufunc.reduce rather than np.sum/np.max: the same result without NumPy's Python wrapper (2x faster
# on small arrays, where per-op cost is what counts)
sum_p = defprim("sum", lambda x, axis, keepdims: np.add.reduce(x, axis=_axis(axis), keepdims=keepdims), _sum_rule,
                sympy_array=_reduce_form(lambda sp, v: sp.Add(*v)), sample=reduction(),
                doc="Σ x over axis.  d/dx = 1 for every summed element")
max_p = defprim("max", lambda x, axis, keepdims: np.maximum.reduce(x, axis=_axis(axis), keepdims=keepdims),
                _extremum_rule, sympy_array=_reduce_form(lambda sp, v: _pairwise(sp.Max, v)),
                sample=reduction(ties=True),
                conventions=_SHARE, doc="The maximum over axis.  d/dx = 1 at the maximum, 0 elsewhere")
min_p = defprim("min", lambda x, axis, keepdims: np.minimum.reduce(x, axis=_axis(axis), keepdims=keepdims),
                _extremum_rule, sympy_array=_reduce_form(lambda sp, v: _pairwise(sp.Min, v)),
                sample=reduction(ties=True),
                conventions=_SHARE, doc="The minimum over axis.  d/dx = 1 at the minimum, 0 elsewhere")


# ----------------------------------------------------------------- einsum
def _einsum(*xs: np.ndarray, spec: tuple[tuple[str, ...], str]) -> np.ndarray:
    ins, out = spec
    result: np.ndarray = np.einsum(",".join(ins) + "->" + out, *xs, optimize=len(xs) > 2)
    return result


def _einsum_rule(i: int, g: Val, z: Val, *xs: Val, spec: tuple[tuple[str, ...], str]) -> Val:
    """Contract g with the other operands onto operand i's letters; letters summed inside
    operand i alone come back as ones, repeated letters (a diagonal) through identities."""
    ins, out = spec
    target, x = ins[i], xs[i]
    others = [t for j, t in enumerate(ins) if j != i]
    present = set(out).union(*others)
    unique = "".join(dict.fromkeys(c for c in target if c in present))
    grad = einsum_p(g, *[v for j, v in enumerate(xs) if j != i], spec=((out, *others), unique))
    if unique == target:
        return grad
    spare = iter(c for c in "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ" if c not in present | set(target))
    terms, consts, seen, renamed = [unique], [], set(unique), []
    for c, n in zip(target, x.shape, strict=True):
        if c not in seen:  # summed inside x alone: the gradient is the same all along it
            seen.add(c)
            terms.append(c)
            consts.append(np.ones(n, dtype=g.dtype))
            renamed.append(c)
        else:  # a repeated letter: only the diagonal receives gradient
            d = next(spare)
            terms.append(c + d)
            consts.append(np.eye(n, dtype=g.dtype))
            renamed.append(d)
    return einsum_p(grad, *consts, spec=(tuple(terms), "".join(renamed)))


_EINSUMS = [(("ij", "jk"), "ik"), (("i", "i"), ""), (("ij",), "ji"), (("ij",), ""), (("bij", "bjk"), "bik"),
            (("ii",), "i"), (("iij",), "j"), (("i", "j"), "ij"), (("ij", "jk", "kl"), "il"), (("ij", "ij"), "ij")]


def _einsum_case(draw: Draw, dtype: Any) -> Case:
    ins, out = draw.choice(_EINSUMS)
    sizes = {c: draw.integers(1, 3) for c in "ijklb"}
    return Case([draw.floats(tuple(sizes[c] for c in t), -2, 2, dtype) for t in ins], {"spec": (ins, out)})


einsum_p = defprim("einsum", _einsum, any_rule=_einsum_rule,
                   sympy_array=lambda sp, *xs, spec: S.objects(np.einsum(",".join(spec[0]) + "->" + spec[1], *xs)),
                   sample=_einsum_case, doc="Einstein summation over explicit subscripts (spec = (inputs, output)).  "
                   "d/dxᵢ contracts g with the other operands onto xᵢ's subscripts")


# ------------------------------------------------------------ normalisations
# One primitive each (as in PyTorch) rather than a chain of ten: the forward shifts by
# the max, so logits of magnitude 1e4 neither overflow nor give NaN.
def _shifted(x: np.ndarray, axis: Axes) -> tuple[np.ndarray, np.ndarray]:
    m = np.maximum.reduce(x, axis=axis, keepdims=True, initial=-np.inf)  # initial: an empty axis is fine
    if not np.isfinite(m).all():  # an all -inf slice: shifting by 0 there is exact
        m = np.where(np.isfinite(m), m, 0)
    return x - m, m


def _logsumexp(x: np.ndarray, axis: Axes, keepdims: bool) -> np.ndarray:
    d, m = _shifted(x, axis)
    with np.errstate(divide="ignore"):  # an all -inf slice sums to 0: log 0 = -inf is the answer
        s: np.ndarray = np.log(np.add.reduce(np.exp(d), axis=axis, keepdims=True)) + m
    if keepdims:
        return s
    kept: np.ndarray = np.reshape(s, reduced_shape(x.shape, axis))
    return kept


def _logsumexp_rule(g: Val, z: Val, x: Val, axis: Axes, keepdims: bool) -> Val:
    return _unreduce(g, x, axis, keepdims) * exp(x - _unreduce(z, x, axis, keepdims))


def _softmax(x: np.ndarray, axis: int) -> np.ndarray:
    e: np.ndarray = np.exp(_shifted(x, axis)[0])
    return e / np.add.reduce(e, axis=axis, keepdims=True)


def _log_softmax(x: np.ndarray, axis: int) -> np.ndarray:
    d = _shifted(x, axis)[0]
    return d - np.log(np.add.reduce(np.exp(d), axis=axis, keepdims=True))


logsumexp_p = defprim("logsumexp", _logsumexp, _logsumexp_rule,
                      sympy_array=_reduce_form(lambda sp, v: sp.log(sp.Add(*[sp.exp(e) for e in v]))),
                      sample=reduction(), doc="log Σ eˣ over axis, stable for |x| = 1e4.  d/dx = softmax(x)")
softmax_p = defprim("softmax", _softmax,
                    lambda g, z, x, axis: z * (g - sum_p(g * z, axis=axis, keepdims=True)),
                    sympy_array=lambda sp, x, axis: S.objects(np.vectorize(sp.exp, otypes=[object])(
                        S.log_softmax_objects(sp, x, axis))),
                    sample=along_axis(-5, 5), doc="eˣ / Σ eˣ along axis.  d/dx: z ⊙ (g - Σ g ⊙ z)")
log_softmax_p = defprim("log_softmax", _log_softmax,
                        lambda g, z, x, axis: g - exp(z) * sum_p(g, axis=axis, keepdims=True),
                        sympy_array=lambda sp, x, axis: S.log_softmax_objects(sp, x, axis),
                        sample=along_axis(-5, 5), doc="x - log Σ eˣ along axis.  d/dx: g - softmax(x) ⊙ Σ g")


# ------------------------------------------------------------------ shape
def _inverse(axes: tuple[int, ...] | list[int] | None) -> tuple[int, ...] | None:
    return None if axes is None else tuple(int(a) for a in np.argsort([a % len(axes) for a in axes]))


def _reshape_case(draw: Draw, dtype: Any) -> Case:
    (shape,) = draw.shapes(1)
    x = draw.floats(shape, -3, 3, dtype)
    target = draw.choice([(-1,), (x.size, 1), tuple(reversed(shape)), shape + (1,), (1, -1)])
    return Case([x], {"shape": target})


def _transpose_case(draw: Draw, dtype: Any) -> Case:
    (shape,) = draw.shapes(1, min_dims=1, max_dims=4)
    perm = list(range(len(shape)))
    for k in range(len(perm) - 1, 0, -1):  # Fisher-Yates from the draw's integers
        j = draw.integers(0, k)
        perm[k], perm[j] = perm[j], perm[k]
    return Case([draw.floats(shape, -3, 3, dtype)], {"axes": draw.choice([None, tuple(perm)])})


def _broadcast_case(draw: Draw, dtype: Any) -> Case:
    (shape,) = draw.shapes(1)
    target = tuple(draw.integers(1, 3) for _ in range(draw.integers(0, 2)))
    target += tuple(draw.integers(1, 3) if n == 1 else n for n in shape)
    return Case([draw.floats(shape, -3, 3, dtype)], {"shape": target})


reshape_p: Primitive = defprim("reshape", lambda x, shape: np.reshape(x, shape),
                               lambda g, z, x, shape: reshape_p(g, shape=x.shape),
                               sympy_array=lambda sp, x, shape: np.reshape(x, shape), sample=_reshape_case,
                               doc="The same elements in a new shape.  d/dx: g reshaped back")
transpose_p: Primitive = defprim("transpose", lambda x, axes: np.transpose(x, axes),
                                 lambda g, z, x, axes: transpose_p(g, axes=_inverse(axes)),
                                 sympy_array=lambda sp, x, axes: np.transpose(x, axes), sample=_transpose_case,
                                 doc="Axes permuted (reversed for axes=None).  d/dx: g permuted back")


def _broadcast_to(x: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    if math.prod(shape) <= 4096:  # a small copy beats np.broadcast_to's Python overhead
        out = np.empty(shape, dtype=np.result_type(x))
        out[...] = x
        return out
    return np.broadcast_to(x, shape)


# The engine sums the broadcast gradient back to x's shape.
broadcast_to_p = defprim("broadcast_to", _broadcast_to, lambda g, z, x, shape: g,
                         sympy_array=lambda sp, x, shape: np.broadcast_to(x, shape), sample=_broadcast_case,
                         doc="x repeated along broadcast axes.  d/dx: g summed over them")


def _is_basic(index: tuple[Any, ...]) -> bool:
    return all(i is None or i is Ellipsis or isinstance(i, (int, np.integer, slice)) for i in index)


def _scatter(g: np.ndarray, index: tuple[Any, ...], shape: tuple[int, ...]) -> np.ndarray:
    """Zeros of ``shape`` with ``g`` added at ``index``; repeated indices accumulate."""
    out = np.zeros(shape, dtype=g.dtype)
    if _is_basic(index):
        out[index] = g
    else:
        np.add.at(out, index, g)
    return out


def _index(draw: Draw, shape: tuple[int, ...]) -> tuple[Any, ...]:
    """A normalised index into ``shape``: basic items, or integer arrays (with repeats)."""
    if draw.integers(0, 1):
        items: list[Any] = []
        for n in shape:
            kind = draw.integers(0, 2)
            items.append(draw.integers(-n, n - 1) if kind == 0 else
                         slice(draw.integers(0, n - 1), None, draw.choice([1, 2, -1])) if kind == 1 else
                         slice(None))
        return tuple(items)
    k = draw.integers(1, 4)
    return tuple(np.array([draw.integers(0, n - 1) for _ in range(k)]) for n in shape)


def _getitem_case(draw: Draw, dtype: Any) -> Case:
    (shape,) = draw.shapes(1, min_dims=1)
    return Case([draw.floats(shape, -3, 3, dtype)], {"index": _index(draw, shape)})


def _scatter_case(draw: Draw, dtype: Any) -> Case:
    (shape,) = draw.shapes(1, min_dims=1)
    index = _index(draw, shape)
    g = draw.floats(np.empty(shape)[index].shape, -3, 3, dtype)
    return Case([g], {"index": index, "shape": shape})


getitem_p = defprim("getitem", lambda x, index: x[index],
                    lambda g, z, x, index: scatter_p(g, index=index, shape=x.shape),
                    sympy_array=lambda sp, x, index: S.objects(np.asarray(x, dtype=object)[index]),
                    sample=_getitem_case, conventions="repeated indices accumulate (scatter-add)",
                    doc="x[index] (index normalised: ints, slices, None, ..., integer arrays).  "
                    "d/dx: g scattered back, repeated indices adding up")
scatter_p: Primitive = defprim("scatter", _scatter,
                               lambda g, z, x, index, shape: getitem_p(g, index=index),
                               sympy_array=lambda sp, g, index, shape: S.scatter_objects(sp, g, index, shape),
                               sample=_scatter_case, doc="Zeros of shape with g added at index (getitem's transpose).  "
                               "d/dg: the gradient read at index")


def _concat_rule(i: int, g: Val, z: Val, *xs: Val, axis: int) -> Val:
    ax = axis % z.ndim
    start = builtins.sum(x.shape[ax] for x in xs[:i])
    index = (slice(None),) * ax + (slice(start, start + xs[i].shape[ax]),)
    return getitem_p(g, index=index)


def _stack_rule(i: int, g: Val, z: Val, *xs: Val, axis: int) -> Val:
    return getitem_p(g, index=(slice(None),) * (axis % z.ndim) + (i,))


def _concat_case(draw: Draw, dtype: Any) -> Case:
    (shape,) = draw.shapes(1, min_dims=1)
    axis = draw.integers(-len(shape), len(shape) - 1)
    parts = []
    for _ in range(draw.choice([3, 3, 2, 1])):  # mostly three: every operand's rule is exercised
        s = list(shape)
        s[axis] = draw.integers(1, 3)
        parts.append(draw.floats(tuple(s), -3, 3, dtype))
    return Case(parts, {"axis": axis})


def _stack_case(draw: Draw, dtype: Any) -> Case:
    (shape,) = draw.shapes(1)
    parts = [draw.floats(shape, -3, 3, dtype) for _ in range(draw.choice([3, 3, 2, 1]))]
    return Case(parts, {"axis": draw.integers(-len(shape) - 1, len(shape))})


concatenate_p = defprim("concatenate", lambda *xs, axis: np.concatenate(xs, axis=axis), any_rule=_concat_rule,
                        sympy_array=lambda sp, *xs, axis: np.concatenate(xs, axis=axis), sample=_concat_case,
                        doc="Operands joined along an existing axis.  d/dxᵢ: xᵢ's slice of g")
stack_p = defprim("stack", lambda *xs, axis: np.stack(xs, axis=axis), any_rule=_stack_rule,
                  sympy_array=lambda sp, *xs, axis: np.stack(xs, axis=axis), sample=_stack_case,
                  doc="Operands joined along a new axis.  d/dxᵢ: g at position i of that axis")

__all__ = ["astype_p", "broadcast_to_p", "concatenate_p", "einsum_p", "getitem_p", "linear_p", "log_softmax_p",
           "logsumexp_p", "matmul", "max_p", "min_p", "reshape_p", "scatter_p", "softmax_p", "stack_p", "sum_p",
           "transpose_p"]
