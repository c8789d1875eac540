"""Public functions: the primitives that take parameters (axis, shape, index, ...) with
NumPy's signatures, and composites built from primitives, which need no derivative code.
"""

from __future__ import annotations

import builtins
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import DTypeLike

from . import primitives as P, sampling as S
from .aliases import Axis, TensorLike
from .axes import alias, axis_keepdims, check_axis, normalize_axis, normalize_index
from .primitive import composite
from .tensor import Tensor, as_tensor


def _tensor(x: Any) -> Tensor:
    return x if isinstance(x, Tensor) else as_tensor(x)


def getitem(x: TensorLike, index: Any) -> Tensor:
    """``x[index]`` with ints, slices, None, ..., integer and boolean arrays."""
    x = _tensor(x)
    return P.getitem_p(x, index=normalize_index(index, x.shape))


def _truthy(c: np.ndarray) -> np.ndarray:
    return np.asarray(c, dtype=bool)


def where(cond: TensorLike, a: TensorLike, b: TensorLike) -> Tensor:
    """Elementwise ``a`` where ``cond`` else ``b``.

    The gradient is selected, not multiplied, so the branch not taken gets exact
    zeros. If a branch itself has an infinite derivative where it is not taken
    (``sqrt(x)`` at 0, ``log(x)`` at x <= 0), guard its input with a second
    ``where`` (``sqrt(where(x > 0, x, 1))``) so no NaN reaches the sum.
    No gradient flows into ``cond`` (the selection is piecewise constant in it): a
    condition that is a float Tensor is read as NumPy does (nonzero is True).
    """
    if isinstance(cond, Tensor) and cond.dtype != bool:
        from .compile.decide import derive

        cond = derive(_truthy, cond)  # an op of a compiled program, never a constant
    elif not isinstance(cond, Tensor):
        cond = Tensor._leaf(np.asarray(np.asarray(cond), dtype=bool))
    return P.where_p(cond, a, b)


def _reduction(op: str, x: Any, axis: Any, keepdims: Any,
               aliases: dict[str, Any]) -> tuple[Tensor, int | tuple[int, ...] | None, bool]:
    """The operand as a Tensor and NumPy-checked ``axis``/``keepdims`` (aliases resolved)."""
    x = _tensor(x)
    axis, keepdims = axis_keepdims(op, axis, keepdims, aliases)
    return x, check_axis(op, x.ndim, axis), keepdims


def sum(x: TensorLike, axis: Axis = None, keepdims: bool = False, **aliases: Any) -> Tensor:  # noqa: A001
    """Sum over ``axis`` (int, tuple or None).

    >>> import autodiff as ad
    >>> ad.sum(ad.Tensor([[1.0, 2.0], [3.0, 4.0]]), axis=0)
    Tensor([4., 6.])
    """
    x, axis, keepdims = _reduction("sum", x, axis, keepdims, aliases)
    return P.sum_p(x, axis=axis, keepdims=keepdims)


def max(x: TensorLike, axis: Axis = None, keepdims: bool = False, **aliases: Any) -> Tensor:  # noqa: A001
    """Maximum over ``axis`` (``dim=``/``keepdim=`` too); tied maxima share the gradient equally.

    Unlike PyTorch's ``max(dim=...)`` this returns the values only; ``argmax`` gives the indices.
    """
    x, axis, keepdims = _reduction("max", x, axis, keepdims, aliases)
    return P.max_p(x, axis=axis, keepdims=keepdims)


def min(x: TensorLike, axis: Axis = None, keepdims: bool = False, **aliases: Any) -> Tensor:  # noqa: A001
    """Minimum over ``axis`` (values only; ``argmin`` gives the indices); ties share the gradient."""
    x, axis, keepdims = _reduction("min", x, axis, keepdims, aliases)
    return P.min_p(x, axis=axis, keepdims=keepdims)


