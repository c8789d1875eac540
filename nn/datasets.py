"""The course's small problems as seeded generators, and loaders for scikit-learn's
digits and breast-cancer sets and for MNIST (these need the ``datasets`` extra)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from .data import train_test_split

GATES = {
    "and": [0, 0, 0, 1],
    "or": [0, 1, 1, 1],
    "xor": [0, 1, 1, 0],
    "nand": [1, 1, 1, 0],
    "nor": [1, 0, 0, 0],
    "xnor": [1, 0, 0, 1],
}


def logic_gate(gate: str) -> tuple[np.ndarray, np.ndarray]:
    """The truth table of a two-input gate: X of shape (4, 2), y of shape (4,).

    >>> logic_gate("xor")[1].tolist()
    [0.0, 1.0, 1.0, 0.0]
    """
    try:
        y = np.asarray(GATES[gate.lower()], dtype=np.float64)
    except KeyError:
        raise ValueError(f"logic_gate: unknown gate {gate!r}; choose from {sorted(GATES)}") from None
    X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float64)
    return X, y


def luminance(rgb: np.ndarray) -> np.ndarray:
    """Perceived brightness 0.299 R + 0.587 G + 0.114 B (ITU-R BT.601), on the 0-255 scale."""
    rgb = np.asarray(rgb, dtype=np.float64)
    gray: np.ndarray = rgb @ np.array([0.299, 0.587, 0.114])
    return gray


def font_color(n: int = 1000, seed: int | None = 0) -> tuple[np.ndarray, np.ndarray]:
    """Random RGB backgrounds (0-255) and the font that reads on them: y = 1 for a light
    (white) font on a dark background (luminance < 128), 0 for a dark font.

    Scale X by 1/255 before training.
    """
    rng = np.random.default_rng(seed)
    X = rng.integers(0, 256, size=(n, 3)).astype(np.float64)
    return X, (luminance(X) < 128).astype(np.float64)


def polynomial(n: int = 100, seed: int | None = 0, low: float = -2.0, high: float = 2.0,
               noise: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Samples of y = x₀² + 3x₀x₁ + x₁² + 5 with x uniform in [low, high]²: X (n, 2), y (n,)."""
    rng = np.random.default_rng(seed)
    X = rng.uniform(low, high, size=(n, 2))
    y = polynomial_target(X)
    if noise:
        y = y + rng.normal(0.0, noise, size=n)
    return X, y


def polynomial_target(X: np.ndarray) -> np.ndarray:
    """x₀² + 3x₀x₁ + x₁² + 5."""
    x0, x1 = X[:, 0], X[:, 1]
    y: np.ndarray = x0 ** 2 + 3 * x0 * x1 + x1 ** 2 + 5
    return y


def polynomial_gradient(X: np.ndarray) -> np.ndarray:
    """The exact gradient (2x₀ + 3x₁, 3x₀ + 2x₁) of :func:`polynomial_target`."""
    x0, x1 = X[:, 0], X[:, 1]
    return np.stack([2 * x0 + 3 * x1, 3 * x0 + 2 * x1], axis=1)


def moving_average(x: np.ndarray, window: int) -> np.ndarray:
    """Mean over each run of ``window`` consecutive values (len(x) - window + 1 of them)."""
    kernel = np.ones(window) / window
    return np.stack([np.convolve(col, kernel, mode="valid") for col in np.atleast_2d(x.T)], axis=1).squeeze()


def temperature(n_days: int = 365, window: int = 125, seed: int | None = 0) -> tuple[np.ndarray, np.ndarray]:
    """A synthetic daily temperature record: TMAX and TMIN (°C) with an annual cycle and
    daily noise, smoothed by a ``window``-day moving average, as in the course's
    regression (one year by default, as the notes fit it). Returns X = day index (m, 1)
    and Y = smoothed (TMAX, TMIN) (m, 2), with m = n_days - window + 1; the notes scale
    the day index to [-1, 1] before training.

    >>> days, Y = temperature()
    >>> days.shape, Y.shape
    ((241, 1), (241, 2))
    """
    rng = np.random.default_rng(seed)
    day = np.arange(n_days, dtype=np.float64)
    season = np.cos(2 * np.pi * (day - 200) / 365.25)  # warmest around mid-July
    tmax = 17.0 + 11.0 * season + rng.normal(0.0, 3.5, n_days)
    tmin = 6.0 + 8.0 * season + rng.normal(0.0, 3.0, n_days)
    smoothed = moving_average(np.stack([tmax, tmin], axis=1), window)
    days = day[window - 1:].reshape(-1, 1)
    return days, smoothed


