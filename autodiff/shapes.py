"""Rearranging elements with NumPy's names: ``repeat``, ``tile``, ``roll``, ``flip``, ``rot90``,
``pad``, ``moveaxis``, ``ravel``, ``diff``, ``atleast_1d/2d/3d`` and the joins and splits
(``hstack``, ``vstack``, ``dstack``, ``column_stack``, ``split``, ``array_split``, ...).

Every one is a composite of the shape primitives (``getitem`` with slices or index arrays,
``scatter``, ``reshape``, ``transpose``, ``broadcast_to``, ``concatenate``): no derivative
code of its own, the gradient is the primitives' (a slice's scatter, a repeat's sum).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .aliases import Axis, TensorLike
from .axes import alias, check_axis, normalize_axis
from .compile.decide import static_values
from .functions import _tensor
from .primitive import composite
from .primitives import broadcast_to_p, concatenate_p, getitem_p, reshape_p, scatter_p, transpose_p
from .sampling import Case, Draw
from .tensor import Tensor


def _on_axis(x: Tensor, axis: int, index: Any) -> Tensor:
    return getitem_p(x, index=(slice(None),) * axis + (index,))


def _floats(draw: Draw, dtype: Any, min_dims: int = 1, max_dims: int = 3) -> np.ndarray:
    (shape,) = draw.shapes(1, min_dims=min_dims, max_dims=max_dims)
    return draw.floats(shape, -3, 3, dtype)


def _one_axis(draw: Draw, ndim: int) -> int:
    return draw.integers(-ndim, ndim - 1)


# ------------------------------------------------------------------ repeat
def _repeat_case(draw: Draw, dtype: Any) -> Case:
    x = _floats(draw, dtype)
    axis = draw.choice([None, _one_axis(draw, x.ndim)])
    n = x.size if axis is None else x.shape[axis]
    repeats = draw.choice([2, [draw.integers(0, 2) for _ in range(n)]])
    return Case([x], {"repeats": repeats, "axis": axis})


@composite(sample=_repeat_case)
def repeat(x: TensorLike, repeats: Any, axis: Any = None, *, dim: Any = None) -> Tensor:
    """Each element repeated ``repeats`` times along ``axis`` (the flattened tensor when None), as
    NumPy's ``repeat`` (not PyTorch's ``Tensor.repeat``, which is ``tile``).

    >>> import autodiff as ad
    >>> ad.repeat(ad.Tensor([1.0, 2.0]), 2)
    Tensor([1., 1., 2., 2.])
    """
    x = _tensor(x)
    axis = alias("repeat", axis, dim, "axis", "dim", None)
    if axis is None:
        x, axis = reshape_p(x, shape=(-1,)), 0
    axis = normalize_axis(axis, x.ndim, "repeat")
    counts = np.asarray(static_values(repeats))  # counts shape the result: guarded when compiled
    if counts.dtype.kind not in "iu" or (counts < 0).any():
        raise ValueError(f"repeat: repeats must be non-negative integers, got {repeats!r}")
    try:
        idx = np.repeat(np.arange(x.shape[axis]), counts)
    except ValueError:
        raise ValueError(f"repeat: {counts.size} repeats given for axis {axis} of length {x.shape[axis]}") from None
    return _on_axis(x, axis, idx)


def _tile_case(draw: Draw, dtype: Any) -> Case:
    x = _floats(draw, dtype, min_dims=0)
    return Case([x], {"reps": tuple(draw.integers(1, 3) for _ in range(draw.integers(1, 3)))})


@composite(sample=_tile_case)
def tile(x: TensorLike, reps: Any) -> Tensor:
    """``x`` repeated ``reps`` times along each axis (NumPy's ``tile``, PyTorch's ``Tensor.repeat``).

    >>> import autodiff as ad
    >>> ad.tile(ad.Tensor([1.0, 2.0]), 2)
    Tensor([1., 2., 1., 2.])
    """
    x = _tensor(x)
    reps = tuple(int(r) for r in np.atleast_1d(reps))
    if any(r < 0 for r in reps):
        raise ValueError(f"tile: reps must be non-negative, got {reps}")
    d = max(len(reps), x.ndim)
    shape, reps = (1,) * (d - x.ndim) + x.shape, (1,) * (d - len(reps)) + reps
    spread = reshape_p(x, shape=tuple(v for n in shape for v in (1, n)))
    wide = broadcast_to_p(spread, shape=tuple(v for r, n in zip(reps, shape, strict=True) for v in (r, n)))
    return reshape_p(wide, shape=tuple(r * n for r, n in zip(reps, shape, strict=True)))


# ------------------------------------------------------------- roll, flip
def _roll_case(draw: Draw, dtype: Any) -> Case:
    x = _floats(draw, dtype)
    axis = draw.choice([None, _one_axis(draw, x.ndim), tuple(range(x.ndim))])
    shift = draw.integers(-4, 4) if not isinstance(axis, tuple) else tuple(draw.integers(-3, 3) for _ in axis)
    return Case([x], {"shift": shift, "axis": axis})


@composite(sample=_roll_case)
def roll(x: TensorLike, shift: Any, axis: Axis = None, *, dims: Axis = None) -> Tensor:
    """Elements shifted by ``shift`` along ``axis`` (wrapping around; the flattened tensor when None)."""
    x = _tensor(x)
    axis = alias("roll", axis, dims, "axis", "dims", None)
    if axis is None:
        return reshape_p(roll(reshape_p(x, shape=(-1,)), shift, 0), shape=x.shape)
    shifts, axes = np.broadcast_arrays(static_values(shift), np.asarray(axis))  # (a Tensor shift is guarded)
    out = x
    for s, a in zip(shifts.reshape(-1), axes.reshape(-1), strict=True):
        a = normalize_axis(int(a), x.ndim, "roll")
        n = x.shape[a]
        if n:
            out = _on_axis(out, a, (np.arange(n) - int(s)) % n)
    return out


def _flip_case(draw: Draw, dtype: Any) -> Case:
    x = _floats(draw, dtype)
    return Case([x], {"axis": draw.choice([None, _one_axis(draw, x.ndim)] + ([(0, x.ndim - 1)] if x.ndim > 1 else []))})


@composite(sample=_flip_case)
def flip(x: TensorLike, axis: Axis = None, *, dims: Axis = None) -> Tensor:
    """The order of elements reversed along ``axis`` (every axis when None; PyTorch's ``dims=`` too)."""
    x = _tensor(x)
    axis = alias("flip", axis, dims, "axis", "dims", None)
    axes = check_axis("flip", x.ndim, axis)
    axes = range(x.ndim) if axes is None else axes if isinstance(axes, tuple) else (axes,)
    index = [slice(None)] * x.ndim
    for a in axes:
        index[a] = slice(None, None, -1)
    return getitem_p(x, index=tuple(index))


def flipud(x: TensorLike) -> Tensor:
    """Rows reversed (axis 0)."""
    x = _tensor(x)
    if x.ndim < 1:
        raise ValueError("flipud: needs at least 1 axis, got a 0-d tensor")
    return flip(x, 0)


def fliplr(x: TensorLike) -> Tensor:
    """Columns reversed (axis 1)."""
    x = _tensor(x)
    if x.ndim < 2:
        raise ValueError(f"fliplr: needs at least 2 axes, got shape {x.shape}")
    return flip(x, 1)


def _rot90_case(draw: Draw, dtype: Any) -> Case:
    x = _floats(draw, dtype, min_dims=2)
    return Case([x], {"k": draw.integers(-1, 3), "axes": draw.choice([(0, 1), (1, 0), (-1, 0)])})


@composite(sample=_rot90_case)
def rot90(x: TensorLike, k: int = 1, axes: Any = (0, 1)) -> Tensor:
    """Rotate by 90 degrees ``k`` times in the plane ``axes`` (from the first toward the second)."""
    x = _tensor(x)
    if len(axes) != 2:
        raise ValueError(f"rot90: axes must name 2 axes, got {axes}")
    a, b = normalize_axis(axes[0], x.ndim, "rot90"), normalize_axis(axes[1], x.ndim, "rot90")
    if a == b:
        raise ValueError(f"rot90: axes must be different, got {axes}")
    k %= 4
    if k == 0:
        return x
    if k == 2:
        return flip(flip(x, a), b)
    perm = list(range(x.ndim))
    perm[a], perm[b] = perm[b], perm[a]
    if k == 1:
        return transpose_p(flip(x, b), axes=tuple(perm))
    return flip(transpose_p(x, axes=tuple(perm)), b)


# --------------------------------------------------------------------- pad
def _pad_case(draw: Draw, dtype: Any) -> Case:
    x = _floats(draw, dtype, max_dims=2)
    mode = draw.choice(["constant", "edge", "reflect", "symmetric", "wrap"])
    widths = draw.choice([1, (0, 2), tuple((draw.integers(0, 2), draw.integers(0, 2)) for _ in range(x.ndim))])
    params: dict[str, Any] = {"pad_width": widths, "mode": mode}
    if mode == "constant":
        params["constant_values"] = draw.choice([0, 1.5])
    return Case([x], params)


_PAD_MODES = ("constant", "edge", "reflect", "symmetric", "wrap")


@composite(sample=_pad_case)
def pad(x: TensorLike, pad_width: Any, mode: str = "constant", constant_values: Any = 0) -> Tensor:
    """``x`` padded by ``pad_width`` (an int, ``(before, after)`` or one pair per axis) with
    NumPy's modes ``constant`` (``constant_values``), ``edge``, ``reflect``, ``symmetric`` and ``wrap``.

    >>> import autodiff as ad
    >>> ad.pad(ad.Tensor([1.0, 2.0, 3.0]), 2, mode="reflect")
    Tensor([3., 2., 1., 2., 3., 2., 1.])
    """
    x = _tensor(x)
    if mode not in _PAD_MODES:
        raise ValueError(f"pad: mode {mode!r} is not supported; choose one of {_PAD_MODES}")
    try:
        widths = np.broadcast_to(static_values(pad_width), (x.ndim, 2))
    except ValueError:
        raise ValueError(f"pad: pad_width {pad_width!r} does not fit a tensor with {x.ndim} axes") from None
    if widths.dtype.kind not in "iu" or (widths < 0).any():
        raise ValueError(f"pad: pad_width must hold non-negative integers, got {pad_width!r}")
    widths = widths.astype(int)
    if mode == "constant":
        return _pad_constant(x, widths, constant_values)
    out = x
    for axis, (before, after) in enumerate(widths):
        if before or after:
            try:
                how: Any = mode  # one of _PAD_MODES, checked above
                idx = np.pad(np.arange(x.shape[axis]), (int(before), int(after)), mode=how)
            except ValueError as e:
                raise ValueError(f"pad: cannot pad axis {axis} of shape {x.shape} with mode {mode!r}: {e}") from None
            out = _on_axis(out, axis, idx)
    return out


def _pad_constant(x: Tensor, widths: np.ndarray, value: Any) -> Tensor:
    shape = tuple(int(n + b + a) for n, (b, a) in zip(x.shape, widths, strict=True))
    inside = tuple(slice(int(b), int(b) + n) for n, (b, _) in zip(x.shape, widths, strict=True))
    out = scatter_p(x, index=inside, shape=shape)
    values = np.broadcast_to(np.asarray(static_values(value), dtype=x.dtype if x.dtype.kind == "f" else None),
                             (x.ndim, 2))
    if not values.any():
        return out
    border = np.zeros(shape, dtype=np.result_type(x.dtype, values.dtype))
    for axis, (b, a) in enumerate(widths):  # later axes overwrite corners, as NumPy does
        lead = (slice(None),) * axis
        border[lead + (slice(0, int(b)),)] = values[axis, 0]
        border[lead + (slice(shape[axis] - int(a), shape[axis]),)] = values[axis, 1]
    border[inside] = 0
    return out + border


# ------------------------------------------------------- axes and flatten
def _moveaxis_case(draw: Draw, dtype: Any) -> Case:
    x = _floats(draw, dtype, min_dims=1, max_dims=4)
    return Case([x], {"source": _one_axis(draw, x.ndim), "destination": _one_axis(draw, x.ndim)})


@composite(sample=_moveaxis_case)
def moveaxis(x: TensorLike, source: TensorLike, destination: Any) -> Tensor:
    """Axes ``source`` moved to positions ``destination`` (ints or sequences), the others in order."""
    x = _tensor(x)
    src = [normalize_axis(a, x.ndim, "moveaxis") for a in np.atleast_1d(source).tolist()]
    dst = [normalize_axis(a, x.ndim, "moveaxis") for a in np.atleast_1d(destination).tolist()]
    if len(src) != len(dst) or len(set(src)) != len(src) or len(set(dst)) != len(dst):
        raise ValueError(f"moveaxis: source {source} and destination {destination} must be distinct axes, "
                         f"as many of each")
    order = [a for a in range(x.ndim) if a not in src]
    for d, s in sorted(zip(dst, src, strict=True)):
        order.insert(d, s)
    return transpose_p(x, axes=tuple(order))


def ravel(x: TensorLike) -> Tensor:
    """All elements as a 1-D tensor, in row-major order."""
    return reshape_p(_tensor(x), shape=(-1,))


def _diff_case(draw: Draw, dtype: Any) -> Case:
    x = _floats(draw, dtype)
    axis = _one_axis(draw, x.ndim)
    return Case([x], {"n": draw.integers(0, min(2, x.shape[axis])), "axis": axis})


@composite(sample=_diff_case)
def diff(x: TensorLike, n: int = 1, axis: int = -1, prepend: TensorLike | None = None,
         append: TensorLike | None = None) -> Tensor:
    """The ``n``-th difference along ``axis``: ``x[1:] - x[:-1]`` applied ``n`` times
    (``prepend``/``append`` joined first, as NumPy)."""
    x = _tensor(x)
    if x.ndim == 0:
        raise ValueError("diff: needs at least 1 axis, got a 0-d tensor")
    if not isinstance(n, (int, np.integer)) or n < 0:
        raise ValueError(f"diff: order n must be a non-negative integer, got {n!r}")
    axis = normalize_axis(axis, x.ndim, "diff")
    parts = []
    for extra in (prepend, x, append):
        if extra is None:
            continue
        e = _tensor(extra)
        if e.ndim == 0:
            e = broadcast_to_p(e, shape=x.shape[:axis] + (1,) + x.shape[axis + 1:])
        parts.append(e)
    out: Tensor = concatenate_p(*parts, axis=axis) if len(parts) > 1 else x
    for _ in range(n):
        out = _on_axis(out, axis, slice(1, None)) - _on_axis(out, axis, slice(None, -1))
    return out


def _at_least(x: TensorLike, ndim: int) -> Tensor:
    x = _tensor(x)
    if x.ndim >= ndim:
        return x
    if ndim == 3 and x.ndim == 2:
        return reshape_p(x, shape=x.shape + (1,))
    if ndim == 3:
        return reshape_p(x, shape=(1, x.size, 1) if x.ndim == 1 else (1, 1, 1))
    return reshape_p(x, shape=(1,) * (ndim - x.ndim) + x.shape)


def atleast_1d(*xs: Any) -> Any:
    """Each input with at least 1 axis (one tensor for one input, else a tuple)."""
    out = tuple(_at_least(x, 1) for x in xs)
    return out[0] if len(out) == 1 else out


def atleast_2d(*xs: Any) -> Any:
    """Each input with at least 2 axes: a 1-D ``(n,)`` becomes ``(1, n)``."""
    out = tuple(_at_least(x, 2) for x in xs)
    return out[0] if len(out) == 1 else out


def atleast_3d(*xs: Any) -> Any:
    """Each input with at least 3 axes: ``(n,)`` becomes ``(1, n, 1)``, ``(m, n)`` becomes ``(m, n, 1)``."""
    out = tuple(_at_least(x, 3) for x in xs)
    return out[0] if len(out) == 1 else out


__all__ = ["atleast_1d", "atleast_2d", "atleast_3d", "diff", "flip", "fliplr", "flipud", "moveaxis", "pad",
           "ravel", "repeat", "roll", "rot90", "tile"]
