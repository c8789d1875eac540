"""Tensor methods with NumPy's names and semantics, plus the PyTorch spellings that do
not collide with them (``dim=``/``keepdim=``, ``view``, ``permute``, ``unsqueeze``, ...).

Every method dispatches to a public function; methods for functions another module
adds later (``std``, ``prod``, ``cumsum``, ``flip``, ``repeat``, ``norm``) look the
function up in the package when called.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import DTypeLike

from .aliases import Axis, TensorLike

_F: Any = None  # autodiff.functions, autodiff.primitives and Tensor: bound by tensor.py once loaded
_P: Any = None
_Tensor: Any = None


def bind(tensor_cls: type, functions: Any, primitives: Any) -> None:
    """Give this module the Tensor class and the function tables (imported after Tensor)."""
    global _Tensor, _F, _P
    _Tensor, _F, _P = tensor_cls, functions, primitives


def _package_function(name: str, qualified: str | None = None) -> Any:
    module = importlib.import_module("autodiff")
    target: Any = module
    for part in (qualified or name).split("."):
        target = getattr(target, part, None)
        if target is None:
            raise AttributeError(f"Tensor.{name}: autodiff has no function {qualified or name} in this version")
    return target


def _shape_args(shape: tuple[Any, ...]) -> tuple[Any, ...]:
    return tuple(shape[0]) if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else tuple(shape)


_TO_DTYPE = {"float": np.float32, "double": np.float64, "long": np.int64, "half": np.float16}


class TensorMethods:
    """The methods of Tensor that mirror NumPy and PyTorch (a mixin of Tensor)."""

    __slots__ = ()

    if TYPE_CHECKING:  # provided by Tensor
        _data: np.ndarray

        @property
        def shape(self) -> tuple[int, ...]: ...

        @property
        def ndim(self) -> int: ...

        @property
        def dtype(self) -> np.dtype: ...

        def __getitem__(self, key: Any) -> Any: ...

    # ------------------------------------------------------------ reductions
    def sum(self, axis: Axis = None, keepdims: bool = False, **aliases: Any) -> Any:
        """Sum over ``axis`` (int, tuple or None for all); ``dim=``/``keepdim=`` also accepted."""
        return _F.sum(self, axis, keepdims, **aliases)

    def mean(self, axis: Axis = None, keepdims: bool = False, **aliases: Any) -> Any:
        """Arithmetic mean over ``axis``."""
        return _F.mean(self, axis, keepdims, **aliases)

    def max(self, axis: Axis = None, keepdims: bool = False, **aliases: Any) -> Any:
        """Maximum over ``axis`` (values only, also with ``dim=``: use ``argmax`` for indices);
        ties share the gradient equally."""
        return _F.max(self, axis, keepdims, **aliases)

    def min(self, axis: Axis = None, keepdims: bool = False, **aliases: Any) -> Any:
        """Minimum over ``axis`` (values only; ``argmin`` gives indices); ties share the gradient."""
        return _F.min(self, axis, keepdims, **aliases)

    def var(self, axis: Axis = None, keepdims: bool = False, **aliases: Any) -> Any:
        """Variance over ``axis`` with NumPy's ddof=0."""
        return _F.var(self, axis, keepdims, **aliases)

    def logsumexp(self, axis: Axis = None, keepdims: bool = False, **aliases: Any) -> Any:
        """log(sum(exp(x))) over ``axis``, stable for any magnitude."""
        return _F.logsumexp(self, axis, keepdims, **aliases)

    def std(self, *args: Any, **kwargs: Any) -> Any:
        """Standard deviation (``autodiff.std``)."""
        return _package_function("std")(self, *args, **kwargs)

    def prod(self, *args: Any, **kwargs: Any) -> Any:
        """Product of elements (``autodiff.prod``)."""
        return _package_function("prod")(self, *args, **kwargs)

    def cumsum(self, *args: Any, **kwargs: Any) -> Any:
        """Cumulative sum (``autodiff.cumsum``)."""
        return _package_function("cumsum")(self, *args, **kwargs)

    def norm(self, ord: Any = None, axis: Axis = None, keepdims: bool = False, *, p: Any = None,  # noqa: A002
             dim: Axis = None, keepdim: bool | None = None) -> Any:
        """Vector or matrix norm (``autodiff.linalg.norm``); ``p=``/``dim=``/``keepdim=`` as PyTorch."""
        order = _F.alias("norm", ord, p, "ord", "p", default=None)
        axis = _F.alias("norm", axis, dim, "axis", "dim", default=None)
        keepdims = _F.alias("norm", keepdims, keepdim, "keepdims", "keepdim", default=False)
        return _package_function("norm", "linalg.norm")(self, ord=order, axis=axis, keepdims=keepdims)

    def all(self, axis: Axis = None, keepdims: bool = False, **aliases: Any) -> Any:
        """Whether every element (along ``axis``) is nonzero: a boolean Tensor without gradient."""
        return _logical(np.logical_and, self, axis, keepdims, aliases, "all")

    def any(self, axis: Axis = None, keepdims: bool = False, **aliases: Any) -> Any:
        """Whether some element (along ``axis``) is nonzero: a boolean Tensor without gradient."""
        return _logical(np.logical_or, self, axis, keepdims, aliases, "any")

    def argmax(self, axis: Axis = None, keepdims: bool = False, **aliases: Any) -> Any:
        """Indices of the maxima (an integer Tensor, no gradient)."""
        return _arg(np.argmax, self, axis, keepdims, aliases, "argmax")

    def argmin(self, axis: Axis = None, keepdims: bool = False, **aliases: Any) -> Any:
        """Indices of the minima (an integer Tensor, no gradient)."""
        return _arg(np.argmin, self, axis, keepdims, aliases, "argmin")

    def softmax(self, axis: int = -1, **aliases: Any) -> Any:
        """exp(x) / sum(exp(x)) along ``axis`` (``dim=`` too)."""
        return _F.softmax(self, axis, **aliases)

    def log_softmax(self, axis: int = -1, **aliases: Any) -> Any:
        """log(softmax(x)) along ``axis`` (``dim=`` too)."""
        return _F.log_softmax(self, axis, **aliases)

    # ----------------------------------------------------------------- shape
    def reshape(self, *shape: int | Sequence[int]) -> Any:
        """Same data in a new shape: ``t.reshape(2, 3)`` or ``t.reshape((2, 3))``."""
        return _F.reshape(self, _shape_args(shape))

    def view(self, *shape: int | Sequence[int]) -> Any:
        """PyTorch's name for ``reshape``."""
        return _F.reshape(self, _shape_args(shape))

    def transpose(self, *axes: int | Sequence[int]) -> Any:
        """Permute axes (reverse them when none are given). Two ints on a tensor with more
        than two axes exchange those axes, as PyTorch's ``transpose(dim0, dim1)`` (NumPy
        would refuse them), so both spellings work wherever they do not collide."""
        axes = _shape_args(axes)
        if len(axes) == 2 and self.ndim > 2:
            return _F.swapaxes(self, *axes)
        return _F.transpose(self, axes or None)

    def permute(self, *dims: int | Sequence[int]) -> Any:
        """Reorder the axes: ``t.permute(2, 0, 1)``."""
        return _F.transpose(self, _shape_args(dims))

    @property
    def T(self) -> Any:
        """The transpose (axes reversed)."""
        return _F.transpose(self, None)

    @property
    def mT(self) -> Any:
        """The last two axes exchanged (a batch of matrices transposed)."""
        if self.ndim < 2:
            raise ValueError(f"mT: needs at least 2 axes, got shape {self.shape}")
        return _F.swapaxes(self, -1, -2)

    def t(self) -> Any:
        """PyTorch's ``t()``: the transpose of a tensor with at most 2 axes."""
        if self.ndim > 2:
            raise ValueError(f"t(): expects a tensor with at most 2 axes, got shape {self.shape}; use permute or mT")
        return _F.transpose(self, None)

    def swapaxes(self, axis1: int, axis2: int) -> Any:
        """Exchange two axes."""
        return _F.swapaxes(self, axis1, axis2)

    def flatten(self) -> Any:
        """All elements as a 1-D tensor."""
        return _F.reshape(self, (-1,))

    def ravel(self) -> Any:
        """All elements as a 1-D tensor (NumPy's name)."""
        return _F.reshape(self, (-1,))

    def squeeze(self, axis: Axis = None, **aliases: Any) -> Any:
        """Drop axes of length one (``dim=`` too)."""
        return _F.squeeze(self, axis, **aliases)

    def expand_dims(self, axis: int | Sequence[int]) -> Any:
        """Insert an axis of length one at ``axis``."""
        return _F.expand_dims(self, axis)

    def unsqueeze(self, dim: int) -> Any:
        """PyTorch's name for ``expand_dims``."""
        return _F.expand_dims(self, dim)

    def expand(self, *sizes: int | Sequence[int]) -> Any:
        """Broadcast to ``sizes`` (-1 keeps an axis), as PyTorch's ``expand``."""
        sizes = _shape_args(sizes)
        lead = len(sizes) - self.ndim
        if lead < 0:
            raise ValueError(f"expand: {len(sizes)} sizes given for a tensor with shape {self.shape}")
        shape = tuple(self.shape[i - lead] if n == -1 and i >= lead else n for i, n in enumerate(sizes))
        return _F.broadcast_to(self, shape)

    def flip(self, *args: Any, **kwargs: Any) -> Any:
        """Reverse the order along axes (``autodiff.flip``)."""
        return _package_function("flip")(self, *args, **kwargs)

    def repeat(self, *args: Any, **kwargs: Any) -> Any:
        """Repeat elements (``autodiff.repeat``, NumPy's semantics)."""
        return _package_function("repeat")(self, *args, **kwargs)

    def chunk(self, chunks: int, dim: int = 0) -> tuple[Any, ...]:
        """Split into ``chunks`` pieces of ceil(n / chunks) along ``dim`` (the last may be smaller)."""
        if not isinstance(chunks, (int, np.integer)) or chunks <= 0:
            raise ValueError(f"chunk: chunks must be a positive integer, got {chunks!r}")
        n = self.shape[_F.normalize_axis(dim, self.ndim, "chunk")]
        size = max(-(-n // chunks), 1)
        return self.split(size, dim)

    def split(self, split_size_or_sections: int | Sequence[int], dim: int = 0) -> tuple[Any, ...]:
        """PyTorch's ``split``: pieces of ``split_size`` along ``dim``, or pieces of the listed sizes."""
        axis = _F.normalize_axis(dim, self.ndim, "split")
        n = self.shape[axis]
        if isinstance(split_size_or_sections, (int, np.integer)):
            if split_size_or_sections <= 0:
                raise ValueError(f"split: split_size must be positive, got {split_size_or_sections}")
            sizes = [min(split_size_or_sections, n - s) for s in range(0, n, split_size_or_sections)] or [0]
        else:
            sizes = [int(s) for s in split_size_or_sections]
            if sum(sizes) != n or min(sizes, default=0) < 0:
                raise ValueError(f"split: sizes {sizes} do not add up to {n}, the length of axis {dim}")
        starts = np.cumsum([0, *sizes[:-1]])
        lead = (slice(None),) * axis
        return tuple(self[lead + (slice(int(s), int(s) + k),)] for s, k in zip(starts, sizes, strict=True))

    def index_select(self, dim: int, index: TensorLike) -> Any:
        """The entries at the integer ``index`` (1-D) along ``dim``; gradients scatter-add."""
        axis = _F.normalize_axis(dim, self.ndim, "index_select")
        index = np.asarray(index._data if isinstance(index, _Tensor) else index)
        if index.ndim != 1 or index.dtype.kind not in "iu":
            raise IndexError(f"index_select: index must be a 1-D integer array, got dtype {index.dtype} "
                             f"shape {index.shape}")
        return self[(slice(None),) * axis + (index,)]

    def gather(self, dim: int, index: TensorLike) -> Any:
        """PyTorch's ``gather`` (NumPy's ``take_along_axis``): ``out[i][j] = x[index[i][j]][j]`` for dim 0."""
        axis = _F.normalize_axis(dim, self.ndim, "gather")
        index = np.asarray(index._data if isinstance(index, _Tensor) else index)
        if index.ndim != self.ndim or index.dtype.kind not in "iu":
            raise IndexError(f"gather: index must be an integer array with {self.ndim} axes, got dtype "
                             f"{index.dtype} shape {index.shape}")
        for d, (a, b) in enumerate(zip(index.shape, self.shape, strict=True)):
            if d != axis and a > b:
                raise IndexError(f"gather: index shape {index.shape} exceeds tensor shape {self.shape} on axis {d}")
        grid: list[Any] = list(np.indices(index.shape, sparse=True))
        grid[axis] = index
        return self[tuple(grid)]

    def masked_fill(self, mask: TensorLike, value: TensorLike) -> Any:
        """``value`` where the boolean ``mask`` (broadcastable) is True, else the tensor."""
        mask = np.asarray(mask._data if isinstance(mask, _Tensor) else mask)
        if mask.dtype != bool:
            raise TypeError(f"masked_fill: mask must be boolean, got dtype {mask.dtype}")
        np.broadcast_shapes(mask.shape, self.shape)
        out = _F.where(mask, value, self)
        if out.shape != self.shape:
            raise ValueError(f"masked_fill: mask shape {mask.shape} does not broadcast to {self.shape}")
        return out

    # ----------------------------------------------------------- conversion
    def astype(self, dtype: DTypeLike) -> Any:
        """Cast to ``dtype`` (differentiable between float dtypes)."""
        return _F.astype(self, np.dtype(dtype))

    def to(self, dtype: DTypeLike) -> Any:
        """Cast to ``dtype``; ``"cpu"`` is accepted and changes nothing."""
        if isinstance(dtype, str) and dtype == "cpu":
            return self
        return self.astype(dtype)

    def type_as(self, other: Any) -> Any:
        """Cast to ``other``'s dtype."""
        return self.astype(other.dtype)

    def float(self) -> Any:
        """Cast to float32 (PyTorch's ``float()``)."""
        return self.astype(_TO_DTYPE["float"])

    def double(self) -> Any:
        """Cast to float64."""
        return self.astype(_TO_DTYPE["double"])

    def half(self) -> Any:
        """Cast to float16."""
        return self.astype(_TO_DTYPE["half"])

    def long(self) -> Any:
        """Cast to int64 (no gradient flows through integers)."""
        return self.astype(_TO_DTYPE["long"])

    def clone(self) -> Any:
        """A copy with its own memory; gradients flow back to the original."""
        return _P.astype_p(self, dtype=self.dtype)

    def copy(self) -> Any:
        """NumPy's name for ``clone``."""
        return _P.astype_p(self, dtype=self.dtype)

    def tolist(self) -> Any:
        """The values as (nested) Python lists."""
        return self._data.tolist()

    def dim(self) -> int:
        """The number of axes (PyTorch's name for ``ndim``)."""
        return self._data.ndim

    def numel(self) -> int:
        """The number of elements (PyTorch's name for ``size``)."""
        return int(self._data.size)

    # ------------------------------------------------------------ elementwise
    def exp(self) -> Any:
        """Elementwise e**x."""
        return _P.exp(self)

    def log(self) -> Any:
        """Elementwise natural logarithm."""
        return _P.log(self)

    def log1p(self) -> Any:
        """Elementwise log(1 + x)."""
        return _P.log1p(self)

    def sqrt(self) -> Any:
        """Elementwise square root."""
        return _P.sqrt(self)

    def sin(self) -> Any:
        """Elementwise sine."""
        return _P.sin(self)

    def cos(self) -> Any:
        """Elementwise cosine."""
        return _P.cos(self)

    def tan(self) -> Any:
        """Elementwise tangent."""
        return _P.tan(self)

    def tanh(self) -> Any:
        """Elementwise hyperbolic tangent."""
        return _P.tanh(self)

    def sigmoid(self) -> Any:
        """Elementwise 1 / (1 + exp(-x)), stable for large |x|."""
        return _P.sigmoid(self)

    def relu(self) -> Any:
        """Elementwise max(x, 0)."""
        return _P.relu(self)

    def softplus(self) -> Any:
        """Elementwise log(1 + exp(x)), stable."""
        return _P.softplus(self)

    def abs(self) -> Any:
        """Elementwise |x|."""
        return _P.abs(self)

    def pow(self, exponent: TensorLike) -> Any:
        """Elementwise ``self ** exponent``."""
        return _P.pow(self, exponent)

    def clip(self, lo: TensorLike | None = None, hi: TensorLike | None = None) -> Any:
        """Values limited to [lo, hi]."""
        return _F.clip(self, lo, hi)

    def clamp(self, min: TensorLike | None = None, max: TensorLike | None = None) -> Any:  # noqa: A002  (PyTorch's argument names)
        """PyTorch's name for ``clip``."""
        return _F.clip(self, min, max)

    def matmul(self, other: TensorLike) -> Any:
        """Matrix product ``self @ other``."""
        return _P.matmul(self, other)

    def mm(self, other: TensorLike) -> Any:
        """Product of two 2-D tensors (PyTorch's ``mm``)."""
        if self.ndim != 2 or np.ndim(other) != 2:
            raise ValueError(f"mm: expects two 2-D tensors, got shapes {self.shape} and {np.shape(other)}")
        return _P.matmul(self, other)

    def dot(self, other: TensorLike) -> Any:
        """NumPy's ``dot``."""
        return _F.dot(self, other)


def _reduce_data(self: Any, axis: Any, keepdims: Any, aliases: dict[str, Any], op: str) -> tuple[Any, bool]:
    axis, keepdims = _F.axis_keepdims(op, axis, keepdims, aliases)
    return _F.check_axis(op, self.ndim, axis), keepdims


def _logical(ufunc: np.ufunc, self: Any, axis: Any, keepdims: Any, aliases: dict[str, Any], op: str) -> Any:
    axis, keepdims = _reduce_data(self, axis, keepdims, aliases, op)
    return _Tensor._leaf(np.asarray(ufunc.reduce(self._data.astype(bool), axis=axis, keepdims=keepdims)))


def _arg(fn: Callable[..., Any], self: Any, axis: Any, keepdims: Any, aliases: dict[str, Any], op: str) -> Any:
    axis, keepdims = _reduce_data(self, axis, keepdims, aliases, op)
    if isinstance(axis, tuple):
        raise TypeError(f"{op}: axis must be an int or None, got a tuple {axis}")
    if self.size == 0:
        raise ValueError(f"{op}: attempt to get {op} of an empty tensor (shape {self.shape})")
    return _Tensor._leaf(np.asarray(fn(self._data, axis=axis, keepdims=keepdims)))