def reshape(x: TensorLike, shape: int | Sequence[int]) -> Tensor:
    """``x`` with a new shape (one entry may be -1)."""
    return P.reshape_p(x, shape=tuple(shape) if isinstance(shape, (list, tuple)) else (shape,))


def transpose(x: TensorLike, axes: Sequence[int] | None = None) -> Tensor:
    """Permute the axes of ``x`` (reverse them when ``axes`` is None); negative axes count
    from the end, as in NumPy."""
    x = _tensor(x)
    if axes is None:
        return P.transpose_p(x, axes=None)
    perm = tuple(normalize_axis(a, x.ndim, "transpose") for a in axes)
    if sorted(perm) != list(range(x.ndim)):
        raise ValueError(f"transpose: axes {tuple(axes)} are not a permutation of the {x.ndim} axes of shape {x.shape}")
    return P.transpose_p(x, axes=perm)


def broadcast_to(x: TensorLike, shape: Sequence[int]) -> Tensor:
    """``x`` broadcast to ``shape`` (the gradient sums back)."""
    return P.broadcast_to_p(x, shape=tuple(shape))


def clip(x: TensorLike, lo: TensorLike | None = None, hi: TensorLike | None = None, *,
         a_min: TensorLike | None = None, a_max: TensorLike | None = None,
         min: TensorLike | None = None, max: TensorLike | None = None) -> Tensor:  # noqa: A002
    """Limit values to [lo, hi] (NumPy's ``a_min``/``a_max`` or PyTorch's ``min``/``max`` too).

    With number (or array) bounds the gradient passes where lo <= x <= hi (as
    torch.clamp). Bounds that are Tensors are differentiable too: each element's
    gradient goes to whichever of x, lo, hi is its result (the primitive ``clip_bounds``).

    >>> import autodiff as ad
    >>> x, lo = ad.Tensor([-2.0, 0.5, 3.0], requires_grad=True), ad.Tensor(-1.0, requires_grad=True)
    >>> ad.clip(x, lo, 1.0).sum().backward()
    >>> x.grad, lo.grad
    (Tensor([0., 1., 0.]), Tensor(1.))
    """
    lo = alias("clip", alias("clip", lo, a_min, "lo", "a_min", None), min, "lo", "min", None)
    hi = alias("clip", alias("clip", hi, a_max, "hi", "a_max", None), max, "hi", "max", None)
    if lo is None and hi is None:
        raise ValueError("clip: give at least one bound (lo or hi)")
    if isinstance(lo, Tensor) or isinstance(hi, Tensor):
        from .primitives_piecewise import clip_bounds

        return clip_bounds(_tensor(x), -np.inf if lo is None else lo, np.inf if hi is None else hi)
    return P.clip_p(x, lo=lo, hi=hi)


def astype(x: TensorLike, dtype: DTypeLike) -> Tensor:
    """Cast ``x`` to ``dtype``; the gradient is cast back."""
    return P.astype_p(x, dtype=np.dtype(dtype))


def linear(x: TensorLike, weight: TensorLike, bias: TensorLike | None = None) -> Tensor:
    """``x @ weight + bias`` for ``weight`` of shape (in_features, out_features), as one node.

    >>> import autodiff as ad
    >>> ad.linear(ad.Tensor([[1.0, 2.0]]), ad.Tensor([[1.0], [1.0]], requires_grad=True), ad.Tensor([0.5]))
    Tensor([[3.5]], op=linear, requires_grad=True)
    """
    if (weight._data.ndim if isinstance(weight, Tensor) else np.ndim(weight)) != 2:
        raise ValueError(f"linear: weight must be 2-D (in_features, out_features), got shape {np.shape(weight)}")
    return P.matmul(x, weight) if bias is None else P.linear_p(x, weight, bias)


def _joined(op: str, tensors: Any, axis: Any, dim: Any) -> tuple[list[Tensor], int]:
    if isinstance(tensors, Tensor) or not isinstance(tensors, (list, tuple)) or not tensors:
        raise TypeError(f"{op}: expects a non-empty list or tuple of tensors, got {type(tensors).__name__}")
    return [_tensor(t) for t in tensors], alias(op, axis, dim, "axis", "dim", 0)


