"""Similarity and margin losses with PyTorch's names, arguments, values and gradients:
cosine similarity, and the losses on pairs or targets of ±1 (cosine embedding, margin
ranking, hinge embedding). Composed from autodiff functions; re-exported by ``nn.functional``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

import autodiff as ad
from autodiff import Tensor, TensorLike

from .functional_losses import _check_positive, _reduce, _tensor


def cosine_similarity(x1: TensorLike, x2: TensorLike, dim: int = 1, eps: float = 1e-8) -> Tensor:
    """x1·x2 / (max(‖x1‖, eps) · max(‖x2‖, eps)) along ``dim`` (inputs broadcast).

    >>> cosine_similarity(Tensor([[1.0, 0.0]]), np.array([[1.0, 1.0]])).numpy().round(6)
    array([0.707107])
    """
    _check_positive("cosine_similarity", "eps", eps, allow_zero=True)
    x1, x2 = _tensor(x1, "cosine_similarity", "x1"), _tensor(x2, "cosine_similarity", "x2")
    try:
        shape = np.broadcast_shapes(x1.shape, x2.shape)
    except ValueError:
        raise ValueError(f"cosine_similarity: shapes {x1.shape} and {x2.shape} do not broadcast") from None
    if not -len(shape) <= dim < len(shape):
        raise ValueError(f"cosine_similarity: dim {dim} is out of range for shape {shape}")
    floor = eps * eps  # max(‖x‖, eps) = sqrt(max(‖x‖², eps²)): no infinite slope at x = 0
    n1 = ad.sqrt(ad.maximum((x1 * x1).sum(axis=dim), floor))
    n2 = ad.sqrt(ad.maximum((x2 * x2).sum(axis=dim), floor))
    cosine: Tensor = (x1 * x2).sum(axis=dim) / (n1 * n2)
    return cosine


def _pm_one_target(name: str, target: Any, shape: tuple[int, ...]) -> np.ndarray:
    t = np.asarray(target.data if isinstance(target, Tensor) else target)
    if t.shape != shape:
        raise ValueError(f"{name}: target must have shape {shape}, got {t.shape}")
    if t.dtype.kind not in "biuf":
        raise TypeError(f"{name}: target must be numbers (1 or -1), got dtype {t.dtype}")
    return t


def cosine_embedding_loss(input1: TensorLike, input2: TensorLike, target: TensorLike, margin: float = 0.0,
                          reduction: str = "mean") -> Tensor:
    """1 − cos(x1, x2) where target = 1, max(0, cos(x1, x2) − margin) where target = −1
    (rows of (N, D) inputs, or two (D,) vectors), with PyTorch's cos = x1·x2 /
    √((‖x1‖² + 1e-12)(‖x2‖² + 1e-12))."""
    name = "cosine_embedding_loss"
    x1, x2 = _tensor(input1, name, "input1"), _tensor(input2, name, "input2")
    if x1.shape != x2.shape or x1.ndim not in (1, 2):
        raise ValueError(f"{name}: inputs must both have shape (N, D) or (D,), got {x1.shape} and {x2.shape}")
    axis = x1.ndim - 1
    t = _pm_one_target(name, target, x1.shape[:axis])
    cos = (x1 * x2).sum(axis=axis) / ad.sqrt(((x1 * x1).sum(axis=axis) + 1e-12) * ((x2 * x2).sum(axis=axis) + 1e-12))
    loss = ad.where(t == 1, 1 - cos, 0.0) + ad.where(t == -1, ad.relu(cos - margin), 0.0)
    return _reduce(loss, reduction, name)


def margin_ranking_loss(input1: TensorLike, input2: TensorLike, target: TensorLike, margin: float = 0.0,
                        reduction: str = "mean") -> Tensor:
    """max(0, −target·(input1 − input2) + margin): input1 should rank above input2 where
    target = 1, below where target = −1."""
    name = "margin_ranking_loss"
    x1, x2 = _tensor(input1, name, "input1"), _tensor(input2, name, "input2")
    if x1.shape != x2.shape:
        raise ValueError(f"{name}: input1 shape {x1.shape} and input2 shape {x2.shape} differ")
    t = _pm_one_target(name, target, x1.shape).astype(x1.dtype)
    return _reduce(ad.relu(-t * (x1 - x2) + margin), reduction, name)


def hinge_embedding_loss(input: TensorLike, target: TensorLike, margin: float = 1.0, reduction: str = "mean") -> Tensor:
    """input where target = 1, max(0, margin − input) where target = −1 (PyTorch's rule:
    each term applies wherever target is not the other value)."""
    name = "hinge_embedding_loss"
    x = _tensor(input, name)
    t = _pm_one_target(name, target, x.shape)
    loss = ad.where(t != 1, ad.relu(margin - x), 0.0) + ad.where(t != -1, x, 0.0)
    return _reduce(loss, reduction, name)
