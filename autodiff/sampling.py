"""Where each registered operation is tested: a ``sample`` function per registry entry
draws one test case (input arrays inside the operation's domain, and its params).

A sampler is written against :class:`Draw`, a tiny source of random choices, so the
same registry entry serves Hypothesis in the test suite (``autodiff.testing.proof``
draws from ``st.data()``) and a seeded ``numpy.random.Generator`` in ``autodiff
verify`` (no Hypothesis needed on a user's machine).

>>> import numpy as np
>>> case = elementwise(lo=0.1, hi=5.0)(RandomDraw(np.random.default_rng(0)), np.float64)
>>> bool((case.args[0] >= 0.1).all())
True
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np


class Draw(Protocol):
    """The random choices a sampler may make."""

    def integers(self, lo: int, hi: int) -> int:
        """An int in [lo, hi]."""

    def floats(self, shape: tuple[int, ...], lo: float, hi: float, dtype: Any) -> np.ndarray:
        """An array of ``shape`` with values in [lo, hi]."""

    def booleans(self, shape: tuple[int, ...]) -> np.ndarray:
        """A boolean array of ``shape``."""

    def shapes(self, n: int, min_dims: int = 0, max_dims: int = 3, max_side: int = 3) -> list[tuple[int, ...]]:
        """``n`` mutually broadcastable shapes (sides from 1 to ``max_side``)."""

    def choice(self, options: Sequence[Any]) -> Any:
        """One of ``options``."""


@dataclass
class Case:
    """One test case: positional ``args`` (arrays), keyword ``params``, and which
    positions are differentiated (``wrt``; default: every floating-point array)."""

    args: list[Any]
    params: dict[str, Any] = field(default_factory=dict)
    wrt: tuple[int, ...] | None = None

    def positions(self) -> tuple[int, ...]:
        """The differentiated argument positions."""
        if self.wrt is not None:
            return self.wrt
        return tuple(k for k, a in enumerate(self.args)
                     if isinstance(a, (np.ndarray, np.floating)) and a.dtype.kind == "f")

    def partial(self, fn: Callable[..., Any]) -> tuple[Callable[..., Any], list[Any]]:
        """``fn`` as a function of the differentiated arguments alone (the others and the
        params fixed at this case), and those arguments' values."""
        wrt = self.positions()

        def call(*diff: Any) -> Any:
            args = list(self.args)
            for k, d in zip(wrt, diff, strict=True):
                args[k] = d
            return fn(*args, **self.params)

        return call, [self.args[k] for k in wrt]


Sampler = Callable[[Draw, Any], Case]


class RandomDraw:
    """:class:`Draw` backed by a seeded ``numpy.random.Generator``."""

    def __init__(self, rng: np.random.Generator) -> None:
        self.rng = rng

    def integers(self, lo: int, hi: int) -> int:
        return int(self.rng.integers(lo, hi + 1))

    def floats(self, shape: tuple[int, ...], lo: float, hi: float, dtype: Any) -> np.ndarray:
        return self.rng.uniform(lo, hi, size=shape).astype(dtype)

    def booleans(self, shape: tuple[int, ...]) -> np.ndarray:
        return self.rng.random(shape) < 0.5

    def shapes(self, n: int, min_dims: int = 0, max_dims: int = 3, max_side: int = 3) -> list[tuple[int, ...]]:
        ndim = self.integers(min_dims, max_dims)
        full = [self.integers(1, max_side) for _ in range(ndim)]
        out = []
        if n == 1:  # nothing to broadcast against: the full shape
            return [tuple(full)]
        for _ in range(n):
            k = self.integers(min(min_dims, ndim), ndim)  # a shape may drop leading axes
            out.append(tuple(1 if self.rng.random() < 0.25 else s for s in full[ndim - k:]))
        return out

    def choice(self, options: Sequence[Any]) -> Any:
        return options[self.integers(0, len(options) - 1)]


def away_from(x: np.ndarray, kinks: Sequence[float], margin: float = 0.05) -> np.ndarray:
    """Move values within ``margin`` of a kink to ``kink + 2 * margin`` (finite
    differences must not straddle a kink)."""
    x = np.array(x)
    for k in kinks:
        x[np.abs(x.astype(np.float64) - k) < margin] = k + 2 * margin
    return x


def elementwise(lo: float = -3.0, hi: float = 3.0, arity: int = 1, bounds: Sequence[tuple[float, float]] = (),
                kinks: Sequence[float] = (), max_dims: int = 3) -> Sampler:
    """Sampler of an elementwise op: ``arity`` inputs of mutually broadcastable shapes,
    input k inside ``bounds[k]`` (default [lo, hi]) and away from ``kinks``."""
    ranges = list(bounds) or [(lo, hi)] * arity

    def sample(draw: Draw, dtype: Any) -> Case:
        shapes = draw.shapes(len(ranges), max_dims=max_dims)
        args = [away_from(draw.floats(s, a, b, dtype), kinks).astype(dtype)
                for s, (a, b) in zip(shapes, ranges, strict=True)]
        return Case(args)

    # what the sampler knows about the domain, for the random-program menus (testing.strategies)
    sample.bounds, sample.kinks = [tuple(r) for r in ranges], tuple(kinks)  # type: ignore[attr-defined]
    return sample