def concatenate(tensors: Sequence[TensorLike], axis: int = 0, *, dim: int | None = None) -> Tensor:
    """Join tensors along an existing axis (``dim=`` too)."""
    ts, axis = _joined("concatenate", tensors, axis, dim)
    return P.concatenate_p(*ts, axis=axis)


def stack(tensors: Sequence[TensorLike], axis: int = 0, *, dim: int | None = None) -> Tensor:
    """Join tensors along a new axis (``dim=`` too)."""
    ts, axis = _joined("stack", tensors, axis, dim)
    return P.stack_p(*ts, axis=axis)


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
        if len(t) != len(shape) or not (t.isalpha() or t == ""):
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


def _sublists(first: Any, rest: tuple[Any, ...]) -> tuple[str, tuple[Any, ...]]:
    """NumPy's sublist form ``(op0, sub0, op1, sub1, ..., [out])`` as subscripts and operands."""
    items = (first, *rest)
    ops, subs = list(items[0::2]), list(items[1::2])
    out = ops.pop() if len(ops) > len(subs) else None
    letters = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"

    def text(sub: Any) -> str:
        if not isinstance(sub, (list, tuple)):
            raise TypeError(f"einsum: subscripts must be a string ('ij,jk->ik') or, in the sublist form "
                            f"einsum(x, [0, 1], y, [1, 2]), lists of ints; got a {type(sub).__name__} as a sublist")
        word = ""
        for s in sub:
            if s is Ellipsis:
                word += "..."
            elif isinstance(s, (int, np.integer)) and not isinstance(s, bool) and 0 <= s < len(letters):
                word += letters[int(s)]
            else:
                raise ValueError(f"einsum: sublist entries must be ints in [0, {len(letters)}) or Ellipsis, got {s!r}")
        return word

    spec = ",".join(text(s) for s in subs) + ("" if out is None else "->" + text(out))
    return spec, tuple(ops)


def einsum(subscripts: Any, *operands: Any) -> Tensor:
    """NumPy's ``einsum``, differentiable in every operand (ellipses and diagonals too);
    the sublist form ``einsum(x, [0, 1], y, [1, 2], [0, 2])`` works as in NumPy.

    >>> import autodiff as ad
    >>> ad.einsum("ij,j->i", ad.Tensor([[1.0, 2.0], [3.0, 4.0]]), ad.Tensor([1.0, 1.0]))
    Tensor([3., 7.])
    """
    if not isinstance(subscripts, str):  # the sublist form: einsum(x, [0, 1], y, [1, 2], [0, 2])
        subscripts, operands = _sublists(subscripts, operands)
    ts = [_tensor(o) for o in operands]
    return P.einsum_p(*ts, spec=_einsum_spec(subscripts, [t.shape for t in ts]))


def _count(shape: tuple[int, ...], axis: int | tuple[int, ...] | None) -> int:
    return math.prod(shape[a] for a in P._axes_set(shape, axis))


@composite(sample=S.reduction())
def mean(x: TensorLike, axis: Axis = None, keepdims: bool = False, **aliases: Any) -> Tensor:
    """Arithmetic mean over ``axis``.

    >>> import autodiff as ad
    >>> ad.mean(ad.Tensor([1.0, 2.0, 6.0]))
    Tensor(3.)
    """
    x, axis, keepdims = _reduction("mean", x, axis, keepdims, aliases)
    return P.sum_p(x, axis=axis, keepdims=keepdims) / _count(x.shape, axis)


