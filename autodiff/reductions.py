"""Statistics and orderings with NumPy's names: ``std`` (and ``var`` with ``ddof``), ``sort``,
``median``, ``quantile``, ``percentile``, ``average``, ``nansum``, ``nanmean``, and the
results that carry no gradient: ``argmax``, ``argmin``, ``argsort``, ``all``, ``any``,
``count_nonzero`` (integer or boolean Tensors that never require grad).

``sort`` gathers the values through the permutation of a stable argsort, so its gradient
scatters back through the same permutation; ``median``/``quantile`` interpolate linearly
between two sorted values (NumPy's default method) and are differentiable in ``x``.
"""

from __future__ import annotations

from typing import Any, Literal, overload

import numpy as np

from . import functions as F
from .aliases import Axis, TensorLike
from .axes import alias, axis_keepdims, check_axis, normalize_axis
from .compile.decide import decide, derive, has_nan, has_zero, static_values
from .functions import _reduction, _tensor
from .indexing import _along_axis
from .primitive import composite
from .primitives import getitem_p, reshape_p, sqrt, sum_p, transpose_p, where_p
from .sampling import Case, Draw, axis_choice, distinct, reduction
from .tensor import Tensor


def _no_grad(value: Any) -> Tensor:
    return Tensor._leaf(np.asarray(value))


# ------------------------------------------------------------------- std
def _std_case(draw: Draw, dtype: Any) -> Case:
    (shape,) = draw.shapes(1, min_dims=1)
    x = distinct(draw.floats(shape, -3, 3, dtype))  # distinct values: never a zero variance
    axis = axis_choice(draw, len(shape))
    n = int(np.prod([shape[a] for a in np.atleast_1d(axis)])) if axis is not None else x.size
    return Case([x], {"axis": axis, "keepdims": bool(draw.integers(0, 1)), "ddof": draw.integers(0, min(1, n - 1))})


@composite(sample=_std_case, conventions="the gradient is 0 where the standard deviation is 0 (constant data), "
           "as abs'(0) = 0; ddof=n or more raises")
def std(x: TensorLike, axis: Axis = None, keepdims: bool = False, ddof: float = 0, *, correction: float | None = None,
        **aliases: Any) -> Tensor:
    """Standard deviation over ``axis``: √var with ``ddof`` (``correction=``, ``dim=``, ``keepdim=`` too).

    >>> import autodiff as ad
    >>> round(ad.std(ad.Tensor([1.0, 2.0, 3.0, 4.0]), ddof=1).item(), 4)
    1.291
    """
    v = F.var(x, axis, keepdims, ddof, correction=correction, **aliases)
    if decide(_all_positive, v):
        return sqrt(v)
    positive = derive(np.greater, v, 0)
    return where_p(positive, sqrt(where_p(positive, v, 1)), 0)


# ------------------------------------------------------------------- sort
def _axis_or_flat(op: str, x: Tensor, axis: Any) -> tuple[Tensor, int]:
    if axis is None:
        return reshape_p(x, shape=(-1,)), 0
    return x, normalize_axis(axis, x.ndim, op)


def _sort_case(draw: Draw, dtype: Any) -> Case:
    (shape,) = draw.shapes(1, min_dims=1, max_side=4)
    x = distinct(draw.floats(shape, -3, 3, dtype))
    return Case([x], {"axis": draw.choice([None, draw.integers(-len(shape), len(shape) - 1)])})


_TIES = "tied values: each keeps its own gradient at the position a stable sort gives it"


@composite(sample=_sort_case, conventions=_TIES)
def sort(x: TensorLike, axis: Any = -1, kind: Any = None, *, dim: Any = None, stable: Any = None) -> Tensor:
    """The values sorted ascending along ``axis`` (the flattened tensor when None); the gradient
    flows back through the permutation (``kind`` is accepted; the sort is always stable).

    >>> import autodiff as ad
    >>> ad.sort(ad.Tensor([3.0, 1.0, 2.0]))
    Tensor([1., 2., 3.])
    """
    x, axis = _axis_or_flat("sort", _tensor(x), alias("sort", axis, dim, "axis", "dim", -1))
    order = derive(np.argsort, x, axis=axis, kind="stable")  # recomputed at every call when compiled
    return getitem_p(x, index=_along_axis("sort", x.shape, order._data, axis))


def argsort(x: TensorLike, axis: Any = -1, kind: Any = None, *, dim: Any = None, stable: Any = None,
            descending: bool = False) -> Tensor:
    """Indices that sort ``x`` along ``axis`` (stable; an integer Tensor without gradient)."""
    x, axis = _axis_or_flat("argsort", _tensor(x), alias("argsort", axis, dim, "axis", "dim", -1))
    return derive(_argsort, x, axis=axis, descending=descending)


