"""Tensor: an ndarray plus the graph node that produced it.

A Tensor holds its parents and the primitive that made it, never a closure, so a
graph has no reference cycles and is freed by reference counting as soon as its
root is dropped. Operators only dispatch to the primitive table (primitives.py).

Version counters (as PyTorch's): every write through the API (``+=``, ``t[i] = v``,
``copy_``, ``.data = ...``) bumps a counter shared by the tensors that share memory
(``detach()``, views made by reshape/transpose/basic indexing). A node remembers its
inputs' versions; backward refuses to use an input that changed since. Arrays handed
out (``.data``, ``.numpy()``, ``np.asarray(t)``) are read-only views, so memory can only
change through the API; the constructor copies arrays (``ad.from_numpy`` shares).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, NoReturn

import numpy as np

from .inplace import InplaceMethods
from .interop import ArrayInterop
from .mode import state
from .operators import Operators
from .tensor_math import MathMethods
from .tensor_methods import TensorMethods
from .versions import bump_version, share_version


def _contains_tensor(data: list[Any] | tuple[Any, ...]) -> bool:
    stack = [data]
    while stack:
        for e in stack.pop():
            if isinstance(e, Tensor):
                return True
            if isinstance(e, (list, tuple)):
                stack.append(e)
    return False


def _to_array(data: Any, dtype: Any = None) -> np.ndarray:
    """Convert user data to a fresh ndarray: Python numbers/lists get the default float dtype."""
    if isinstance(data, Tensor):
        data = data._data
    if dtype is not None:
        try:
            arr = np.array(data, dtype=dtype)
        except (TypeError, ValueError) as e:
            raise TypeError(f"Tensor: cannot convert {type(data).__name__} to {np.dtype(dtype)}: {e}") from None
    elif isinstance(data, (np.ndarray, np.generic)):
        arr = np.array(data)
    else:
        try:
            arr = np.array(data)
        except ValueError as e:  # ragged lists
            raise TypeError(f"Tensor: cannot build an array from this {type(data).__name__}: {e}") from None
        if arr.dtype.kind in "biu" or (arr.dtype.kind == "f" and arr.dtype != state.default_dtype):
            arr = arr.astype(state.default_dtype)
    if arr.dtype.kind not in "biufc":
        raise TypeError(f"Tensor: unsupported dtype {arr.dtype} (data must be numeric, got {type(data).__name__})")
    return arr


def _left_graph(t: Tensor, how: str) -> None:
    """Inside a transform, note a differentiated value converted to plain data (see transforms)."""
    if t.requires_grad and state.escapes is not None:
        state.escapes.append((t, how))


def _stack_nested(data: list[Any] | tuple[Any, ...], dtype: Any = None) -> Tensor:
    """A (nested) list holding Tensors as one Tensor whose graph records the stacking."""
    if not data:
        raise TypeError("Tensor: cannot stack an empty list")
    try:
        out: Tensor = stack_p(*data, axis=0)
    except ValueError as e:
        raise ValueError(f"Tensor: the nested list holding Tensors is ragged (NumPy refuses it too): {e}") from None
    if dtype is not None and out.dtype != np.dtype(dtype):
        out = _P.astype_p(out, dtype=np.dtype(dtype))
    return out


def as_tensor(value: Any) -> Tensor:
    """``value`` as a Tensor: Tensors unchanged, lists holding Tensors stacked
    differentiably, anything else converted as the constructor does."""
    if isinstance(value, Tensor):
        return value
    if isinstance(value, (list, tuple)) and _contains_tensor(value):
        return _stack_nested(value)
    return Tensor(value)


class Tensor(Operators, TensorMethods, MathMethods, InplaceMethods, ArrayInterop):
    """An n-dimensional array that records the operations applied to it.

    >>> x = Tensor([1.0, 2.0, 3.0], requires_grad=True, name="x")
    >>> y = (x * x).sum()
    >>> y.backward()
    >>> x.grad.numpy()
    array([2., 4., 6.])
    """

    __slots__ = (
        "_data", "grad", "requires_grad", "prim", "parents", "saved", "name", "_site", "_retain",
        "_vc", "_vers", "_hooks", "__weakref__",
    )
    __hash__ = object.__hash__
    _data: np.ndarray
    grad: Tensor | None
    requires_grad: bool
    prim: Any
    parents: tuple[Tensor, ...]
    saved: dict[str, Any] | None
    name: str | None
    _site: Any
    _retain: bool
    _vc: Any
    _vers: Any
    _hooks: list[Callable[[Tensor], Any]] | None

    def __init__(self, data: Any, requires_grad: bool = False, name: str | None = None, dtype: Any = None) -> None:
        self.grad = None
        self.name = name
        self._site = None
        self._retain = False
        self._hooks = None
        if isinstance(data, (list, tuple)) and _contains_tensor(data):
            node = _stack_nested(data, dtype)
            self._data, self.prim, self.parents, self.saved = node._data, node.prim, node.parents, node.saved
            self.requires_grad, self._vc, self._vers = node.requires_grad, node._vc, node._vers
            if requires_grad and not node.requires_grad:
                self.requires_grad_(True)
            return
        self.requires_grad = False
        self.prim = None
        self.parents = ()
        self.saved = None
        self._vc = None
        self._vers = None
        if isinstance(data, Tensor) and (dtype is None or np.dtype(dtype) == data.dtype):
            self._data = data._data  # a leaf sharing the Tensor's memory and version counter (as detach)
            share_version(data, self)
        else:
            self._data = _to_array(data, dtype)
        if requires_grad:
            self.requires_grad_(True)

    @staticmethod
    def _leaf(data: np.ndarray) -> Tensor:
        t = object.__new__(Tensor)
        t._data = data
        t.grad = None
        t.requires_grad = False
        t.prim = None
        t.parents = ()
        t.saved = None
        t.name = None
        t._site = None
        t._retain = False
        t._vc = None
        t._vers = None
        t._hooks = None
        return t

    # ------------------------------------------------------------------ data
    def _readonly(self) -> np.ndarray:
        view: np.ndarray = self._data.view()
        view.flags.writeable = False
        return view

    @property
    def data(self) -> np.ndarray:
        """The values, as a read-only view (write with ``t[...] = v`` under ``no_grad``,
        or assign ``t.data = array``: both are counted as in-place writes). An assigned
        array is used as is, not copied (as PyTorch's ``.data =``): later writes through
        that array itself are not seen by the version counter."""
        _left_graph(self, ".data")
        return self._readonly()

    @data.setter
    def data(self, value: Any) -> None:
        arr = np.asarray(value._data if isinstance(value, Tensor) else value)
        if arr.shape != self._data.shape:
            raise ValueError(f"Tensor.data: new array has shape {arr.shape}, tensor has shape {self._data.shape}")
        if self.requires_grad and arr.dtype.kind != "f":
            raise TypeError(f"Tensor.data: a tensor that requires grad needs floating-point data, "
                            f"got dtype {arr.dtype}")
        bump_version(self, "data assignment")
        self._vc = list(self._vc)  # the new array is shared with no other tensor
        self._data = arr

    def numpy(self, writable: bool = False) -> np.ndarray:
        """The values as an ndarray sharing memory: a read-only view by default.

        ``writable=True`` returns the array itself for an immediate in-place update
        (optimizers use it); it counts as an in-place write now, so graphs that saved
        this tensor refuse to backpropagate through the old values.
        """
        _left_graph(self, ".numpy()")
        if writable:
            if not self._data.flags.writeable:
                raise ValueError("numpy(writable=True): this tensor's data is read-only (a broadcast view or "
                                 "a read-only array given to from_numpy); clone() it first")
            bump_version(self, "numpy(writable=True)")
            return self._data
        return self._readonly()

    def __array__(self, dtype: Any = None, copy: bool | None = None) -> np.ndarray:
        _left_graph(self, "np.asarray()")
        if dtype is not None and dtype != self._data.dtype:
            return self._data.astype(dtype)
        return self._data.copy() if copy else self._readonly()

    @property
    def shape(self) -> tuple[int, ...]:
        """The array's shape."""
        return self._data.shape

    @property
    def ndim(self) -> int:
        """The number of axes."""
        return self._data.ndim

    @property
    def size(self) -> int:
        """The number of elements (NumPy's int; ``t.size()`` explains PyTorch's spelling)."""
        return _Size(self._data.size)

    @property
    def dtype(self) -> np.dtype:
        """The array's dtype."""
        return self._data.dtype

    def item(self) -> float:
        """The value of a single-element tensor as a Python number."""
        if self._data.size != 1:
            raise ValueError(f"item: only single-element tensors convert to a Python number, got shape {self.shape}")
        _left_graph(self, ".item() / float() / math.*")
        value: float = self._data.item()
        return value

    def __len__(self) -> int:
        if self._data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return len(self._data)

    def __iter__(self) -> Iterator[Tensor]:
        for i in range(len(self)):
            yield self[i]

    def __bool__(self) -> bool:
        if self._data.size != 1:
            raise ValueError(f"the truth value of a tensor with shape {self.shape} is ambiguous")
        return bool(self._data)

    def __float__(self) -> float:
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    def __repr__(self) -> str:
        body = np.array2string(self._data, separator=", ", prefix="Tensor(", threshold=20)
        extras = []
        if self._data.dtype != state.default_dtype:
            extras.append(f"dtype={self._data.dtype}")
        if self.prim is not None:
            extras.append(f"op={self.prim.name}")
        if self.requires_grad:
            extras.append("requires_grad=True")
        if self.name is not None:
            extras.append(f"name={self.name!r}")
        return "Tensor(" + ", ".join([body, *extras]) + ")"

    def _repr_html_(self) -> str:
        from .display import tensor_html

        return tensor_html(self)

    # ----------------------------------------------------------------- graph
    @property
    def op(self) -> str | None:
        """The name of the primitive that produced this tensor (None for a leaf)."""
        return None if self.prim is None else self.prim.name

    @property
    def grad_fn(self) -> Any:
        """The primitive that produced this tensor (None for a leaf), as PyTorch's ``grad_fn``."""
        return self.prim

    @property
    def is_leaf(self) -> bool:
        """True for tensors not produced by a recorded operation."""
        return self.prim is None

    def requires_grad_(self, flag: bool = True) -> Tensor:
        """Set ``requires_grad`` in place on a leaf; real floating-point tensors only. Returns self."""
        if flag and self._data.dtype.kind != "f":
            kind = "complex tensors are not supported by autodiff" if self._data.dtype.kind == "c" else \
                "only floating-point tensors can require gradients"
            raise TypeError(f"requires_grad: {kind}, got dtype {self._data.dtype}")
        if not flag and self.prim is not None:
            raise RuntimeError("requires_grad_: cannot turn off gradients of a non-leaf tensor; use .detach()")
        self.requires_grad = bool(flag)
        return self

    def detach(self) -> Tensor:
        """A new leaf sharing this tensor's data (and version counter), cut from the graph."""
        t = Tensor._leaf(self._data)
        share_version(self, t)
        return t

    def retain_grad(self) -> Tensor:
        """Ask backward to keep this (interior) tensor's gradient in ``.grad``."""
        self._retain = True
        return self

    def register_hook(self, hook: Callable[[Tensor], Any]) -> _HookHandle:
        """Call ``hook(grad)`` when this tensor's gradient is computed; a Tensor it returns
        replaces the gradient (as PyTorch). Returns a handle whose ``remove()`` drops it.

        >>> x = Tensor([1.0, 2.0], requires_grad=True)
        >>> h = x.register_hook(lambda g: g * 10)
        >>> (x * x).sum().backward()
        >>> x.grad
        Tensor([20., 40.])
        """
        if not self.requires_grad:
            raise RuntimeError("register_hook: cannot register a hook on a tensor that does not require grad")
        self._hooks = [*(self._hooks or ()), hook]  # a new list: a compiled program compares it by identity
        return _HookHandle(self, hook)

    def zero_grad(self) -> None:
        """Forget the accumulated gradient (``.grad = None``)."""
        self.grad = None

    def backward(self, grad: Any = None, retain_graph: bool | None = None, create_graph: bool = False) -> None:
        """Accumulate d(self)/d(leaf) into every leaf's ``.grad``.

        ``grad`` may be omitted only for a single-element tensor. With
        ``create_graph=True`` the gradients are themselves differentiable.
        ``retain_graph`` is accepted for PyTorch compatibility: the graph is always kept.
        """
        _engine.backward([self], None if grad is None else [grad], create_graph=create_graph)


class _Size(int):
    """NumPy's ``.size`` (an int) that explains itself when called like PyTorch's ``size()``."""

    def __call__(self, dim: int | None = None) -> NoReturn:
        raise TypeError("Tensor.size is NumPy's number of elements (an int), not a method: "
                        "use t.shape (or t.shape[dim]) for PyTorch's t.size()")


class _HookHandle:
    """Returned by ``register_hook``; ``remove()`` unregisters the hook."""

    def __init__(self, tensor: Tensor, hook: Callable[[Tensor], Any]) -> None:
        self._tensor, self._hook = tensor, hook

    def remove(self) -> None:
        """Unregister the hook (no error if it is already gone)."""
        hooks = self._tensor._hooks
        if hooks is not None and self._hook in hooks:
            i = hooks.index(self._hook)
            self._tensor._hooks = hooks[:i] + hooks[i + 1:] or None  # (a new list, as register_hook makes)


def tensor(data: Any, requires_grad: bool = False, name: str | None = None, dtype: Any = None) -> Tensor:
    """Build a Tensor; the same as ``Tensor(...)``. A list holding Tensors is stacked
    differentiably; arrays are copied (``ad.from_numpy`` shares memory).

    >>> tensor([1, 2]).dtype      # Python numbers get the default float dtype
    dtype('float64')
    """
    return Tensor(data, requires_grad=requires_grad, name=name, dtype=dtype)


# operators dispatch to the table, defined after Tensor; the method mixins reach it the same way
from . import (  # noqa: E402
    engine as _engine,
    functions as _F,
    inplace as _inplace_module,
    interop as _interop_module,
    operators as _operators_module,
    primitives as _P,
    tensor_methods as _methods_module,
)
from .primitives_array import stack_p  # noqa: E402

for _module in (_operators_module, _methods_module, _inplace_module, _interop_module):
    _module.bind(Tensor, _F, _P)
