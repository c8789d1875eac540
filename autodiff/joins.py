"""Joining and splitting with NumPy's names: ``hstack``, ``vstack``, ``dstack``,
``column_stack``, ``split``, ``array_split``, ``hsplit``, ``vsplit``, ``dsplit`` and
``meshgrid``, all made of ``concatenate``, slices and ``broadcast_to`` (their gradients).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .aliases import TensorLike
from .axes import normalize_axis
from .functions import _tensor
from .primitive import composite
from .primitives import broadcast_to_p, concatenate_p, getitem_p, reshape_p
from .sampling import Case, Draw, Sampler
from .shapes import atleast_1d, atleast_2d, atleast_3d
from .tensor import Tensor


def _tensors(op: str, tensors: Any) -> list[Tensor]:
    if isinstance(tensors, Tensor) or not isinstance(tensors, (list, tuple)) or not tensors:
        raise TypeError(f"{op}: expects a non-empty list or tuple of tensors, got {type(tensors).__name__}")
    return [_tensor(t) for t in tensors]


def _join(op: str, parts: list[Tensor], axis: int) -> Tensor:
    ndims = {p.ndim for p in parts}
    if len(ndims) > 1:
        raise ValueError(f"{op}: all inputs must have the same number of axes after promotion, got shapes "
                         f"{[p.shape for p in parts]}")
    return concatenate_p(*parts, axis=axis)


def _stack_case(lo: int, axis: int) -> Any:
    def sample(draw: Draw, dtype: Any) -> Case:
        (shape,) = draw.shapes(1, min_dims=lo, max_dims=3)
        parts = []
        for _ in range(draw.integers(1, 3)):
            s = list(shape)
            if len(s) > max(axis, 1):  # 1-D inputs of vstack/column_stack must agree
                s[axis] = draw.integers(1, 3)
            parts.append(draw.floats(tuple(s), -3, 3, dtype))
        return Case(parts)

    return sample


# The registry calls an entry with the tensors as separate arguments: these wrappers take a list.
def hstack(tensors: Sequence[TensorLike]) -> Tensor:
    """Join along the second axis (the first for 1-D inputs), as NumPy's ``hstack``."""
    parts = [atleast_1d(t) for t in _tensors("hstack", tensors)]
    return _join("hstack", parts, 0 if parts[0].ndim == 1 else 1)


def vstack(tensors: Sequence[TensorLike]) -> Tensor:
    """Join along the first axis, 1-D inputs becoming rows (NumPy's ``vstack``, ``row_stack``)."""
    return _join("vstack", [atleast_2d(t) for t in _tensors("vstack", tensors)], 0)


def dstack(tensors: Sequence[TensorLike]) -> Tensor:
    """Join along the third axis, inputs made 3-D first (NumPy's ``dstack``)."""
    return _join("dstack", [atleast_3d(t) for t in _tensors("dstack", tensors)], 2)


def column_stack(tensors: Sequence[TensorLike]) -> Tensor:
    """1-D inputs as columns, 2-D inputs as they are, joined along axis 1."""
    parts = []
    for t in _tensors("column_stack", tensors):
        parts.append(reshape_p(t, shape=(-1, 1)) if t.ndim < 2 else t)
    return _join("column_stack", parts, 1)


def _registered(name: str, join: Callable[[Sequence[TensorLike]], Tensor], sample: Sampler) -> None:
    def joined(*tensors: Any) -> Tensor:
        return join(tensors)

    joined.__doc__ = join.__doc__
    composite(sample=sample, name=name)(joined)


_registered("hstack", hstack, _stack_case(0, 1))
_registered("vstack", vstack, _stack_case(0, 0))
_registered("dstack", dstack, _stack_case(0, 2))
_registered("column_stack", column_stack, _stack_case(1, 1))


# ------------------------------------------------------------------ splits
def _pieces(x: Tensor, bounds: list[int], axis: int) -> list[Tensor]:
    lead = (slice(None),) * axis
    return [getitem_p(x, index=lead + (slice(a, b),)) for a, b in zip(bounds[:-1], bounds[1:], strict=True)]


