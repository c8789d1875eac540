"""Tensor: an ndarray plus the graph node that produced it.

A Tensor holds its parents and the primitive that made it, never a closure, so a
graph has no reference cycles and is freed by reference counting as soon as its
root is dropped. Operators only dispatch to the primitive table (primitives.py).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .mode import state

_FLOAT_KINDS = "fc"


def _to_array(data: Any, dtype: Any = None) -> np.ndarray:
    """Convert user data to an ndarray: Python numbers/lists get the default float dtype."""
    if isinstance(data, Tensor):
        data = data._data
    if dtype is not None:
        try:
            arr = np.asarray(data, dtype=dtype)
        except (TypeError, ValueError) as e:
            raise TypeError(f"Tensor: cannot convert {type(data).__name__} to {np.dtype(dtype)}: {e}") from None
    elif isinstance(data, np.ndarray):
        arr = data
    elif isinstance(data, np.generic):
        arr = np.asarray(data)
    else:
        try:
            arr = np.asarray(data)
        except ValueError as e:  # ragged lists
            raise TypeError(f"Tensor: cannot build an array from this {type(data).__name__}: {e}") from None
        if arr.dtype.kind in "biu":
            arr = arr.astype(state.default_dtype)
        elif arr.dtype.kind == "f" and arr.dtype != state.default_dtype:
            arr = arr.astype(state.default_dtype)
    if arr.dtype.kind not in "biufc":
        raise TypeError(f"Tensor: unsupported dtype {arr.dtype} (data must be numeric, got {type(data).__name__})")
    return arr


def _left_graph(t: Tensor, how: str) -> None:
    """Inside a transform, note a differentiated value converted to plain data (see transforms)."""
    if t.requires_grad and state.escapes is not None:
        state.escapes.append((t, how))


class Tensor:
    """An n-dimensional array that records the operations applied to it.

    >>> x = Tensor([1.0, 2.0, 3.0], requires_grad=True, name="x")
    >>> y = (x * x).sum()
    >>> y.backward()
    >>> x.grad.numpy()
    array([2., 4., 6.])
    """

    __slots__ = (
        "_data", "grad", "requires_grad", "prim", "parents", "saved", "name", "_site", "_retain", "__weakref__",
    )
    __array_ufunc__ = None  # make ``ndarray * Tensor`` defer to Tensor.__rmul__
    __hash__ = object.__hash__

    def __init__(self, data: Any, requires_grad: bool = False, name: str | None = None, dtype: Any = None) -> None:
        self._data = _to_array(data, dtype)
        self.grad: Tensor | None = None
        self.requires_grad = False
        self.prim = None
        self.parents: tuple[Tensor, ...] = ()
        self.saved: dict | None = None
        self.name = name
        self._site = None
        self._retain = False
        if requires_grad:
            self.requires_grad_(True)

    # ------------------------------------------------------------------ data
    @property
    def data(self) -> np.ndarray:
        """The underlying ndarray. Assigning replaces it (same shape required)."""
        _left_graph(self, ".data")
        return self._data

    @data.setter
    def data(self, value: Any) -> None:
        arr = value._data if isinstance(value, Tensor) else np.asarray(value)
        if arr.shape != self._data.shape:
            raise ValueError(f"Tensor.data: new array has shape {arr.shape}, tensor has shape {self._data.shape}")
        self._data = arr

    def numpy(self) -> np.ndarray:
        """The underlying ndarray (shared, not copied)."""
        _left_graph(self, ".numpy()")
        return self._data

    def __array__(self, dtype: Any = None, copy: bool | None = None) -> np.ndarray:
        _left_graph(self, "np.asarray()")
        if dtype is not None and dtype != self._data.dtype:
            return self._data.astype(dtype)
        return self._data.copy() if copy else self._data

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
        """The number of elements."""
        return self._data.size

    @property
    def dtype(self) -> np.dtype:
        """The array's dtype."""
        return self._data.dtype

    def item(self) -> float:
        """The value of a single-element tensor as a Python number."""
        if self._data.size != 1:
            raise ValueError(f"item: only single-element tensors convert to a Python number, got shape {self.shape}")
        _left_graph(self, ".item() / float() / math.*")
        return self._data.item()

    def __len__(self) -> int:
        if self._data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return len(self._data)

    def __iter__(self):
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
    def is_leaf(self) -> bool:
        """True for tensors not produced by a recorded operation."""
        return self.prim is None

    def requires_grad_(self, flag: bool = True) -> Tensor:
        """Set ``requires_grad`` in place on a leaf; floats only. Returns self."""
        if flag and self._data.dtype.kind not in _FLOAT_KINDS:
            raise TypeError(
                f"requires_grad: only floating-point tensors can require gradients, got dtype {self._data.dtype}"
            )
        if not flag and self.prim is not None:
            raise RuntimeError("requires_grad_: cannot turn off gradients of a non-leaf tensor; use .detach()")
        self.requires_grad = bool(flag)
        return self

    def detach(self) -> Tensor:
        """A new leaf sharing this tensor's data, cut from the graph."""
        return Tensor._leaf(self._data)

    def retain_grad(self) -> Tensor:
        """Ask backward to keep this (interior) tensor's gradient in ``.grad``."""
        self._retain = True
        return self

    def zero_grad(self) -> None:
        """Forget the accumulated gradient (``.grad = None``)."""
        self.grad = None

    def backward(self, grad: Any = None, retain_graph: bool | None = None, create_graph: bool = False) -> None:
        """Accumulate d(self)/d(leaf) into every leaf's ``.grad``.

        ``grad`` may be omitted only for a single-element tensor. With
        ``create_graph=True`` the gradients are themselves differentiable.
        ``retain_graph`` is accepted for PyTorch compatibility: the graph is always kept.
        """
        from .engine import backward

        backward([self], None if grad is None else [grad], create_graph=create_graph)

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
        return t

    # ------------------------------------------------------------- operators
    def __add__(self, other):
        return _P.add(self, other)

    def __radd__(self, other):
        return _P.add(other, self)

    def __sub__(self, other):
        return _P.sub(self, other)

    def __rsub__(self, other):
        return _P.sub(other, self)

    def __mul__(self, other):
        return _P.mul(self, other)

    def __rmul__(self, other):
        return _P.mul(other, self)

    def __truediv__(self, other):
        return _P.div(self, other)

    def __rtruediv__(self, other):
        return _P.div(other, self)

    def __pow__(self, other):
        return _P.pow(self, other)

    def __rpow__(self, other):
        return _P.pow(other, self)

    def __matmul__(self, other):
        return _P.matmul(self, other)

    def __rmatmul__(self, other):
        return _P.matmul(other, self)

    def __neg__(self):
        return _P.neg(self)

    def __pos__(self):
        return self

    def __abs__(self):
        return _P.abs(self)

    def __getitem__(self, index):
        return _F.getitem(self, index)

    # Comparisons and logic give boolean tensors that carry no gradient.
    def __lt__(self, other):
        return _compare(np.less, self, other)

    def __le__(self, other):
        return _compare(np.less_equal, self, other)

    def __gt__(self, other):
        return _compare(np.greater, self, other)

    def __ge__(self, other):
        return _compare(np.greater_equal, self, other)

    def __eq__(self, other):  # type: ignore[override]
        return _compare(np.equal, self, other)

    def __ne__(self, other):  # type: ignore[override]
        return _compare(np.not_equal, self, other)

    def __and__(self, other):
        return _compare(np.logical_and, self, other)

    def __or__(self, other):
        return _compare(np.logical_or, self, other)

    def __invert__(self):
        return Tensor._leaf(np.logical_not(self._data))

    # ------------------------------------------------------ NumPy-like methods
    def sum(self, axis=None, keepdims: bool = False) -> Tensor:
        """Sum over ``axis`` (int, tuple or None for all)."""
        return _F.sum(self, axis=axis, keepdims=keepdims)

    def mean(self, axis=None, keepdims: bool = False) -> Tensor:
        """Arithmetic mean over ``axis``."""
        return _F.mean(self, axis=axis, keepdims=keepdims)

    def max(self, axis=None, keepdims: bool = False) -> Tensor:
        """Maximum over ``axis``; ties share the gradient equally."""
        return _F.max(self, axis=axis, keepdims=keepdims)

    def min(self, axis=None, keepdims: bool = False) -> Tensor:
        """Minimum over ``axis``; ties share the gradient equally."""
        return _F.min(self, axis=axis, keepdims=keepdims)

    def var(self, axis=None, keepdims: bool = False) -> Tensor:
        """Variance over ``axis`` with NumPy's ddof=0."""
        return _F.var(self, axis=axis, keepdims=keepdims)

    def reshape(self, *shape) -> Tensor:
        """Same data in a new shape: ``t.reshape(2, 3)`` or ``t.reshape((2, 3))``."""
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        return _F.reshape(self, shape=shape)

    def transpose(self, *axes) -> Tensor:
        """Permute axes (reverse them when none are given)."""
        if len(axes) == 1 and isinstance(axes[0], (tuple, list)):
            axes = tuple(axes[0])
        return _F.transpose(self, axes=axes or None)

    @property
    def T(self) -> Tensor:
        """The transpose (axes reversed)."""
        return _F.transpose(self, axes=None)

    def swapaxes(self, axis1: int, axis2: int) -> Tensor:
        """Exchange two axes."""
        return _F.swapaxes(self, axis1, axis2)

    def flatten(self) -> Tensor:
        """A 1-D view of all elements."""
        return _F.reshape(self, shape=(-1,))

    def squeeze(self, axis=None) -> Tensor:
        """Drop axes of length one."""
        return _F.squeeze(self, axis)

    def expand_dims(self, axis) -> Tensor:
        """Insert an axis of length one at ``axis``."""
        return _F.expand_dims(self, axis)

    def astype(self, dtype) -> Tensor:
        """Cast to ``dtype`` (differentiable between float dtypes)."""
        return _F.astype(self, dtype=np.dtype(dtype))

    def exp(self) -> Tensor:
        """Elementwise e**x."""
        return _P.exp(self)

    def log(self) -> Tensor:
        """Elementwise natural logarithm."""
        return _P.log(self)

    def sqrt(self) -> Tensor:
        """Elementwise square root."""
        return _P.sqrt(self)

    def tanh(self) -> Tensor:
        """Elementwise hyperbolic tangent."""
        return _P.tanh(self)

    def sigmoid(self) -> Tensor:
        """Elementwise 1 / (1 + exp(-x)), stable for large |x|."""
        return _P.sigmoid(self)

    def relu(self) -> Tensor:
        """Elementwise max(x, 0)."""
        return _P.relu(self)

    def abs(self) -> Tensor:
        """Elementwise |x|."""
        return _P.abs(self)

    def clip(self, lo=None, hi=None) -> Tensor:
        """Values limited to [lo, hi]."""
        return _F.clip(self, lo=lo, hi=hi)


def _compare(ufunc, a, b) -> Tensor:
    a = a._data if isinstance(a, Tensor) else a
    b = b._data if isinstance(b, Tensor) else b
    return Tensor._leaf(np.asarray(ufunc(a, b)))


def tensor(data: Any, requires_grad: bool = False, name: str | None = None, dtype: Any = None) -> Tensor:
    """Build a Tensor; the same as ``Tensor(...)``.

    >>> tensor([1, 2]).dtype      # Python numbers get the default float dtype
    dtype('float64')
    """
    return Tensor(data, requires_grad=requires_grad, name=name, dtype=dtype)


from . import functions as _F  # noqa: E402  (operators dispatch to the table, defined after Tensor)
from . import primitives as _P  # noqa: E402
