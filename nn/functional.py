"""Functions of Tensors with PyTorch's names: activations, losses, dropout, penalties.

All are compositions of autodiff primitives (no derivative code); values and
gradients equal PyTorch's for the same inputs. Losses take ``reduction`` in
{"mean", "sum", "none"}.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

import autodiff as ad
from autodiff import Tensor

from .init import make_rng

relu, sigmoid, tanh, softplus = ad.relu, ad.sigmoid, ad.tanh, ad.softplus
leaky_relu, elu, relu6 = ad.leaky_relu, ad.elu, ad.relu6
softmax, log_softmax = ad.softmax, ad.log_softmax


def identity(x: Any) -> Any:
    """Return ``x`` unchanged."""
    return x


def _reduce(loss: Tensor, reduction: str, name: str) -> Tensor:
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    if reduction == "none":
        return loss
    raise ValueError(f"{name}: reduction must be 'mean', 'sum' or 'none', got {reduction!r}")


def _same_shape(input: Any, target: Any, name: str) -> tuple[Any, Any]:
    if np.shape(input) != np.shape(target):
        raise ValueError(f"{name}: input shape {np.shape(input)} and target shape {np.shape(target)} differ "
                         f"(no silent broadcasting)")
    if not isinstance(target, Tensor):
        target = np.asarray(target, dtype=input.dtype if isinstance(input, Tensor) else None)
    return input, target


def mse_loss(input: Any, target: Any, reduction: str = "mean") -> Tensor:
    """Mean squared error: mean((input - target)²).

    >>> mse_loss(Tensor([1.0, 3.0]), np.array([0.0, 1.0])).item()
    2.5
    """
    input, target = _same_shape(input, target, "mse_loss")
    d = input - target
    return _reduce(d * d, reduction, "mse_loss")


def l1_loss(input: Any, target: Any, reduction: str = "mean") -> Tensor:
    """Mean absolute error: mean(|input - target|)."""
    input, target = _same_shape(input, target, "l1_loss")
    return _reduce(ad.abs(input - target), reduction, "l1_loss")


def huber_loss(input: Any, target: Any, reduction: str = "mean", delta: float = 1.0) -> Tensor:
    """0.5 d² where |d| < delta, else delta (|d| - delta / 2), with d = input - target."""
    input, target = _same_shape(input, target, "huber_loss")
    d = input - target
    a = ad.abs(d)
    return _reduce(ad.where(a < delta, 0.5 * d * d, delta * (a - 0.5 * delta)), reduction, "huber_loss")


def binary_cross_entropy(input: Any, target: Any, reduction: str = "mean") -> Tensor:
    """-(t log p + (1 - t) log(1 - p)) for probabilities p; each log is clamped at -100
    as in PyTorch, so p = 0 or 1 gives a finite loss."""
    input, target = _same_shape(input, target, "binary_cross_entropy")
    p = input.data if isinstance(input, Tensor) else np.asarray(input)
    if p.size and (np.nanmin(p) < 0 or np.nanmax(p) > 1):
        raise ValueError(f"binary_cross_entropy: input must be probabilities in [0, 1], got values in "
                         f"[{np.nanmin(p):.4g}, {np.nanmax(p):.4g}] (use binary_cross_entropy_with_logits for "
                         f"logits)")
    log_p, log_q = _clamped_log(input), _clamped_log(1 - input)
    return _reduce(-(target * log_p + (1 - target) * log_q), reduction, "binary_cross_entropy")


def _clamped_log(p: Any) -> Tensor:
    """max(log p, -100), and -100 at p = 0 with a zero (not NaN) gradient: the inner
    ``where`` keeps log away from 0, the outer one selects."""
    positive = p > 0
    return ad.where(positive, ad.maximum(ad.log(ad.where(positive, p, 1.0)), -100.0), -100.0)


def binary_cross_entropy_with_logits(input: Any, target: Any, reduction: str = "mean",
                                     pos_weight: Any = None) -> Tensor:
    """Binary cross-entropy of sigmoid(input), computed stably from logits
    (finite at logits of ±1e4): (1 - t) x + (1 + (w - 1) t) softplus(-x)."""
    input, target = _same_shape(input, target, "binary_cross_entropy_with_logits")
    if pos_weight is None:
        loss = ad.softplus(input) - input * target
    else:
        loss = (1 - target) * input + (1 + (pos_weight - 1) * target) * ad.softplus(-input)
    return _reduce(loss, reduction, "binary_cross_entropy_with_logits")


def cross_entropy(input: Any, target: Any, reduction: str = "mean", weight: Any = None,
                  label_smoothing: float = 0.0) -> Tensor:
    """Softmax cross-entropy from logits of shape (N, C).

    ``target`` is either integer class labels of shape (N,) or class probabilities
    (one-hot) of shape (N, C). ``weight`` (C,) rescales classes; with labels and
    ``reduction="mean"`` the sum is divided by the total weight, as in PyTorch.

    >>> round(cross_entropy(Tensor([[2.0, 0.0, 0.0]]), np.array([0])).item(), 6)   # log(1 + 2 e⁻²)
    0.239545
    """
    if not isinstance(input, Tensor):
        input = Tensor(input)
    if input.ndim != 2:
        raise ValueError(f"cross_entropy: expected logits of shape (N, C), got shape {input.shape}")
    n, c = input.shape
    logp = ad.log_softmax(input, axis=1)
    t = target.data if isinstance(target, Tensor) else np.asarray(target)
    if t.ndim == 1 and t.dtype.kind in "iub":
        if t.shape[0] != n:
            raise ValueError(f"cross_entropy: {n} rows of logits but {t.shape[0]} labels")
        if t.size and not (0 <= t.min() and t.max() < c):
            bad = t[(t < 0) | (t >= c)]
            raise ValueError(f"cross_entropy: labels must be in [0, {c - 1}] for {c} classes, got {bad[:5].tolist()}")
        # PyTorch: (1 - ε) · weighted NLL + ε/C · Σ_c w_c (-log p_c); "mean" divides by Σ w[label]
        picked = logp[np.arange(n), t]
        if weight is None and not label_smoothing and reduction == "mean":
            return picked.sum() * (-1.0 / n)  # one node for -mean: the hot path of every classifier
        if weight is None:
            nll, denom = -picked, float(n)
            smooth = -logp.sum(axis=1) if label_smoothing else None
        else:
            w = np.asarray(weight, dtype=input.dtype)
            nll, denom = -picked * w[t], float(w[t].sum())
            smooth = -(logp * w).sum(axis=1) if label_smoothing else None
        loss = nll if smooth is None else (1 - label_smoothing) * nll + (label_smoothing / c) * smooth
        return loss.sum() / denom if reduction == "mean" else _reduce(loss, reduction, "cross_entropy")
    if t.shape != (n, c):
        raise ValueError(f"cross_entropy: target must be labels of shape ({n},) or probabilities of shape "
                         f"({n}, {c}), got shape {t.shape} and dtype {t.dtype}")
    t = np.asarray(t, dtype=input.dtype)
    if label_smoothing:
        t = t * (1 - label_smoothing) + label_smoothing / c
    terms = logp * t if weight is None else logp * (t * np.asarray(weight, dtype=input.dtype))
    return _reduce(-terms.sum(axis=1), reduction, "cross_entropy")


def dropout(x: Any, p: float, training: bool = True, rng: np.random.Generator | None = None) -> Any:
    """Inverted dropout: zero each entry with probability p and scale the rest by 1/(1-p);
    the identity when not training or p == 0."""
    if not 0.0 <= p < 1.0:
        raise ValueError(f"dropout: p must be in [0, 1), got {p}")
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