def _argsort(x: np.ndarray, axis: int, descending: bool) -> np.ndarray:
    return np.argsort(-x if descending else x, axis=axis, kind="stable")


def _arg(op: str, fn: Any, x: Any, axis: Any, keepdims: Any, aliases: dict[str, Any]) -> Tensor:
    x = _tensor(x)
    axis, keepdims = axis_keepdims(op, axis, keepdims, aliases)
    if axis is not None:
        axis = normalize_axis(axis, x.ndim, op)
    if x.size == 0:
        raise ValueError(f"{op}: attempt to get {op} of an empty tensor (shape {x.shape})")
    out: Tensor = derive(fn, x, axis=axis, keepdims=keepdims)
    return out


def argmax(x: TensorLike, axis: Any = None, keepdims: bool = False, **aliases: Any) -> Tensor:
    """Index of the (first) maximum along ``axis`` (of the flattened tensor when None); no gradient."""
    return _arg("argmax", np.argmax, x, axis, keepdims, aliases)


def argmin(x: TensorLike, axis: Any = None, keepdims: bool = False, **aliases: Any) -> Tensor:
    """Index of the (first) minimum along ``axis``; an integer Tensor without gradient."""
    return _arg("argmin", np.argmin, x, axis, keepdims, aliases)


def _logical(op: str, ufunc: Any, x: Any, axis: Any, keepdims: Any, aliases: dict[str, Any]) -> Tensor:
    x = _tensor(x)
    axis, keepdims = axis_keepdims(op, axis, keepdims, aliases)
    axis = check_axis(op, x.ndim, axis)
    out: Tensor = derive(_truth, x, ufunc=ufunc, axis=axis, keepdims=keepdims)
    return out


def _truth(x: np.ndarray, ufunc: Any, axis: Any, keepdims: bool) -> np.ndarray:
    return np.asarray(ufunc.reduce(x.astype(bool), axis=axis, keepdims=keepdims))


def all(x: TensorLike, axis: Axis = None, keepdims: bool = False, **aliases: Any) -> Tensor:  # noqa: A001
    """Whether every element along ``axis`` is nonzero (a boolean Tensor)."""
    return _logical("all", np.logical_and, x, axis, keepdims, aliases)


def any(x: TensorLike, axis: Axis = None, keepdims: bool = False, **aliases: Any) -> Tensor:  # noqa: A001
    """Whether some element along ``axis`` is nonzero (a boolean Tensor)."""
    return _logical("any", np.logical_or, x, axis, keepdims, aliases)


def count_nonzero(x: TensorLike, axis: Axis = None, *, keepdims: bool = False, **aliases: Any) -> Tensor:
    """The number of nonzero elements along ``axis`` (an integer Tensor)."""
    x = _tensor(x)
    axis, keepdims = axis_keepdims("count_nonzero", axis, keepdims, aliases)
    axis = check_axis("count_nonzero", x.ndim, axis)
    return derive(_count_nonzero, x, axis=axis, keepdims=keepdims)


def _count_nonzero(x: np.ndarray, axis: Any, keepdims: bool) -> np.ndarray:
    return np.asarray(np.count_nonzero(x, axis=axis, keepdims=keepdims))


# -------------------------------------------------------- median, quantile
def _grouped(op: str, x: Tensor, axis: Any) -> tuple[Tensor, tuple[int, ...], tuple[int, ...]]:
    """``x`` with the reduced axes merged into one last axis, plus the kept and keepdims shapes."""
    axes = tuple(range(x.ndim)) if axis is None else axis if isinstance(axis, tuple) else (axis,)
    kept = tuple(i for i in range(x.ndim) if i not in axes)
    moved = transpose_p(x, axes=kept + axes) if kept + axes != tuple(range(x.ndim)) else x
    lead = tuple(x.shape[i] for i in kept)
    if int(np.prod([x.shape[a] for a in axes])) == 0:
        raise ValueError(f"{op}: cannot take the {op} of an empty slice (shape {x.shape}, axis {axis})")
    kept_shape = tuple(1 if i in axes else n for i, n in enumerate(x.shape))
    return reshape_p(moved, shape=lead + (-1,)), lead, kept_shape


def _quantile_case(draw: Draw, dtype: Any) -> Case:
    (shape,) = draw.shapes(1, min_dims=1, max_side=4)
    x = distinct(draw.floats(shape, -3, 3, dtype))
    q = draw.choice([0.5, 0.0, 1.0, 0.3, np.array([0.25, 0.9])])
    return Case([x], {"q": q, "axis": axis_choice(draw, len(shape)), "keepdims": bool(draw.integers(0, 1))})


