"""Embedding: a lookup table of vectors indexed by integers, as ``torch.nn.Embedding``.

The lookup is autodiff's ``getitem`` with an integer array, whose gradient
scatter-adds: an index used several times receives the sum of its gradients.

>>> emb = Embedding(10, 3, seed=0)
>>> emb(np.array([[1, 2], [1, 9]])).shape
(2, 2, 3)
"""

from __future__ import annotations

from typing import Any

import numpy as np

import autodiff as ad
from autodiff import Tensor

from .checks import check_bool, check_number
from .init import make_rng
from .module import Module, Parameter


def _indices(owner: str, indices: Any, num_embeddings: int) -> np.ndarray:
    """``indices`` as an integer array inside [0, num_embeddings) (an error naming ``owner`` otherwise)."""
    idx = np.asarray(indices)
    if idx.dtype.kind not in "iu":
        raise TypeError(f"{owner}: indices must be integers, got a {idx.dtype} array of shape {idx.shape}")
    if idx.size and (idx.min() < 0 or idx.max() >= num_embeddings):
        bad = idx.min() if idx.min() < 0 else idx.max()
        raise IndexError(f"{owner}: index {int(bad)} is out of range for {num_embeddings} embeddings "
                         f"(indices of shape {idx.shape})")
    return idx


def _padding(owner: str, padding_idx: Any, num_embeddings: int) -> int | None:
    if padding_idx is None:
        return None
    check_number(owner, "padding_idx", padding_idx, integer=True)
    if not -num_embeddings <= padding_idx < num_embeddings:
        raise ValueError(f"{owner}: padding_idx must be in [-{num_embeddings}, {num_embeddings}), "
                         f"got {padding_idx}")
    return int(padding_idx) % num_embeddings


def embedding(indices: Any, weight: Tensor, padding_idx: int | None = None) -> Tensor:
    """The rows of ``weight`` at ``indices`` (shape ``indices.shape + (embedding_dim,)``);
    rows looked up at ``padding_idx`` get no gradient (as ``torch.nn.functional.embedding``).

    >>> w = ad.Tensor(np.arange(6.0).reshape(3, 2), requires_grad=True)
    >>> embedding([2, 0, 2], w).sum(axis=-1).sum().backward()
    >>> w.grad
    Tensor([[1., 1.],
            [0., 0.],
            [2., 2.]])
    """
    if np.ndim(weight) != 2:
        raise ValueError(f"embedding: weight must be 2-D (num_embeddings, embedding_dim), got {np.shape(weight)}")
    num = np.shape(weight)[0]
    idx = _indices("embedding", indices, num)
    rows = ad.getitem(weight, idx)
    pad = _padding("embedding", padding_idx, num)
    if pad is None:
        return rows
    # the padding rows' values pass through, their gradient does not (where selects, never mixes)
    return ad.where((idx != pad)[..., None], rows, rows.detach())


class Embedding(Module):
    """A table ``weight`` of shape (num_embeddings, embedding_dim), initialised N(0, 1) as
    in PyTorch (row ``padding_idx``, if given, zeros and never updated by gradients);
    ``emb(indices)`` returns the rows at the integer ``indices``.

    The indices are checked (and looked up) as values, which a compiled step cannot
    trace: ``nn.compile_step`` refuses a model with an Embedding unless given
    ``fallback=True`` (it then runs eagerly).
    """

    def __init__(self, num_embeddings: int, embedding_dim: int, padding_idx: int | None = None,
                 seed: int | None = None, rng: np.random.Generator | None = None, dtype: Any = None) -> None:
        super().__init__()
        check_number("Embedding", "num_embeddings", num_embeddings, "positive", integer=True)
        check_number("Embedding", "embedding_dim", embedding_dim, "positive", integer=True)
        self.num_embeddings, self.embedding_dim = int(num_embeddings), int(embedding_dim)
        self.padding_idx = _padding("Embedding", padding_idx, self.num_embeddings)
        dtype = np.dtype(dtype) if dtype is not None else ad.get_default_dtype()
        table = make_rng(seed, rng).standard_normal((self.num_embeddings, self.embedding_dim)).astype(dtype)
        if self.padding_idx is not None:
            table[self.padding_idx] = 0.0
        self.weight = Parameter(table)

    @classmethod
    def from_pretrained(cls, embeddings: Any, freeze: bool = True, padding_idx: int | None = None) -> Embedding:
        """An Embedding holding a copy of the 2-D array ``embeddings`` (frozen unless ``freeze=False``)."""
        table = np.array(embeddings.data if isinstance(embeddings, Tensor) else embeddings)
        if table.ndim != 2 or table.dtype.kind != "f":
            raise ValueError(f"Embedding.from_pretrained: expected a 2-D float array, got a {table.dtype} "
                             f"array of shape {table.shape}")
        check_bool("Embedding.from_pretrained", "freeze", freeze)
        module = cls(table.shape[0], table.shape[1], padding_idx=padding_idx, seed=0, dtype=table.dtype)
        module.weight = Parameter(table, requires_grad=not freeze)
        return module

    def forward(self, indices: Any) -> Tensor:
        idx = _indices(repr(self), indices, self.num_embeddings)
        return embedding(idx, self.weight, self.padding_idx)

    def extra_repr(self) -> str:
        pad = "" if self.padding_idx is None else f", padding_idx={self.padding_idx}"
        return f"{self.num_embeddings}, {self.embedding_dim}{pad}"
