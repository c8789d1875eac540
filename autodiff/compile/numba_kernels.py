"""numba functions the generated kernels call (the ``fast`` extra; imports numba).

The matrix products, the softmax cross-entropy and the row-wise softmax, log-softmax
and logsumexp are compiled once per argument types for the whole process, so a
generated kernel holds only calls to them and its own elementwise loops: numba
compiles it faster, and every kernel shares this machine code. Literal values come in
as arguments typed by the generated code (``np.float32(0.0)``): numba, like Python,
would make float64 of a float32 expression and a Python literal.
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
    softmax_rows(x, zero, out)
    for i in range(x.shape[0]):
        out[i, _label(labels, i, x.shape[1])] -= one
        for j in range(x.shape[1]):
            out[i, j] = out[i, j] * scale


@_JIT
def softmax_rows(x: np.ndarray, zero: Any, out: np.ndarray) -> None:
    """out = exp(x - m) / Σ exp(x - m) along each row (m: the row's shift, as eager's)."""
    for i in range(x.shape[0]):
        m = _row_shift(x, i, zero)
        s = zero
        for j in range(x.shape[1]):
            e = np.exp(x[i, j] - m)
            out[i, j] = e
            s += e
        for j in range(x.shape[1]):
            out[i, j] = out[i, j] / s


@_JIT
def _row_log_sum(x: np.ndarray, i: int, m: Any, zero: Any) -> Any:
    s = zero
    for j in range(x.shape[1]):
        s += np.exp(x[i, j] - m)
    return np.log(s)


@_JIT
def log_softmax_rows(x: np.ndarray, zero: Any, out: np.ndarray) -> None:
    """out = (x - m) - log Σ exp(x - m) along each row."""
    for i in range(x.shape[0]):
        m = _row_shift(x, i, zero)
        ls = _row_log_sum(x, i, m, zero)
        for j in range(x.shape[1]):
            out[i, j] = (x[i, j] - m) - ls


@_JIT
def logsumexp_rows(x: np.ndarray, zero: Any, out: np.ndarray) -> None:
    """out[i] = log Σ exp(x[i] - m) + m."""
    for i in range(x.shape[0]):
        m = _row_shift(x, i, zero)
        out[i] = _row_log_sum(x, i, m, zero) + m


@_JIT
def check_index(i: Any, n: int, op: str) -> int:
    """An integer index into an axis of length n as NumPy takes it: negative counts from the end."""
    j = int(i)
    if j < 0:
        j += n
    if j < 0 or j >= n:
        raise IndexError("an index is out of range for its axis (in a numba kernel's getitem or scatter)")
    return j


KERNELS = {"check_index": check_index, "matmul_into": matmul_into, "linear_into": linear_into, "softmax_ce": softmax_ce,
           "softmax_ce_grad": softmax_ce_grad, "softmax_rows": softmax_rows, "log_softmax_rows": log_softmax_rows,
           "logsumexp_rows": logsumexp_rows}