def array_split(x: TensorLike, indices_or_sections: Any, axis: int = 0) -> list[Tensor]:
    """Pieces along ``axis``: ``k`` nearly equal ones (the first ``n % k`` one longer) or cut
    at the listed indices; each piece's gradient flows back to its slice."""
    x = _tensor(x)
    axis = normalize_axis(axis, x.ndim, "array_split")
    n = x.shape[axis]
    if isinstance(indices_or_sections, (int, np.integer)):
        k = int(indices_or_sections)
        if k <= 0:
            raise ValueError(f"array_split: number of sections must be larger than 0, got {k}")
        sizes = [n // k + 1] * (n % k) + [n // k] * (k - n % k)
        bounds = [0, *np.cumsum(sizes).tolist()]
    else:
        bounds = [0, *(int(c) for c in indices_or_sections), n]  # Python's slice rules, as NumPy
    return _pieces(x, bounds, axis)


def split(x: TensorLike, indices_or_sections: Any, axis: int = 0) -> list[Tensor]:
    """Pieces along ``axis``: ``k`` equal ones (an error if they cannot be equal) or cut at the
    listed indices (NumPy's ``split``; ``Tensor.split`` keeps PyTorch's sizes)."""
    x = _tensor(x)
    if isinstance(indices_or_sections, (int, np.integer)):
        n = x.shape[normalize_axis(axis, x.ndim, "split")]
        if indices_or_sections <= 0 or n % int(indices_or_sections):
            raise ValueError(f"split: array split does not result in an equal division ({n} elements along "
                             f"axis {axis} into {indices_or_sections} sections)")
    return array_split(x, indices_or_sections, axis)


def hsplit(x: TensorLike, indices_or_sections: Any) -> list[Tensor]:
    """``split`` along axis 1 (axis 0 for 1-D inputs)."""
    x = _tensor(x)
    if x.ndim == 0:
        raise ValueError("hsplit: needs at least 1 axis, got a 0-d tensor")
    return split(x, indices_or_sections, 1 if x.ndim > 1 else 0)


def vsplit(x: TensorLike, indices_or_sections: Any) -> list[Tensor]:
    """``split`` along axis 0 (inputs with at least 2 axes)."""
    x = _tensor(x)
    if x.ndim < 2:
        raise ValueError(f"vsplit: needs at least 2 axes, got shape {x.shape}")
    return split(x, indices_or_sections, 0)


def dsplit(x: TensorLike, indices_or_sections: Any) -> list[Tensor]:
    """``split`` along axis 2 (inputs with at least 3 axes)."""
    x = _tensor(x)
    if x.ndim < 3:
        raise ValueError(f"dsplit: needs at least 3 axes, got shape {x.shape}")
    return split(x, indices_or_sections, 2)


def meshgrid(*xs: Any, indexing: str = "xy", sparse: bool = False, copy: bool = True) -> list[Tensor]:
    """Coordinate grids from 1-D inputs (``indexing`` "xy" swaps the first two axes, as NumPy);
    each grid's gradient sums back to its vector."""
    if indexing not in ("xy", "ij"):
        raise ValueError(f"meshgrid: indexing must be 'xy' or 'ij', got {indexing!r}")
    vs = [reshape_p(_tensor(x), shape=(-1,)) for x in xs]
    sizes = [v.shape[0] for v in vs]
    if indexing == "xy" and len(vs) > 1:
        sizes[0], sizes[1] = sizes[1], sizes[0]
    out = []
    for i, v in enumerate(vs):
        position = (1 - i if i < 2 else i) if indexing == "xy" and len(vs) > 1 else i
        shape = tuple(-1 if k == position else 1 for k in range(len(vs)))
        g = reshape_p(v, shape=shape)
        out.append(g if sparse else broadcast_to_p(g, shape=tuple(sizes)))
    return out


__all__ = ["array_split", "column_stack", "dsplit", "dstack", "hsplit", "hstack", "meshgrid", "split", "vsplit",
           "vstack"]
