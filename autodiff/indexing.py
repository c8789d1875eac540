"""Gathers and scatters with NumPy's (and PyTorch's) names: ``take``, ``take_along_axis``
(PyTorch's ``gather``), ``index_add`` and ``scatter_add``, diagonals and triangles, and the
products ``outer``, ``inner``, ``kron``, ``cross``.

All are composites of ``getitem``/``scatter`` (repeated indices accumulate), ``where``,
``reshape`` and ``einsum``: their gradients are those primitives' rules, proven once.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import functions as F
from .aliases import TensorLike
from .axes import alias, normalize_axis
from .functions import _tensor
from .primitive import composite
from .primitives import getitem_p, reshape_p, scatter_p, stack_p, transpose_p, where_p
from .sampling import Case, Draw
from .shapes import moveaxis
from .tensor import Tensor


def _indices(op: str, index: Any) -> np.ndarray:
    """An integer index array (Tensors and lists accepted; floats refused)."""
    arr = np.asarray(index._data if isinstance(index, Tensor) else index)
    if arr.dtype.kind not in "iu":
        raise IndexError(f"{op}: indices must be integers, got dtype {arr.dtype}")
    return arr


def _check_range(op: str, index: np.ndarray, n: int, what: str) -> None:
    if index.size and (index.min() < -n or index.max() >= n):
        bad = index[(index < -n) | (index >= n)].flat[0]
        raise IndexError(f"{op}: index {bad} is out of bounds for {what} of size {n}")


def _float_case(shape: tuple[int, ...], draw: Draw, dtype: Any) -> np.ndarray:
    return draw.floats(shape, -3, 3, dtype)


# ------------------------------------------------------------------ take
def _take_case(draw: Draw, dtype: Any) -> Case:
    (shape,) = draw.shapes(1, min_dims=1)
    axis = draw.choice([None, draw.integers(-len(shape), len(shape) - 1)])
    n = int(np.prod(shape)) if axis is None else shape[axis]
    k = draw.integers(0, 2)
    idx = np.array([draw.integers(-n, n - 1) for _ in range(max(k, 1) * 2)]).reshape((2,) if k < 2 else (2, 2))
    return Case([_float_case(shape, draw, dtype)], {"indices": idx, "axis": axis})


@composite(sample=_take_case, conventions="repeated indices accumulate (scatter-add)")
def take(x: TensorLike, indices: Any, axis: Any = None) -> Tensor:
    """Elements at ``indices`` along ``axis`` (of the flattened tensor when None), as NumPy's ``take``.

    >>> import autodiff as ad
    >>> ad.take(ad.Tensor([[1.0, 2.0], [3.0, 4.0]]), [0, 0, 1], axis=1)
    Tensor([[1., 1., 2.],
            [3., 3., 4.]])
    """
    x = _tensor(x)
    idx = _indices("take", indices)
    if axis is None:
        x, axis = reshape_p(x, shape=(-1,)), 0
    axis = normalize_axis(axis, x.ndim, "take")
    _check_range("take", idx, x.shape[axis], f"axis {axis}")
    return getitem_p(x, index=(slice(None),) * axis + (idx,))


def _along_axis(op: str, shape: tuple[int, ...], idx: np.ndarray, axis: int) -> tuple[Any, ...]:
    """The fancy index that reads ``idx`` along ``axis`` and every other axis in place."""
    if idx.ndim != len(shape):
        raise ValueError(f"{op}: indices must have as many axes as the tensor ({len(shape)}), got shape {idx.shape}")
    _check_range(op, idx, shape[axis], f"axis {axis}")
    try:
        np.broadcast_shapes(tuple(1 if d == axis else n for d, n in enumerate(shape)),
                            tuple(1 if d == axis else n for d, n in enumerate(idx.shape)))
    except ValueError:
        raise ValueError(f"{op}: indices of shape {idx.shape} do not broadcast against shape {shape} "
                         f"(outside axis {axis})") from None
    grid = []
    for d, n in enumerate(shape):
        grid.append(idx if d == axis else np.arange(n).reshape(tuple(-1 if k == d else 1 for k in range(len(shape)))))
    return tuple(grid)


def _along_case(draw: Draw, dtype: Any) -> Case:
    (shape,) = draw.shapes(1, min_dims=1)
    axis = draw.integers(0, len(shape) - 1)
    ishape = tuple(draw.integers(1, 3) if d == axis else n for d, n in enumerate(shape))
    idx = np.array([draw.integers(0, shape[axis] - 1) for _ in range(int(np.prod(ishape)))]).reshape(ishape)
    return Case([_float_case(shape, draw, dtype)], {"indices": idx, "axis": axis})


@composite(sample=_along_case, conventions="repeated indices accumulate (scatter-add)")
def take_along_axis(x: TensorLike, indices: Any, axis: Any = -1) -> Tensor:
    """``out[..., i, ...] = x[..., indices[..., i, ...], ...]`` along ``axis`` (PyTorch's ``gather``);
    ``axis=None`` reads the flattened tensor with 1-D indices, as NumPy.

    >>> import autodiff as ad
    >>> ad.take_along_axis(ad.Tensor([[10.0, 30.0, 20.0]]), [[1, 2]], axis=1)
    Tensor([[30., 20.]])
    """
    x = _tensor(x)
    idx = _indices("take_along_axis", indices)
    if axis is None:
        x, axis = reshape_p(x, shape=(-1,)), 0
    axis = normalize_axis(axis, x.ndim, "take_along_axis")
    return getitem_p(x, index=_along_axis("take_along_axis", x.shape, idx, axis))


def gather(x: TensorLike, dim: int, index: Any) -> Tensor:
    """PyTorch's ``gather(input, dim, index)``: ``take_along_axis(x, index, dim)``."""
    return take_along_axis(x, index, dim)


# --------------------------------------------------------------- scatters
def _index_add_case(draw: Draw, dtype: Any) -> Case:
    (shape,) = draw.shapes(1, min_dims=1)
    axis = draw.integers(0, len(shape) - 1)
    idx = np.array([draw.integers(0, shape[axis] - 1) for _ in range(draw.integers(1, 4))])
    src = tuple(len(idx) if d == axis else n for d, n in enumerate(shape))
    return Case([_float_case(shape, draw, dtype), axis, idx, _float_case(src, draw, dtype)])


@composite(sample=_index_add_case, conventions="repeated indices accumulate")
def index_add(x: TensorLike, axis: int, index: Any, source: TensorLike, *, alpha: float = 1) -> Tensor:
    """``x`` with ``alpha * source[..., k, ...]`` added at ``index[k]`` along ``axis`` (PyTorch's
    ``index_add(input, dim, index, source)``, differentiable in ``x`` and ``source``; repeated
    indices add up).

    >>> import autodiff as ad
    >>> ad.index_add(ad.zeros(3), 0, [0, 2, 0], ad.Tensor([1.0, 2.0, 5.0]))
    Tensor([6., 0., 2.])
    """
    x, source = _tensor(x), _tensor(source)
    axis = normalize_axis(axis, x.ndim, "index_add")
    idx = _indices("index_add", index)
    if idx.ndim != 1:
        raise IndexError(f"index_add: index must be 1-D, got shape {idx.shape}")
    _check_range("index_add", idx, x.shape[axis], f"axis {axis}")
    want = x.shape[:axis] + (len(idx),) + x.shape[axis + 1:]
    if source.shape != want:
        raise ValueError(f"index_add: source must have shape {want} for a tensor of shape {x.shape}, "
                         f"axis {axis} and {len(idx)} indices, got {source.shape}")
    return x + scatter_p(source * alpha, index=(slice(None),) * axis + (idx,), shape=x.shape)


def _scatter_add_case(draw: Draw, dtype: Any) -> Case:
    case = _along_case(draw, dtype)
    idx = case.params["indices"]
    return Case([case.args[0], case.params["axis"], idx, _float_case(idx.shape, draw, dtype)])


@composite(sample=_scatter_add_case, conventions="repeated indices accumulate")
def scatter_add(x: TensorLike, axis: int, index: Any, src: TensorLike) -> Tensor:
    """PyTorch's ``scatter_add(input, dim, index, src)``: ``out[..., index[..., i, ...], ...] +=
    src[..., i, ...]`` along ``axis`` (the transpose of ``take_along_axis``); differentiable in
    ``x`` and ``src``."""
    x, src = _tensor(x), _tensor(src)
    axis = normalize_axis(axis, x.ndim, "scatter_add")
    idx = _indices("scatter_add", index)
    if src.shape != idx.shape:
        raise ValueError(f"scatter_add: src shape {src.shape} must equal index shape {idx.shape}")
    grid = _along_axis("scatter_add", x.shape, idx, axis)
    return x + scatter_p(src, index=grid, shape=x.shape)


# ------------------------------------------------------ diagonals, triangles
def _diag_case(draw: Draw, dtype: Any) -> Case:
    shape = draw.choice([(draw.integers(1, 4),), (draw.integers(1, 4), draw.integers(1, 4))])
    return Case([_float_case(shape, draw, dtype)], {"k": draw.integers(-1, 1)})


@composite(sample=_diag_case)
def diag(v: TensorLike, k: int = 0) -> Tensor:
    """A 2-D tensor with the 1-D ``v`` on its ``k``-th diagonal, or the ``k``-th diagonal of a 2-D ``v``.

    >>> import autodiff as ad
    >>> ad.diag(ad.Tensor([1.0, 2.0]))
    Tensor([[1., 0.],
            [0., 2.]])
    """
    v = _tensor(v)
    if v.ndim == 1:
        n = v.shape[0] + abs(k)
        rows = np.arange(v.shape[0]) + max(-k, 0)
        return scatter_p(v, index=(rows, rows + k), shape=(n, n))
    if v.ndim == 2:
        return diagonal(v, k)
    raise ValueError(f"diag: input must be 1-D or 2-D, got shape {v.shape}")


def _diagonal_case(draw: Draw, dtype: Any) -> Case:
    (shape,) = draw.shapes(1, min_dims=2, max_dims=3)
    a1, a2 = draw.choice([(0, 1), (1, 0), (-1, -2), (0, -1)])
    return Case([_float_case(shape, draw, dtype)], {"offset": draw.integers(-1, 1), "axis1": a1, "axis2": a2})


@composite(sample=_diagonal_case)
def diagonal(x: TensorLike, offset: int = 0, axis1: int = 0, axis2: int = 1) -> Tensor:
    """The diagonal of the planes ``(axis1, axis2)``, as the last axis (NumPy's ``diagonal``)."""
    x = _tensor(x)
    if x.ndim < 2:
        raise ValueError(f"diagonal: needs at least 2 axes, got shape {x.shape}")
    a1, a2 = normalize_axis(axis1, x.ndim, "diagonal"), normalize_axis(axis2, x.ndim, "diagonal")
    if a1 == a2:
        raise ValueError(f"diagonal: axis1 and axis2 cannot be the same axis ({axis1}, {axis2})")
    rest = tuple(i for i in range(x.ndim) if i not in (a1, a2))
    moved = transpose_p(x, axes=rest + (a1, a2))
    n1, n2 = x.shape[a1], x.shape[a2]
    length = max(0, min(n1 + min(offset, 0), n2 - max(offset, 0)))
    rows = np.arange(length) + max(-offset, 0)
    return getitem_p(moved, index=(slice(None),) * len(rest) + (rows, rows + offset))


def _triangle_case(draw: Draw, dtype: Any) -> Case:
    (shape,) = draw.shapes(1, min_dims=1, max_dims=3)
    return Case([_float_case(shape, draw, dtype)], {"k": draw.integers(-1, 1)})


def _triangle(op: str, x: Any, k: int, lower: bool) -> Tensor:
    x = _tensor(x)
    if x.ndim == 0:
        raise ValueError(f"{op}: needs at least 1 axis, got a 0-d tensor")
    n, m = x.shape[-2:] if x.ndim >= 2 else (x.shape[0], x.shape[0])
    keep = np.tri(n, m, k, dtype=bool) if lower else ~np.tri(n, m, k - 1, dtype=bool)
    return where_p(keep, x, 0)


@composite(sample=_triangle_case)
def tril(x: TensorLike, k: int = 0) -> Tensor:
    """``x`` with the elements above the ``k``-th diagonal (of the last two axes) set to 0."""
    return _triangle("tril", x, k, lower=True)


@composite(sample=_triangle_case)
def triu(x: TensorLike, k: int = 0) -> Tensor:
    """``x`` with the elements below the ``k``-th diagonal (of the last two axes) set to 0."""
    return _triangle("triu", x, k, lower=False)


# ----------------------------------------------------------------- products
def _pair_case(same_last: bool, max_dims: int = 2) -> Any:
    def sample(draw: Draw, dtype: Any) -> Case:
        (a,) = draw.shapes(1, max_dims=max_dims)
        (b,) = draw.shapes(1, max_dims=max_dims)
        if same_last and a and b:
            b = b[:-1] + (a[-1],)
        return Case([_float_case(a, draw, dtype), _float_case(b, draw, dtype)])

    return sample


@composite(sample=_pair_case(False))
def outer(a: TensorLike, b: TensorLike) -> Tensor:
    """``a.ravel()[:, None] * b.ravel()[None, :]`` (inputs flattened, as NumPy)."""
    a, b = reshape_p(_tensor(a), shape=(-1, 1)), reshape_p(_tensor(b), shape=(1, -1))
    return a * b


@composite(sample=_pair_case(True))
def inner(a: TensorLike, b: TensorLike) -> Tensor:
    """Sum over the last axes of ``a`` and ``b``; a scalar operand multiplies (NumPy's ``inner``)."""
    a, b = _tensor(a), _tensor(b)
    if a.ndim == 0 or b.ndim == 0:
        return a * b
    if a.shape[-1] != b.shape[-1]:
        raise ValueError(f"inner: last axes of shapes {a.shape} and {b.shape} differ")
    return F.tensordot(a, b, axes=([a.ndim - 1], [b.ndim - 1]))


@composite(sample=_pair_case(False))
def kron(a: TensorLike, b: TensorLike) -> Tensor:
    """The Kronecker product: blocks ``a[i, j] * b`` (NumPy's ``kron``, any number of axes)."""
    a, b = _tensor(a), _tensor(b)
    d = max(a.ndim, b.ndim)
    sa, sb = (1,) * (d - a.ndim) + a.shape, (1,) * (d - b.ndim) + b.shape
    left = reshape_p(a, shape=tuple(v for n in sa for v in (n, 1)))
    right = reshape_p(b, shape=tuple(v for n in sb for v in (1, n)))
    return reshape_p(left * right, shape=tuple(p * q for p, q in zip(sa, sb, strict=True)))


def _cross_case(draw: Draw, dtype: Any) -> Case:
    (lead,) = draw.shapes(1, max_dims=2)
    return Case([_float_case(lead + (3,), draw, dtype), _float_case((3,), draw, dtype)])


@composite(sample=_cross_case)
def cross(a: TensorLike, b: TensorLike, axis: int = -1, *, dim: int | None = None) -> Tensor:
    """The cross product of 3-vectors along ``axis`` (``dim=`` too), broadcasting the rest."""
    a, b = _tensor(a), _tensor(b)
    axis = alias("cross", axis, dim, "axis", "dim", -1)
    ax_a, ax_b = normalize_axis(axis, a.ndim, "cross"), normalize_axis(axis, b.ndim, "cross")
    if a.shape[ax_a] != 3 or b.shape[ax_b] != 3:
        raise ValueError(f"cross: both vectors must have 3 components along axis {axis}, got shapes "
                         f"{a.shape} and {b.shape} (2-vectors are deprecated in NumPy and not supported)")

    def part(t: Tensor, ax: int, i: int) -> Tensor:
        return getitem_p(t, index=(slice(None),) * ax + (i,))

    (a0, a1, a2), (b0, b1, b2) = ([part(a, ax_a, i) for i in range(3)], [part(b, ax_b, i) for i in range(3)])
    out = stack_p(a1 * b2 - a2 * b1, a2 * b0 - a0 * b2, a0 * b1 - a1 * b0, axis=-1)
    return moveaxis(out, -1, axis) if axis not in (-1, out.ndim - 1) else out


__all__ = ["cross", "diag", "diagonal", "gather", "index_add", "inner", "kron", "outer", "scatter_add", "take",
           "take_along_axis", "tril", "triu"]