@composite(sample=_quantile_case, conventions=_TIES + "; a slice holding NaN gives NaN (gradient 0)")
def quantile(x: TensorLike, q: TensorLike, axis: Axis = None, keepdims: bool = False, *, method: str = "linear",
             **aliases: Any) -> Tensor:
    """The ``q``-th quantiles (q in [0, 1], a number or an array) over ``axis``, interpolating
    linearly between sorted values (NumPy's default); the q axes come first in the result.

    >>> import autodiff as ad
    >>> ad.quantile(ad.Tensor([1.0, 2.0, 4.0, 8.0]), 0.5)
    Tensor(3.)
    """
    if method != "linear":
        raise ValueError(f"quantile: only method='linear' (NumPy's default) is supported, got {method!r}")
    return _quantile("quantile", x, q, axis, keepdims, aliases)


def _quantile(op: str, x: Any, q: Any, axis: Any, keepdims: Any, aliases: dict[str, Any]) -> Tensor:
    x, axis, keepdims = _reduction(op, x, axis, keepdims, aliases)
    qv = np.asarray(static_values(q), dtype=np.float64)  # q shapes the program: guarded when compiled
    if qv.ndim > 1 or not ((qv >= 0) & (qv <= 1)).all():
        raise ValueError(f"quantile: q must be a number or 1-D array in [0, 1], got {q!r}")
    flat, lead, kept_shape = _grouped(op, x, axis)
    v = sort(flat, axis=-1)
    n = v.shape[-1]
    pos = qv.reshape(-1) * (n - 1)
    lo = np.floor(pos).astype(int)
    hi = np.minimum(lo + 1, n - 1)
    t = (pos - lo).astype(x.dtype if x.dtype.kind == "f" else np.float64)
    front = (slice(None),) * len(lead)
    a, b = getitem_p(v, index=front + (lo,)), getitem_p(v, index=front + (hi,))
    step = b - a
    out = where_p(t >= 0.5, b - step * (1 - t), a + step * t)  # NumPy's _lerp, to the last bit
    if decide(has_nan, flat):
        out = where_p(derive(_nan_slices, flat), np.nan, out)
    out = transpose_p(out, axes=(len(lead),) + tuple(range(len(lead))))  # q first
    return reshape_p(out, shape=qv.shape + (kept_shape if keepdims else lead))


def _nan_slices(x: np.ndarray) -> np.ndarray:
    nan: np.ndarray = np.isnan(x).any(axis=-1, keepdims=True)
    return nan


def _all_positive(v: np.ndarray) -> bool:
    return bool((v > 0).all())


def _median_case(draw: Draw, dtype: Any) -> Case:
    (shape,) = draw.shapes(1, min_dims=1, max_side=4)
    x = distinct(draw.floats(shape, -3, 3, dtype))
    return Case([x], {"axis": axis_choice(draw, len(shape)), "keepdims": bool(draw.integers(0, 1))})


@composite(sample=_median_case, conventions=_TIES + "; an even count averages the two middle values")
def median(x: TensorLike, axis: Axis = None, keepdims: bool = False, **aliases: Any) -> Tensor:
    """The median over ``axis`` (the mean of the two middle values for an even count, as NumPy;
    PyTorch's ``median`` returns the lower one instead)."""
    return _quantile("median", x, 0.5, axis, keepdims, aliases)


def percentile(x: TensorLike, q: TensorLike, axis: Axis = None, keepdims: bool = False, *,
               method: str = "linear") -> Tensor:
    """``quantile`` with ``q`` in percent (0 to 100)."""
    return quantile(x, derive(_from_percent, q), axis, keepdims, method=method)


def _from_percent(q: np.ndarray) -> np.ndarray:
    levels: np.ndarray = np.asarray(q, dtype=np.float64) / 100
    return levels


# ------------------------------------------------------------ average, nan*
def _average_case(draw: Draw, dtype: Any) -> Case:
    (shape,) = draw.shapes(1, min_dims=1)
    x = draw.floats(shape, -3, 3, dtype)
    axis = draw.integers(0, len(shape) - 1)
    w_shape = draw.choice([shape, (shape[axis],)])
    return Case([x, draw.floats(w_shape, 0.5, 2, dtype)], {"axis": axis})


def _weights(a: Tensor, w: Tensor, axis: Any) -> Tensor:
    if w.shape == a.shape:
        return w
    if axis is None:
        raise TypeError(f"average: axis must be given when the shapes of a {a.shape} and weights {w.shape} differ")
    if w.ndim != 1 or isinstance(axis, tuple):
        raise TypeError(f"average: 1-D weights along one axis expected when shapes differ, got {w.shape} for "
                        f"a {a.shape}")
    if w.shape[0] != a.shape[axis]:
        raise ValueError(f"average: {w.shape[0]} weights do not fit axis {axis} of shape {a.shape}")
    return reshape_p(w, shape=tuple(-1 if i == axis else 1 for i in range(a.ndim)))


