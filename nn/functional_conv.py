"""Convolution and pooling as functions of Tensors, with PyTorch's names and weight layout.

Every one is ``autodiff.unfold`` (the windows, im2col) followed by a matmul with the
weights (convolution), a max or a mean over the window axes (pooling), or two
averaging matrices (adaptive pooling): no derivative code.

>>> import numpy as np
>>> x, w = np.ones((1, 2, 5, 5)), np.ones((4, 2, 3, 3))
>>> conv2d(x, w, padding=1).shape
(1, 4, 5, 5)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, TypeAlias

import numpy as np

import autodiff as ad
from autodiff import Tensor, TensorLike
from autodiff.windows import unfold_p, window_params

PADDING_MODES = ("zeros", "reflect", "replicate", "circular")
_NUMPY_MODE = {"reflect": "reflect", "replicate": "edge", "circular": "wrap"}

Ints: TypeAlias = int | Sequence[int]
"""A window argument (kernel size, stride, padding, dilation): one int for every spatial axis, or one per axis."""


def _as_tensor(x: Any) -> Tensor:
    return x if isinstance(x, Tensor) else ad.tensor(x)


def _batched(name: str, x: Tensor, d: int, what: str = "(N, C, *spatial)") -> tuple[Tensor, bool]:
    """``x`` with a batch axis (added when the input is unbatched), and whether one was added."""
    if x.ndim == d + 1:
        return ad.expand_dims(x, 0), True
    if x.ndim != d + 2:
        raise ValueError(f"{name}: expected a {d + 2}-d input {what} or a {d + 1}-d unbatched one, "
                         f"got shape {x.shape}")
    return x, False


def _tuple(name: str, what: str, value: Any, d: int) -> tuple[int, ...]:
    items = (value,) * d if isinstance(value, (int, np.integer)) and not isinstance(value, bool) else tuple(value)
    if len(items) != d:
        raise ValueError(f"{name}: {what} must be an int or a tuple of {d} ints, got {value!r}")
    return tuple(int(v) for v in items)


def _padding_pairs(name: str, padding: Any, kernel: tuple[int, ...], stride: Any, dilation: Any,
                   ) -> tuple[tuple[int, int], ...]:
    """PyTorch's padding argument as (lo, hi) pairs: an int, a tuple, 'valid' or 'same'."""
    d = len(kernel)
    if isinstance(padding, str):
        if padding == "valid":
            return ((0, 0),) * d
        if padding != "same":
            raise ValueError(f"{name}: padding must be an int, a tuple, 'valid' or 'same', got {padding!r}")
        if any(s != 1 for s in _tuple(name, "stride", stride, d)):
            raise ValueError(f"{name}: padding='same' needs stride 1 (as in PyTorch), got stride={stride!r}")
        total = [dl * (k - 1) for k, dl in zip(kernel, _tuple(name, "dilation", dilation, d), strict=True)]
        return tuple((t // 2, t - t // 2) for t in total)
    return tuple((p, p) for p in _tuple(name, "padding", padding, d))


def _pad_by_index(x: Tensor, pairs: tuple[tuple[int, int], ...], mode: str) -> Tensor:
    """Reflect/replicate/circular padding as a gather (its gradient adds back the copies)."""
    d = len(pairs)
    index: list[Any] = [slice(None)] * (x.ndim - d)
    for k, (n, (lo, hi)) in enumerate(zip(x.shape[x.ndim - d:], pairs, strict=True)):
        source = np.pad(np.arange(n), (lo, hi), mode=_NUMPY_MODE[mode])  # type: ignore[call-overload]
        index.append(source.reshape((-1,) + (1,) * (d - 1 - k)))
    return ad.getitem(x, tuple(index))


def convolution(name: str, x: TensorLike, weight: TensorLike, bias: TensorLike | None = None, stride: Ints = 1,
                padding: Ints | str = 0, dilation: Ints = 1, groups: int = 1, padding_mode: str = "zeros") -> Tensor:
    """N-d convolution (cross-correlation, as PyTorch) with ``weight`` of shape
    (out_channels, in_channels / groups, *kernel); ``name`` is used in error messages."""
    x, weight = _as_tensor(x), _as_tensor(weight)
    d = weight.ndim - 2
    x, unbatched = _batched(name, x, d)
    (n, c), spatial = x.shape[:2], x.shape[2:]
    o, cg, kernel = weight.shape[0], weight.shape[1], weight.shape[2:]
    if isinstance(groups, bool) or not isinstance(groups, (int, np.integer)) or groups < 1:
        raise ValueError(f"{name}: groups must be a positive int, got {groups!r}")
    if c != cg * groups or o % groups:
        raise ValueError(f"{name}: input with {c} channels (shape {x.shape}) does not fit weight of shape "
                         f"{weight.shape} with groups={groups}: expected {cg * groups} channels and "
                         f"out_channels divisible by groups")
    if padding_mode not in PADDING_MODES:
        raise ValueError(f"{name}: padding_mode must be one of {PADDING_MODES}, got {padding_mode!r}")
    pairs = _padding_pairs(name, padding, kernel, stride, dilation)
    if padding_mode != "zeros" and any(lo or hi for lo, hi in pairs):
        if padding_mode == "reflect" and any(lo >= m or hi >= m for (lo, hi), m in zip(pairs, spatial, strict=True)):
            raise ValueError(f"{name}: reflect padding {pairs} must be smaller than the input's sides {spatial}")
        x, pairs = _pad_by_index(x, pairs, padding_mode), ((0, 0),) * d
    params = window_params(name, x.shape, kernel, stride, pairs, dilation)
    cols = unfold_p(x, **params, fill=0)  # (N, C, *kernel, *out)
    out = cols.shape[2 + d:]
    k = cg * math.prod(kernel)
    cols = ad.reshape(cols, (n, groups, k, math.prod(out)))
    y = ad.matmul(ad.reshape(weight, (groups, o // groups, k)), cols)  # (N, G, O/G, L)
    y = ad.reshape(y, (n, o) + out)
    if bias is not None:
        y = y + ad.reshape(bias, (o,) + (1,) * d)
    return y[0] if unbatched else y


def conv1d(input: TensorLike, weight: TensorLike, bias: TensorLike | None = None, stride: Ints = 1,
           padding: Ints | str = 0, dilation: Ints = 1, groups: int = 1) -> Tensor:
    """1-d convolution of (N, C_in, L) with ``weight`` (C_out, C_in / groups, k), as ``torch.nn.functional.conv1d``.

    >>> conv1d(np.ones((1, 1, 4)), np.ones((1, 1, 2))).numpy()
    array([[[2., 2., 2.]]])
    """
    if np.ndim(weight) != 3:
        raise ValueError(f"conv1d: weight must be 3-d (out_channels, in_channels / groups, k), got shape "
                         f"{np.shape(weight)}")
    return convolution("conv1d", input, weight, bias, stride, padding, dilation, groups)


def conv2d(input: TensorLike, weight: TensorLike, bias: TensorLike | None = None, stride: Ints = 1,
           padding: Ints | str = 0, dilation: Ints = 1, groups: int = 1) -> Tensor:
    """2-d convolution of (N, C_in, H, W) with ``weight`` (C_out, C_in / groups, kH, kW), as
    ``torch.nn.functional.conv2d`` (padding: int, pair, 'valid' or 'same')."""
    if np.ndim(weight) != 4:
        raise ValueError(f"conv2d: weight must be 4-d (out_channels, in_channels / groups, kH, kW), got shape "
                         f"{np.shape(weight)}")
    return convolution("conv2d", input, weight, bias, stride, padding, dilation, groups)


def _pool_params(name: str, x: Tensor, kernel_size: Any, stride: Any, padding: Any, dilation: Any,
                 ceil_mode: bool, d: int = 2) -> dict[str, Any]:
    """Window parameters of a pool; ceil_mode adds the extra right padding its last window needs."""
    kernel = _tuple(name, "kernel_size", kernel_size, d)
    stride_t = kernel if stride is None or stride == () else _tuple(name, "stride", stride, d)
    pads = _tuple(name, "padding", padding, d)
    if any(2 * p > k for p, k in zip(pads, kernel, strict=True)):
        raise ValueError(f"{name}: padding {pads} must be at most half the kernel size {kernel}")
    pairs = [(p, p) for p in pads]
    dil = _tuple(name, "dilation", dilation, d)
    if ceil_mode:
        for i, (n, k, s, dl, p) in enumerate(zip(x.shape[2:], kernel, stride_t, dil, pads, strict=True)):
            span = dl * (k - 1) + 1
            m = -(-(n + 2 * p - span) // s) + 1  # ceil
            if (m - 1) * s >= n + p:  # the last window must start inside the input or the left padding
                m -= 1
            pairs[i] = (p, max((m - 1) * s + span - n - p, p))
    return window_params(name, x.shape, kernel, stride_t, tuple(pairs), dil)


def _max_pool(name: str, d: int, input: TensorLike, kernel_size: Ints, stride: Ints | None, padding: Ints,
              dilation: Ints, ceil_mode: bool) -> Tensor:
    x, unbatched = _batched(name, _as_tensor(input), d)
    params = _pool_params(name, x, kernel_size, stride, padding, dilation, ceil_mode, d)
    y = ad.max(unfold_p(x, **params, fill=-np.inf), axis=tuple(range(2, 2 + d)))
    return y[0] if unbatched else y


def max_pool1d(input: TensorLike, kernel_size: Ints, stride: Ints | None = None, padding: Ints = 0,
               dilation: Ints = 1, ceil_mode: bool = False) -> Tensor:
    """The maximum of each window of (N, C, L) (padding counts as -inf), as PyTorch's max_pool1d;
    tied maxima share the gradient equally.

    >>> max_pool1d(np.array([[[1.0, 3.0, 2.0, 5.0]]]), 2).numpy()
    array([[[3., 5.]]])
    """
    return _max_pool("max_pool1d", 1, input, kernel_size, stride, padding, dilation, ceil_mode)


def max_pool2d(input: TensorLike, kernel_size: Ints, stride: Ints | None = None, padding: Ints = 0,
               dilation: Ints = 1, ceil_mode: bool = False) -> Tensor:
    """The maximum of each window of (N, C, H, W) (padding counts as -inf), as PyTorch's max_pool2d.

    Tied maxima in one window share its gradient equally (``autodiff.max``'s rule; PyTorch
    gives it all to one of them).
    """
    return _max_pool("max_pool2d", 2, input, kernel_size, stride, padding, dilation, ceil_mode)


def _avg_pool(name: str, d: int, input: TensorLike, kernel_size: Ints, stride: Ints | None, padding: Ints,
              ceil_mode: bool, count_include_pad: bool, divisor_override: int | None) -> Tensor:
    x, unbatched = _batched(name, _as_tensor(input), d)
    params = _pool_params(name, x, kernel_size, stride, padding, 1, ceil_mode, d)
    total = ad.sum(unfold_p(x, **params, fill=0), axis=tuple(range(2, 2 + d)))
    if divisor_override is not None:
        if isinstance(divisor_override, bool) or not isinstance(divisor_override, (int, np.integer)) \
                or divisor_override < 1:
            raise ValueError(f"{name}: divisor_override must be a positive int, got {divisor_override!r}")
        y = total / divisor_override
    else:
        y = total / _divisor(x.shape[2:], params, count_include_pad)
    return y[0] if unbatched else y


def avg_pool1d(input: TensorLike, kernel_size: Ints, stride: Ints | None = None, padding: Ints = 0,
               ceil_mode: bool = False, count_include_pad: bool = True) -> Tensor:
    """The mean of each window of (N, C, L), as PyTorch's avg_pool1d (zero padding counts in
    the divisor when ``count_include_pad``).

    >>> avg_pool1d(np.array([[[1.0, 3.0, 2.0, 6.0]]]), 2).numpy()
    array([[[2., 4.]]])
    """
    return _avg_pool("avg_pool1d", 1, input, kernel_size, stride, padding, ceil_mode, count_include_pad, None)


def avg_pool2d(input: TensorLike, kernel_size: Ints, stride: Ints | None = None, padding: Ints = 0,
               ceil_mode: bool = False, count_include_pad: bool = True, divisor_override: int | None = None) -> Tensor:
    """The mean of each window of (N, C, H, W), as PyTorch's avg_pool2d: zero padding counts
    in the divisor when ``count_include_pad`` (the part of a ceil_mode window past the padding never does)."""
    return _avg_pool("avg_pool2d", 2, input, kernel_size, stride, padding, ceil_mode, count_include_pad,
                     divisor_override)


def _divisor(spatial: tuple[int, ...], params: dict[str, Any], count_include_pad: bool) -> np.ndarray:
    """How many counted positions each window covers: the input, plus the symmetric padding when asked."""
    counted = np.ones(spatial)
    if count_include_pad:
        sym = [p for p, _ in params["padding"]]
        counted = np.pad(counted, [(p, p) for p in sym], constant_values=1.0)
        pairs = tuple((0, hi - p) for p, (_, hi) in zip(sym, params["padding"], strict=True))
        params = dict(params, padding=pairs)
    kernel_axes = tuple(range(len(spatial)))  # unfold of an unbatched array: (*kernel, *out)
    counts: np.ndarray = np.sum(unfold_p.forward(counted, **params, fill=0.0), axis=kernel_axes)
    return counts


def _bins(n: int, m: int) -> np.ndarray:
    """The (m, n) matrix averaging PyTorch's adaptive bins [floor(i n / m), ceil((i + 1) n / m))."""
    a = np.zeros((m, n))
    for i in range(m):
        lo, hi = (i * n) // m, -(-((i + 1) * n) // m)
        a[i, lo:hi] = 1.0 / (hi - lo)
    return a


def adaptive_avg_pool2d(input: TensorLike, output_size: int | Sequence[int | None] | None) -> Tensor:
    """Average pooling to a fixed (H_out, W_out) (``None`` keeps that side), as PyTorch's:
    a mean over equal blocks when the sizes divide, else out = A_H @ x @ A_Wᵀ with
    averaging matrices over PyTorch's (overlapping) bins."""
    x, unbatched = _batched("adaptive_avg_pool2d", _as_tensor(input), 2)
    sizes = (output_size, output_size) if output_size is None or isinstance(output_size, (int, np.integer)) \
        else tuple(output_size)
    if len(sizes) != 2 or not all(s is None or (isinstance(s, (int, np.integer)) and s >= 1) for s in sizes):
        raise ValueError(f"adaptive_avg_pool2d: output_size must be a positive int or a pair of them "
                         f"(None keeps a side), got {output_size!r}")
    h, w = x.shape[2:]
    oh, ow = (h if sizes[0] is None else int(sizes[0])), (w if sizes[1] is None else int(sizes[1]))
    if h % oh == 0 and w % ow == 0:  # equal bins: a mean over blocks, no matrices
        y: Tensor = ad.mean(ad.reshape(x, x.shape[:2] + (oh, h // oh, ow, w // ow)), axis=(3, 5))
    else:
        dtype = x.dtype if x.dtype.kind == "f" else ad.get_default_dtype()
        y = ad.matmul(ad.matmul(_bins(h, oh).astype(dtype), x), _bins(w, ow).T.astype(dtype))
    return y[0] if unbatched else y


def adaptive_avg_pool1d(input: TensorLike, output_size: int | Sequence[int]) -> Tensor:
    """Average pooling of (N, C, L) to a fixed length, as PyTorch's adaptive_avg_pool1d
    (its bins; ``adaptive_avg_pool2d`` on a height of one).

    >>> adaptive_avg_pool1d(np.arange(6.0).reshape(1, 1, 6), 2).numpy()
    array([[[1., 4.]]])
    """
    x = _as_tensor(input)
    if x.ndim not in (2, 3):
        raise ValueError(f"adaptive_avg_pool1d: expected a 3-d input (N, C, L) or a 2-d unbatched one, got shape "
                         f"{x.shape}")
    if isinstance(output_size, (tuple, list)) and len(output_size) == 1:
        output_size = output_size[0]
    if isinstance(output_size, bool) or not isinstance(output_size, (int, np.integer)) or output_size < 1:
        raise ValueError(f"adaptive_avg_pool1d: output_size must be a positive int, got {output_size!r}")
    y = adaptive_avg_pool2d(ad.expand_dims(x, -2), (1, int(output_size)))
    squeezed: Tensor = ad.squeeze(y, axis=-2)
    return squeezed


def layer_norm(input: TensorLike, normalized_shape: Ints, weight: TensorLike | None = None,
               bias: TensorLike | None = None, eps: float = 1e-5) -> Tensor:
    """(x - mean) / sqrt(var + eps) over the trailing ``normalized_shape`` axes (biased
    variance), times ``weight`` plus ``bias`` when given, as PyTorch's layer_norm."""
    x = _as_tensor(input)
    shape = (int(normalized_shape),) if isinstance(normalized_shape, (int, np.integer)) else tuple(normalized_shape)
    k = len(shape)
    if k == 0 or x.ndim < k or x.shape[x.ndim - k:] != shape:
        raise ValueError(f"layer_norm: normalized_shape {shape} must match the trailing axes of the input, "
                         f"got shape {x.shape}")
    axes = tuple(range(x.ndim - k, x.ndim))
    mean = ad.mean(x, axis=axes, keepdims=True)
    var = ad.var(x, axis=axes, keepdims=True)
    y: Tensor = (x - mean) / ad.sqrt(var + eps)
    if weight is not None:
        y = y * weight
    if bias is not None:
        y = y + bias
    return y


__all__ = ["PADDING_MODES", "adaptive_avg_pool2d", "avg_pool2d", "conv1d", "conv2d", "convolution", "layer_norm",
           "max_pool2d"]
