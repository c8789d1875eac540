"""Products and running reductions: ``prod``, ``cumsum``, ``cumprod``, ``logcumsumexp``.

Zeros are handled exactly, without dividing by them: the gradient of ``prod`` is the
product of the *other* elements, built from exclusive running products from both ends;
``cumprod``'s rule divides only where the slice holds no zero and otherwise uses the
product with each element left out in turn (O(n²) along the axis, exact at every order).
``logcumsumexp`` runs in log space (no overflow for logits of magnitude 1e4) and its
gradient never forms exp of a large number.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import symforms as S
from .aliases import Axis, TensorLike
from .axes import alias, normalize_axis
from .compile.decide import decide, derive
from .functions import _reduction, _tensor
from .primitive import defprim
from .primitives import _unreduce, broadcast_to_p, concatenate_p, exp, getitem_p, reshape_p, sum_p, transpose_p, where_p
from .sampling import Case, Draw, axis_choice
from .tensor import Tensor


def _values(x: Any) -> np.ndarray:
    return x._data if isinstance(x, Tensor) else np.asarray(x)


def _reverse(x: Any, axis: int) -> Any:
    return getitem_p(x, index=(slice(None),) * axis + (slice(None, None, -1),))


def _to_last(x: Any, axis: int) -> Any:
    """``x`` with ``axis`` moved to the end (a no-op when it is already last)."""
    if axis == x.ndim - 1:
        return x
    perm = tuple(i for i in range(x.ndim) if i != axis) + (axis,)
    return transpose_p(x, axes=perm)


def _from_last(x: Any, axis: int) -> Any:
    """Undo :func:`_to_last`."""
    if axis == x.ndim - 1:
        return x
    perm = list(range(x.ndim - 1))
    perm.insert(axis, x.ndim - 1)
    return transpose_p(x, axes=tuple(perm))


def _expand_at(x: Any, position: int) -> Any:
    shape = list(x.shape)
    shape.insert(position, 1)
    return reshape_p(x, shape=tuple(shape))


# ---------------------------------------------------------------- cumsum
def _cumsum_rule(g: Any, z: Any, x: Any, axis: int) -> Any:
    return _reverse(cumsum_p(_reverse(g, axis), axis=axis), axis)


def _along_case(lo: float, hi: float, zeros: bool = False) -> Any:
    def sample(draw: Draw, dtype: Any) -> Case:
        (shape,) = draw.shapes(1, min_dims=1, max_side=4)
        x = draw.floats(shape, lo, hi, dtype)
        if zeros and draw.integers(0, 1):  # one or two exact zeros: the case the rules must get right
            flat = x.reshape(-1)
            for _ in range(draw.integers(1, 2)):
                flat[draw.integers(0, flat.size - 1)] = 0
        return Case([x], {"axis": draw.integers(-len(shape), len(shape) - 1) % len(shape)})

    return sample


cumsum_p = defprim("cumsum", lambda x, axis: np.cumsum(x, axis=axis), _cumsum_rule,
                   sympy_array=lambda sp, x, axis: S.objects(np.cumsum(S.objects(x), axis=axis)),
                   sample=_along_case(-3, 3),
                   doc="Running sum along axis: zₖ = Σ_{j≤k} xⱼ.  d/dxᵢ = Σ_{k≥i} gₖ (a reversed running sum)")


# ---------------------------------------------------------------- cumprod
def _leave_one_out(x: Any) -> Any:
    """For x of shape (..., n): C[..., i, k] = Π_{j≤k, j≠i} xⱼ, of shape (..., n, n)."""
    n = x.shape[-1]
    spread = where_p(np.eye(n, dtype=bool), 1, _expand_at(x, x.ndim - 1))
    return cumprod_p(spread, axis=x.ndim)


_DIVIDE_FROM = 32  # axis length from which the O(n) division formula is used (when no |x| < 1e-3)


def _no_small_values(x: np.ndarray) -> bool:
    return bool((np.abs(x) >= 1e-3).all())


def _cumprod_rule(g: Any, z: Any, x: Any, axis: int) -> Any:
    """Σ_{k≥i} gₖ Π_{j≤k, j≠i} xⱼ: term by term (exact with zeros, O(n²)); by division only on
    long axes free of small values (dividing by a tiny xᵢ ruins the second derivative)."""
    if x.shape[axis] > _DIVIDE_FROM and decide(_no_small_values, x):
        return _cumsum_rule(g * z, z, x, axis) / x
    xt, gt = _to_last(x, axis), _to_last(g, axis)
    n = xt.shape[-1]
    later = np.triu(np.ones((n, n), dtype=bool))  # k >= i
    terms = where_p(later, _leave_one_out(xt) * _expand_at(gt, gt.ndim - 1), 0)
    return _from_last(sum_p(terms, axis=xt.ndim, keepdims=False), axis)


cumprod_p = defprim("cumprod", lambda x, axis: np.cumprod(x, axis=axis), _cumprod_rule,
                    sympy_array=lambda sp, x, axis: S.objects(np.cumprod(S.objects(x), axis=axis)),
                    sample=_along_case(-2, 2, zeros=True),
                    conventions="zeros are exact: the gradient is the product of the other factors, never a "
                    "division by zero (O(n²) along the axis unless it is longer than 32 and free of |x| < 1e-3)",
                    doc="Running product along axis: zₖ = Π_{j≤k} xⱼ.  d/dxᵢ = Σ_{k≥i} gₖ Π_{j≤k, j≠i} xⱼ")


# ------------------------------------------------------------------- prod
def _exclusive(xt: Any) -> Any:
    """Π_{j<i} xⱼ along the last axis (1 for the first element)."""
    ones = np.ones(xt.shape[:-1] + (1,), dtype=_values(xt).dtype)
    head = getitem_p(xt, index=(slice(None),) * (xt.ndim - 1) + (slice(None, -1),))
    return cumprod_p(concatenate_p(ones, head, axis=xt.ndim - 1), axis=xt.ndim - 1)


def _others(x: Any, axis: Any) -> Any:
    """Π of the other elements of each reduced group, for every element of x."""
    axes = tuple(range(x.ndim)) if axis is None else tuple(a % x.ndim for a in np.atleast_1d(axis).tolist())
    kept = tuple(i for i in range(x.ndim) if i not in axes)
    perm = kept + axes
    moved = transpose_p(x, axes=perm) if perm != tuple(range(x.ndim)) else x
    lead = tuple(x.shape[i] for i in kept)
    flat = reshape_p(moved, shape=lead + (-1,))
    last = len(lead)
    out = _exclusive(flat) * _reverse(_exclusive(_reverse(flat, last)), last)
    out = reshape_p(out, shape=moved.shape)
    return transpose_p(out, axes=tuple(int(i) for i in np.argsort(perm))) if moved is not x else out


def _prod_rule(g: Any, z: Any, x: Any, axis: Any, keepdims: bool) -> Any:
    if x.size == 0:
        return broadcast_to_p(_unreduce(g, x, axis, keepdims), shape=x.shape)
    return _unreduce(g, x, axis, keepdims) * _others(x, axis)


def _prod_case(draw: Draw, dtype: Any) -> Case:
    (shape,) = draw.shapes(1, max_side=4)
    x = draw.floats(shape, -2, 2, dtype)
    if x.size and draw.integers(0, 1):
        flat = x.reshape(-1)
        for _ in range(draw.integers(1, 2)):
            flat[draw.integers(0, flat.size - 1)] = 0
    return Case([x], {"axis": axis_choice(draw, len(shape)), "keepdims": bool(draw.integers(0, 1))})


prod_p = defprim("prod", lambda x, axis, keepdims: np.prod(x, axis=axis, keepdims=keepdims), _prod_rule,
                 sympy_array=lambda sp, x, axis, keepdims: S.reduce_objects(x, axis, keepdims, lambda v: sp.Mul(*v)),
                 sample=_prod_case, conventions="zeros are exact: d/dxᵢ is the product of the other elements "
                 "(exclusive running products from both ends), never z / xᵢ",
                 doc="Π x over axis.  d/dxᵢ = Π_{j≠i} xⱼ")


# ----------------------------------------------------------- logcumsumexp
def _logcumsumexp_rule(g: Any, z: Any, x: Any, axis: int) -> Any:
    """Σ_{k≥i} gₖ exp(xᵢ - zₖ), each factor ≤ 1; one shift per slice when the slice's range
    allows it without overflow, else the n × n weights."""
    if z.size == 0:
        return exp(x - z) * _cumsum_rule(g, z, x, axis)
    if decide(_one_shift_fits, x, z, axis=axis):
        top = derive(_top, z, axis=axis)  # an op of a compiled program, recomputed at every call
        return exp(x - top) * _cumsum_rule(g * exp(top - z), z, x, axis)
    xt, zt, gt = _to_last(x, axis), _to_last(z, axis), _to_last(g, axis)
    live = derive(_live, xt)  # exp(-inf - z) = 0: no -inf - (-inf)
    gap = where_p(live, _expand_at(xt, xt.ndim) - _expand_at(zt, zt.ndim - 1), -np.inf)
    return _from_last(sum_p(exp(gap) * _expand_at(gt, gt.ndim - 1), axis=xt.ndim, keepdims=False), axis)


def _top(z: np.ndarray, axis: int) -> np.ndarray:
    top: np.ndarray = np.max(z, axis=axis, keepdims=True)
    return top


def _one_shift_fits(x: np.ndarray, z: np.ndarray, axis: int) -> bool:
    """Whether one shift per slice keeps every exp finite (all x finite, a moderate range)."""
    return bool(np.isfinite(x).all() and (_top(z, axis) - x).max() < 0.5 * np.log(np.finfo(z.dtype).max))


def _live(xt: np.ndarray) -> np.ndarray:
    """The (..., n, n) pairs i <= k whose xᵢ is finite."""
    n = xt.shape[-1]
    out: np.ndarray = np.triu(np.ones((n, n), dtype=bool)) & np.isfinite(xt)[..., :, None]
    return out


def _logcumsumexp_objects(sp: Any, x: Any, axis: int) -> np.ndarray:
    moved = np.moveaxis(S.objects(x), axis, -1)
    out = np.empty(moved.shape, dtype=object)
    for idx in np.ndindex(moved.shape[:-1]):
        for k in range(moved.shape[-1]):
            out[idx + (k,)] = sp.log(sp.Add(*[sp.exp(e) for e in moved[idx][: k + 1]]))
    return np.moveaxis(out, -1, axis)


logcumsumexp_p = defprim("logcumsumexp", lambda x, axis: np.logaddexp.accumulate(x, axis=axis), _logcumsumexp_rule,
                         sympy_array=_logcumsumexp_objects, sample=_along_case(-5, 5),
                         doc="zₖ = log Σ_{j≤k} exp(xⱼ) along axis, stable for |x| = 1e4.  "
                         "d/dxᵢ = Σ_{k≥i} gₖ exp(xᵢ - zₖ)")


# ----------------------------------------------------------- public names
def _along(op: str, x: Any, axis: Any, dim: Any) -> tuple[Tensor, int]:
    """``x`` and one axis; ``axis=None`` runs over the flattened tensor, as NumPy's cumsum."""
    x = _tensor(x)
    axis = alias(op, axis, dim, "axis", "dim", None)
    if axis is None:
        return reshape_p(x, shape=(-1,)), 0
    return x, normalize_axis(axis, x.ndim, op)


