"""Helpers for the registry's SymPy forms: object arrays of SymPy expressions.

The forms take the ``sympy`` module as their first argument, so importing autodiff never
imports SymPy (slow); nothing here imports it either.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np


def objects(x: Any) -> np.ndarray:
    """``x`` as an object array."""
    return np.asarray(x, dtype=object)


def reduce_objects(x: Any, axis: Any, keepdims: bool, fn: Callable[[list[Any]], Any]) -> np.ndarray:
    """Apply ``fn`` (a list of expressions -> one expression) over ``axis`` of an object array."""
    x = objects(x)
    axes = tuple(range(x.ndim)) if axis is None else tuple(
        a % x.ndim for a in (axis if isinstance(axis, (tuple, list)) else (axis,)))
    moved = np.moveaxis(x, axes, tuple(range(-len(axes), 0))) if axes else x
    lead = moved.shape[: moved.ndim - len(axes)]
    flat = moved.reshape(lead + (-1,))
    out = np.empty(lead, dtype=object)
    for idx in np.ndindex(lead):
        out[idx] = fn(list(flat[idx]))
    if keepdims:
        out = out.reshape(tuple(1 if i in axes else n for i, n in enumerate(x.shape)))
    return out


def log_softmax_objects(sp: Any, x: Any, axis: int) -> np.ndarray:
    """x - log(sum(exp(x))) along ``axis``, on expressions."""
    lse = reduce_objects(x, axis, True, lambda v: sp.log(sp.Add(*[sp.exp(e) for e in v])))
    return objects(objects(x) - lse)


def scatter_objects(sp: Any, g: Any, index: tuple[Any, ...], shape: tuple[int, ...]) -> np.ndarray:
    """Zeros of ``shape`` with ``g`` added at ``index`` (repeated indices accumulate)."""
    out = np.empty(shape, dtype=object)
    out[...] = sp.Integer(0)
    np.add.at(out, index, objects(g))
    return out


__all__ = ["log_softmax_objects", "objects", "reduce_objects", "scatter_objects"]
