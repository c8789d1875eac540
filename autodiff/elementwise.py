"""Public elementwise functions that take parameters or differ from their primitive by
name: ``round``, ``nan_to_num``, NumPy's aliases (``mod``, ``radians``, ``degrees``,
``fix``, ``rint``, ``around``) and PyTorch's ``clamp``.

>>> import autodiff as ad
>>> ad.mod(ad.Tensor([-7.0, 7.0]), 3.0)          # the sign of the divisor, as Python's %
Tensor([2., 1.])
"""

from __future__ import annotations

import numpy as np

from .aliases import TensorLike
from .functions import clip
from .primitives_math import deg2rad, rad2deg
from .primitives_piecewise import nan_to_num_p, remainder, round_p, trunc
from .tensor import Tensor


def clamp(x: TensorLike, min: TensorLike | None = None,  # noqa: A002  (PyTorch's argument names)
          max: TensorLike | None = None) -> Tensor:  # noqa: A002
    """PyTorch's name for :func:`clip`."""
    return clip(x, min, max)


def round(x: TensorLike, decimals: int = 0) -> Tensor:  # noqa: A001
    """Round to ``decimals`` digits, halves to even (NumPy's ``round``); zero gradient.

    >>> import autodiff as ad
    >>> ad.round(ad.Tensor([0.5, 1.5, 2.675]), 0)
    Tensor([0., 2., 3.])
    """
    if isinstance(decimals, bool) or not isinstance(decimals, (int, np.integer)):
        raise TypeError(f"round: decimals must be an integer, got {type(decimals).__name__} {decimals!r}")
    return round_p(x, decimals=int(decimals))


def nan_to_num(x: TensorLike, copy: bool = True, nan: float = 0.0, posinf: float | None = None,
               neginf: float | None = None) -> Tensor:
    """NaN → ``nan``, +inf → ``posinf``, -inf → ``neginf`` (default: the dtype's largest
    finite values), as NumPy; replaced entries get a zero gradient. ``copy`` is accepted
    for NumPy's signature (the result is always a new Tensor)."""
    return nan_to_num_p(x, nan=nan, posinf=posinf, neginf=neginf)


def around(x: TensorLike, decimals: int = 0) -> Tensor:
    """NumPy's older name for :func:`round`."""
    return round(x, decimals)


def rint(x: TensorLike) -> Tensor:
    """Round to the nearest integer, halves to even; zero gradient."""
    return round_p(x, decimals=0)


def fix(x: TensorLike) -> Tensor:
    """Round toward zero (NumPy's ``fix``, the same as :func:`trunc`); zero gradient."""
    return trunc(x)


mod = remainder
radians = deg2rad
degrees = rad2deg

__all__ = ["around", "clamp", "degrees", "fix", "mod", "nan_to_num", "radians", "rint", "round"]
