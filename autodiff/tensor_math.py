"""Tensor methods for the elementwise functions of ``primitives_math``/``primitives_piecewise``
with NumPy's and PyTorch's names (``t.sinh()``, ``t.asin()``, ``t.remainder(y)``,
``round(t, 2)``). Each looks its function up in the package when called (the function
modules import Tensor, so they load after it).

>>> import autodiff as ad
>>> ad.Tensor([0.5, -1.5]).floor()
Tensor([ 0., -2.])
"""

from __future__ import annotations

import importlib
from typing import Any

_AD: Any = None


def _ad() -> Any:
    global _AD
    if _AD is None:
        _AD = importlib.import_module("autodiff")
    return _AD


class MathMethods:
    """Elementwise methods of Tensor beyond the core ones (a mixin of Tensor)."""

    __slots__ = ()

    def sinh(self) -> Any:
        """Elementwise hyperbolic sine."""
        return _ad().sinh(self)

    def cosh(self) -> Any:
        """Elementwise hyperbolic cosine."""
        return _ad().cosh(self)

    def arcsin(self) -> Any:
        """Elementwise inverse sine (PyTorch: ``asin``)."""
        return _ad().arcsin(self)

    def arccos(self) -> Any:
        """Elementwise inverse cosine (PyTorch: ``acos``)."""
        return _ad().arccos(self)

    def arctan(self) -> Any:
        """Elementwise inverse tangent (PyTorch: ``atan``)."""
        return _ad().arctan(self)

    def arcsinh(self) -> Any:
        """Elementwise inverse hyperbolic sine (PyTorch: ``asinh``)."""
        return _ad().arcsinh(self)

    def arccosh(self) -> Any:
        """Elementwise inverse hyperbolic cosine (PyTorch: ``acosh``)."""
        return _ad().arccosh(self)

    def arctanh(self) -> Any:
        """Elementwise inverse hyperbolic tangent (PyTorch: ``atanh``)."""
        return _ad().arctanh(self)

    asin, acos, atan, asinh, acosh, atanh = arcsin, arccos, arctan, arcsinh, arccosh, arctanh

    def arctan2(self, other: Any) -> Any:
        """The angle of (other, self): ``np.arctan2(self, other)`` (PyTorch: ``atan2``)."""
        return _ad().arctan2(self, other)

    atan2 = arctan2

    def hypot(self, other: Any) -> Any:
        """Elementwise √(self² + other²)."""
        return _ad().hypot(self, other)

    def log2(self) -> Any:
        """Elementwise base-2 logarithm."""
        return _ad().log2(self)

    def log10(self) -> Any:
        """Elementwise base-10 logarithm."""
        return _ad().log10(self)

    def exp2(self) -> Any:
        """Elementwise 2**x."""
        return _ad().exp2(self)

    def expm1(self) -> Any:
        """Elementwise exp(x) - 1, accurate for small x."""
        return _ad().expm1(self)

    def logaddexp(self, other: Any) -> Any:
        """Elementwise log(exp(self) + exp(other)), stable."""
        return _ad().logaddexp(self, other)

    def logaddexp2(self, other: Any) -> Any:
        """Elementwise log2(2**self + 2**other), stable."""
        return _ad().logaddexp2(self, other)

    def square(self) -> Any:
        """Elementwise x²."""
        return _ad().square(self)

    def reciprocal(self) -> Any:
        """Elementwise 1/x."""
        return _ad().reciprocal(self)

    def sinc(self) -> Any:
        """Elementwise sin(πx)/(πx), 1 at 0."""
        return _ad().sinc(self)

    def erf(self) -> Any:
        """Elementwise error function."""
        return _ad().erf(self)

    def erfc(self) -> Any:
        """Elementwise 1 - erf(x), accurate in the tail."""
        return _ad().erfc(self)

    def deg2rad(self) -> Any:
        """Degrees to radians."""
        return _ad().deg2rad(self)

    def rad2deg(self) -> Any:
        """Radians to degrees."""
        return _ad().rad2deg(self)

    def sign(self) -> Any:
        """Elementwise -1, 0 or 1 (zero gradient)."""
        return _ad().sign(self)

    def floor(self) -> Any:
        """Elementwise floor (zero gradient)."""
        return _ad().floor(self)

    def ceil(self) -> Any:
        """Elementwise ceiling (zero gradient)."""
        return _ad().ceil(self)

    def trunc(self) -> Any:
        """Elementwise rounding toward zero (zero gradient)."""
        return _ad().trunc(self)

    def round(self, decimals: int = 0) -> Any:
        """Round to ``decimals`` digits, halves to even (zero gradient)."""
        return _ad().round(self, decimals)

    def __round__(self, ndigits: int | None = None) -> Any:
        return _ad().round(self, 0 if ndigits is None else ndigits)

    def remainder(self, other: Any) -> Any:
        """``self % other``, with the sign of ``other`` (NumPy's mod)."""
        return _ad().remainder(self, other)

    def fmod(self, other: Any) -> Any:
        """C's fmod: the remainder with the sign of ``self``."""
        return _ad().fmod(self, other)

    def fmax(self, other: Any) -> Any:
        """Elementwise maximum ignoring NaN."""
        return _ad().fmax(self, other)

    def fmin(self, other: Any) -> Any:
        """Elementwise minimum ignoring NaN."""
        return _ad().fmin(self, other)

    def nan_to_num(self, nan: float = 0.0, posinf: float | None = None, neginf: float | None = None) -> Any:
        """NaN and ±inf replaced by finite numbers (zero gradient there)."""
        return _ad().nan_to_num(self, nan=nan, posinf=posinf, neginf=neginf)
