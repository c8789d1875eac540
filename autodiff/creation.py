"""Tensor creation with NumPy's and PyTorch's names: ``zeros``, ``ones``, ``full``, ``eye``,
``arange``, ``linspace``, ``*_like``, ``from_numpy``, and random tensors drawn from an
explicit ``numpy.random.Generator`` (or a seed): there is no hidden global random state.

Floats get the default dtype (``ad.get_default_dtype()``) unless ``dtype`` is given.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .mode import state
from .tensor import Tensor


def _shape(op: str, shape: tuple[Any, ...] | list[Any]) -> tuple[int, ...]:
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    for n in shape:
        if not isinstance(n, (int, np.integer)) or isinstance(n, bool) or n < 0:
            raise ValueError(f"{op}: sizes must be non-negative integers, got {shape}")
    return tuple(int(n) for n in shape)


def _made(data: np.ndarray, requires_grad: bool, name: str | None = None) -> Tensor:
    t = Tensor._leaf(data)
    t.name = name
    return t.requires_grad_(True) if requires_grad else t


def _float(dtype: Any) -> np.dtype:
    return state.default_dtype if dtype is None else np.dtype(dtype)


def zeros(*shape: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """A tensor of zeros: ``ad.zeros(2, 3)`` or ``ad.zeros((2, 3))``.

    >>> zeros(2)
    Tensor([0., 0.])
    """
    return _made(np.zeros(_shape("zeros", shape), _float(dtype)), requires_grad)


def ones(*shape: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """A tensor of ones: ``ad.ones(2, 3)`` or ``ad.ones((2, 3))``."""
    return _made(np.ones(_shape("ones", shape), _float(dtype)), requires_grad)


def full(shape: Any, fill_value: float, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """A tensor of ``shape`` filled with ``fill_value``."""
    shape = _shape("full", shape if isinstance(shape, (tuple, list)) else (shape,))
    return _made(np.full(shape, fill_value, _float(dtype)), requires_grad)


def eye(n: int, m: int | None = None, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """The n x m identity matrix (m defaults to n)."""
    _shape("eye", (n,) if m is None else (n, m))
    return _made(np.eye(n, m, dtype=_float(dtype)), requires_grad)


def arange(start: float, stop: float | None = None, step: float = 1, dtype: Any = None,
           requires_grad: bool = False) -> Tensor:
    """Evenly spaced values in [start, stop) (NumPy's ``arange``; integers stay integers
    unless ``dtype`` says otherwise, as in NumPy and PyTorch).

    >>> arange(3)
    Tensor([0, 1, 2], dtype=int64)
    """
    if step == 0:
        raise ValueError("arange: step must not be zero")
    values = np.arange(start, stop, step) if stop is not None else np.arange(start)
    if dtype is not None:
        values = values.astype(dtype)
    elif values.dtype.kind == "f":
        values = values.astype(state.default_dtype)
    return _made(values, requires_grad)


def linspace(start: float, stop: float, num: int = 50, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """``num`` evenly spaced values from ``start`` to ``stop`` inclusive."""
    _shape("linspace", (num,))
    return _made(np.linspace(start, stop, num, dtype=_float(dtype)), requires_grad)


def _like(op: str, t: Any, value: float, dtype: Any, requires_grad: bool) -> Tensor:
    arr = t._data if isinstance(t, Tensor) else np.asarray(t)
    return _made(np.full(arr.shape, value, arr.dtype if dtype is None else np.dtype(dtype)), requires_grad)


def zeros_like(t: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """Zeros with ``t``'s shape and dtype."""
    return _like("zeros_like", t, 0, dtype, requires_grad)


def ones_like(t: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """Ones with ``t``'s shape and dtype."""
    return _like("ones_like", t, 1, dtype, requires_grad)


def full_like(t: Any, fill_value: float, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """``fill_value`` everywhere, with ``t``'s shape and dtype."""
    return _like("full_like", t, fill_value, dtype, requires_grad)


def from_numpy(array: np.ndarray) -> Tensor:
    """A Tensor sharing ``array``'s memory (as ``torch.from_numpy``): writes through the
    Tensor's API show in ``array``. Writes made through ``array`` itself are invisible to
    the version counters, so do not change it while a graph that used it awaits backward.
    """
    if not isinstance(array, np.ndarray):
        raise TypeError(f"from_numpy: expected a numpy.ndarray, got {type(array).__name__}")
    if array.dtype.kind not in "biufc":
        raise TypeError(f"from_numpy: unsupported dtype {array.dtype}")
    return Tensor._leaf(array)


# ------------------------------------------------------------------ random
def _generator(op: str, rng: Any) -> np.random.Generator:
    if isinstance(rng, np.random.Generator):
        return rng
    if isinstance(rng, (int, np.integer)) and not isinstance(rng, bool):
        return np.random.default_rng(int(rng))
    raise TypeError(f"{op}: pass rng= a numpy.random.Generator or an int seed (autodiff keeps no global random "
                    f"state), got {type(rng).__name__}")


def randn(*shape: Any, rng: Any = None, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """Standard normal samples: ``ad.randn(2, 3, rng=np.random.default_rng(0))`` (or ``rng=0``).

    >>> randn(2, rng=0).shape
    (2,)
    """
    g = _generator("randn", rng)
    return _made(g.standard_normal(_shape("randn", shape)).astype(_float(dtype)), requires_grad)


def rand(*shape: Any, rng: Any = None, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """Uniform samples on [0, 1), from the explicit ``rng`` (a Generator or a seed)."""
    g = _generator("rand", rng)
    return _made(g.random(_shape("rand", shape)).astype(_float(dtype)), requires_grad)


def randint(low: int, high: int | None = None, size: Any = (), *, rng: Any = None, dtype: Any = np.int64) -> Tensor:
    """Integers in [low, high) (or [0, low) when high is None), from the explicit ``rng``."""
    g = _generator("randint", rng)
    lo, hi = (0, low) if high is None else (low, high)
    if hi <= lo:
        raise ValueError(f"randint: empty range [{lo}, {hi})")
    shape = _shape("randint", size if isinstance(size, (tuple, list)) else (size,))
    return _made(g.integers(lo, hi, shape).astype(dtype), False)