def _cast(x: Tensor, dtype: Any) -> Tensor:
    if dtype is None:
        return x
    from .functions import astype

    return astype(x, dtype)


def cumsum(x: TensorLike, axis: Any = None, dtype: Any = None, *, dim: Any = None) -> Tensor:
    """Running sum along ``axis`` (the flattened tensor when None, as NumPy; ``dim=`` too).

    >>> import autodiff as ad
    >>> ad.cumsum(ad.Tensor([1.0, 2.0, 3.0]))
    Tensor([1., 3., 6.])
    """
    x, ax = _along("cumsum", x, axis, dim)
    return cumsum_p(_cast(x, dtype), axis=ax)


def cumprod(x: TensorLike, axis: Any = None, dtype: Any = None, *, dim: Any = None) -> Tensor:
    """Running product along ``axis``; exact gradients with zeros (no division by them).

    >>> import autodiff as ad
    >>> ad.cumprod(ad.Tensor([2.0, 0.0, 3.0]))
    Tensor([2., 0., 0.])
    """
    x, ax = _along("cumprod", x, axis, dim)
    return cumprod_p(_cast(x, dtype), axis=ax)


def logcumsumexp(x: TensorLike, axis: Any = None, *, dim: Any = None) -> Tensor:
    """log(cumsum(exp(x))) along ``axis``, without overflow (PyTorch's ``logcumsumexp``).

    >>> import autodiff as ad
    >>> (ad.logcumsumexp(ad.Tensor([1e4, 1e4])) - 1e4).numpy().round(4)
    array([0.    , 0.6931])
    """
    x, ax = _along("logcumsumexp", x, axis, dim)
    if x.dtype.kind != "f":
        x = _cast(x, np.float64)
    return logcumsumexp_p(x, axis=ax)


def prod(x: TensorLike, axis: Axis = None, dtype: Any = None, keepdims: bool = False, **aliases: Any) -> Tensor:
    """Product over ``axis`` (int, tuple or None; ``dim=``/``keepdim=`` too). The gradient
    is the product of the other elements, exact when some are zero.

    >>> import autodiff as ad
    >>> x = ad.Tensor([2.0, 0.0, 3.0], requires_grad=True)
    >>> ad.prod(x).backward()
    >>> x.grad
    Tensor([0., 6., 0.])
    """
    x, axis, keepdims = _reduction("prod", x, axis, keepdims, aliases)
    return prod_p(_cast(x, dtype), axis=axis, keepdims=keepdims)


__all__ = ["cumprod", "cumprod_p", "cumsum", "cumsum_p", "logcumsumexp", "logcumsumexp_p", "prod", "prod_p"]
