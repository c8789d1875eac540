"""Tensor's operators: arithmetic dispatches to the primitive table; comparisons and
logic give boolean tensors that carry no gradient.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from typing_extensions import Self

    from .aliases import TensorLike
    from .tensor import Tensor

_F: Any = None  # bound by tensor.py once Tensor and the function tables exist
_P: Any = None
_Tensor: Any = None


def bind(tensor_cls: type, functions: Any, primitives: Any) -> None:
    """Give this module the Tensor class and the function tables (imported after Tensor)."""
    global _Tensor, _F, _P
    _Tensor, _F, _P = tensor_cls, functions, primitives


class Operators:
    """Python operators of Tensor (a mixin)."""

    __slots__ = ()

    if TYPE_CHECKING:  # provided by Tensor
        _data: np.ndarray

    def __add__(self, other: TensorLike) -> Tensor:
        out: Tensor = _P.add(self, other)
        return out

    def __radd__(self, other: TensorLike) -> Tensor:
        out: Tensor = _P.add(other, self)
        return out

    def __sub__(self, other: TensorLike) -> Tensor:
        out: Tensor = _P.sub(self, other)
        return out

    def __rsub__(self, other: TensorLike) -> Tensor:
        out: Tensor = _P.sub(other, self)
        return out

    def __mul__(self, other: TensorLike) -> Tensor:
        out: Tensor = _P.mul(self, other)
        return out

    def __rmul__(self, other: TensorLike) -> Tensor:
        out: Tensor = _P.mul(other, self)
        return out

    def __truediv__(self, other: TensorLike) -> Tensor:
        out: Tensor = _P.div(self, other)
        return out

    def __rtruediv__(self, other: TensorLike) -> Tensor:
        out: Tensor = _P.div(other, self)
        return out

    def __pow__(self, other: TensorLike) -> Tensor:
        out: Tensor = _P.pow(self, other)
        return out

    def __rpow__(self, other: TensorLike) -> Tensor:
        out: Tensor = _P.pow(other, self)
        return out

    def __mod__(self, other: TensorLike) -> Tensor:
        out: Tensor = _piecewise().remainder(self, other)
        return out

    def __rmod__(self, other: TensorLike) -> Tensor:
        out: Tensor = _piecewise().remainder(other, self)
        return out

    def __floordiv__(self, other: TensorLike) -> Tensor:
        out: Tensor = _piecewise().floor_divide(self, other)
        return out

    def __rfloordiv__(self, other: TensorLike) -> Tensor:
        out: Tensor = _piecewise().floor_divide(other, self)
        return out

    def __matmul__(self, other: TensorLike) -> Tensor:
        out: Tensor = _P.matmul(self, other)
        return out

    def __rmatmul__(self, other: TensorLike) -> Tensor:
        out: Tensor = _P.matmul(other, self)
        return out

    def __neg__(self) -> Tensor:
        out: Tensor = _P.neg(self)
        return out

    def __pos__(self) -> Self:
        return self

    def __abs__(self) -> Tensor:
        out: Tensor = _P.abs(self)
        return out

    def __getitem__(self, index: Any) -> Tensor:
        out: Tensor = _F.getitem(self, index)
        return out

    # Comparisons and logic give boolean tensors that carry no gradient.
    def __lt__(self, other: TensorLike) -> Tensor:
        return _compare(np.less, self, other)

    def __le__(self, other: TensorLike) -> Tensor:
        return _compare(np.less_equal, self, other)

    def __gt__(self, other: TensorLike) -> Tensor:
        return _compare(np.greater, self, other)

    def __ge__(self, other: TensorLike) -> Tensor:
        return _compare(np.greater_equal, self, other)

    # elementwise, as NumPy: a Tensor, not object.__eq__'s bool
    def __eq__(self, other: TensorLike) -> Tensor:  # type: ignore[override]
        return _compare(np.equal, self, other)

    def __ne__(self, other: TensorLike) -> Tensor:  # type: ignore[override]
        return _compare(np.not_equal, self, other)

    def __and__(self, other: TensorLike) -> Tensor:
        return _compare(np.logical_and, self, other)

    def __or__(self, other: TensorLike) -> Tensor:
        return _compare(np.logical_or, self, other)

    def __invert__(self) -> Tensor:
        out: Tensor = _Tensor._leaf(np.logical_not(self._data))
        return out


def _piecewise() -> Any:
    """The module of remainder/floor_divide (it imports Tensor, so it loads after this one)."""
    from . import primitives_piecewise

    return primitives_piecewise


def _compare(ufunc: Callable[[Any, Any], Any], a: Any, b: Any) -> Tensor:
    a = a._data if isinstance(a, _Tensor) else a
    b = b._data if isinstance(b, _Tensor) else b
    out: Tensor = _Tensor._leaf(np.asarray(ufunc(a, b)))
    return out
