"""Fused losses: one primitive where the composite would record a chain of nodes.

Softmax cross-entropy with integer labels is the loss of nearly every classifier; as a
composite it records log_softmax, a gather, a sum and a scale (four nodes forward, four
rules backward, one of them a scatter). As one primitive its rule is the textbook
(softmax(x) − onehot(labels))·g/N, still written in Tensor operations (softmax and
scatter), so second derivatives work as for every other entry.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from . import symforms as S
from .mode import state
from .primitive import defprim
from .primitives import Val
from .primitives_array import _shifted, scatter_p, softmax_p, sum_p
from .sampling import Case, Draw

_UNSIGNED = {np.dtype(t): np.dtype(t.replace("i", "u")) for t in ("i1", "i2", "i4", "i8")}


def labels_in_range(labels: np.ndarray, c: int) -> bool:
    """Whether every integer label is in [0, c). One reduction for native signed labels:
    read as unsigned integers, negative labels are larger than any class."""
    unsigned = _UNSIGNED.get(labels.dtype)
    if unsigned is not None:
        return bool(np.maximum.reduce(labels.view(unsigned), axis=None) < c)
    return bool(np.minimum.reduce(labels, axis=None) >= 0 and np.maximum.reduce(labels, axis=None) < c)


def row_max(x: np.ndarray) -> np.ndarray:
    """The max of each row of a 2-D array, shape (N, 1). A max is exact in any order, so
    narrow rows are reduced down the columns of a transposed copy: NumPy reduces a short
    contiguous axis row by row, 3-12x slower for 10 classes and 128-1024 rows."""
    n, c = x.shape
    if c <= 32 and n >= 16:
        m: np.ndarray = np.maximum.reduce(np.ascontiguousarray(x.T), axis=0)
        return m.reshape(n, 1)
    return np.maximum.reduce(x, axis=1, keepdims=True)


def _checked_labels(x: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Labels as a 1-D integer array of one entry per row of ``x`` with values in [0, C):
    anything else would index the wrong class silently (negative labels wrap around)."""
    labels = np.asarray(labels)
    if x.ndim != 2:
        raise ValueError(f"expected logits of shape (N, C), got shape {x.shape}")
    n, c = x.shape
    if labels.shape != (n,) or labels.dtype.kind not in "iu":
        raise ValueError(f"expected integer labels of shape ({n},) for logits of "
                         f"shape {x.shape}, got {labels.dtype} labels of shape {labels.shape}")
    if not n:
        raise ValueError(f"the mean over an empty batch is undefined (logits of shape "
                         f"{x.shape})")
    if not labels_in_range(labels, c):
        bad = labels[(labels < 0) | (labels >= c)]
        raise ValueError(f"softmax_cross_entropy: labels must be in [0, {c - 1}] for {c} classes, "
                         f"got {bad[:5].tolist()}")
    return labels


def _sce_forward(x: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """mean over rows of logsumexp(x_i) − x_i[labels_i], shifted by the row max (no overflow)."""
    labels = _checked_labels(x, labels)
    n = x.shape[0]
    m = row_max(x)
    if not math.isfinite(np.add.reduce(m, axis=None)):  # an infinite or NaN row: shifted as log_softmax shifts it
        d = _shifted(x, 1)[0]  # (by 0 where its max is not finite)
        with np.errstate(divide="ignore", invalid="ignore"):  # such a row's loss is inf or NaN, as it should
            loss = np.add.reduce(np.log(np.add.reduce(np.exp(d), axis=1)) - d[np.arange(n), labels])
        return np.asarray(loss / x.dtype.type(n))
    d = x - m
    e = np.exp(d)
    s = np.add.reduce(e, axis=1, keepdims=True)
    picks = _picks(x.shape, labels)
    out = np.asarray(np.add.reduce(np.log(s.reshape(n)) - d.reshape(-1)[picks]) / x.dtype.type(n))
    if state.grad_enabled and not state.raw:  # a recording forward: its backward may follow
        _LAST[0] = (out, x, e, s, picks)
    return out


def _picks(shape: tuple[int, ...], labels: np.ndarray) -> np.ndarray:
    """The flat positions of the elements (i, labels_i) of a C-ordered array of this (N, C)
    shape: one gather or scatter on the flat array (cheaper than indexing by two arrays)."""
    n, c = shape
    picks = np.arange(0, n * c, c)
    picks += labels if labels.dtype == picks.dtype else labels.astype(picks.dtype)
    return picks


_LAST: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None] = [None]
"""The most recent recording forward's (loss, logits, exp(logits − row max), row sums, flat
positions of the labels): its first-order backward divides instead of recomputing the
softmax (see _sce_rule). One entry, consumed once: a second backward through the node,
create_graph, or any other loss node takes softmax_cross_entropy_grad from scratch, with
the same bits."""


def _onehot(x: Val, labels: np.ndarray) -> Val:
    """Ones at (i, labels_i) in zeros of x's shape: a scatter, an operation of the table
    (so a compiled program recomputes it from each step's labels)."""
    n = x.shape[0]
    return scatter_p(np.ones(n, dtype=x.dtype), index=(np.arange(n), labels), shape=x.shape)