@composite(sample=S.reduction())
def var(x: TensorLike, axis: Axis = None, keepdims: bool = False, ddof: float = 0, *,
        correction: float | None = None, **aliases: Any) -> Tensor:
    """Variance over ``axis``: Σ (x - mean)² / (n - ddof), NumPy's ddof=0 by default
    (``correction=`` is NumPy 2's and PyTorch's name for ddof; ``dim=``/``keepdim=`` too).

    >>> import autodiff as ad
    >>> ad.var(ad.Tensor([1.0, 2.0, 3.0, 4.0, 5.0]), ddof=1)
    Tensor(2.5)
    """
    x, axis, keepdims = _reduction("var", x, axis, keepdims, aliases)
    ddof = alias("var", ddof, correction, "ddof", "correction", 0)
    if isinstance(ddof, bool) or not isinstance(ddof, (int, float, np.integer, np.floating)):
        raise TypeError(f"var: ddof must be a number, got {type(ddof).__name__} {ddof!r}")
    n = _count(x.shape, axis)
    if n - ddof <= 0:
        raise ValueError(f"var: {n} elements per slice and ddof={ddof} leave no degrees of freedom "
                         f"(shape {x.shape}, axis={axis}); NumPy would return nan or inf here")
    d = x - P.sum_p(x, axis=axis, keepdims=True) / n
    return P.sum_p(d * d, axis=axis, keepdims=keepdims) / (n - ddof)


def logsumexp(x: TensorLike, axis: Axis = None, keepdims: bool = False, **aliases: Any) -> Tensor:
    """log(sum(exp(x))) over ``axis``, stable for logits of any magnitude.

    >>> import autodiff as ad
    >>> round(ad.logsumexp(ad.Tensor([1e4, 1e4])).item() - 1e4, 6)     # log 2, no overflow
    0.693147
    """
    x, axis, keepdims = _reduction("logsumexp", x, axis, keepdims, aliases)
    return P.logsumexp_p(x, axis=axis, keepdims=keepdims)


def _normalisation(op: str, x: Any, axis: Any, dim: Any) -> tuple[Tensor, int]:
    x = _tensor(x)
    axis = alias(op, axis, dim, "axis", "dim", -1)
    return x, normalize_axis(axis, x.ndim, op)


def softmax(x: TensorLike, axis: int = -1, *, dim: int | None = None) -> Tensor:
    """exp(x) / sum(exp(x)) along ``axis`` (``dim=`` too); stable for logits of magnitude 1e4."""
    x, axis = _normalisation("softmax", x, axis, dim)
    return P.softmax_p(x, axis=axis)


def log_softmax(x: TensorLike, axis: int = -1, *, dim: int | None = None) -> Tensor:
    """log(softmax(x)) computed as x - logsumexp(x): no overflow, no log(0)."""
    x, axis = _normalisation("log_softmax", x, axis, dim)
    return P.log_softmax_p(x, axis=axis)


@composite(sample=S.with_params(S.elementwise(kinks=(0,)), alpha=0.1), conventions="leaky_relu'(0) = alpha")
def leaky_relu(x: TensorLike, alpha: float = 0.01) -> Tensor:
    """x for x > 0, alpha * x otherwise."""
    x = _tensor(x)
    return where(x > 0, x, x * alpha)


@composite(sample=S.with_params(S.elementwise(kinks=(0,)), alpha=1.5), conventions="elu'(0) = alpha")
def elu(x: TensorLike, alpha: float = 1.0) -> Tensor:
    """x for x > 0, alpha * (exp(x) - 1) otherwise (exp sees only x <= 0, so never overflows);
    elu'(0) = alpha, the left branch, as PyTorch."""
    x = _tensor(x)
    negative = where(x > 0, 0.0, x)  # a select, not minimum: minimum's tie at 0 would halve elu'(0)
    return where(x > 0, x, (P.exp(negative) - 1) * alpha)


@composite(sample=S.elementwise(-2, 8, kinks=(0, 6)), conventions="relu6'(0) = relu6'(6) = 0")
def relu6(x: TensorLike) -> Tensor:
    """min(max(x, 0), 6); the gradient is 1 on (0, 6) and 0 elsewhere, as in PyTorch."""
    x = _tensor(x)
    return where(x < 6, P.relu(x), 6)


