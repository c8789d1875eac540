"""Fused kernels the generated code calls: several primitives' forwards in one function,
through the same NumPy calls on the same operands (so the same bits), sharing what the
separate forwards would each compute and writing into preallocated buffers.

Softmax cross-entropy's value and its gradient both start from ``exp(x - max(x))``
and its row sums: computed once here instead of twice. The shapes and dtypes are
guarded by the compiled program; the label values are checked at every call, as the
primitives check them, and a compiled call whose labels they would refuse (rows labelled
``ignore_index``, which ``cross_entropy`` hands to its general path) goes to the program
of the other case first (``taken_labels``, ``labels_taken``; see ``Jitted._replay``).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterator
from typing import Any

import numpy as np

from .. import primitives as P
from ..primitives_loss import _checked_labels, _sce_forward, _sce_grad_forward, labels_in_range, row_max
from .program import Op, Program, Ref, Value


def _check_values(x: np.ndarray, labels: np.ndarray) -> None:
    """Labels outside [0, C) fail as the primitive fails (a gather would wrap them around)."""
    if not labels_in_range(labels, x.shape[1]):
        _checked_labels(x, labels)


def sce_grad(x: np.ndarray, g: np.ndarray, labels: np.ndarray, offsets: np.ndarray,
             out: np.ndarray | None = None, scale: np.ndarray | None = None, check: bool = True) -> np.ndarray:
    """``softmax_cross_entropy_grad``'s forward into ``out`` (``offsets`` is ``arange(N) * C``;
    ``scale`` and ``check`` as for :func:`sce_value_and_grad`)."""
    if check:
        _check_values(x, labels)
    dest = np.empty_like(x) if out is None else out
    m = row_max(x)
    if not math.isfinite(np.add.reduce(m, axis=None)):  # an infinite or NaN row: the primitive's own path
        dest[...] = _sce_grad_forward(x, g, labels)
        return dest
    e = np.exp(np.subtract(x, m, out=dest), out=dest)
    s = np.add.reduce(e, axis=1, keepdims=True)
    _finish(e, s, grad_scale(x, g) if scale is None else scale, e.reshape(-1), np.add(labels, offsets, dtype=np.intp))
    return dest


def sce_value_and_grad(x: np.ndarray, g: np.ndarray, labels: np.ndarray, offsets: np.ndarray,
                       out: np.ndarray, scale: np.ndarray | None = None, check: bool = True) -> np.ndarray:
    """The loss of ``softmax_cross_entropy`` (returned, a 0-d array) and the forward of
    ``softmax_cross_entropy_grad`` (written into ``out``, which must not overlap ``x``),
    in the NumPy calls of those two forwards with the shared ones done once.

    A row whose max is infinite or NaN makes the shifted sum NaN, so the loss is not
    finite exactly when such a row exists: only then the primitives' own path runs.
    ``scale`` is ``grad_scale(x, g)`` when the program computed it once (a constant g);
    ``check=False`` (see ``trusting``) only when the caller has checked the labels."""
    if check:
        _check_values(x, labels)
    m = row_max(x)
    d = np.subtract(x, m, out=out)
    flat = out.reshape(-1)
    flat_index = np.add(labels, offsets, dtype=np.intp)
    picked = flat.take(flat_index)
    e = np.exp(d, out=out)
    s = np.add.reduce(e, axis=1, keepdims=True)
    total = np.add.reduce(np.log(s.reshape(-1)) - picked)
    if not math.isfinite(total):
        out[...] = _sce_grad_forward(x, g, labels)
        return _sce_forward(x, labels)
    _finish(e, s, grad_scale(x, g) if scale is None else scale, flat, flat_index)
    return np.asarray(total / x.dtype.type(x.shape[0]))


def grad_scale(x: np.ndarray, g: np.ndarray) -> np.ndarray:
    """g / N in x's dtype, as the gradient forward computes it."""
    scale: np.ndarray = np.asarray(g, dtype=x.dtype) / x.dtype.type(x.shape[0])
    return scale


def _finish(e: np.ndarray, s: np.ndarray, scale: np.ndarray, flat: np.ndarray, flat_index: np.ndarray) -> None:
    """``e`` becomes (e / s − onehot) · g / N in place, in the gradient forward's calls
    (``flat`` is e as one row, ``flat_index`` the labels' positions in it)."""
    np.divide(e, s, out=e)
    flat[flat_index] -= 1
    np.multiply(e, scale, out=e)


_FUSED = (P.softmax_cross_entropy_p, P.softmax_cross_entropy_grad_p)


def _label_inputs(program: Program) -> Iterator[tuple[Op, Value | None]]:
    """Each fused softmax cross-entropy op, with the input it reads its labels from (None:
    labels that are a constant or computed in the program)."""
    for op in program.ops:
        if op.prim in _FUSED:
            labels = op.params.get("labels")
            v = program.values[labels.index] if isinstance(labels, Ref) else None
            yield op, v if v is not None and v.kind == "input" and v.slot is not None else None


def taken_labels(program: Program) -> tuple[tuple[int, int], ...]:
    """The inputs the fused softmax cross-entropy reads as class labels, with the class
    count: (slot, C). Its kernels refuse labels outside [0, C), which the traced rule
    (``cross_entropy``) hands to its general path (rows labelled ``ignore_index``) or to
    its error: a call with such labels is the other case's, as when a guard fails."""
    found: dict[tuple[int, int], None] = {}
    for op, v in _label_inputs(program):
        if v is not None:
            assert v.slot is not None
            found[v.slot, program.values[op.args[0]].shape[-1]] = None
    return tuple(found)


def labels_all_taken(program: Program) -> bool:
    """Whether every fused softmax cross-entropy op of the program reads its labels from an
    input that ``taken_labels`` lists (not a constant, not a computed array)."""
    return all(v is not None for _, v in _label_inputs(program))


_TRUSTING = {id(k): (k, functools.partial(k, check=False)) for k in (sce_value_and_grad, sce_grad)}


def trusting(namespace: dict[str, Any]) -> dict[str, Any] | None:
    """A copy of generated code's globals in which the fused loss kernels skip their label
    check (None: no kernel there checks labels). For a caller that has checked, with
    ``labels_taken``, every label array the program's kernels take (``labels_all_taken``):
    the labels are then checked once per call instead of twice."""
    swapped = {}
    for name, value in namespace.items():
        hit = _TRUSTING.get(id(value))
        if hit is not None and hit[0] is value:
            swapped[name] = hit[1]
    return {**namespace, **swapped} if swapped else None


def labels_taken(taken: tuple[tuple[int, int], ...], arrays: list[np.ndarray], captured: list[Any]) -> bool:
    """Whether every input of ``taken`` (``taken_labels``: the arguments ``arrays``, then
    the ``captured`` Tensors) holds labels in [0, C), as the fused kernels take them."""
    n = len(arrays)
    return all(labels_in_range(arrays[slot] if slot < n else captured[slot - n]._data, c) for slot, c in taken)
