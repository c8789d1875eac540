"""Pooling, reshaping and layer normalisation modules, with PyTorch's names and arguments:
MaxPool1d/2d, AvgPool1d/2d, AdaptiveAvgPool1d/2d, Flatten, Unflatten, LayerNorm.

>>> import numpy as np
>>> Flatten()(MaxPool2d(2)(np.ones((3, 4, 8, 8)))).shape
(3, 64)
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

import autodiff as ad
from autodiff import Tensor

from . import functional_conv as C
from .checks import check_bool, check_number
from .module import Module, Parameter


def _check_4d(module: Module, x: Any) -> None:
    if len(np.shape(x)) not in (3, 4):
        raise ValueError(f"{module!r}: expected input of shape (N, C, H, W) or (C, H, W), got {np.shape(x)}")


def _check_3d(module: Module, x: Any) -> None:
    if len(np.shape(x)) not in (2, 3):
        raise ValueError(f"{module!r}: expected input of shape (N, C, L) or (C, L), got {np.shape(x)}")


class MaxPool2d(Module):
    """The maximum over each window, as ``torch.nn.MaxPool2d`` (stride defaults to the kernel
    size; padding counts as -inf). Tied maxima share the gradient equally.

    >>> MaxPool2d(2)(np.arange(16.0).reshape(1, 1, 4, 4)).numpy()
    array([[[[ 5.,  7.],
             [13., 15.]]]])
    """

    def __init__(self, kernel_size: Any, stride: Any = None, padding: Any = 0, dilation: Any = 1,
                 ceil_mode: bool = False) -> None:
        super().__init__()
        check_bool("MaxPool2d", "ceil_mode", ceil_mode)
        self.kernel_size, self.padding = kernel_size, padding
        self.stride = stride if stride is not None else kernel_size
        self.dilation, self.ceil_mode = dilation, ceil_mode

    def forward(self, x: Any) -> Tensor:
        _check_4d(self, x)
        return C.max_pool2d(x, self.kernel_size, self.stride, self.padding, self.dilation, self.ceil_mode)

    def extra_repr(self) -> str:
        return (f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
                f"dilation={self.dilation}, ceil_mode={self.ceil_mode}")


class AvgPool2d(Module):
    """The mean over each window, as ``torch.nn.AvgPool2d`` (``count_include_pad``,
    ``divisor_override`` and ``ceil_mode`` as there).

    >>> AvgPool2d(2)(np.arange(16.0).reshape(1, 1, 4, 4)).numpy()
    array([[[[ 2.5,  4.5],
             [10.5, 12.5]]]])
    """

    def __init__(self, kernel_size: Any, stride: Any = None, padding: Any = 0, ceil_mode: bool = False,
                 count_include_pad: bool = True, divisor_override: int | None = None) -> None:
        super().__init__()
        check_bool("AvgPool2d", "ceil_mode", ceil_mode)
        check_bool("AvgPool2d", "count_include_pad", count_include_pad)
        self.kernel_size, self.padding = kernel_size, padding
        self.stride = stride if stride is not None else kernel_size
        self.ceil_mode, self.count_include_pad, self.divisor_override = ceil_mode, count_include_pad, divisor_override

    def forward(self, x: Any) -> Tensor:
        _check_4d(self, x)
        return C.avg_pool2d(x, self.kernel_size, self.stride, self.padding, self.ceil_mode, self.count_include_pad,
                            self.divisor_override)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class AdaptiveAvgPool2d(Module):
    """Average pooling to a fixed output size (H_out, W_out), as ``torch.nn.AdaptiveAvgPool2d``
    (``None`` keeps that side of the input).

    >>> AdaptiveAvgPool2d(1)(np.ones((2, 3, 5, 7))).shape
    (2, 3, 1, 1)
    """

    def __init__(self, output_size: Any) -> None:
        super().__init__()
        self.output_size = output_size

    def forward(self, x: Any) -> Tensor:
        _check_4d(self, x)
        return C.adaptive_avg_pool2d(x, self.output_size)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"


class MaxPool1d(MaxPool2d):
    """The maximum over each window of (N, C, L), as ``torch.nn.MaxPool1d``.

    >>> MaxPool1d(2)(np.array([[[1.0, 3.0, 2.0, 5.0]]])).numpy()
    array([[[3., 5.]]])
    """

    def forward(self, x: Any) -> Tensor:
        _check_3d(self, x)
        return C.max_pool1d(x, self.kernel_size, self.stride, self.padding, self.dilation, self.ceil_mode)


class AvgPool1d(Module):
    """The mean over each window of (N, C, L), as ``torch.nn.AvgPool1d``.

    >>> AvgPool1d(2)(np.array([[[1.0, 3.0, 2.0, 6.0]]])).numpy()
    array([[[2., 4.]]])
    """

    def __init__(self, kernel_size: Any, stride: Any = None, padding: Any = 0, ceil_mode: bool = False,
                 count_include_pad: bool = True) -> None:
        super().__init__()
        check_bool("AvgPool1d", "ceil_mode", ceil_mode)
        check_bool("AvgPool1d", "count_include_pad", count_include_pad)
        self.kernel_size, self.padding = kernel_size, padding
        self.stride = stride if stride is not None else kernel_size
        self.ceil_mode, self.count_include_pad = ceil_mode, count_include_pad

    def forward(self, x: Any) -> Tensor:
        _check_3d(self, x)
        return C.avg_pool1d(x, self.kernel_size, self.stride, self.padding, self.ceil_mode, self.count_include_pad)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class AdaptiveAvgPool1d(AdaptiveAvgPool2d):
    """Average pooling of (N, C, L) to a fixed length, as ``torch.nn.AdaptiveAvgPool1d``.

    >>> AdaptiveAvgPool1d(1)(np.ones((2, 3, 5))).shape
    (2, 3, 1)
    """

    def forward(self, x: Any) -> Tensor:
        _check_3d(self, x)
        return C.adaptive_avg_pool1d(x, self.output_size)


def _axis(module: Module, dim: int, ndim: int) -> int:
    if not -ndim <= dim < ndim:
        raise ValueError(f"{module!r}: dim {dim} is out of range for an input with {ndim} axes")
    return dim % ndim


class Flatten(Module):
    """Axes ``start_dim`` to ``end_dim`` merged into one, as ``torch.nn.Flatten`` (by default
    everything but the batch axis).

    >>> Flatten()(np.ones((2, 3, 4))).shape
    (2, 12)
    """

    def __init__(self, start_dim: int = 1, end_dim: int = -1) -> None:
        super().__init__()
        check_number("Flatten", "start_dim", start_dim, integer=True)
        check_number("Flatten", "end_dim", end_dim, integer=True)
        self.start_dim, self.end_dim = int(start_dim), int(end_dim)

    def forward(self, x: Any) -> Tensor:
        shape = np.shape(x)
        ndim = max(len(shape), 1)
        start, end = _axis(self, self.start_dim, ndim), _axis(self, self.end_dim, ndim)
        if start > end:
            raise ValueError(f"{self!r}: start_dim comes after end_dim for an input of shape {shape}")
        return ad.reshape(x, shape[:start] + (math.prod(shape[start:end + 1]),) + shape[end + 1:])

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class Unflatten(Module):
    """Axis ``dim`` split into ``unflattened_size``, as ``torch.nn.Unflatten`` (one entry may be -1).

    >>> Unflatten(1, (2, 6))(np.ones((4, 12))).shape
    (4, 2, 6)
    """

    def __init__(self, dim: int, unflattened_size: Any) -> None:
        super().__init__()
        check_number("Unflatten", "dim", dim, integer=True)
        self.dim, self.unflattened_size = int(dim), tuple(int(s) for s in unflattened_size)

    def forward(self, x: Any) -> Tensor:
        shape = np.shape(x)
        dim = _axis(self, self.dim, max(len(shape), 1))
        sizes = self.unflattened_size
        known = math.prod(s for s in sizes if s != -1)
        if sizes.count(-1) > 1 or (-1 not in sizes and known != shape[dim]) or (known and shape[dim] % known):
            raise ValueError(f"{self!r}: cannot split axis {dim} of an input of shape {shape} into {sizes}")
        return ad.reshape(x, shape[:dim] + sizes + shape[dim + 1:])

    def extra_repr(self) -> str:
        return f"dim={self.dim}, unflattened_size={self.unflattened_size}"


class LayerNorm(Module):
    """Normalisation over the trailing ``normalized_shape`` axes of each sample, as
    ``torch.nn.LayerNorm``: (x - mean) / sqrt(var + eps) * weight + bias (biased variance).

    >>> out = LayerNorm(4)(np.arange(8.0).reshape(2, 4))
    >>> np.round(out.numpy()[0], 4)
    array([-1.3416, -0.4472,  0.4472,  1.3416])
    """

    def __init__(self, normalized_shape: Any, eps: float = 1e-5, elementwise_affine: bool = True,
                 bias: bool = True, dtype: Any = None) -> None:
        super().__init__()
        shape = (normalized_shape,) if isinstance(normalized_shape, (int, np.integer)) else tuple(normalized_shape)
        for s in shape:
            check_number("LayerNorm", "normalized_shape", s, "positive", integer=True)
        check_number("LayerNorm", "eps", eps, "nonneg")
        check_bool("LayerNorm", "elementwise_affine", elementwise_affine)
        check_bool("LayerNorm", "bias", bias)
        dtype = np.dtype(dtype) if dtype is not None else ad.get_default_dtype()
        self.normalized_shape, self.eps = tuple(int(s) for s in shape), eps
        self.weight = Parameter(np.ones(self.normalized_shape, dtype)) if elementwise_affine else None
        self.bias = Parameter(np.zeros(self.normalized_shape, dtype)) if elementwise_affine and bias else None

    def forward(self, x: Any) -> Tensor:
        shape, k = np.shape(x), len(self.normalized_shape)
        if len(shape) < k or tuple(shape[len(shape) - k:]) != self.normalized_shape:
            raise ValueError(f"{self!r}: expected input whose trailing axes are {self.normalized_shape}, got {shape}")
        return C.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.weight is not None}"


__all__ = ["AdaptiveAvgPool2d", "AvgPool2d", "Flatten", "LayerNorm", "MaxPool2d", "Unflatten"]
