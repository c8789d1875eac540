"""Public functions: the primitives that take parameters (axis, shape, index, ...) with
NumPy's signatures, and composites built from primitives, which need no derivative code.
"""

from __future__ import annotations

import builtins
import math
from typing import Any

import numpy as np

from . import primitives as P
from .tensor import Tensor


# ------------------------------------------------ the table's primitives with params
def _normalize_index(index: Any) -> tuple:
    """Tensors to arrays, lists to integer arrays, boolean masks to their nonzero indices."""
    if not isinstance(index, tuple):
        index = (index,)
    out: list = []
    for i in index:
        if isinstance(i, Tensor):
            i = i._data
        elif isinstance(i, list):
            i = np.asarray(i)
        if isinstance(i, np.ndarray) and i.dtype == bool and i.ndim > 0:
            out.extend(np.nonzero(i))
        elif isinstance(i, np.ndarray) and i.dtype.kind not in "iu":
            raise IndexError(f"getitem: index arrays must be integer or boolean, got dtype {i.dtype}")
        else:
            out.append(i)
    return tuple(out)


def getitem(x, index) -> Tensor:
    """``x[index]`` with ints, slices, None, ..., integer and boolean arrays."""
    return P.getitem_p(x, index=_normalize_index(index))


def where(cond, a, b) -> Tensor:
    """Elementwise ``a`` where ``cond`` else ``b``.

    The gradient is selected, not multiplied, so the branch not taken gets exact
    zeros. If a branch itself has an infinite derivative where it is not taken
    (``sqrt(x)`` at 0, ``log(x)`` at x <= 0), guard its input with a second
    ``where`` (``sqrt(where(x > 0, x, 1))``) so no NaN reaches the sum.
    """
    if not isinstance(cond, Tensor):
        cond = Tensor._leaf(np.asarray(cond, dtype=bool))
    return P.where_p(cond, a, b)


def sum(x, axis=None, keepdims: bool = False) -> Tensor:  # noqa: A001
    """Sum over ``axis`` (int, tuple or None).

    >>> import autodiff as ad
    >>> ad.sum(ad.Tensor([[1.0, 2.0], [3.0, 4.0]]), axis=0)
    Tensor([4., 6.])
    """
    return P.sum_p(x, axis=P._axis(axis), keepdims=keepdims)


def max(x, axis=None, keepdims: bool = False) -> Tensor:  # noqa: A001
    """Maximum over ``axis``; tied maxima share the gradient equally."""
    return P.max_p(x, axis=P._axis(axis), keepdims=keepdims)


def min(x, axis=None, keepdims: bool = False) -> Tensor:  # noqa: A001
    """Minimum over ``axis``; tied minima share the gradient equally."""
    return P.min_p(x, axis=P._axis(axis), keepdims=keepdims)


def reshape(x, shape) -> Tensor:
    """``x`` with a new shape (one entry may be -1)."""
    return P.reshape_p(x, shape=tuple(shape) if isinstance(shape, (list, tuple)) else (shape,))


def transpose(x, axes=None) -> Tensor:
    """Permute the axes of ``x`` (reverse them when ``axes`` is None)."""
    return P.transpose_p(x, axes=None if axes is None else tuple(axes))


def broadcast_to(x, shape) -> Tensor:
    """``x`` broadcast to ``shape`` (the gradient sums back)."""
    return P.broadcast_to_p(x, shape=tuple(shape))


def clip(x, lo=None, hi=None) -> Tensor:
    """Limit values to [lo, hi]; the gradient passes where lo <= x <= hi (as torch.clamp)."""
    return P.clip_p(x, lo=lo, hi=hi)


def astype(x, dtype) -> Tensor:
    """Cast ``x`` to ``dtype``; the gradient is cast back."""
    return P.astype_p(x, dtype=np.dtype(dtype))


def linear(x, weight, bias=None) -> Tensor:
    """``x @ weight + bias`` for ``weight`` of shape (in_features, out_features), as one node.

    >>> import autodiff as ad
    >>> ad.linear(ad.Tensor([[1.0, 2.0]]), ad.Tensor([[1.0], [1.0]], requires_grad=True), ad.Tensor([0.5]))
    Tensor([[3.5]], op=linear, requires_grad=True)
    """
    if np.ndim(weight) != 2:
        raise ValueError(f"linear: weight must be 2-D (in_features, out_features), got shape {np.shape(weight)}")
    return P.matmul(x, weight) if bias is None else P.linear_p(x, weight, bias)


