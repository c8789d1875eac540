"""Functions of Tensors with PyTorch's names: activations (composed in
autodiff/activations.py), losses (written in functional_losses.py and functional_margin.py), dropout, penalties.

All are compositions of autodiff primitives (no derivative code); values and
gradients equal PyTorch's for the same inputs. Losses take ``reduction`` in
{"mean", "sum", "none"}.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TypeVar

import numpy as np

import autodiff as ad
from autodiff import Tensor, TensorLike

from .checks import check_number
from .functional_conv import (  # (re-exported: nn.functional is their public home)
    adaptive_avg_pool1d as adaptive_avg_pool1d,
    adaptive_avg_pool2d as adaptive_avg_pool2d,
    avg_pool1d as avg_pool1d,
    avg_pool2d as avg_pool2d,
    conv1d as conv1d,
    conv2d as conv2d,
    layer_norm as layer_norm,
    max_pool1d as max_pool1d,
    max_pool2d as max_pool2d,
)
from .functional_losses import (  # (re-exported: nn.functional is their public home)
    binary_cross_entropy as binary_cross_entropy,
    binary_cross_entropy_with_logits as binary_cross_entropy_with_logits,
    cross_entropy as cross_entropy,
    huber_loss as huber_loss,
    kl_div as kl_div,
    l1_loss as l1_loss,
    mse_loss as mse_loss,
    nll_loss as nll_loss,
    smooth_l1_loss as smooth_l1_loss,
)
from .functional_margin import (  # (re-exported: nn.functional is their public home)
    cosine_embedding_loss as cosine_embedding_loss,
    cosine_similarity as cosine_similarity,
    hinge_embedding_loss as hinge_embedding_loss,
    margin_ranking_loss as margin_ranking_loss,
)
from .init import make_rng

_T = TypeVar("_T", bound=TensorLike)

relu, sigmoid, tanh = ad.relu, ad.sigmoid, ad.tanh
leaky_relu, elu, relu6 = ad.leaky_relu, ad.elu, ad.relu6
softmax, log_softmax, softmin = ad.softmax, ad.log_softmax, ad.softmin
gelu, silu, mish, selu, celu, glu = ad.gelu, ad.silu, ad.mish, ad.selu, ad.celu, ad.glu
hardtanh, hardsigmoid, hardswish = ad.hardtanh, ad.hardsigmoid, ad.hardswish
logsigmoid, softsign = ad.logsigmoid, ad.softsign


def softplus(x: TensorLike, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    """log(1 + exp(beta x)) / beta, and x itself where beta x > threshold (PyTorch's
    formula and gradient; ``autodiff.softplus`` is the plain beta = 1 function).

    >>> round(softplus(Tensor([0.0]), beta=2.0).item(), 6)      # log(2) / 2
    0.346574
    """
    check_number("softplus", "beta", beta, "positive")
    check_number("softplus", "threshold", threshold)
    soft = ad.softplus(x) if beta == 1 else ad.softplus(ad.mul(x, beta)) * (1.0 / beta)
    return ad.where(ad.mul(x, beta) > threshold, x, soft)


def identity(x: _T) -> _T:
    """Return ``x`` unchanged."""
    return x


def dropout(x: _T, p: float, training: bool = True, rng: np.random.Generator | None = None) -> _T | Tensor:
    """Inverted dropout: zero each entry with probability p and scale the rest by 1/(1-p)
    (a Tensor); the identity (``x`` itself) when not training or p == 0."""
    check_number("dropout", "p", p, "unit_open")
    if not training or p == 0.0:
        return x
    dtype = x.dtype if isinstance(x, Tensor) else np.asarray(x).dtype
    return ad.mul(x, _dropout_mask(shape=np.shape(x), p=p, dtype=dtype, rng=make_rng(rng=rng)))


def _draw_mask(shape: tuple[int, ...], p: float, dtype: np.dtype, rng: np.random.Generator) -> np.ndarray:
    return ((rng.random(shape) >= p) / (1.0 - p)).astype(dtype)


# The mask is an operation (with no operand to differentiate), not a constant: a compiled
# step replays it, drawing from the same Generator at every call.
_dropout_mask = ad.Primitive(_draw_mask, "dropout_mask")


def l2_penalty(parameters: Iterable[Tensor]) -> Tensor:
    """Sum of squares of the parameters, ‖w‖² (multiply by λ for the course's λ‖w‖²)."""
    terms = [(p * p).sum() for p in parameters]
    return sum(terms[1:], terms[0]) if terms else Tensor(0.0)


def l1_penalty(parameters: Iterable[Tensor]) -> Tensor:
    """Sum of absolute values of the parameters, ‖w‖₁."""
    terms = [ad.abs(p).sum() for p in parameters]
    return sum(terms[1:], terms[0]) if terms else Tensor(0.0)
