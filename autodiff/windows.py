"""Sliding windows: ``unfold`` (im2col) and its transpose ``fold`` (col2im), the two
primitives convolution and pooling are built from.

``unfold`` copies every window of the last ``d = len(kernel)`` axes of ``x`` into
an array of shape ``(*lead, *kernel, *out)``: element ``[..., k, m]`` is the padded
input at ``m * stride + k * dilation``. ``fold`` adds such windows back into place
(overlaps add up). Each is the other's VJP, both written as primitive calls, so
derivatives of every order exist.

>>> import numpy as np, autodiff as ad
>>> ad.unfold(np.arange(5.0).reshape(1, 1, 5), 3).shape     # (N, C, k, out)
(1, 1, 3, 3)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from . import symforms as S
from .aliases import TensorLike
from .primitive import defprim
from .sampling import Case, Draw
from .tensor import Tensor, as_tensor

Pairs = tuple[tuple[int, int], ...]
Ints = tuple[int, ...]
#: A window size, stride or dilation: one int for every axis, or one per axis.
IntOrInts = int | Sequence[int]
#: Padding: one int for every side, one int per axis (both sides), or one (lo, hi) pair per axis.
Padding = int | Sequence[int] | Sequence[tuple[int, int]]


def out_size(n: int, k: int, stride: int, dilation: int, lo: int, hi: int) -> int:
    """Number of windows along an axis of length ``n`` (padded by ``lo``/``hi``)."""
    return (n + lo + hi - dilation * (k - 1) - 1) // stride + 1


def _unfold(x: np.ndarray, kernel: Ints, stride: Ints, dilation: Ints, padding: Pairs, fill: Any) -> np.ndarray:
    d = len(kernel)
    lead = x.ndim - d
    if any(lo or hi for lo, hi in padding):
        x = np.pad(x, ((0, 0),) * lead + tuple(padding), constant_values=fill)
    span = tuple(dl * (k - 1) + 1 for k, dl in zip(kernel, dilation, strict=True))
    view = sliding_window_view(x, span, axis=tuple(range(lead, x.ndim)))  # (*lead, *all_out, *span)
    view = view[(Ellipsis,) + tuple(slice(None, None, s) for s in stride)
                + tuple(slice(None, None, dl) for dl in dilation)]
    order = tuple(range(lead)) + tuple(range(lead + d, lead + 2 * d)) + tuple(range(lead, lead + d))
    return np.ascontiguousarray(np.transpose(view, order))


def _fold(g: np.ndarray, kernel: Ints, stride: Ints, dilation: Ints, padding: Pairs, size: Ints) -> np.ndarray:
    d = len(kernel)
    lead, out = g.shape[: g.ndim - 2 * d], g.shape[g.ndim - d:]
    padded = tuple(n + lo + hi for n, (lo, hi) in zip(size, padding, strict=True))
    acc = np.zeros(lead + padded, dtype=g.dtype)
    for offset in np.ndindex(*kernel):  # one strided slice per kernel position: kernels are small
        place = tuple(slice(o * dl, o * dl + s * (m - 1) + 1, s)
                      for o, dl, s, m in zip(offset, dilation, stride, out, strict=True))
        acc[(Ellipsis,) + place] += g[(Ellipsis,) + offset + (slice(None),) * d]
    crop = tuple(slice(lo, lo + n) for (lo, _), n in zip(padding, size, strict=True))
    return np.ascontiguousarray(acc[(Ellipsis,) + crop])


def _unfold_rule(g: Tensor, z: Tensor, x: Tensor, kernel: Ints, stride: Ints, dilation: Ints, padding: Pairs,
                 fill: float) -> Tensor:
    return fold_p(g, kernel=kernel, stride=stride, dilation=dilation, padding=padding,
                  size=tuple(x.shape[x.ndim - len(kernel):]))


def _fold_rule(g: Tensor, z: Tensor, x: Tensor, kernel: Ints, stride: Ints, dilation: Ints, padding: Pairs,
               size: Ints) -> Tensor:
    return unfold_p(g, kernel=kernel, stride=stride, dilation=dilation, padding=padding, fill=0)


def _config(draw: Draw) -> dict[str, Any]:
    """Window parameters for 1 or 2 spatial axes, and an input size with at least one window."""
    d = draw.integers(1, 2)
    kernel = tuple(draw.integers(1, 3) for _ in range(d))
    stride = tuple(draw.integers(1, 2) for _ in range(d))
    dilation = tuple(draw.integers(1, 2) for _ in range(d))
    padding = tuple((draw.integers(0, 1), draw.integers(0, 1)) for _ in range(d))
    size = tuple(dl * (k - 1) + 1 + draw.integers(0, 2) for k, dl in zip(kernel, dilation, strict=True))
    return {"kernel": kernel, "stride": stride, "dilation": dilation, "padding": padding, "size": size}


def _unfold_case(draw: Draw, dtype: Any) -> Case:
    p = _config(draw)
    lead = tuple(draw.integers(1, 2) for _ in range(draw.integers(0, 2)))
    x = draw.floats(lead + p.pop("size"), -2, 2, dtype)
    return Case([x], dict(p, fill=draw.choice([0, -1.5])))


def _fold_case(draw: Draw, dtype: Any) -> Case:
    p = _config(draw)
    lead = tuple(draw.integers(1, 2) for _ in range(draw.integers(0, 2)))
    out = tuple(out_size(n, k, s, dl, lo, hi) for n, k, s, dl, (lo, hi)
                in zip(p["size"], p["kernel"], p["stride"], p["dilation"], p["padding"], strict=True))
    return Case([draw.floats(lead + p["kernel"] + out, -2, 2, dtype)], p)


def _unfold_objects(sp: Any, x: np.ndarray, kernel: Ints, stride: Ints, dilation: Ints, padding: Pairs,
                    fill: float) -> np.ndarray:
    return _unfold(S.objects(x), kernel, stride, dilation, padding, sp.nsimplify(fill))


def _fold_objects(sp: Any, g: np.ndarray, kernel: Ints, stride: Ints, dilation: Ints, padding: Pairs,
                  size: Ints) -> np.ndarray:
    out = _fold(S.objects(g), kernel, stride, dilation, padding, size)
    return S.objects(out + sp.Integer(0))  # untouched positions: SymPy zeros rather than Python ints


_WINDOWS = ("kernel, stride, dilation: one int per window axis; padding: one (lo, hi) pair per axis")
unfold_p = defprim("unfold", _unfold, _unfold_rule, sympy_array=_unfold_objects, sample=_unfold_case,
                   doc="Every window of the last len(kernel) axes, copied: out[..., k, m] = "
                   "pad(x, fill)[..., m*stride + k*dilation], shape (*lead, *kernel, *out) (im2col).  "
                   "d/dx: fold(g) (windows added back into place). " + _WINDOWS)
fold_p = defprim("fold", _fold, _fold_rule, sympy_array=_fold_objects, sample=_fold_case,
                 doc="Windows of shape (*lead, *kernel, *out) added back into an array of spatial size `size` "
                 "(unfold's transpose, col2im; overlaps add up, padding is cropped).  d/dg: unfold(g). " + _WINDOWS)


# ------------------------------------------------------------------ public functions
def _ints(name: str, what: str, value: Any, d: int, least: int) -> tuple[int, ...]:
    items = (value,) * d if isinstance(value, (int, np.integer)) and not isinstance(value, bool) else value
    try:
        items = tuple(items)
    except TypeError:
        raise TypeError(f"{name}: {what} must be an int or a tuple of {d} ints, got {value!r}") from None
    if len(items) != d or not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) and v >= least
                                  for v in items):
        raise ValueError(f"{name}: {what} must be an int >= {least} or a tuple of {d} such ints, got {value!r}")
    return tuple(int(v) for v in items)


def window_params(name: str, shape: tuple[int, ...], kernel_size: Any, stride: Any = 1, padding: Any = 0,
                  dilation: Any = 1) -> dict[str, Any]:
    """Checked window parameters for ``unfold``/``fold`` over the trailing axes of ``shape``.

    An int ``kernel_size`` means that size on every axis after the first two ((N, C, *spatial)
    layout); ``padding`` is an int, one int per axis (both sides) or one (lo, hi) pair per axis.
    Raises ValueError naming ``name`` and the shapes when a window does not fit.
    """
    if isinstance(kernel_size, (int, np.integer)):
        d = max(len(shape) - 2, 1)
    else:
        d = len(tuple(kernel_size))
    kernel = _ints(name, "kernel_size", kernel_size, d, 1)
    if len(shape) < d:
        raise ValueError(f"{name}: a kernel of {d} axes needs an input with at least {d} axes, got shape {shape}")
    stride_t = _ints(name, "stride", stride, d, 1)
    dilation_t = _ints(name, "dilation", dilation, d, 1)
    if isinstance(padding, (tuple, list)) and any(isinstance(p, (tuple, list)) for p in padding):
        if len(padding) != d:
            raise ValueError(f"{name}: padding needs one (lo, hi) pair per axis ({d}), got {padding!r}")
        pairs: Pairs = tuple(tuple(_ints(name, "padding", p, 2, 0)) for p in padding)  # type: ignore[misc]
    else:
        pairs = tuple((p, p) for p in _ints(name, "padding", padding, d, 0))
    spatial = shape[len(shape) - d:]
    for n, k, dl, (lo, hi) in zip(spatial, kernel, dilation_t, pairs, strict=True):
        if dl * (k - 1) + 1 > n + lo + hi:
            raise ValueError(f"{name}: kernel {kernel} (dilation {dilation_t}) is larger than the padded input: "
                             f"input shape {shape}, padding {pairs}")
    return {"kernel": kernel, "stride": stride_t, "dilation": dilation_t, "padding": pairs}


def unfold(x: TensorLike, kernel_size: IntOrInts, stride: IntOrInts = 1, padding: Padding = 0,
           dilation: IntOrInts = 1, fill: float = 0.0) -> Tensor:
    """Every sliding window of the trailing axes of ``x``, copied (im2col).

    The result has shape ``(*lead, *kernel, *out)``; padding takes the value ``fill``
    (``-inf`` for max pooling). An int ``kernel_size`` applies to every axis after the
    first two, as for an (N, C, *spatial) batch.

    >>> import numpy as np, autodiff as ad
    >>> ad.unfold(np.arange(4.0).reshape(1, 1, 4), 2, stride=2)[0, 0]
    Tensor([[0., 2.],
            [1., 3.]])
    """
    x = x if isinstance(x, Tensor) else as_tensor(x)
    return unfold_p(x, **window_params("unfold", x.shape, kernel_size, stride, padding, dilation), fill=fill)


def fold(x: TensorLike, size: IntOrInts, kernel_size: IntOrInts, stride: IntOrInts = 1, padding: Padding = 0,
         dilation: IntOrInts = 1) -> Tensor:
    """Add windows of shape ``(*lead, *kernel, *out)`` back into an array whose trailing
    axes have ``size`` (overlapping windows add up; padding is dropped): ``unfold``'s transpose."""
    x = x if isinstance(x, Tensor) else as_tensor(x)
    if not isinstance(kernel_size, (int, np.integer)):
        d = len(tuple(kernel_size))
    else:  # the number of spatial axes is size's (one for an int size, which tuple() would reject)
        d = 1 if isinstance(size, (int, np.integer)) else len(tuple(size))
    size_t = _ints("fold", "size", size, d, 1)
    lead = x.shape[: max(x.ndim - 2 * d, 0)]
    params = window_params("fold", lead + size_t, kernel_size, stride, padding, dilation)
    out = tuple(out_size(n, k, s, dl, lo, hi) for n, k, s, dl, (lo, hi) in zip(
        size_t, params["kernel"], params["stride"], params["dilation"], params["padding"], strict=True))
    if x.ndim < 2 * d or x.shape[x.ndim - 2 * d:] != params["kernel"] + out:
        raise ValueError(f"fold: expected windows of shape (..., *{params['kernel']}, *{out}) for size {size_t}, "
                         f"got shape {x.shape}")
    return fold_p(x, **params, size=size_t)


__all__ = ["fold", "fold_p", "out_size", "unfold", "unfold_p", "window_params"]