@composite(sample=S.dot_pair)
def dot(a: TensorLike, b: TensorLike) -> Tensor:
    """NumPy's ``dot``: matmul for 1-D and 2-D, a sum over the last axis of ``a`` and
    the second-to-last of ``b`` for higher dimensions."""
    a, b = _tensor(a), _tensor(b)
    if a.ndim == 0 or b.ndim == 0:
        return a * b
    if a.ndim <= 2 and b.ndim <= 2:
        return P.matmul(a, b)
    return tensordot(a, b, axes=([a.ndim - 1], [b.ndim - 2 if b.ndim > 1 else 0]))


@composite(sample=S.tensordot_pair)
def tensordot(a: TensorLike, b: TensorLike, axes: int | Sequence[int | Sequence[int]] = 2) -> Tensor:
    """NumPy's ``tensordot`` composed of transpose, reshape and one matmul."""
    a, b = _tensor(a), _tensor(b)
    if isinstance(axes, (int, np.integer)):
        if not 0 <= axes <= builtins.min(a.ndim, b.ndim):
            raise ValueError(f"tensordot: axes={axes} is out of range for shapes {a.shape} and {b.shape}")
        axes_a, axes_b = list(range(a.ndim - axes, a.ndim)), list(range(axes))
    else:
        axes_a = [normalize_axis(int(ax), a.ndim, "tensordot") for ax in np.atleast_1d(axes[0])]
        axes_b = [normalize_axis(int(ax), b.ndim, "tensordot") for ax in np.atleast_1d(axes[1])]
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


@composite(sample=S.elementwise())
def flatten(x: TensorLike) -> Tensor:
    """All elements as a 1-D tensor."""
    return P.reshape_p(x, shape=(-1,))


@composite(sample=S.with_unit_axes)
def squeeze(x: TensorLike, axis: Axis = None, *, dim: Axis = None) -> Tensor:
    """Drop axes of length one (all of them, or those named by ``axis``; ``dim=`` too)."""
    x = _tensor(x)
    shape = x.shape
    axis = alias("squeeze", axis, dim, "axis", "dim", None)
    if not shape and axis in (0, -1, (0,), (-1,)):  # NumPy accepts these on a 0-d array
        axis = None
    if axis is None:
        new = tuple(n for n in shape if n != 1)
    else:
        axes = check_axis("squeeze", len(shape), axis)
        axes = axes if isinstance(axes, tuple) else (axes,)
        for a in axes:
            if shape[a] != 1:
                raise ValueError(f"squeeze: axis {a} of shape {shape} has length {shape[a]}, not 1")
        new = tuple(n for i, n in enumerate(shape) if i not in axes)
    return P.reshape_p(x, shape=new)


@composite(sample=S.new_axis)
def expand_dims(x: TensorLike, axis: Axis = None, *, dim: Axis = None) -> Tensor:
    """Insert axes of length one at the positions ``axis`` (int or tuple; ``dim=`` too)."""
    x = _tensor(x)
    shape = x.shape
    axis = alias("expand_dims", axis, dim, "axis", "dim", None)
    if axis is None:
        raise TypeError("expand_dims: missing the axis argument")
    axes = axis if isinstance(axis, (tuple, list)) else (axis,)
    positions = check_axis("expand_dims", len(shape) + len(axes), tuple(axes))
    new = list(shape)
    for a in sorted(positions):
        new.insert(a, 1)
    return P.reshape_p(x, shape=tuple(new))


@composite(sample=S.axis_pair)
def swapaxes(x: TensorLike, axis1: int, axis2: int) -> Tensor:
    """Exchange two axes."""
    x = _tensor(x)
    axes = list(range(x.ndim))
    axis1, axis2 = normalize_axis(axis1, x.ndim, "swapaxes"), normalize_axis(axis2, x.ndim, "swapaxes")
    axes[axis1], axes[axis2] = axes[axis2], axes[axis1]
    return P.transpose_p(x, axes=tuple(axes))
