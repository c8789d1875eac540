"""Python numbers passed as arguments of a jitted function.

Eager NumPy treats a Python number as weakly typed: ``x_float32 * 1.5`` stays float32, an
integer array plus 3 stays integer. A traced argument is a 0-d value of the default dtype
(float64), which NumPy promotes with: compiled, ``x_float32 * a`` would be float64. Where
an operation meets a number argument (or a value computed from number arguments only) and
an operand whose dtype would promote differently, the function cannot be compiled as it
runs eagerly, and :func:`check_weak` raises :class:`TraceError` naming the line.

In the generated code, a constant number operand is written as NumPy casts it
(:func:`scalar_value`, :func:`scalar_operand`).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

from .program import Op, Program
from .trace import TraceError

if TYPE_CHECKING:
    from .codegen import Emitter


def number_slots(args: tuple[Any, ...]) -> list[int]:
    """The positions of the arguments that are Python numbers (not bools)."""
    return [k for k, a in enumerate(args) if isinstance(a, (int, float)) and not isinstance(a, bool)]


def check_weak(program: Program, args: tuple[Any, ...]) -> None:
    """Raise when an op meets a number argument and an operand NumPy would promote
    differently with the Python number than with the traced value."""
    slots = number_slots(args)
    if not slots:
        return
    values = program.values
    weak = {v.index: v.slot for v in values if v.kind == "input" and v.slot in slots}
    for op in program.ops:
        met = [a for a in op.args if a in weak]
        if not met:
            continue
        others = [a for a in op.args if a not in weak]
        if all(values[a].kind == "const" and not values[a].shape for a in others) and not values[op.out].shape:
            weak[op.out] = weak[met[0]]  # computed from numbers only: Python arithmetic, eagerly
            continue
        traced = values[met[0]].dtype
        slot = weak[met[0]]
        number = args[slot] if slot is not None else 0.0
        for a in others:
            dt = values[a].dtype
            if np.result_type(dt, traced) != np.result_type(dt, number):
                raise TraceError(
                    f"jit: argument {slot} is a Python number, which eager NumPy combines with the {dt} operand of "
                    f"{op.name} at {op.site} keeping {np.result_type(dt, number)}; traced it is a {traced} value, so "
                    f"the compiled result would be {np.result_type(dt, traced)}. Pass it as np.{dt}(...) (an "
                    f"argument of that dtype), as a keyword argument (a constant of the program), or pass "
                    f"fallback=True to run this function eagerly")


def int_hint(error: TypeError, args: tuple[Any, ...]) -> TypeError:
    """A TypeError raised while tracing (``range(n)`` on a traced argument, say) with a hint
    when an argument was a Python int."""
    ints = [k for k in number_slots(args) if isinstance(args[k], int)]
    if not ints or "integer" not in str(error):
        return error
    return TypeError(f"{error} (jit: argument {ints[0]} is a Python int, traced as a value like any argument; a "
                     f"count or a shape must be a constant: pass it as a keyword argument, which jit compiles in "
                     f"and keys its programs on)")


_COMPARISONS = {np.greater, np.greater_equal, np.less, np.less_equal, np.equal, np.not_equal}


def scalar_value(program: Program, op: Op, k: int) -> int | float | None:
    """A 0-d constant operand of a binary ufunc as a Python number, when NumPy casts it to
    the other operand's float dtype either way: a Python number the traced code used
    (NumPy cast it to that dtype then too), a float constant of that dtype (the same loop),
    or an integer compared with floats that represent it exactly. (A 0-d array of another
    dtype takes NumPy's general path: an int64 zero against float32 compares in float64,
    4x slower.)"""
    c, other = program.values[op.args[k]], program.values[op.args[1 - k]]
    if c.kind != "const" or c.shape != () or c.data is None or other.dtype.kind != "f":
        return None
    x = c.data[()]
    if c.weak and math.isfinite(float(x)):  # a Python number in the traced code: the same number here
        return int(x) if c.dtype.kind in "iu" else float(x)
    if c.dtype == other.dtype and math.isfinite(float(x)):
        return float(x)
    if c.dtype.kind in "iu" and op.prim.forward in _COMPARISONS:
        n = int(x)
        if abs(n) <= 2 ** (np.finfo(other.dtype).nmant + 1):  # every such integer is a float of that dtype
            return n
    return None


def scalar_operand(em: Emitter, op: Op, k: int) -> str | None:
    """How the code names ``scalar_value``'s number: a 0-d array of the other operand's dtype
    (``Emitter.scalar``), which NumPy casts it to, so the same result without the conversion
    at every call; the number itself when it overflows that dtype (NumPy's own inf)."""
    x = scalar_value(em.program, op, k)
    if x is None:
        return None
    dtype = em.program.values[op.args[1 - k]].dtype
    with np.errstate(over="ignore"):
        fits = math.isfinite(float(dtype.type(x)))
    return em.scalar(x, dtype) if fits else repr(x)
