"""Activation modules with PyTorch's names and arguments, each a thin wrapper over the
``nn.functional`` function of the same name (no derivative code).

>>> import numpy as np
>>> GELU(approximate="tanh")
GELU(approximate='tanh')
>>> Hardtanh(-2.0, 2.0)(np.array([-3.0, 0.5, 3.0])).numpy()
array([-2. ,  0.5,  2. ])
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

from autodiff import Tensor, TensorLike

from . import functional as F
from .checks import check_number
from .module import Module


class GELU(Module):
    """x Φ(x) (``approximate="none"``, with the exact erf) or PyTorch's tanh approximation."""

    def __init__(self, approximate: str = "none") -> None:
        super().__init__()
        if approximate not in ("none", "tanh"):
            raise ValueError(f"GELU: approximate must be 'none' or 'tanh', got {approximate!r}")
        self.approximate = approximate

    def forward(self, x: TensorLike) -> Tensor:
        y: Tensor = F.gelu(x, self.approximate)  # (autodiff's composites are not typed yet)
        return y

    def extra_repr(self) -> str:
        return f"approximate={self.approximate!r}"


class _Plain(Module):
    """An activation without arguments: ``forward`` applies ``fn``."""

    fn: ClassVar[staticmethod[[TensorLike], Tensor]]  # each subclass sets staticmethod(F.<name>)

    def forward(self, x: TensorLike) -> Tensor:
        return type(self).fn(x)


class SiLU(_Plain):
    """x σ(x) (swish)."""
    fn = staticmethod(F.silu)


class Mish(_Plain):
    """x tanh(softplus(x))."""
    fn = staticmethod(F.mish)


class SELU(_Plain):
    """scale · elu(x, alpha) with PyTorch's self-normalising constants."""
    fn = staticmethod(F.selu)


class Hardsigmoid(_Plain):
    """0 below -3, 1 above 3, x/6 + 1/2 between."""
    fn = staticmethod(F.hardsigmoid)


class Hardswish(_Plain):
    """x · hardsigmoid(x)."""
    fn = staticmethod(F.hardswish)


class LogSigmoid(_Plain):
    """log σ(x), stable for large |x|."""
    fn = staticmethod(F.logsigmoid)


class Softsign(_Plain):
    """x / (1 + |x|)."""
    fn = staticmethod(F.softsign)


class CELU(Module):
    """x for x > 0, alpha (exp(x/alpha) - 1) otherwise."""

    def __init__(self, alpha: float = 1.0) -> None:
        super().__init__()
        check_number("CELU", "alpha", alpha, "positive")
        self.alpha = alpha

    def forward(self, x: TensorLike) -> Tensor:
        y: Tensor = F.celu(x, self.alpha)
        return y

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}"


class Hardtanh(Module):
    """x limited to [min_val, max_val] (gradient 0 at the ends, as PyTorch)."""

    def __init__(self, min_val: float = -1.0, max_val: float = 1.0) -> None:
        super().__init__()
        check_number("Hardtanh", "min_val", min_val)
        check_number("Hardtanh", "max_val", max_val)
        if min_val > max_val:
            raise ValueError(f"Hardtanh: min_val ({min_val}) must not exceed max_val ({max_val})")
        self.min_val, self.max_val = min_val, max_val

    def forward(self, x: TensorLike) -> Tensor:
        y: Tensor = F.hardtanh(x, self.min_val, self.max_val)
        return y

    def extra_repr(self) -> str:
        return f"min_val={self.min_val}, max_val={self.max_val}"


class _AlongDim(Module):
    """An activation along one axis ``dim`` (softmax-like)."""

    fn: ClassVar[Callable[[TensorLike, int], Tensor]]

    def __init__(self, dim: int = -1) -> None:
        super().__init__()
        check_number(type(self).__name__, "dim", dim, integer=True)
        self.dim = int(dim)

    def forward(self, x: TensorLike) -> Tensor:
        return type(self).fn(x, self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class LogSoftmax(_AlongDim):
    """log softmax along ``dim`` (x - logsumexp(x)), stable for large logits."""
    fn = staticmethod(F.log_softmax)


class Softmin(_AlongDim):
    """softmax(-x) along ``dim``."""
    fn = staticmethod(F.softmin)


class GLU(_AlongDim):
    """a σ(b) for the two halves a, b of x along ``dim``."""
    fn = staticmethod(F.glu)


__all__ = ["CELU", "GELU", "GLU", "SELU", "Hardsigmoid", "Hardswish", "Hardtanh", "LogSigmoid", "LogSoftmax", "Mish",
           "SiLU", "Softmin", "Softsign"]
