"""Mini-batches over arrays, and a seeded train/test split."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from .init import make_rng


def _lengths_match(name: str, X: Any, y: Any) -> None:
    if y is not None and len(X) != len(y):
        raise ValueError(f"{name}: X has {len(X)} samples but y has {len(y)}")


class DataLoader:
    """Iterate over (X, y) in mini-batches, reshuffled every epoch from a seeded Generator.

    The last partial batch is kept unless ``drop_last``. Batches are ndarrays.

    >>> X, y = np.arange(10.0).reshape(5, 2), np.arange(5)
    >>> [len(yb) for _, yb in DataLoader(X, y, batch_size=2)]
    [2, 2, 1]
    """

    def __init__(self, X: Any, y: Any = None, batch_size: int = 32, shuffle: bool = False,
                 seed: int | None = None, drop_last: bool = False, rng: np.random.Generator | None = None) -> None:
        self.X = np.asarray(X)
        self.y = None if y is None else np.asarray(y)
        _lengths_match("DataLoader", self.X, self.y)
        if batch_size <= 0:
            raise ValueError(f"DataLoader: batch_size must be positive, got {batch_size}")
        self.batch_size, self.shuffle, self.drop_last = batch_size, shuffle, drop_last
        self.rng = make_rng(seed, rng)

    def __len__(self) -> int:
        n = len(self.X)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def __iter__(self) -> Iterator[Any]:
        n = len(self.X)
        order = self.rng.permutation(n) if self.shuffle else None
        for start in range(0, len(self) * self.batch_size, self.batch_size):
            idx = slice(start, min(start + self.batch_size, n)) if order is None else \
                order[start:start + self.batch_size]
            if self.y is None:
                yield self.X[idx]
            else:
                yield self.X[idx], self.y[idx]


def train_test_split(X: Any, y: Any = None, test_size: float = 0.2, seed: int | None = 0, shuffle: bool = True,
                     stratify: Any = None) -> tuple:
    """Split arrays into train and test parts: (X_train, X_test, y_train, y_test).

    ``test_size`` is a fraction or a count; ``stratify`` (labels) keeps class
    proportions in both parts.
    """
    X = np.asarray(X)
    _lengths_match("train_test_split", X, y)
    n = len(X)
    n_test = int(round(test_size * n)) if isinstance(test_size, float) else int(test_size)
    if not 0 < n_test < n:
        raise ValueError(f"train_test_split: test_size={test_size} leaves no train or no test samples of {n}")
    rng = np.random.default_rng(seed)
    if stratify is not None:
        labels = np.asarray(stratify)
        test = []
        for c in np.unique(labels):
            members = np.flatnonzero(labels == c)
            members = rng.permutation(members) if shuffle else members
            test.extend(members[: int(round(len(members) * n_test / n))])
        test = np.sort(np.asarray(test, dtype=np.int64))
        train = np.setdiff1d(np.arange(n), test)
        if shuffle:
            train, test = rng.permutation(train), rng.permutation(test)
    else:
        order = rng.permutation(n) if shuffle else np.arange(n)
        test, train = order[:n_test], order[n_test:]
    if y is None:
        return X[train], X[test]
    y = np.asarray(y)
    return X[train], X[test], y[train], y[test]
