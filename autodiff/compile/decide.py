"""Decisions on values inside derivative rules and composites, made safe for ``ad.jit``.

A rule that reads values to choose a formula or build a mask (``if (det == 0).any()``,
``np.isnan(x._data)``) decides once while a function is traced; a compiled program that
replayed that decision on other values would return a silent wrong number. Rules say
instead what they compute from values, through these three functions, which cost one
NumPy call outside tracing:

- :func:`derive` — values computed from operands (a mask, an argmax, a sort order) that
  carry no gradient: while tracing, an op of the program, recomputed at every call.
- :func:`decide` — a Python ``bool`` choosing a branch (or an error): while tracing, a
  *guard* of the program. The compiled code re-checks it at every call, and when it
  does not hold the call runs eagerly (the user gets exactly eager's result or error)
  while it is traced for the program of that other case.
- :func:`static_values` — values that shape the program (a count, quantile levels): a
  guard checks at every call that they are the ones traced.

>>> import numpy as np, autodiff as ad
>>> def g(x):
...     if decide(has_zero, x):  # eager's branch; the compiled call re-checks it
...         raise ValueError("a zero")
...     return ad.log(ad.abs(x)).sum()
>>> f = ad.jit(g)
>>> [float(f(np.array([v, 2.0]))) for v in (1.0, 3.0, 4.0)] == [np.log(2.0), np.log(6.0), np.log(8.0)]
True
>>> f(np.array([0.0, 2.0]))
Traceback (most recent call last):
ValueError: a zero
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, overload

import numpy as np

from ..tensor import Tensor
from .program import Guard
from .trace import active, op_primitive


@overload
def derive(fn: Callable[..., Any], first: Tensor, /, *operands: Any, **params: Any) -> Tensor: ...
@overload
def derive(fn: Callable[..., Any], first: Any, /, *operands: Any, **params: Any) -> Any: ...
def derive(fn: Callable[..., Any], *operands: Any, **params: Any) -> Any:
    """``fn(*arrays, **params)`` on the operands' values, without gradient: a Tensor when an
    operand is one (an ndarray otherwise). While ``ad.jit`` traces, it is an op of the
    program (recomputed at every call), never a constant. ``fn`` must be a pure function of
    its arguments (a NumPy ufunc or a module-level function)."""
    if not any(isinstance(x, Tensor) for x in operands):
        return np.asarray(fn(*(np.asarray(x) for x in operands), **params))
    tensors = tuple(x if isinstance(x, Tensor) else Tensor._leaf(np.asarray(x)) for x in operands)
    prim = op_primitive(fn)
    out = Tensor._leaf(np.asarray(prim.forward(*(t._data for t in tensors), **params)))
    rec = active()
    if rec is not None:
        rec.record(prim, tensors, params, out)
    return out


def decide(predicate: Callable[..., Any], *operands: Any, **params: Any) -> bool:
    """``bool(predicate(*arrays, **params))`` on the operands' values. While ``ad.jit``
    traces, the answer is recorded as a guard: the compiled code evaluates the predicate
    at every call and, when its answer differs, runs the function eagerly instead."""
    rec = active()
    if rec is None:
        arrays = [x._data if isinstance(x, Tensor) else np.asarray(x) for x in operands]
        return bool(predicate(*arrays, **params))
    flag = derive(predicate, *operands, **params)
    result = bool(flag._data) if isinstance(flag, Tensor) else bool(flag)
    if isinstance(flag, Tensor) and rec.is_dynamic(flag):
        rec.guards.append(Guard(rec.of_tensor(flag), result, getattr(predicate, "__name__", "predicate")))
    return result


def static_values(x: Any) -> np.ndarray:
    """The values of ``x`` for a decision that shapes the program (indices, counts, levels).
    While ``ad.jit`` traces a value computed from the inputs, a guard checks at every call
    that it still equals the traced one (else that call runs eagerly)."""
    if not isinstance(x, Tensor):
        return np.asarray(x)
    rec = active()
    if rec is not None and rec.is_dynamic(x) and rec.of_tensor(x) not in rec.frozen:
        rec.frozen.add(rec.of_tensor(x))
        traced = np.array(x._data, copy=True)
        traced.flags.writeable = False
        decide(same_values, x, Tensor._leaf(traced))
    return x._data


# ------------------------------------------------------------ predicates rules use
def same_values(x: np.ndarray, traced: np.ndarray) -> bool:
    """Whether ``x`` equals the traced values (NaN equal to NaN)."""
    return bool(np.array_equal(x, traced, equal_nan=x.dtype.kind in "fc"))


def has_zero(x: np.ndarray) -> bool:
    """Whether some element is exactly 0."""
    return bool((x == 0).any())


def has_inf(x: np.ndarray) -> bool:
    """Whether some element is infinite."""
    return bool(np.isinf(x).any())


def has_nan(x: np.ndarray) -> bool:
    """Whether some element is NaN."""
    return bool(np.isnan(x).any())


__all__ = ["decide", "derive", "has_inf", "has_nan", "has_zero", "same_values", "static_values"]