@overload
def average(a: TensorLike, axis: Axis = None, weights: TensorLike | None = None, returned: Literal[False] = False,
            *, keepdims: bool = False) -> Tensor: ...
@overload
def average(a: TensorLike, axis: Axis, weights: TensorLike | None, returned: Literal[True],
            *, keepdims: bool = False) -> tuple[Tensor, Tensor]: ...
@overload
def average(a: TensorLike, axis: Axis = None, weights: TensorLike | None = None, *, returned: Literal[True],
            keepdims: bool = False) -> tuple[Tensor, Tensor]: ...
@overload
def average(a: TensorLike, axis: Axis = None, weights: TensorLike | None = None, returned: bool = False,
            *, keepdims: bool = False) -> Tensor | tuple[Tensor, Tensor]: ...
def average(a: TensorLike, axis: Axis = None, weights: TensorLike | None = None, returned: bool = False, *,
            keepdims: bool = False) -> Tensor | tuple[Tensor, Tensor]:
    """Weighted mean Σ a·w / Σ w over ``axis``, differentiable in ``a`` and ``weights``; with
    ``returned=True`` also the sum of the weights (NumPy's ``average``).

    >>> import autodiff as ad
    >>> ad.average(ad.Tensor([1.0, 4.0]), weights=ad.Tensor([3.0, 1.0]))
    Tensor(1.75)
    """
    a = _tensor(a)
    axis = check_axis("average", a.ndim, axis)
    if weights is None:
        avg = F.mean(a, axis, keepdims)
        total = np.broadcast_to(np.asarray(a.size / max(avg.size, 1), dtype=avg.dtype), avg.shape)
        return (avg, _no_grad(np.array(total))) if returned else avg
    w = _weights(a, _tensor(weights), axis)
    scale = sum_p(w + a * 0, axis=axis, keepdims=keepdims)  # the weights broadcast over a, then summed
    if decide(has_zero, scale):
        raise ZeroDivisionError("average: weights sum to zero, cannot be normalized")
    avg = sum_p(a * w, axis=axis, keepdims=keepdims) / scale
    return (avg, scale) if returned else avg


@composite(sample=_average_case, name="average")
def _weighted_average(a: Any, weights: Any, axis: Any = None) -> Tensor:
    """Weighted mean Σ a·w / Σ w over ``axis``, differentiable in ``a`` and the weights
    (``average(a, axis, weights)`` called with the two differentiable inputs first)."""
    return average(a, axis, weights)


def _count_present(x: np.ndarray, axis: Any, keepdims: bool) -> np.ndarray:
    """How many elements are not NaN, in x's dtype."""
    return np.asarray(np.sum(~np.isnan(x), axis=axis, keepdims=keepdims).astype(x.dtype))


def _nan_case(draw: Draw, dtype: Any) -> Case:
    """One NaN, never a whole slice of NaN (its mean is NaN, which no finite difference
    can check; that convention is tested on its own)."""
    case = reduction()(draw, dtype)
    x = case.args[0]
    if x.size > 1:
        k = draw.integers(0, x.size - 1)
        old = x.reshape(-1)[k]
        x.reshape(-1)[k] = np.nan
        if np.isnan(x).all(axis=case.params["axis"]).any():
            x.reshape(-1)[k] = old
    return case


@composite(sample=_nan_case, conventions="NaN elements count as 0 and get gradient 0")
def nansum(x: TensorLike, axis: Axis = None, keepdims: bool = False, **aliases: Any) -> Tensor:
    """Sum over ``axis`` treating NaN as 0 (their gradient is 0)."""
    x, axis, keepdims = _reduction("nansum", x, axis, keepdims, aliases)
    if not decide(has_nan, x):
        return sum_p(x, axis=axis, keepdims=keepdims)
    return sum_p(where_p(derive(np.isnan, x), 0, x), axis=axis, keepdims=keepdims)


@composite(sample=_nan_case, conventions="NaN elements are left out and get gradient 0; an all-NaN slice gives NaN")
def nanmean(x: TensorLike, axis: Axis = None, keepdims: bool = False, **aliases: Any) -> Tensor:
    """Mean over ``axis`` of the elements that are not NaN (NaN for an all-NaN slice, as NumPy)."""
    x, axis, keepdims = _reduction("nanmean", x, axis, keepdims, aliases)
    missing = derive(np.isnan, x)
    count = derive(_count_present, x, axis=axis, keepdims=keepdims)
    with np.errstate(invalid="ignore", divide="ignore"):
        return sum_p(where_p(missing, 0, x), axis=axis, keepdims=keepdims) / count


__all__ = ["all", "any", "argmax", "argmin", "argsort", "average", "count_nonzero", "median", "nanmean", "nansum",
           "percentile", "quantile", "sort", "std"]
