"""In-place operations: ``+= -= *= /= **=``, ``t[i] = v`` and PyTorch's ``add_``-style methods.

Every one computes its result out of place and writes it into the tensor's memory,
then bumps the version counter (shared with views and ``detach()``), so a graph that
saved the old values refuses to backpropagate through them. What happens depends on
whether the write must be recorded (gradients enabled and the tensor or the value
requires grad), following PyTorch:

* nothing to record (plain data, or inside ``no_grad``): the memory is updated, so
  ``with ad.no_grad(): w -= lr * w.grad`` is an optimizer step;
* a leaf that requires grad, while recording: refused (update it under ``no_grad``);
* an interior node or a plain tensor given a value that requires grad: recorded. The
  tensor becomes the output of the operation, whose input is a copy of the old node,
  so gradients flow to the old history and to the value.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from .mode import no_grad, state
from .versions import EPOCH, bump_version, version_of

if TYPE_CHECKING:
    from typing_extensions import Self

    from .aliases import TensorLike

_F: Any = None  # bound by tensor.py once Tensor and the function tables exist
_P: Any = None
_Tensor: Any = None


def bind(tensor_cls: type, functions: Any, primitives: Any) -> None:
    """Give this module the Tensor class and the function tables (imported after Tensor)."""
    global _Tensor, _F, _P
    _Tensor, _F, _P = tensor_cls, functions, primitives


def _records(t: Any, args: tuple[Any, ...]) -> bool:
    if not state.grad_enabled:
        return False
    if t.requires_grad:
        return True
    return any(isinstance(a, _Tensor) and a.requires_grad for a in args)


def _refuse_leaf(t: Any, op: str) -> None:
    if t.requires_grad and t.prim is None:
        raise RuntimeError(
            f"{op}: a leaf tensor that requires grad cannot be modified in place while gradients are "
            f"recorded (as in PyTorch); do the update inside `with ad.no_grad():`"
        )


def _snapshot(t: Any) -> Any:
    """A copy of ``t`` as a node: the old value and history, for the recorded operation to consume."""
    old = _Tensor._leaf(t._data.copy())
    old.requires_grad, old.prim, old.parents, old.saved = t.requires_grad, t.prim, t.parents, t.saved
    old._vers, old.name, old._site = t._vers, t.name, t._site
    old._vc = [version_of(t), None, 0]  # (fresh memory, never written: the old node's output stays valid)
    return old


def _write(t: Any, values: np.ndarray, op: str) -> None:
    data = t._data
    if values.shape != data.shape:
        raise ValueError(f"{op}: the result has shape {values.shape}, which does not fit in place into a "
                         f"tensor of shape {data.shape}")
    if not data.flags.writeable:
        raise ValueError(f"{op}: this tensor's memory is read-only (a broadcast view, or a read-only array "
                         f"given to from_numpy); clone() it first")
    try:
        np.copyto(data, values, casting="same_kind")
    except TypeError as e:
        raise TypeError(f"{op}: cannot store {values.dtype} results in a {data.dtype} tensor in place: {e}") from None
    bump_version(t, op)


def _adopt(t: Any, result: Any) -> None:
    """``t`` (whose memory now holds ``result``'s values) becomes ``result``'s node."""
    t.prim, t.parents, t.saved, t.requires_grad = result.prim, result.parents, result.saved, result.requires_grad
    used = result._vers if type(result._vers) is not tuple else result._vers[1]
    t._vers = (EPOCH[0], used)  # its output as just written; its inputs as the result read them


def apply_inplace(t: Any, op: str, compute: Callable[..., Any], *args: Any) -> Any:
    """Write ``compute(t, *args)`` (out of place, same shape) into ``t``; record it when needed."""
    if not _records(t, args):
        with no_grad():
            result = compute(t, *args)
        _write(t, np.asarray(result._data if isinstance(result, _Tensor) else result), op)
        return t
    _refuse_leaf(t, op)
    result = compute(_snapshot(t), *args)
    if result.dtype != t.dtype:
        result = _P.astype_p(result, dtype=t.dtype)
    _write(t, result._data, op)
    _adopt(t, result)
    return t


def _scaled(other: TensorLike, alpha: float) -> Any:
    """``alpha * other`` for add_/sub_; a list or tuple becomes an array first (``[1, 2] * 2``
    would repeat the list)."""
    if alpha == 1:
        return other
    if isinstance(other, (list, tuple)):
        other = np.asarray(other)
    return other * alpha  # type: ignore[operator]  # TensorLike's scalars and arrays all take * float


def _filled(old: Any, value: Any) -> Any:
    return _F.broadcast_to(_P.astype_p(value, dtype=old.dtype) if isinstance(value, _Tensor) else
                           _Tensor._leaf(np.asarray(value, dtype=old.dtype)), old.shape)


def _setitem(t: Any, index: Any, value: Any) -> None:
    from .axes import normalize_index

    idx = normalize_index(index, t.shape)
    if not _records(t, (value,)):
        if not t._data.flags.writeable:
            raise ValueError("setitem: this tensor's memory is read-only (a broadcast view, or a read-only array "
                             "given to from_numpy); clone() it first")
        v = value._data if isinstance(value, _Tensor) else np.asarray(value)
        try:
            t._data[idx] = v
        except (ValueError, IndexError, TypeError) as e:
            raise type(e)(f"setitem: cannot assign a value of shape {np.shape(v)} to index {index!r} of a tensor "
                          f"with shape {t.shape}: {e}") from None
        bump_version(t, "setitem")
        return
    mask = np.zeros(t.shape, dtype=bool)
    mask[idx] = True
    target = t._data[idx].shape
    if int(mask.sum()) != int(np.prod(target)):
        raise ValueError(f"setitem: index {index!r} names some elements more than once; with gradients "
                         f"recorded the assignment would be ambiguous (as PyTorch's index_put_)")

    def compute(old: Any, value: Any) -> Any:
        v = _F.broadcast_to(_P.astype_p(value, dtype=old.dtype) if isinstance(value, _Tensor) else
                            _Tensor._leaf(np.asarray(value, dtype=old.dtype)), target)
        return _P.where_p(_Tensor._leaf(mask), _P.scatter_p(v, index=idx, shape=old.shape), old)

    apply_inplace(t, "setitem", compute, value)


class InplaceMethods:
    """In-place operators and methods of Tensor (a mixin)."""

    __slots__ = ()

    def __iadd__(self, other: TensorLike) -> Self:
        apply_inplace(self, "+=", _P.add, other)
        return self

    def __isub__(self, other: TensorLike) -> Self:
        apply_inplace(self, "-=", _P.sub, other)
        return self

    def __imul__(self, other: TensorLike) -> Self:
        apply_inplace(self, "*=", _P.mul, other)
        return self

    def __itruediv__(self, other: TensorLike) -> Self:
        apply_inplace(self, "/=", _P.div, other)
        return self

    def __ipow__(self, other: TensorLike) -> Self:
        apply_inplace(self, "**=", _P.pow, other)
        return self

    def __setitem__(self, index: Any, value: TensorLike) -> None:
        _setitem(self, index, value)

    def add_(self, other: TensorLike, alpha: float = 1) -> Self:
        """``self += alpha * other`` in place; returns self."""
        apply_inplace(self, "add_", _P.add, _scaled(other, alpha))
        return self

    def sub_(self, other: TensorLike, alpha: float = 1) -> Self:
        """``self -= alpha * other`` in place; returns self."""
        apply_inplace(self, "sub_", _P.sub, _scaled(other, alpha))
        return self

    def mul_(self, other: TensorLike) -> Self:
        """``self *= other`` in place; returns self."""
        apply_inplace(self, "mul_", _P.mul, other)
        return self

    def div_(self, other: TensorLike) -> Self:
        """``self /= other`` in place; returns self."""
        apply_inplace(self, "div_", _P.div, other)
        return self

    def clamp_(self, min: TensorLike | None = None,  # noqa: A002  (PyTorch's argument names)
               max: TensorLike | None = None) -> Self:  # noqa: A002
        """Limit the values to [min, max] in place; returns self."""
        apply_inplace(self, "clamp_", lambda t: _F.clip(t, min, max))
        return self

    def fill_(self, value: TensorLike) -> Self:
        """Set every element to ``value`` (a number or a one-element tensor) in place; returns self."""
        apply_inplace(self, "fill_", _filled, value)
        return self

    def zero_(self) -> Self:
        """Set every element to zero in place; returns self."""
        apply_inplace(self, "zero_", _filled, 0)
        return self

    def copy_(self, src: TensorLike) -> Self:
        """Copy ``src`` (broadcast to this shape) into this tensor in place; returns self."""
        apply_inplace(self, "copy_", _filled, src)
        return self
