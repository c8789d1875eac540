"""Data pipeline: the Dataset protocol, TensorDataset, Subset, random_split, DataLoader
(over arrays, DataFrames or any dataset), and a seeded train/test split."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import numpy as np

from autodiff import Tensor

from .checks import check_bool, check_number
from .init import make_rng


def _lengths_match(name: str, X: Any, y: Any) -> None:
    if y is not None and len(X) != len(y):
        raise ValueError(f"{name}: X has {len(X)} samples but y has {len(y)}")


def as_array(owner: str, role: str, data: Any) -> np.ndarray:
    """``data`` (array, list, Tensor, pandas DataFrame/Series) as a numeric ndarray; a clear
    error naming the non-numeric columns (strings, dates, objects) otherwise."""
    if isinstance(data, Tensor):
        return data.data
    dtypes = getattr(data, "dtypes", None)
    if dtypes is not None and hasattr(data, "columns"):  # a DataFrame: name the offending columns
        bad = [str(c) for c, dt in dtypes.items() if getattr(dt, "kind", "O") not in "biuf"]
        if bad:
            raise TypeError(f"{owner}: {role} has non-numeric columns {bad}; encode them as numbers first "
                            f"(e.g. pandas.get_dummies or a label encoding)")
    to_numpy = getattr(data, "to_numpy", None)
    try:
        arr = np.asarray(to_numpy() if callable(to_numpy) else data)
    except ValueError as e:  # ragged lists
        raise TypeError(f"{owner}: {role} cannot be made into an array ({e})") from None
    if arr.dtype.kind == "O":
        try:
            arr = arr.astype(np.float64)
        except (TypeError, ValueError):
            raise TypeError(f"{owner}: {role} holds non-numeric values (e.g. {arr.reshape(-1)[0]!r}); "
                            f"encode them as numbers first") from None
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"{owner}: {role} has dtype {arr.dtype}, not numbers; encode it as numbers first")
    if arr.ndim == 0:
        raise ValueError(f"{owner}: {role} must have a first (samples) axis, got a scalar")
    return arr


class Dataset:
    """The dataset protocol (PyTorch's): ``len(ds)`` samples, ``ds[i]`` the i-th one, an
    array, a tuple of arrays or a dict of arrays. Any object with ``__len__`` and
    ``__getitem__`` works in :class:`DataLoader`; subclassing this one is optional."""

    def __len__(self) -> int:
        raise NotImplementedError(f"{type(self).__name__} does not define __len__")

    def __getitem__(self, index: int) -> Any:
        raise NotImplementedError(f"{type(self).__name__} does not define __getitem__")


class TensorDataset(Dataset):
    """Samples are the rows of arrays of equal length: ``ds[i] = (a[i], b[i], ...)``.

    >>> ds = TensorDataset(np.zeros((3, 2)), np.arange(3))
    >>> len(ds), int(ds[2][1])
    (3, 2)
    """

    def __init__(self, *arrays: Any) -> None:
        if not arrays:
            raise ValueError("TensorDataset: needs at least one array")
        self.arrays = tuple(as_array("TensorDataset", f"array {k}", a) for k, a in enumerate(arrays))
        lengths = [len(a) for a in self.arrays]
        if len(set(lengths)) > 1:
            raise ValueError(f"TensorDataset: arrays have different lengths {lengths}")

    def __len__(self) -> int:
        return len(self.arrays[0])

    def __getitem__(self, index: Any) -> tuple[np.ndarray, ...]:
        return tuple(a[index] for a in self.arrays)


class Subset(Dataset):
    """The samples of ``dataset`` at ``indices``, in that order."""

    def __init__(self, dataset: Any, indices: Sequence[int] | np.ndarray) -> None:
        self.dataset = _check_dataset("Subset", dataset)
        self.indices = np.asarray(indices, dtype=np.int64).reshape(-1)
        n = len(dataset)
        if self.indices.size and (self.indices.min() < -n or self.indices.max() >= n):
            raise IndexError(f"Subset: indices must be in [0, {n}) for a dataset of {n} samples")

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, index: int) -> Any:
        return self.dataset[int(self.indices[index])]


def random_split(dataset: Any, lengths: Sequence[float], seed: int | None = None,
                 rng: np.random.Generator | None = None) -> list[Subset]:
    """Split ``dataset`` into non-overlapping random :class:`Subset` s of the given lengths
    (counts summing to ``len(dataset)``, or fractions summing to 1: the remainder of the
    rounding down goes one by one to the first parts, as in PyTorch).

    >>> [len(s) for s in random_split(TensorDataset(np.arange(10)), [0.7, 0.3], seed=0)]
    [7, 3]
    """
    _check_dataset("random_split", dataset)
    n = len(dataset)
    lengths = list(lengths)
    for v in lengths:
        check_number("random_split", "lengths", v, "nonneg")
    if lengths and all(isinstance(v, float) for v in lengths) and abs(sum(lengths) - 1) < 1e-9:
        counts = [int(np.floor(n * f)) for f in lengths]
        for k in range(n - sum(counts)):
            counts[k % len(counts)] += 1
    elif all(float(v).is_integer() for v in lengths):
        counts = [int(v) for v in lengths]
    else:
        raise ValueError(f"random_split: lengths must be counts or fractions summing to 1, got {lengths}")
    if sum(counts) != n:
        raise ValueError(f"random_split: lengths {lengths} sum to {sum(counts)}, the dataset has {n} samples")
    order = make_rng(seed, rng).permutation(n)
    bounds = np.cumsum([0, *counts])
    return [Subset(dataset, order[a:b]) for a, b in zip(bounds[:-1], bounds[1:], strict=True)]


def _check_dataset(owner: str, dataset: Any) -> Any:
    if not (hasattr(dataset, "__len__") and hasattr(dataset, "__getitem__")):
        raise TypeError(f"{owner}: expected a dataset (with __len__ and __getitem__), got {type(dataset).__name__}")
    return dataset


def default_collate(samples: list[Any]) -> Any:
    """Stack a list of samples into a batch: arrays/numbers/Tensors along a new first axis,
    tuples and lists position by position, dicts key by key (PyTorch's rules, NumPy arrays)."""
    first = samples[0]
    if isinstance(first, Mapping):
        return {k: default_collate([s[k] for s in samples]) for k in first}
    if isinstance(first, (tuple, list)):
        if any(len(s) != len(first) for s in samples):
            raise ValueError("default_collate: samples have different numbers of fields")
        return tuple(default_collate([s[k] for s in samples]) for k in range(len(first)))
    if isinstance(first, str):
        return list(samples)
    arrays = [s.data if isinstance(s, Tensor) else np.asarray(s) for s in samples]
    shapes = {a.shape for a in arrays}
    if len(shapes) > 1:
        raise ValueError(f"default_collate: samples have different shapes {sorted(shapes)}; pad them or pass "
                         f"a collate_fn")
    return np.stack(arrays)


class DataLoader:
    """Iterate over data in mini-batches, reshuffled every epoch from a seeded Generator.

    ``DataLoader(X, y)`` batches arrays (or pandas DataFrames/Series) and yields
    ``(X_batch, y_batch)`` (``X_batch`` alone without y); ``DataLoader(dataset)``
    batches any dataset (``len`` and ``ds[i]``: a torch-style Dataset works) and yields
    ``collate_fn(list of samples)`` (:func:`default_collate` stacks them). The last
    partial batch is kept unless ``drop_last``. Batches are ndarrays.

    >>> X, y = np.arange(10.0).reshape(5, 2), np.arange(5)
    >>> [len(yb) for _, yb in DataLoader(X, y, batch_size=2)]
    [2, 2, 1]
    """

    def __init__(self, data: Any, y: Any = None, batch_size: int = 32, shuffle: bool = False,
                 seed: int | None = None, drop_last: bool = False, rng: np.random.Generator | None = None,
                 collate_fn: Callable[[list[Any]], Any] | None = None) -> None:
        check_number("DataLoader", "batch_size", batch_size, "positive", integer=True)
        check_bool("DataLoader", "shuffle", shuffle)
        check_bool("DataLoader", "drop_last", drop_last)
        if collate_fn is not None and not callable(collate_fn):
            raise TypeError(f"DataLoader: collate_fn must be a function, got {type(collate_fn).__name__}")
        self.dataset: Any = None
        self.arrays: tuple[np.ndarray, ...] | None = None
        if isinstance(data, TensorDataset) and collate_fn is None:
            self.arrays, self.dataset = data.arrays, data
        elif y is None and _is_dataset(data):
            self.dataset = data
        else:
            X = as_array("DataLoader", "X", data)
            self.arrays = (X,) if y is None else (X, as_array("DataLoader", "y", y))
            if y is not None:
                _lengths_match("DataLoader", *self.arrays)
        self._single = y is None and not isinstance(data, TensorDataset) and self.dataset is None
        self.X = self.arrays[0] if self.arrays else None
        self.y = self.arrays[1] if self.arrays and len(self.arrays) > 1 else None
        if self.dataset is not None:
            n = len(self.dataset)
        else:
            assert self.X is not None  # the branches above set self.arrays when there is no dataset
            n = len(self.X)
        if n == 0:
            raise ValueError("DataLoader: the data is empty (0 samples)")
        self.n_samples = n
        self.batch_size, self.shuffle, self.drop_last = int(batch_size), shuffle, drop_last
        self.collate_fn = collate_fn or default_collate
        self.rng = make_rng(seed, rng)

    def __len__(self) -> int:
        n = self.n_samples
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def __iter__(self) -> Iterator[Any]:
        n = self.n_samples
        order = self.rng.permutation(n) if self.shuffle else None
        for start in range(0, len(self) * self.batch_size, self.batch_size):
            idx: Any = slice(start, min(start + self.batch_size, n)) if order is None else \
                order[start:start + self.batch_size]
            if self.arrays is None:
                rows = range(n)[idx] if order is None else idx
                yield self.collate_fn([self.dataset[int(i)] for i in rows])
            elif order is None:
                yield self.arrays[0][idx] if self._single else tuple([a[idx] for a in self.arrays])
            else:  # take: the rows of a permutation in about half the time of a[idx]
                yield self.arrays[0].take(idx, axis=0) if self._single else \
                    tuple([a.take(idx, axis=0) for a in self.arrays])


def _is_dataset(data: Any) -> bool:
    """A dataset of samples, not an array: a Dataset, a torch-style dataset object, or a
    list of tuples/dicts."""
    if isinstance(data, Dataset):
        return True
    if isinstance(data, (np.ndarray, Tensor)) or hasattr(data, "to_numpy") or hasattr(data, "__array__"):
        return False
    if isinstance(data, (list, tuple)):
        return bool(data) and isinstance(data[0], (tuple, list, Mapping)) and not _is_numeric_row(data[0])
    return hasattr(data, "__len__") and hasattr(data, "__getitem__")


def _is_numeric_row(row: Any) -> bool:
    return isinstance(row, (list, tuple)) and all(isinstance(v, (int, float, np.number)) for v in row)


def train_test_split(X: Any, y: Any = None, test_size: float = 0.2, seed: int | None = 0, shuffle: bool = True,
                     stratify: Any = None) -> tuple[np.ndarray, ...]:
    """Split arrays into train and test parts: (X_train, X_test, y_train, y_test).

    ``test_size`` is a fraction or a count; ``stratify`` (labels) keeps class
    proportions in both parts.
    """
    X = as_array("train_test_split", "X", X)
    _lengths_match("train_test_split", X, y)
    n = len(X)
    check_number("train_test_split", "test_size", test_size, "positive")
    n_test = int(round(test_size * n)) if isinstance(test_size, float) else int(test_size)
    if not 0 < n_test < n:
        raise ValueError(f"train_test_split: test_size={test_size} leaves no train or no test samples of {n}")
    rng = np.random.default_rng(seed)
    if stratify is not None:
        labels = np.asarray(stratify)
        picked: list[int] = []
        for c in np.unique(labels):
            members = np.flatnonzero(labels == c)
            members = rng.permutation(members) if shuffle else members
            picked.extend(members[: int(round(len(members) * n_test / n))].tolist())
        test = np.sort(np.asarray(picked, dtype=np.int64))
        train = np.setdiff1d(np.arange(n), test)
        if shuffle:
            train, test = rng.permutation(train), rng.permutation(test)
    else:
        order = rng.permutation(n) if shuffle else np.arange(n)
        test, train = order[:n_test], order[n_test:]
    if y is None:
        return X[train], X[test]
    y = as_array("train_test_split", "y", y)
    return X[train], X[test], y[train], y[test]
