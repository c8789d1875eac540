"""Norms and matrix powers: composites of primitives (sum, abs, max, sqrt, svdvals,
matmul, inv), so they need no derivative code of their own.

The 2-norm (and Frobenius norm) of an all-zero vector has the subgradient 0, as in
PyTorch: the square root is taken through a ``where`` that keeps its infinite slope at
0 out of the gradient.
"""

from __future__ import annotations

import math
import operator
from typing import Any

import numpy as np

from .. import functions as F, primitives as P
from ..aliases import Axis, TensorLike
from ..primitive import composite
from ..sampling import Case, Draw
from ..tensor import Tensor, as_tensor
from ._basic import inv_p
from ._common import batch_shape, well_conditioned
from ._decomp import svdvals_p

_VECTOR_ORDS = (None, 2, 1, np.inf, -np.inf, 0, 3, 0.5, -1)
_MATRIX_ORDS = (None, "fro", "nuc", 1, -1, 2, -2, np.inf, -np.inf)


def _float(x: Any) -> Tensor:
    t = x if isinstance(x, Tensor) else as_tensor(x)
    return t if t.dtype.kind == "f" else F.astype(t, np.float64)


def _safe_sqrt(s: Tensor) -> Tensor:
    """sqrt(s) for s >= 0 with gradient 0 (not inf or NaN) where s == 0."""
    zero = s == 0
    return F.where(zero, 0, P.sqrt(F.where(zero, 1, s)))


def _axes(op: str, axis: Any, ndim: int) -> tuple[int, ...]:
    axes = (axis,) if not isinstance(axis, (tuple, list)) else tuple(axis)
    try:
        axes = tuple(operator.index(a) for a in axes)
    except TypeError:
        raise TypeError(f"{op}: axis must be an int or a tuple of ints, got {axis!r}") from None
    for a in axes:
        if not -ndim <= a < ndim:
            raise np.exceptions.AxisError(a, ndim, op)
    normal = tuple(a % ndim for a in axes)
    if len(set(normal)) != len(normal):
        raise ValueError(f"{op}: duplicate axes given: {axis!r}")
    return normal


def _vector_norm(x: Tensor, ord: Any, axis: int, keepdims: bool) -> Tensor:  # noqa: A002
    if isinstance(ord, str):
        raise ValueError(f"norm: invalid norm order {ord!r} for vectors")
    if ord is None or ord == 2:
        return _safe_sqrt(F.sum(x * x, axis=axis, keepdims=keepdims))
    if ord == np.inf:
        return F.max(P.abs(x), axis=axis, keepdims=keepdims)
    if ord == -np.inf:
        return F.min(P.abs(x), axis=axis, keepdims=keepdims)
    if ord == 0:  # the count of nonzero entries: piecewise constant, no gradient
        return F.sum(F.astype(x != 0, x.dtype), axis=axis, keepdims=keepdims)
    if ord == 1:
        return F.sum(P.abs(x), axis=axis, keepdims=keepdims)
    s = F.sum(P.abs(x) ** ord, axis=axis, keepdims=keepdims)
    if ord > 0:  # a zero vector: subgradient 0, as for the 2-norm
        zero = s == 0
        return F.where(zero, 0, F.where(zero, 1, s) ** (1.0 / ord))
    root: Tensor = s ** (1.0 / ord)
    return root


def _svd_norm(x: Tensor, rc: tuple[int, int], reduce: Any) -> Tensor:
    rest = [i for i in range(x.ndim) if i not in rc]
    out: Tensor = reduce(svdvals_p(F.transpose(x, tuple(rest) + rc)), axis=-1)
    return out


def _matrix_norm(x: Tensor, ord: Any, rc: tuple[int, int], keepdims: bool) -> Tensor:  # noqa: A002
    r, c = rc
    if ord is None or ord == "fro":
        out = _safe_sqrt(F.sum(x * x, axis=rc))
    elif ord == "nuc":
        out = _svd_norm(x, rc, F.sum)
    elif ord in (2, -2):
        out = _svd_norm(x, rc, F.max if ord == 2 else F.min)
    elif ord in (1, -1, np.inf, -np.inf):
        summed, other = (r, c) if ord in (1, -1) else (c, r)  # 1: column sums, inf: row sums
        sums = F.sum(P.abs(x), axis=summed, keepdims=True)
        out = (F.max if ord > 0 else F.min)(sums, axis=(summed, other))
    else:
        raise ValueError(f"norm: invalid norm order {ord!r} for matrices")
    if keepdims:
        out = F.reshape(out, tuple(1 if i in rc else n for i, n in enumerate(x.shape)))
    return out


def _norm_case(draw: Draw, dtype: Any) -> Case:
    if draw.integers(0, 1):
        (shape,) = draw.shapes(1, min_dims=1, max_dims=3)
        axis = draw.choice([None, -1, 0]) if len(shape) == 1 else draw.integers(-len(shape), len(shape) - 1)
        ords: tuple[Any, ...] = _VECTOR_ORDS[:5] + _VECTOR_ORDS[6:]
    else:
        (shape,) = draw.shapes(1, min_dims=2, max_dims=3)
        axis = None if len(shape) == 2 else draw.choice([(0, 2), (-1, -2), (1, 0)])
        ords = _MATRIX_ORDS
    magnitude = draw.floats(shape, 0.2, 2.0, np.float64) + 0.0317 * np.arange(math.prod(shape)).reshape(shape) % 0.9
    x = magnitude * np.where(draw.booleans(shape), 1.0, -1.0)  # away from |x|'s kink; no ties between maxima
    return Case([x.astype(dtype)], {"ord": draw.choice(ords), "axis": axis, "keepdims": bool(draw.integers(0, 1))})