def _sce_rule(g: Val, z: Val, x: Val, labels: np.ndarray) -> Val:
    last = _LAST[0]
    if last is not None and last[0] is z:  # the node the last forward made: its softmax is half done
        _LAST[0] = None
        if last[1] is x and type(g) is np.ndarray:  # a plain backward (ndarrays), not create_graph
            # (labels: the node's copy of the ones the forward checked, see primitive._kept)
            return _sce_grad_tail(x, last[2], last[3], g, labels, last[4])
    return softmax_cross_entropy_grad_p(x, g, labels=labels)


def _sce_objects(sp: Any, x: np.ndarray, labels: np.ndarray) -> np.ndarray:
    lp = S.log_softmax_objects(sp, x, 1)
    n = x.shape[0]
    return S.objects(-sp.Add(*[lp[i, int(labels[i])] for i in range(n)]) / n)


def _sce_case(draw: Draw, dtype: Any) -> Case:
    n, c = draw.integers(1, 3), draw.integers(1, 4)
    labels = np.array([draw.integers(0, c - 1) for _ in range(n)], dtype=np.int64)
    return Case([draw.floats((n, c), -4, 4, dtype)], {"labels": labels})


# ------------------------------------------------- its gradient, as one primitive
def _sce_grad_forward(x: np.ndarray, g: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """(softmax(x) − onehot(labels)) · g / N in the hand-written steps' seven NumPy calls."""
    labels = _checked_labels(x, labels)
    m = row_max(x)
    if math.isfinite(np.add.reduce(m, axis=None)):
        e = np.exp(x - m)
    else:  # an infinite or NaN row: shifted as softmax shifts it
        e = np.exp(_shifted(x, 1)[0])
    return _sce_grad_tail(x, e, np.add.reduce(e, axis=1, keepdims=True), g, labels)


def _sce_grad_tail(x: np.ndarray, e: np.ndarray, s: np.ndarray, g: np.ndarray, labels: np.ndarray,
                   picks: np.ndarray | None = None) -> np.ndarray:
    """(e / s − onehot(labels)) · g / N, in e's own memory (an array nothing else holds);
    ``picks``: the labels' flat positions (``_picks``), when the caller has them."""
    n = x.shape[0]
    p: np.ndarray = np.divide(e, s, out=e)
    if p.flags.c_contiguous:  # (its flat reshape is a view: the scatter writes p itself)
        p.reshape(-1)[_picks(p.shape, labels) if picks is None else picks] -= 1
    else:
        p[np.arange(n), labels] -= 1
    p *= np.asarray(g, dtype=x.dtype) / x.dtype.type(n)
    return p


def _sce_grad_gx(gg: Val, z: Val, x: Val, g: Val, labels: np.ndarray) -> Val:
    """d/dx of (softmax(x) − onehot)·g/N against gg: softmax's own rule, scaled by g/N."""
    p = softmax_p(x, axis=1)
    return p * (gg - sum_p(gg * p, axis=1, keepdims=True)) * (g * (1.0 / x.shape[0]))


def _sce_grad_gg(gg: Val, z: Val, x: Val, g: Val, labels: np.ndarray) -> Val:
    """d/dg: Σ gg ⊙ (softmax(x) − onehot) / N."""
    return sum_p(gg * (softmax_p(x, axis=1) - _onehot(x, labels)), axis=None, keepdims=False) * (1.0 / x.shape[0])


def _sce_grad_objects(sp: Any, x: np.ndarray, g: np.ndarray, labels: np.ndarray) -> np.ndarray:
    lp = S.log_softmax_objects(sp, x, 1)
    n, c = x.shape
    scale = S.objects(g)[()] / n
    out = np.empty((n, c), dtype=object)
    for i in range(n):
        for j in range(c):
            out[i, j] = (sp.exp(lp[i, j]) - (1 if j == int(labels[i]) else 0)) * scale
    return out


def _sce_grad_case(draw: Draw, dtype: Any) -> Case:
    case = _sce_case(draw, dtype)
    return Case([case.args[0], draw.floats((), -2, 2, dtype)], case.params)


softmax_cross_entropy_grad_p = defprim(
    "softmax_cross_entropy_grad", _sce_grad_forward, _sce_grad_gx, _sce_grad_gg, sympy_array=_sce_grad_objects,
    sample=_sce_grad_case,
    doc="The gradient of softmax_cross_entropy as an operation: (softmax(x) − onehot(labels)) · g / N for logits "
        "x (N, C) and a scalar g.  d/dx = softmax's rule applied to the upstream gradient, times g/N; "
        "d/dg = Σ upstream ⊙ (softmax(x) − onehot) / N")


softmax_cross_entropy_p = defprim(
    "softmax_cross_entropy", _sce_forward, _sce_rule, sympy_array=_sce_objects, sample=_sce_case,
    doc="Mean softmax cross-entropy of logits x (N, C) at integer labels (N,): "
        "(1/N) Σᵢ (log Σⱼ exp xᵢⱼ − xᵢ,labelsᵢ), stable for |x| = 1e4.  "
        "d/dx = (softmax(x) − onehot(labels)) · g / N")

__all__ = ["softmax_cross_entropy_grad_p", "softmax_cross_entropy_p"]
