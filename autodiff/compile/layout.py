"""Which order a compiled matrix product is computed in: ``x @ y`` or ``(y.T @ x.T).T``.

Both are one BLAS call computing the same dot products, but the library's speed depends
on which operand comes first: OpenBLAS computes ``g @ W.T`` (a linear layer's input
gradient: a few rows against a large transposed weight) up to 1.8x slower in float32
than ``W @ g.T``, whose transpose is the same matrix. Which order is faster depends on
the BLAS, the CPU, the dtype and the shapes, so it is measured, once per process for
each signature, on random operands laid out as the program lays them out; the swapped
order is taken only when it is clearly faster *and* its result has the same bits as
the direct product on those operands (the same library computing the same sums in the
same order), so a compiled step keeps the bits of the eager one.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from .program import Op, Program

MIN_MACS, MAX_MACS = 1 << 12, 1 << 26
"""Products outside this range of multiply-adds keep the direct order: a smaller one
costs its call's overhead either way, measuring a larger one would cost more than a
training step saves (and its BLAS call is compute bound in either order)."""

ROUNDS = 5
MARGIN = 0.9
"""The swapped order is taken when its best time is below this fraction of the direct one's."""

_CHOICES: dict[tuple[Any, ...], bool] = {}


def operand_layout(program: Program, i: int, transpose: Any) -> str:
    """"T" when value ``i`` is a 2-D transpose made in the program (a Fortran-ordered
    view at run time), "C" otherwise (buffers, inputs and constants are C-ordered)."""
    for op in program.ops:
        if op.out == i:
            return "T" if op.prim is transpose and len(program.values[i].shape) == 2 else "C"
    return "C"


def swap_matmul(program: Program, op: Op, transpose: Any) -> bool:
    """Whether the 2-D float product ``op`` is computed as ``(y.T @ x.T).T`` (see the module)."""
    x, y = (program.values[a] for a in op.args)
    if len(x.shape) != 2 or len(y.shape) != 2 or x.dtype != y.dtype or x.dtype.kind != "f":
        return False
    (n, k), m = x.shape, y.shape[1]
    if not MIN_MACS <= n * k * m <= MAX_MACS or min(n, k, m) < 2:
        return False
    key = (x.shape, y.shape, x.dtype.str, operand_layout(program, op.args[0], transpose),
           operand_layout(program, op.args[1], transpose))
    choice = _CHOICES.get(key)
    if choice is None:
        choice = _CHOICES[key] = _measure(*key)
    return choice


def _laid_out(rng: np.random.Generator, shape: tuple[int, ...], dtype: np.dtype, layout: str) -> np.ndarray:
    a = rng.standard_normal(shape[::-1] if layout == "T" else shape).astype(dtype)
    return a.T if layout == "T" else a


def _measure(x_shape: tuple[int, ...], y_shape: tuple[int, ...], dtype_str: str, x_layout: str, y_layout: str,
             matmul: Any = np.matmul) -> bool:
    """Whether the swapped order gives the direct product's bits and is clearly faster."""
    dtype = np.dtype(dtype_str)
    rng = np.random.default_rng(0)
    x, y = _laid_out(rng, x_shape, dtype, x_layout), _laid_out(rng, y_shape, dtype, y_layout)
    direct = np.empty((x_shape[0], y_shape[1]), dtype)
    swapped = np.empty((y_shape[1], x_shape[0]), dtype)
    matmul(x, y, out=direct)
    matmul(y.T, x.T, out=swapped)
    if not np.array_equal(direct, swapped.T):  # another order of the sums: the direct bits stay
        return False
    best = [np.inf, np.inf]
    for _ in range(ROUNDS):
        for j, (a, b, out) in enumerate(((x, y, direct), (y.T, x.T, swapped))):
            start = time.perf_counter()
            matmul(a, b, out=out)
            best[j] = min(best[j], time.perf_counter() - start)
    return best[1] < MARGIN * best[0]


def forget() -> None:
    """Measure again at the next compile (the choices are kept for the process)."""
    _CHOICES.clear()