def _sklearn(name: str) -> Any:
    try:
        from sklearn import datasets
    except ImportError:
        raise ImportError(f"nn.datasets.{name} needs scikit-learn: pip install 'chainrule[datasets]'") from None
    return datasets


def load_digits(test_size: float = 0.2, seed: int = 0) -> tuple[np.ndarray, ...]:
    """scikit-learn's 8×8 handwritten digits, pixels scaled to [0, 1], split into
    (X_train, X_test, y_train, y_test) with a seeded, stratified split."""
    data = _sklearn("load_digits").load_digits()
    X = data.data / 16.0
    return train_test_split(X, data.target, test_size=test_size, seed=seed, stratify=data.target)


def load_breast_cancer(test_size: float = 0.2, seed: int = 0, standardize: bool = True) -> tuple[np.ndarray, ...]:
    """scikit-learn's breast-cancer set (30 features, binary labels), split into
    (X_train, X_test, y_train, y_test); features standardised with the training
    part's mean and standard deviation."""
    data = _sklearn("load_breast_cancer").load_breast_cancer()
    X_train, X_test, y_train, y_test = train_test_split(data.data, data.target.astype(np.float64),
                                                        test_size=test_size, seed=seed, stratify=data.target)
    if standardize:
        mu, sd = X_train.mean(axis=0), X_train.std(axis=0)
        X_train, X_test = (X_train - mu) / sd, (X_test - mu) / sd
    return X_train, X_test, y_train, y_test


MNIST_KEYS = ("x_train", "y_train", "x_test", "y_test")
MNIST_TRAIN = 60000  # OpenML's mnist_784 lists the 60,000 training images first, then the 10,000 test images


def default_cache_dir() -> Path:
    """Where downloaded data sets are kept: ``$CHAINRULE_DATA`` or ``~/.cache/chainrule``."""
    return Path(os.environ.get("CHAINRULE_DATA", Path.home() / ".cache" / "chainrule"))


def _read_mnist_npz(path: Path) -> tuple[np.ndarray, ...]:
    with np.load(path, allow_pickle=False) as data:
        missing = [k for k in MNIST_KEYS if k not in data.files]
        if missing:
            raise ValueError(f"load_mnist: {path} lacks {missing}; an MNIST .npz holds {list(MNIST_KEYS)}")
        arrays = tuple(data[k] for k in MNIST_KEYS)
    for name, x, y in (("train", arrays[0], arrays[1]), ("test", arrays[2], arrays[3])):
        if x.dtype != np.uint8 or x.ndim != 3 or x.shape[1:] != (28, 28) or y.shape != (len(x),):
            raise ValueError(f"load_mnist: {path}: x_{name} must be uint8 of shape (n, 28, 28) with y_{name} of "
                             f"shape (n,), got {x.dtype} {x.shape} and {y.shape}")
    return arrays


def _fetch_mnist(path: Path) -> None:
    """Download MNIST with scikit-learn's ``fetch_openml`` and store it as a compressed .npz."""
    X, y = _sklearn("load_mnist").fetch_openml("mnist_784", version=1, return_X_y=True, as_frame=False,
                                               data_home=str(path.parent / "openml"), parser="liac-arff")
    X = np.asarray(X, dtype=np.uint8).reshape(-1, 28, 28)
    y = np.asarray(y).astype(np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.npz")
    n = MNIST_TRAIN
    np.savez_compressed(tmp, x_train=X[:n], y_train=y[:n], x_test=X[n:], y_test=y[n:])
    os.replace(tmp, path)


def load_mnist(cache_dir: str | Path | None = None, download: bool = True,
               scale: bool = True) -> tuple[np.ndarray, ...]:
    """MNIST's 60,000 training and 10,000 test digits as (X_train, X_test, y_train, y_test),
    images flattened to 784 columns (float32 in [0, 1] with ``scale``, else uint8).

    Read from ``<cache_dir>/mnist.npz`` (keys x_train, y_train, x_test, y_test: the
    format Keras uses); when that file is missing and ``download`` is true it is fetched
    once with scikit-learn's ``fetch_openml`` (the ``datasets`` extra) and written there.
    ``cache_dir`` defaults to :func:`default_cache_dir`.
    """
    path = Path(cache_dir if cache_dir is not None else default_cache_dir()) / "mnist.npz"
    if not path.exists():
        if not download:
            raise FileNotFoundError(f"load_mnist: {path} does not exist and download=False")
        _fetch_mnist(path)
    x_train, y_train, x_test, y_test = _read_mnist_npz(path)
    def flat(x: np.ndarray) -> np.ndarray:
        rows = x.reshape(len(x), -1)
        return rows.astype(np.float32) / 255 if scale else rows
    return flat(x_train), flat(x_test), y_train.astype(np.int64), y_test.astype(np.int64)