@composite(sample=_norm_case, smooth=False,
           conventions="2-norm (and Frobenius) of a zero vector: subgradient 0, second derivative 0 there (as "
           "PyTorch); inf/-inf, 1, 2 and nuc norms share gradients of ties as max/min do; ord=0 counts nonzeros "
           "(no gradient); orders p < 1 have NaN gradients at zero entries (|x|^p has infinite slope there)")
def norm(x: TensorLike, ord: Any = None, axis: Axis = None, keepdims: bool = False) -> Tensor:  # noqa: A002
    """Vector or matrix norm with NumPy's ``ord``, ``axis`` and ``keepdims``.

    Vectors (one axis): ``ord`` in None/2, 1, inf, -inf, 0 (count of nonzeros), any
    other p (``sum(|x|**p)**(1/p)``). Matrices (two axes): None/'fro', 'nuc', 1, -1,
    2, -2, inf, -inf. With ``axis=None`` a 1-D input is a vector, a 2-D one a matrix,
    and with ``ord=None`` any input is flattened (the 2-norm of all its elements).

    >>> import autodiff as ad
    >>> ad.linalg.norm(ad.Tensor([3.0, 4.0]))
    Tensor(5.)
    """
    x = _float(x)
    if axis is None:
        if ord is None:
            out = _safe_sqrt(F.sum(x * x))
            return F.reshape(out, (1,) * x.ndim) if keepdims else out
        if x.ndim not in (1, 2):
            raise ValueError(f"norm: improper number of dimensions to norm: ord={ord!r} needs a 1-D or 2-D input "
                             f"(or an axis), got shape {x.shape}")
        axis = tuple(range(x.ndim))
    axes = _axes("norm", axis, x.ndim)
    if len(axes) == 1:
        return _vector_norm(x, ord, axes[0], keepdims)
    if len(axes) == 2:
        return _matrix_norm(x, ord, (axes[0], axes[1]), keepdims)
    raise ValueError(f"norm: improper number of dimensions to norm: axis={axis!r} (one axis for a vector, two for "
                     f"a matrix)")


def vector_norm(x: TensorLike, axis: Axis = None, keepdims: bool = False, ord: Any = 2) -> Tensor:  # noqa: A002
    """NumPy 2's ``linalg.vector_norm``: the norm over ``axis`` (all axes, flattened, for None)."""
    x = _float(x)
    if axis is None:
        out = _vector_norm(F.reshape(x, (-1,)), ord, 0, False)
        return F.reshape(out, (1,) * x.ndim) if keepdims else out
    axes = _axes("vector_norm", axis, x.ndim)
    if len(axes) == 1:
        return _vector_norm(x, ord, axes[0], keepdims)
    rest = [i for i in range(x.ndim) if i not in axes]
    moved = F.reshape(F.transpose(x, tuple(rest) + axes), tuple(x.shape[i] for i in rest) + (-1,))
    out = _vector_norm(moved, ord, -1, False)
    return F.reshape(out, tuple(1 if i in axes else n for i, n in enumerate(x.shape))) if keepdims else out


def matrix_norm(x: TensorLike, keepdims: bool = False, ord: Any = "fro") -> Tensor:  # noqa: A002
    """NumPy 2's ``linalg.matrix_norm``: the norm of each matrix over the last two axes."""
    x = _float(x)
    if x.ndim < 2:
        raise ValueError(f"matrix_norm: expected at least 2 axes, got shape {x.shape}")
    return _matrix_norm(x, ord, (x.ndim - 2, x.ndim - 1), keepdims)


def _power_case(draw: Draw, dtype: Any) -> Case:
    k = draw.integers(1, 3)
    a = well_conditioned(draw, batch_shape(draw) + (k, k), np.float64) / (k + 1.0)
    return Case([a.astype(dtype)], {"n": draw.integers(-2, 3)})


@composite(sample=_power_case, conventions="n = 0 gives identity matrices (no gradient); n < 0 inverts first")
def matrix_power(a: TensorLike, n: int) -> Tensor:
    """``a`` multiplied by itself ``n`` times (``n < 0``: the inverse's power), by
    repeated squaring, for each square matrix of the batch.

    >>> import autodiff as ad
    >>> ad.linalg.matrix_power(ad.Tensor([[1.0, 1.0], [0.0, 1.0]]), 3)
    Tensor([[1., 3.],
            [0., 1.]])
    """
    a = _float(a)
    try:
        n = operator.index(n)
    except TypeError:
        raise TypeError(f"matrix_power: the exponent must be an integer, got {n!r}") from None
    if a.ndim < 2 or a.shape[-1] != a.shape[-2]:
        raise np.linalg.LinAlgError(f"matrix_power: expected square matrices in the last two axes, got {a.shape}")
    if n == 0:
        return F.broadcast_to(Tensor(np.eye(a.shape[-1], dtype=a.dtype)), a.shape)
    if n < 0:
        a, n = inv_p(a), -n
    result: Tensor | None = None
    while n:
        if n & 1:
            result = a if result is None else result @ a
        n >>= 1
        if n:
            a = a @ a
    assert result is not None
    return result


__all__ = ["matrix_norm", "matrix_power", "norm", "vector_norm"]
