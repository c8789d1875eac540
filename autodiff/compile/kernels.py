"""Fused kernels the generated code calls: several primitives' forwards in one function,
through the same NumPy calls on the same operands (so the same bits), sharing what the
separate forwards would each compute and writing into preallocated buffers.

Softmax cross-entropy's value and its gradient both start from ``exp(x - max(x))``
and its row sums: computed once here instead of twice. The shapes and dtypes are
guarded by the compiled program; the label values are checked at every call, as the
primitives check them.
"""

from __future__ import annotations

import math

import numpy as np

from ..primitives_loss import _checked_labels, _sce_forward, _sce_grad_forward


def _check_values(x: np.ndarray, labels: np.ndarray) -> None:
    """Labels outside [0, C) fail as the primitive fails (a gather would wrap them around)."""
    if np.minimum.reduce(labels) < 0 or np.maximum.reduce(labels) >= x.shape[1]:
        _checked_labels(x, labels)


def sce_grad(x: np.ndarray, g: np.ndarray, labels: np.ndarray, rows: np.ndarray,
             out: np.ndarray | None = None) -> np.ndarray:
    """``softmax_cross_entropy_grad``'s forward into ``out`` (``rows`` is ``arange(N)``)."""
    dest = np.empty_like(x) if out is None else out
    sce_value_and_grad(x, g, labels, rows, dest, value=False)
    return dest


def sce_value_and_grad(x: np.ndarray, g: np.ndarray, labels: np.ndarray, rows: np.ndarray, out: np.ndarray,
                       value: bool = True) -> np.ndarray | None:
    """The loss of ``softmax_cross_entropy`` (returned, a 0-d array) and the forward of
    ``softmax_cross_entropy_grad`` (written into ``out``, which must not overlap ``x``),
    in the NumPy calls of those two forwards with the shared ones done once."""
    _check_values(x, labels)
    n = x.shape[0]
    m = np.maximum.reduce(x, axis=1, keepdims=True)
    if not math.isfinite(np.add.reduce(m, axis=None)):  # an infinite or NaN row: the primitives' own path
        out[...] = _sce_grad_forward(x, g, labels)
        return _sce_forward(x, labels) if value else None
    d = np.subtract(x, m, out=out)
    picked = d[rows, labels] if value else None
    e = np.exp(d, out=out)
    s = np.add.reduce(e, axis=1, keepdims=True)
    loss = None
    if picked is not None:
        total = np.add.reduce(np.log(s.reshape(n)) - picked)
        loss = np.asarray(total / x.dtype.type(n))
    np.divide(e, s, out=out)
    out[rows, labels] -= 1
    out *= np.asarray(g, dtype=x.dtype) / x.dtype.type(n)
    return loss
