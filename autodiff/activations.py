"""Activation functions with PyTorch's names, formulas and gradients at the kinks,
composed from primitives (no derivative code; each is registered as a composite, so the
registry's proof checks it end to end).

>>> import autodiff as ad
>>> round(ad.gelu(ad.Tensor(1.0)).item(), 8)                        # x Φ(x) with the exact erf
0.84134475
>>> round(ad.gelu(ad.Tensor(1.0), approximate="tanh").item(), 8)
0.84119199
"""

from __future__ import annotations

import math
from typing import Any

from . import primitives as P
from .aliases import TensorLike
from .functions import _normalisation, elu, getitem, softmax, where
from .primitive import composite
from .primitives_math import erfc
from .sampling import Case, Draw, Sampler, along_axis, elementwise
from .tensor import Tensor, as_tensor

_SQRT_HALF = math.sqrt(0.5)
_SQRT_2_OVER_PI = math.sqrt(2 / math.pi)
# PyTorch's (and Klambauer et al.'s) constants
SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946


def _with(params: list[dict[str, Any]], lo: float = -4.0, hi: float = 4.0, kinks: tuple[float, ...] = ()) -> Sampler:
    """Sampler: one elementwise input in [lo, hi] away from ``kinks``, params drawn from ``params``."""

    def sample(draw: Draw, dtype: Any) -> Case:
        (x,) = elementwise(lo, hi, kinks=kinks)(draw, dtype).args
        return Case([x], dict(draw.choice(params)))

    return sample


@composite(sample=_with([{"approximate": "none"}, {"approximate": "tanh"}]))
def gelu(x: TensorLike, approximate: str = "none") -> Tensor:
    """GELU: x Φ(x) = x (1 + erf(x/√2)) / 2, computed as x erfc(-x/√2) / 2, which keeps
    its relative accuracy for x << 0 (where 1 + erf cancels); ``approximate="tanh"`` gives
    PyTorch's x (1 + tanh(√(2/π) (x + 0.044715 x³))) / 2."""
    x = as_tensor(x)
    if approximate == "none":
        return x * (0.5 * erfc(x * -_SQRT_HALF))
    if approximate == "tanh":
        return x * (0.5 + 0.5 * P.tanh((x + 0.044715 * x * x * x) * _SQRT_2_OVER_PI))
    raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")


@composite(sample=_with([{}]))
def silu(x: TensorLike) -> Tensor:
    """SiLU (swish): x σ(x)."""
    x = as_tensor(x)
    return x * P.sigmoid(x)


@composite(sample=_with([{}]))
def mish(x: TensorLike) -> Tensor:
    """Mish: x tanh(softplus(x))."""
    x = as_tensor(x)
    return x * P.tanh(P.softplus(x))


@composite(sample=_with([{}], kinks=(0,)), conventions="selu'(0) = scale·alpha (the left branch, as PyTorch)")
def selu(x: TensorLike) -> Tensor:
    """SELU: scale (x for x > 0, alpha (eˣ - 1) otherwise), with PyTorch's alpha ≈ 1.6733,
    scale ≈ 1.0507."""
    return elu(x, SELU_ALPHA) * SELU_SCALE


@composite(sample=_with([{"alpha": 1.0}, {"alpha": 0.5}], kinks=(0,)),
           conventions="celu'(0) = 1 (the left branch, as PyTorch)")
def celu(x: TensorLike, alpha: float = 1.0) -> Tensor:
    """CELU: x for x > 0, alpha (exp(x/alpha) - 1) otherwise."""
    if alpha == 0:
        raise ValueError("celu: alpha must not be 0")
    x = as_tensor(x)
    return where(x > 0, x, (P.exp(where(x > 0, 0.0, x) * (1 / alpha)) - 1) * alpha)


@composite(sample=_with([{"min_val": -1.0, "max_val": 1.0}, {"min_val": -0.5, "max_val": 2.0}],
                        kinks=(-1.0, 1.0, -0.5, 2.0)),
           conventions="the gradient is 0 at x = min_val and x = max_val (as PyTorch's hardtanh)")
def hardtanh(x: TensorLike, min_val: float = -1.0, max_val: float = 1.0) -> Tensor:
    """x limited to [min_val, max_val]; the gradient is 1 strictly inside, 0 elsewhere."""
    if min_val > max_val:
        raise ValueError(f"hardtanh: min_val ({min_val}) must not exceed max_val ({max_val})")
    x = as_tensor(x)
    return where(x <= min_val, min_val, where(x >= max_val, max_val, x))


@composite(sample=_with([{}], kinks=(-3.0, 3.0)), conventions="the gradient is 0 at x = ±3 (as PyTorch)")
def hardsigmoid(x: TensorLike) -> Tensor:
    """0 for x <= -3, 1 for x >= 3, x/6 + 1/2 between."""
    x = as_tensor(x)
    return where(x <= -3, 0.0, where(x >= 3, 1.0, x * (1 / 6) + 0.5))


@composite(sample=_with([{}], kinks=(-3.0, 3.0)),
           conventions="the gradient is 0 at x = -3 and 1 at x = 3 (as PyTorch)")
def hardswish(x: TensorLike) -> Tensor:
    """x · hardsigmoid(x): 0 for x <= -3, x for x >= 3, x (x + 3)/6 between."""
    x = as_tensor(x)
    return where(x <= -3, 0.0, where(x < 3, x * (x + 3) * (1 / 6), x))


@composite(sample=_with([{}], lo=-8.0, hi=8.0))
def logsigmoid(x: TensorLike) -> Tensor:
    """log σ(x) = -softplus(-x), finite for logits of any magnitude."""
    return -P.softplus(-as_tensor(x))


@composite(sample=_with([{}], kinks=(0,)))
def softsign(x: TensorLike) -> Tensor:
    """x / (1 + |x|)."""
    x = as_tensor(x)
    return x / (1 + P.abs(x))


def _glu_case(draw: Draw, dtype: Any) -> Case:
    (shape,) = draw.shapes(1, min_dims=1)
    axis = draw.integers(-len(shape), len(shape) - 1)
    shape = tuple(2 * n if k == axis % len(shape) else n for k, n in enumerate(shape))
    return Case([draw.floats(shape, -3, 3, dtype)], {"dim": axis})


@composite(sample=_glu_case)
def glu(x: TensorLike, dim: int = -1) -> Tensor:
    """Gated linear unit: a σ(b), where a and b are the two halves of x along ``dim``."""
    x, axis = _normalisation("glu", x, dim, None)
    n = x.shape[axis]
    if n % 2:
        raise ValueError(f"glu: dimension {dim} of shape {x.shape} must have an even length, got {n}")
    first = (slice(None),) * axis + (slice(0, n // 2),)
    second = (slice(None),) * axis + (slice(n // 2, n),)
    return getitem(x, first) * P.sigmoid(getitem(x, second))


@composite(sample=along_axis())
def softmin(x: TensorLike, axis: int = -1, *, dim: int | None = None) -> Tensor:
    """softmax(-x) along ``axis`` (``dim=`` too)."""
    return softmax(-as_tensor(x), axis, dim=dim)


__all__ = ["SELU_ALPHA", "SELU_SCALE", "celu", "gelu", "glu", "hardsigmoid", "hardswish", "hardtanh", "logsigmoid",
           "mish", "selu", "silu", "softmin", "softsign"]