def concatenate(tensors, axis: int = 0) -> Tensor:
    """Join tensors along an existing axis."""
    return P.concatenate_p(*tensors, axis=axis)


def stack(tensors, axis: int = 0) -> Tensor:
    """Join tensors along a new axis."""
    return P.stack_p(*tensors, axis=axis)


def _einsum_spec(subscripts: str, shapes: list[tuple[int, ...]]) -> tuple[tuple[str, ...], str]:
    """Explicit letters for every operand and the output (``...`` expanded, the implicit
    output made explicit), checked against the operands' dimensions."""
    text = subscripts.replace(" ", "")
    lhs, arrow, out = text.partition("->")
    terms = lhs.split(",")
    if len(terms) != len(shapes):
        raise ValueError(f"einsum: {subscripts!r} names {len(terms)} operands, got {len(shapes)}")
    letters = {c for c in text if c.isalpha()}
    free = [c for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz" if c not in letters]
    widths = [len(shape) - (len(t) - 3) for t, shape in zip(terms, shapes, strict=True) if "..." in t]
    ellipsis = "".join(free[:builtins.max(widths, default=0)])
    expanded = []
    for k, (t, shape) in enumerate(zip(terms, shapes, strict=True)):
        if "..." in t:
            t = t.replace("...", ellipsis[len(ellipsis) - (len(shape) - (len(t) - 3)):])
        if len(t) != len(shape) or not t.isalpha():
            raise ValueError(f"einsum: operand {k} has shape {shape} but subscripts {terms[k]!r}")
        expanded.append(t)
    if arrow:
        out = out.replace("...", ellipsis)
    else:  # NumPy's implicit output: the ellipsis, then letters used once, in order
        joined = "".join(expanded)
        out = ellipsis + "".join(sorted(c for c in set(joined) if joined.count(c) == 1 and c not in ellipsis))
    unknown = set(out) - set("".join(expanded))
    if unknown:
        raise ValueError(f"einsum: output letters {sorted(unknown)} appear in no operand of {subscripts!r}")
    return tuple(expanded), out


def einsum(subscripts: str, *operands: Any) -> Tensor:
    """NumPy's ``einsum``, differentiable in every operand (ellipses and diagonals too).

    >>> import autodiff as ad
    >>> ad.einsum("ij,j->i", ad.Tensor([[1.0, 2.0], [3.0, 4.0]]), ad.Tensor([1.0, 1.0]))
    Tensor([3., 7.])
    """
    return P.einsum_p(*operands, spec=_einsum_spec(subscripts, [np.shape(o) for o in operands]))


def _count(x, axis) -> int:
    shape = np.shape(x)
    return math.prod(shape[a] for a in P._axes_set(shape, axis))


def mean(x, axis=None, keepdims: bool = False) -> Tensor:
    """Arithmetic mean over ``axis``.

    >>> import autodiff as ad
    >>> ad.mean(ad.Tensor([1.0, 2.0, 6.0]))
    Tensor(3.)
    """
    return P.sum_p(x, axis=P._axis(axis), keepdims=keepdims) / _count(x, axis)


def var(x, axis=None, keepdims: bool = False) -> Tensor:
    """Variance over ``axis`` (NumPy's ddof=0)."""
    d = x - mean(x, axis=axis, keepdims=True)
    return mean(d * d, axis=axis, keepdims=keepdims)


def logsumexp(x, axis=None, keepdims: bool = False) -> Tensor:
    """log(sum(exp(x))) over ``axis``, stable for logits of any magnitude.

    >>> import autodiff as ad
    >>> round(ad.logsumexp(ad.Tensor([1e4, 1e4])).item() - 1e4, 6)     # log 2, no overflow
    0.693147
    """
    return P.logsumexp_p(x, axis=P._axis(axis), keepdims=keepdims)


def softmax(x, axis: int = -1) -> Tensor:
    """exp(x) / sum(exp(x)) along ``axis``; stable for logits of magnitude 1e4."""
    return P.softmax_p(x, axis=axis)


def log_softmax(x, axis: int = -1) -> Tensor:
    """log(softmax(x)) computed as x - logsumexp(x): no overflow, no log(0)."""
    return P.log_softmax_p(x, axis=axis)


def leaky_relu(x, alpha: float = 0.01) -> Tensor:
    """x for x > 0, alpha * x otherwise."""
    return where(x > 0, x, x * alpha)


def elu(x, alpha: float = 1.0) -> Tensor:
    """x for x > 0, alpha * (exp(x) - 1) otherwise (exp sees only x <= 0, so never overflows)."""
    negative = P.minimum(x, 0)
    return where(x > 0, x, (P.exp(negative) - 1) * alpha)


def relu6(x) -> Tensor:
    """min(max(x, 0), 6); the gradient is 1 on (0, 6) and 0 elsewhere, as in PyTorch."""
    return where(x < 6, P.relu(x), 6)


def dot(a, b) -> Tensor:
    """NumPy's ``dot``: matmul for 1-D and 2-D, a sum over the last axis of ``a`` and
    the second-to-last of ``b`` for higher dimensions."""
    if np.ndim(a) <= 2 and np.ndim(b) <= 2:
        if np.ndim(a) == 0 or np.ndim(b) == 0:
            return a * b
        return P.matmul(a, b)
    return tensordot(a, b, axes=([np.ndim(a) - 1], [np.ndim(b) - 2 if np.ndim(b) > 1 else 0]))


def tensordot(a, b, axes=2) -> Tensor:
    """NumPy's ``tensordot`` composed of transpose, reshape and one matmul."""
    if not isinstance(a, Tensor):
        a = Tensor(a)
    if not isinstance(b, Tensor):
        b = Tensor(b)
    if isinstance(axes, int):
        axes_a, axes_b = list(range(a.ndim - axes, a.ndim)), list(range(axes))
    else:
        axes_a = [ax % a.ndim for ax in np.atleast_1d(axes[0])]
        axes_b = [ax % b.ndim for ax in np.atleast_1d(axes[1])]
    for i, j in zip(axes_a, axes_b, strict=True):
        if a.shape[i] != b.shape[j]:
            raise ValueError(f"tensordot: shapes {a.shape} and {b.shape} are not aligned on axes {axes_a}, {axes_b}")
    free_a = [i for i in range(a.ndim) if i not in axes_a]
    free_b = [j for j in range(b.ndim) if j not in axes_b]
    k = math.prod(a.shape[i] for i in axes_a)
    a2 = P.reshape_p(P.transpose_p(a, axes=tuple(free_a + axes_a)), shape=(-1, k))
    b2 = P.reshape_p(P.transpose_p(b, axes=tuple(axes_b + free_b)), shape=(k, -1))
    out_shape = tuple(a.shape[i] for i in free_a) + tuple(b.shape[j] for j in free_b)
    return P.reshape_p(a2 @ b2, shape=out_shape)


def flatten(x) -> Tensor:
    """All elements as a 1-D tensor."""
    return P.reshape_p(x, shape=(-1,))


def squeeze(x, axis=None) -> Tensor:
    """Drop axes of length one (all of them, or those named by ``axis``)."""
    shape = np.shape(x)
    if axis is None:
        new = tuple(n for n in shape if n != 1)
    else:
        axes = P._axes_set(shape, axis)
        for a in axes:
            if shape[a] != 1:
                raise ValueError(f"squeeze: axis {a} of shape {shape} has length {shape[a]}, not 1")
        new = tuple(n for i, n in enumerate(shape) if i not in axes)
    return P.reshape_p(x, shape=new)


def expand_dims(x, axis) -> Tensor:
    """Insert axes of length one at the positions ``axis`` (int or tuple)."""
    shape = np.shape(x)
    axes = axis if isinstance(axis, (tuple, list)) else (axis,)
    ndim = len(shape) + len(axes)
    positions = sorted(a % ndim for a in axes)
    new = list(shape)
    for a in positions:
        new.insert(a, 1)
    return P.reshape_p(x, shape=tuple(new))


def swapaxes(x, axis1: int, axis2: int) -> Tensor:
    """Exchange two axes."""
    axes = list(range(np.ndim(x)))
    axes[axis1], axes[axis2] = axes[axis2], axes[axis1]
    return P.transpose_p(x, axes=tuple(axes))
