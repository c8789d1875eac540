"""Tensor's operators: arithmetic dispatches to the primitive table; comparisons and
logic give boolean tensors that carry no gradient.
"""

from __future__ import annotations

from typing import Any

import numpy as np

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

    def __mod__(self, other):
        return _piecewise().remainder(self, other)

    def __rmod__(self, other):
        return _piecewise().remainder(other, self)

    def __floordiv__(self, other):
        return _piecewise().floor_divide(self, other)

    def __rfloordiv__(self, other):
        return _piecewise().floor_divide(other, self)

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
        return _Tensor._leaf(np.logical_not(self._data))


def _piecewise() -> Any:
    """The module of remainder/floor_divide (it imports Tensor, so it loads after this one)."""
    from . import primitives_piecewise

    return primitives_piecewise


def _compare(ufunc, a, b) -> Any:
    a = a._data if isinstance(a, _Tensor) else a
    b = b._data if isinstance(b, _Tensor) else b
    return _Tensor._leaf(np.asarray(ufunc(a, b)))
