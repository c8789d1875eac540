"""Weight initialisers. Each returns a new array and draws from the
``numpy.random.Generator`` it is given (never NumPy's global RNG).

Weights are laid out (in_features, out_features), so fan_in = shape[0] and
fan_out = shape[1].

>>> w = glorot_uniform((64, 50), np.random.default_rng(0))
>>> bool(np.abs(w).max() <= np.sqrt(6 / (64 + 50)))
True
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeAlias

import numpy as np
from numpy.typing import DTypeLike

from autodiff import get_default_dtype

from .checks import check_number


def _shape(shape: Any, name: str) -> tuple[int, ...]:
    """``shape`` as a tuple of non-negative integers (an error naming ``name`` otherwise)."""
    dims = (shape,) if isinstance(shape, (int, np.integer)) else shape
    try:
        dims = tuple(dims)
    except TypeError:
        raise TypeError(f"{name}: shape must be a tuple of integers, got {shape!r}") from None
    if not all(isinstance(d, (int, np.integer)) and not isinstance(d, bool) and d >= 0 for d in dims):
        raise ValueError(f"{name}: shape must be a tuple of non-negative integers, got {shape!r}")
    return tuple(int(d) for d in dims)


def _fans(shape: tuple[int, ...]) -> tuple[int, int]:
    if len(shape) == 0:
        return 1, 1
    if len(shape) == 1:
        return max(shape[0], 1), max(shape[0], 1)
    receptive = int(np.prod(shape[2:])) if len(shape) > 2 else 1
    return max(shape[0] * receptive, 1), max(shape[1] * receptive, 1)  # (a zero-size array has no values)


def make_rng(seed: int | None = None, rng: np.random.Generator | None = None) -> np.random.Generator:
    """The Generator to draw from: ``rng`` if given, else one seeded with ``seed``
    (fresh entropy when both are None; never NumPy's global RNG)."""
    if rng is not None and seed is not None:
        raise ValueError("give either seed or rng, not both")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0):
        raise TypeError(f"seed must be a non-negative integer or None, got {seed!r} ({type(seed).__name__})")
    if rng is None:
        return np.random.default_rng(seed)
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
    return rng



ShapeLike: TypeAlias = int | Sequence[int]
"""A shape: one int or a sequence of them (``(64, 50)``, ``[3]``, ``7``)."""


def _dtype(dtype: DTypeLike | None) -> np.dtype[Any]:
    return np.dtype(dtype) if dtype is not None else get_default_dtype()


def glorot_uniform(shape: ShapeLike, rng: np.random.Generator | None = None,
                   gain: float = 1.0, dtype: DTypeLike | None = None) -> np.ndarray:
    """U(-a, a) with a = gain * sqrt(6 / (fan_in + fan_out)) (Glorot & Bengio, 2010)."""
    shape = _shape(shape, "glorot_uniform")
    check_number("glorot_uniform", "gain", gain, "nonneg")
    fan_in, fan_out = _fans(tuple(shape))
    limit = gain * np.sqrt(6.0 / (fan_in + fan_out))
    return make_rng(rng=rng).uniform(-limit, limit, size=shape).astype(_dtype(dtype))


def glorot_normal(shape: ShapeLike, rng: np.random.Generator | None = None,
                  gain: float = 1.0, dtype: DTypeLike | None = None) -> np.ndarray:
    """N(0, std²) with std = gain * sqrt(2 / (fan_in + fan_out))."""
    shape = _shape(shape, "glorot_normal")
    check_number("glorot_normal", "gain", gain, "nonneg")
    fan_in, fan_out = _fans(tuple(shape))
    scale = float(np.sqrt(2.0 / (fan_in + fan_out)))
    return (make_rng(rng=rng).standard_normal(shape) * gain * scale).astype(_dtype(dtype))


def he_uniform(shape: ShapeLike, rng: np.random.Generator | None = None, dtype: DTypeLike | None = None) -> np.ndarray:
    """U(-a, a) with a = sqrt(6 / fan_in) (He et al., 2015; for ReLU)."""
    shape = _shape(shape, "he_uniform")
    fan_in, _ = _fans(tuple(shape))
    limit = np.sqrt(6.0 / fan_in)
    return make_rng(rng=rng).uniform(-limit, limit, size=shape).astype(_dtype(dtype))


def he_normal(shape: ShapeLike, rng: np.random.Generator | None = None, dtype: DTypeLike | None = None) -> np.ndarray:
    """N(0, 2 / fan_in)."""
    shape = _shape(shape, "he_normal")
    fan_in, _ = _fans(tuple(shape))
    return (make_rng(rng=rng).standard_normal(shape) * float(np.sqrt(2.0 / fan_in))).astype(_dtype(dtype))


def normal(shape: ShapeLike, rng: np.random.Generator | None = None,
           std: float = 0.01, dtype: DTypeLike | None = None) -> np.ndarray:
    """N(0, std²), the small random weights of the course's first networks."""
    shape = _shape(shape, "normal")
    check_number("normal", "std", std, "nonneg")
    return (make_rng(rng=rng).standard_normal(shape) * std).astype(_dtype(dtype))


def zeros(shape: ShapeLike, rng: np.random.Generator | None = None, dtype: DTypeLike | None = None) -> np.ndarray:
    """All zeros (``rng`` is accepted and unused, so every initialiser has one signature)."""
    shape = _shape(shape, "zeros")
    return np.zeros(shape, dtype=_dtype(dtype))


def constant(shape: ShapeLike, value: float, rng: np.random.Generator | None = None,
             dtype: DTypeLike | None = None) -> np.ndarray:
    """Every entry equal to ``value``."""
    shape = _shape(shape, "constant")
    check_number("constant", "value", value)
    return np.full(shape, value, dtype=_dtype(dtype))


xavier_uniform = glorot_uniform
xavier_normal = glorot_normal
kaiming_uniform = he_uniform
kaiming_normal = he_normal

INITIALIZERS: dict[str, Callable[..., np.ndarray]] = {
    "glorot_uniform": glorot_uniform, "glorot_normal": glorot_normal, "xavier_uniform": glorot_uniform,
    "xavier_normal": glorot_normal, "he_uniform": he_uniform, "he_normal": he_normal,
    "kaiming_uniform": he_uniform, "kaiming_normal": he_normal, "normal": normal, "zeros": zeros,
}


def get(name: str | Callable[..., np.ndarray]) -> Callable[..., np.ndarray]:
    """The initialiser called ``name`` (or ``name`` itself when it is a function)."""
    if callable(name):
        return name
    try:
        return INITIALIZERS[name]
    except KeyError:
        raise ValueError(f"init: unknown initialiser {name!r}; choose from {sorted(INITIALIZERS)}") from None
