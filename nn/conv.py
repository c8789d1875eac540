"""Convolution layers with PyTorch's weight layout (out_channels, in_channels / groups, *kernel)
and default initialisation, so a PyTorch state dict loads unchanged.

>>> layer = Conv2d(1, 4, 3, padding="same", seed=0)
>>> layer(np.ones((2, 1, 8, 8))).shape
(2, 4, 8, 8)
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

import autodiff as ad
from autodiff import Tensor

from . import functional_conv as C
from .checks import check_bool, check_number
from .init import make_rng
from .module import Module, Parameter


def _size(owner: str, name: str, value: Any, d: int, least: int) -> tuple[int, ...]:
    items = (value,) * d if isinstance(value, (int, np.integer)) and not isinstance(value, bool) else value
    try:
        items = tuple(items)
    except TypeError:
        raise TypeError(f"{owner}: {name} must be an int or a tuple of {d} ints, got {value!r}") from None
    if len(items) != d:
        raise ValueError(f"{owner}: {name} must be an int or a tuple of {d} ints, got {value!r}")
    for v in items:
        check_number(owner, name, v, "nonneg", integer=True)
        if v < least:
            raise ValueError(f"{owner}: {name} must be >= {least}, got {value!r}")
    return tuple(int(v) for v in items)


class _ConvNd(Module):
    """The shared body of Conv1d and Conv2d (``d`` spatial axes)."""

    d = 2

    def __init__(self, in_channels: int, out_channels: int, kernel_size: Any, stride: Any = 1, padding: Any = 0,
                 dilation: Any = 1, groups: int = 1, bias: bool = True, padding_mode: str = "zeros",
                 seed: int | None = None, rng: np.random.Generator | None = None, dtype: Any = None) -> None:
        super().__init__()
        name, d = type(self).__name__, self.d
        for arg, value in (("in_channels", in_channels), ("out_channels", out_channels), ("groups", groups)):
            check_number(name, arg, value, "positive", integer=True)
        check_bool(name, "bias", bias)
        if in_channels % groups or out_channels % groups:
            raise ValueError(f"{name}: in_channels ({in_channels}) and out_channels ({out_channels}) must both be "
                             f"divisible by groups ({groups})")
        if padding_mode not in C.PADDING_MODES:
            raise ValueError(f"{name}: padding_mode must be one of {C.PADDING_MODES}, got {padding_mode!r}")
        self.in_channels, self.out_channels, self.groups = int(in_channels), int(out_channels), int(groups)
        self.kernel_size = _size(name, "kernel_size", kernel_size, d, 1)
        self.stride = _size(name, "stride", stride, d, 1)
        self.dilation = _size(name, "dilation", dilation, d, 1)
        if isinstance(padding, str):
            if padding not in ("same", "valid"):
                raise ValueError(f"{name}: padding must be an int, a tuple, 'valid' or 'same', got {padding!r}")
            if padding == "same" and self.stride != (1,) * d:
                raise ValueError(f"{name}: padding='same' needs stride 1 (as in PyTorch), got stride={stride!r}")
            self.padding: str | tuple[int, ...] = padding
        else:
            self.padding = _size(name, "padding", padding, d, 0)
        self.padding_mode = padding_mode
        self.reset_parameters(make_rng(seed, rng), dtype, bias)

    def reset_parameters(self, rng: np.random.Generator, dtype: Any = None, bias: bool = True) -> None:
        """PyTorch's default: weight and bias uniform in ±1/sqrt(fan_in), fan_in = in_channels/groups · kernel
        (kaiming_uniform with a = sqrt(5))."""
        dtype = np.dtype(dtype) if dtype is not None else ad.get_default_dtype()
        shape = (self.out_channels, self.in_channels // self.groups) + self.kernel_size
        bound = 1.0 / math.sqrt(math.prod(shape[1:]))
        self.weight = Parameter(rng.uniform(-bound, bound, size=shape).astype(dtype))
        self.bias = Parameter(rng.uniform(-bound, bound, size=self.out_channels).astype(dtype)) if bias else None

    def forward(self, x: Any) -> Tensor:
        shape = np.shape(x)
        if len(shape) not in (self.d + 1, self.d + 2) or shape[-self.d - 1] != self.in_channels:
            axes = f"N, {self.in_channels}, " + ("L" if self.d == 1 else "H, W")
            raise ValueError(f"{self!r}: expected input of shape ({axes}) (or without N), got {shape}")
        return C.convolution(repr(self), x, self.weight, self.bias, self.stride, self.padding, self.dilation,
                             self.groups, self.padding_mode)

    def extra_repr(self) -> str:
        text = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}"
        if self.padding not in ((0,) * self.d, "valid"):
            text += f", padding={self.padding!r}"
        if self.dilation != (1,) * self.d:
            text += f", dilation={self.dilation}"
        if self.groups != 1:
            text += f", groups={self.groups}"
        if self.bias is None:
            text += ", bias=False"
        if self.padding_mode != "zeros":
            text += f", padding_mode={self.padding_mode!r}"
        return text


class Conv1d(_ConvNd):
    """1-d convolution over (N, C_in, L) inputs, as ``torch.nn.Conv1d`` (stride, padding
    including 'same'/'valid', dilation, groups, padding_mode); weight (C_out, C_in / groups, k).

    >>> Conv1d(2, 3, 5, stride=2, seed=0)(np.ones((4, 2, 11))).shape
    (4, 3, 4)
    """

    d = 1


class Conv2d(_ConvNd):
    """2-d convolution over (N, C_in, H, W) inputs, as ``torch.nn.Conv2d`` (stride, padding
    including 'same'/'valid', dilation, groups, padding_mode 'zeros'/'reflect'/'replicate'/'circular');
    weight (C_out, C_in / groups, kH, kW), initialised as PyTorch does.

    >>> Conv2d(3, 8, (3, 5), stride=2, padding=1, seed=0)(np.ones((1, 3, 9, 9))).shape
    (1, 8, 5, 4)
    """

    d = 2


__all__ = ["Conv1d", "Conv2d"]
