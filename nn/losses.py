"""Loss modules: thin wrappers over ``nn.functional`` with PyTorch's names and defaults.
Arguments are checked once, at construction."""

from __future__ import annotations

from typing import Any

import numpy as np

from autodiff import Tensor, TensorLike

from . import functional as F
from .checks import check_bool, check_number
from .module import Module


class _Loss(Module):
    reductions: tuple[str, ...] = ("mean", "sum", "none")

    def __init__(self, reduction: str = "mean") -> None:
        super().__init__()
        if reduction not in self.reductions:
            choices = ", ".join(repr(r) for r in self.reductions)
            raise ValueError(f"{type(self).__name__}: reduction must be one of {choices}, got {reduction!r}")
        self.reduction = reduction

    def extra_repr(self) -> str:
        return f"reduction={self.reduction!r}" if self.reduction != "mean" else ""


def _array_or_none(owner: str, name: str, value: Any, ndim: int | None = None) -> np.ndarray | None:
    if value is None:
        return None
    arr = np.asarray(value.data if isinstance(value, Tensor) else value)
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"{owner}: {name} must be numbers, got dtype {arr.dtype}")
    if ndim is not None and arr.ndim != ndim:
        raise ValueError(f"{owner}: {name} must be {ndim}-dimensional (one entry per class), got shape {arr.shape}")
    return arr


class MSELoss(_Loss):
    """Mean squared error."""

    def forward(self, input: TensorLike, target: TensorLike) -> Tensor:
        return F.mse_loss(input, target, self.reduction)


class L1Loss(_Loss):
    """Mean absolute error."""

    def forward(self, input: TensorLike, target: TensorLike) -> Tensor:
        return F.l1_loss(input, target, self.reduction)


class HuberLoss(_Loss):
    """Quadratic for |error| < delta, linear beyond."""

    def __init__(self, reduction: str = "mean", delta: float = 1.0) -> None:
        super().__init__(reduction)
        check_number("HuberLoss", "delta", delta, "positive")
        self.delta = delta

    def forward(self, input: TensorLike, target: TensorLike) -> Tensor:
        return F.huber_loss(input, target, self.reduction, self.delta)


class SmoothL1Loss(_Loss):
    """0.5 d²/beta for |d| < beta, |d| − beta/2 beyond (HuberLoss divided by beta)."""

    def __init__(self, reduction: str = "mean", beta: float = 1.0) -> None:
        super().__init__(reduction)
        check_number("SmoothL1Loss", "beta", beta, "nonneg")
        self.beta = beta

    def forward(self, input: TensorLike, target: TensorLike) -> Tensor:
        return F.smooth_l1_loss(input, target, self.reduction, self.beta)


class BCELoss(_Loss):
    """Binary cross-entropy of probabilities, optionally weighted elementwise."""

    def __init__(self, weight: TensorLike | None = None, reduction: str = "mean") -> None:
        super().__init__(reduction)
        self.weight = _array_or_none("BCELoss", "weight", weight)

    def forward(self, input: TensorLike, target: TensorLike) -> Tensor:
        return F.binary_cross_entropy(input, target, self.reduction, weight=self.weight)


class BCEWithLogitsLoss(_Loss):
    """Binary cross-entropy from logits (stable); optional ``pos_weight`` and ``weight``."""

    def __init__(self, reduction: str = "mean", pos_weight: TensorLike | None = None,
                 weight: TensorLike | None = None) -> None:
        super().__init__(reduction)
        self.pos_weight = _array_or_none("BCEWithLogitsLoss", "pos_weight", pos_weight)
        self.weight = _array_or_none("BCEWithLogitsLoss", "weight", weight)

    def forward(self, input: TensorLike, target: TensorLike) -> Tensor:
        return F.binary_cross_entropy_with_logits(input, target, self.reduction, self.pos_weight, self.weight)


class CrossEntropyLoss(_Loss):
    """Softmax cross-entropy from logits, with integer labels or probability targets.

    >>> CrossEntropyLoss()(Tensor([[2.0, 0.0], [0.0, 2.0]]), [0, 1]).item() < 0.2
    True
    """

    def __init__(self, weight: TensorLike | None = None, reduction: str = "mean", label_smoothing: float = 0.0,
                 ignore_index: int = -100) -> None:
        super().__init__(reduction)
        check_number("CrossEntropyLoss", "label_smoothing", label_smoothing, "unit")
        check_number("CrossEntropyLoss", "ignore_index", ignore_index, integer=True)
        self.weight = _array_or_none("CrossEntropyLoss", "weight", weight, ndim=1)
        self.label_smoothing, self.ignore_index = label_smoothing, int(ignore_index)

    def forward(self, input: TensorLike, target: TensorLike) -> Tensor:
        return F.cross_entropy(input, target, self.reduction, self.weight, self.label_smoothing, self.ignore_index)


class NLLLoss(_Loss):
    """Negative log-likelihood of log-probabilities (after LogSoftmax) at integer labels."""

    def __init__(self, weight: TensorLike | None = None, ignore_index: int = -100, reduction: str = "mean") -> None:
        super().__init__(reduction)
        check_number("NLLLoss", "ignore_index", ignore_index, integer=True)
        self.weight = _array_or_none("NLLLoss", "weight", weight, ndim=1)
        self.ignore_index = int(ignore_index)

    def forward(self, input: TensorLike, target: TensorLike) -> Tensor:
        return F.nll_loss(input, target, self.weight, self.ignore_index, self.reduction)


class KLDivLoss(_Loss):
    """KL divergence of a target distribution from log-probabilities ``input``
    (``reduction="batchmean"`` gives the true divergence per sample)."""

    reductions = ("mean", "batchmean", "sum", "none")

    def __init__(self, reduction: str = "mean", log_target: bool = False) -> None:
        super().__init__(reduction)
        check_bool("KLDivLoss", "log_target", log_target)
        self.log_target = log_target

    def forward(self, input: TensorLike, target: TensorLike) -> Tensor:
        return F.kl_div(input, target, self.reduction, self.log_target)


class CosineEmbeddingLoss(_Loss):
    """1 − cos(x1, x2) for target 1, max(0, cos(x1, x2) − margin) for target −1."""

    def __init__(self, margin: float = 0.0, reduction: str = "mean") -> None:
        super().__init__(reduction)
        check_number("CosineEmbeddingLoss", "margin", margin)
        self.margin = margin

    def forward(self, input1: TensorLike, input2: TensorLike, target: TensorLike) -> Tensor:
        return F.cosine_embedding_loss(input1, input2, target, self.margin, self.reduction)


class MarginRankingLoss(_Loss):
    """max(0, −target·(x1 − x2) + margin)."""

    def __init__(self, margin: float = 0.0, reduction: str = "mean") -> None:
        super().__init__(reduction)
        check_number("MarginRankingLoss", "margin", margin)
        self.margin = margin

    def forward(self, input1: TensorLike, input2: TensorLike, target: TensorLike) -> Tensor:
        return F.margin_ranking_loss(input1, input2, target, self.margin, self.reduction)


class HingeEmbeddingLoss(_Loss):
    """x for target 1, max(0, margin − x) for target −1."""

    def __init__(self, margin: float = 1.0, reduction: str = "mean") -> None:
        super().__init__(reduction)
        check_number("HingeEmbeddingLoss", "margin", margin)
        self.margin = margin

    def forward(self, input: TensorLike, target: TensorLike) -> Tensor:
        return F.hinge_embedding_loss(input, target, self.margin, self.reduction)
