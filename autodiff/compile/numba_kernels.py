"""numba functions the generated kernels call (the ``fast`` extra; imports numba).

The matrix products and the softmax cross-entropy are compiled once per argument types
for the whole process, so a generated kernel holds only calls to them and its own
elementwise loops: numba compiles it faster, and every kernel shares this machine code.
Literal values come in as arguments typed by the generated code (``np.float32(0.0)``):
numba, like Python, would make float64 of a float32 expression and a Python literal.
"""

from __future__ import annotations

from typing import Any

import numba
import numpy as np

_JIT = numba.njit(error_model="numpy", cache=False, nogil=True)


@_JIT
def matmul_into(a: np.ndarray, b: np.ndarray, out: np.ndarray) -> None:
    """out = a @ b for 2-D arrays (BLAS through ``np.dot``)."""
    np.dot(a, b, out)


@_JIT
def linear_into(x: np.ndarray, w: np.ndarray, b: np.ndarray, out: np.ndarray) -> None:
    """out = x @ w + b for 2-D x and w and a bias of one row."""
    np.dot(x, w, out)
    bias = b.reshape((1, out.shape[1])) if b.ndim == 1 else b
    for i in range(out.shape[0]):
        for j in range(out.shape[1]):
            out[i, j] += bias[0, j]


@_JIT
def _row_shift(x: np.ndarray, i: int, zero: Any) -> Any:
    """Row i's maximum, or 0 where it is not finite (as eager softmax shifts)."""
    m = x[i, 0]
    for j in range(1, x.shape[1]):
        m = np.maximum(m, x[i, j])
    return m if np.isfinite(m) else zero


@_JIT
def _label(labels: np.ndarray, i: int, c: int) -> int:
    lab = labels[i]
    if lab < 0 or lab >= c:
        raise ValueError("softmax_cross_entropy: a label out of range [0, C)")
    return int(lab)


@_JIT
def softmax_ce(x: np.ndarray, labels: np.ndarray, zero: Any, n: Any) -> Any:
    """Mean over rows of logsumexp(x_i) - x_i[label_i], in x's dtype (``zero`` and the
    row count ``n`` come typed in it)."""
    loss = zero
    for i in range(x.shape[0]):
        lab = _label(labels, i, x.shape[1])
        m = _row_shift(x, i, zero)
        s = zero
        for j in range(x.shape[1]):
            s += np.exp(x[i, j] - m)
        loss += np.log(s) - (x[i, lab] - m)
    return loss / n


@_JIT
def softmax_ce_grad(x: np.ndarray, labels: np.ndarray, scale: Any, zero: Any, one: Any, out: np.ndarray) -> None:
    """out = (softmax(x) - onehot(labels)) * scale, row by row, in the order eager
    computes it (exp, divide by the row sum, subtract 1 at the label, scale)."""
    for i in range(x.shape[0]):
        lab = _label(labels, i, x.shape[1])
        m = _row_shift(x, i, zero)
        s = zero
        for j in range(x.shape[1]):
            e = np.exp(x[i, j] - m)
            out[i, j] = e
            s += e
        for j in range(x.shape[1]):
            out[i, j] = out[i, j] / s
        out[i, lab] -= one
        for j in range(x.shape[1]):
            out[i, j] = out[i, j] * scale


KERNELS = {"matmul_into": matmul_into, "linear_into": linear_into, "softmax_ce": softmax_ce,
           "softmax_ce_grad": softmax_ce_grad}