def separated(x: np.ndarray, y: np.ndarray, margin: float = 0.05) -> tuple[np.ndarray, np.ndarray]:
    """Move ``y`` where it nearly ties with ``x`` (a kink of maximum/minimum)."""
    xb, yb = np.broadcast_arrays(x, y)
    if yb.shape != np.shape(y):  # y is broadcast: move x instead
        close = np.abs(xb.astype(np.float64) - yb) < margin
        x = np.array(xb)
        x[close] = yb[close] + 3 * margin
        return x, y
    y = np.array(y)
    close = np.abs(xb.astype(np.float64) - y) < margin
    y[close] = xb[close] + 3 * margin
    return x, y


def distinct(x: np.ndarray) -> np.ndarray:
    """Break ties (a kink of max/min/sort) with distinct offsets, keeping the dtype (and an
    array for a 0-d input, so the case still has something to differentiate)."""
    apart: np.ndarray = np.asarray(x + 0.0317 * np.arange(x.size).reshape(x.shape) % 0.9).astype(x.dtype)
    return apart


def axis_choice(draw: Draw, ndim: int, allow_tuple: bool = True) -> Any:
    """None, one axis (possibly negative) or a tuple of distinct axes of an ``ndim``-d array."""
    if ndim == 0:
        return None
    kind = draw.integers(0, 2 if allow_tuple else 1)
    if kind == 0:
        return None
    if kind == 1:
        return draw.integers(-ndim, ndim - 1)
    axes = [a for a in range(ndim) if draw.integers(0, 1)]
    return tuple(axes) or (ndim - 1,)


def reduction(lo: float = -3.0, hi: float = 3.0, ties: bool = False) -> Sampler:
    """Sampler of a reduction ``f(x, axis, keepdims)``; ``ties`` breaks ties (max/min)."""

    def sample(draw: Draw, dtype: Any) -> Case:
        (shape,) = draw.shapes(1)
        x = draw.floats(shape, lo, hi, dtype)
        if ties:
            x = distinct(x)
        return Case([x], {"axis": axis_choice(draw, len(shape)), "keepdims": bool(draw.integers(0, 1))})

    sample.reduction, sample.ties = True, ties  # type: ignore[attr-defined]
    return sample


def along_axis(lo: float = -3.0, hi: float = 3.0) -> Sampler:
    """Sampler of ``f(x, axis)`` for a normalisation along one axis (softmax, ...)."""

    def sample(draw: Draw, dtype: Any) -> Case:
        (shape,) = draw.shapes(1, min_dims=1)
        return Case([draw.floats(shape, lo, hi, dtype)], {"axis": draw.integers(-len(shape), len(shape) - 1)})

    return sample


def with_params(sampler: Sampler, **params: Any) -> Sampler:
    """``sampler`` with fixed keyword ``params`` added to every case (``alpha=0.1``, ...)."""

    def sample(draw: Draw, dtype: Any) -> Case:
        case = sampler(draw, dtype)
        return Case(case.args, {**case.params, **params}, case.wrt)

    return sample


def dot_pair(draw: Draw, dtype: Any) -> Case:
    """Operands of NumPy's ``dot``: vectors, matrices, and an N-d pair (last axis of ``a``
    against the second-to-last of ``b``)."""
    n, m, k = draw.integers(1, 3), draw.integers(1, 3), draw.integers(1, 3)
    a_shape, b_shape = draw.choice([((n,), (n,)), ((m, n), (n,)), ((n,), (n, k)), ((m, n), (n, k)),
                                    ((2, m, n), (k, n, 2)), ((m, n), (2, n, k))])
    return Case([draw.floats(a_shape, -2, 2, dtype), draw.floats(b_shape, -2, 2, dtype)])


def tensordot_pair(draw: Draw, dtype: Any) -> Case:
    """Operands and ``axes`` of ``tensordot``: an int count or explicit axis lists."""
    n, m, k = draw.integers(1, 3), draw.integers(1, 3), draw.integers(1, 3)
    a_shape, b_shape, axes = draw.choice([((m, n, k), (n, k, 2), 2), ((m, n), (n, k), 1), ((m,), (k,), 0),
                                          ((n, m, k), (k, 2, n), ([0, 2], [2, 0]))])
    return Case([draw.floats(a_shape, -2, 2, dtype), draw.floats(b_shape, -2, 2, dtype)], {"axes": axes})


def axis_pair(draw: Draw, dtype: Any) -> Case:
    """An array and two of its axes (``swapaxes``)."""
    (shape,) = draw.shapes(1, min_dims=1)
    return Case([draw.floats(shape, -3, 3, dtype)],
                {"axis1": draw.integers(-len(shape), len(shape) - 1), "axis2": draw.integers(0, len(shape) - 1)})


def new_axis(draw: Draw, dtype: Any) -> Case:
    """An array and a position for a new axis (``expand_dims``)."""
    (shape,) = draw.shapes(1)
    return Case([draw.floats(shape, -3, 3, dtype)], {"axis": draw.integers(-len(shape) - 1, len(shape))})


def with_unit_axes(draw: Draw, dtype: Any) -> Case:
    """An array with some axes of length one (``squeeze``)."""
    (shape,) = draw.shapes(1)
    shape = tuple(n if draw.integers(0, 1) else 1 for n in shape)
    return Case([draw.floats(shape, -3, 3, dtype)])


__all__ = ["Case", "Draw", "RandomDraw", "Sampler", "along_axis", "away_from", "axis_choice", "axis_pair", "distinct",
           "dot_pair", "elementwise", "new_axis", "reduction", "separated", "tensordot_pair", "with_params",
           "with_unit_axes"]
