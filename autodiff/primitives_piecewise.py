"""THE table, continued: NumPy's piecewise elementwise functions — rounding (zero
gradient), ``remainder``/``fmod``, ``fmax``/``fmin`` with NumPy's NaN rule,
``nan_to_num`` and ``clip`` with Tensor bounds — with their conventions at the jumps.

Rounding functions are piecewise constant: their gradient is exactly 0 wherever it
exists, and 0 is also what they return at the jumps (PyTorch's choice). SymPy leaves
the derivative of ``floor`` unevaluated, so these carry a ``no_sympy`` reason and are
proven against finite differences away from the jumps.

>>> import autodiff as ad
>>> x = ad.Tensor([5.5, -5.5], requires_grad=True)
>>> y = ad.Tensor([2.0, 2.0], requires_grad=True)
>>> ad.remainder(x, y)                     # the sign of the divisor, as NumPy and Python's %
Tensor([1.5, 0.5], op=remainder, requires_grad=True)
>>> ad.remainder(x, y).sum().backward()
>>> y.grad                                 # -floor(x / y)
Tensor([-2.,  3.])
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .primitive import defprim
from .primitives import Val, _tie_apart, where_p
from .sampling import Case, Draw, elementwise
from .tensor import Tensor


def _zeros(g: Val) -> Val:
    """An exact zero gradient shaped like ``g`` (a constant: NaN in ``g`` does not leak)."""
    return Tensor._leaf(np.zeros_like(g._data)) if isinstance(g, Tensor) else np.zeros_like(g)


def _test(fn: Callable[[np.ndarray], np.ndarray], x: Val) -> Val:
    """A boolean test of the values (``np.isnan`` ...), of the same kind as ``x``: an op of a
    compiled program (recomputed at every call), never a constant."""
    from .compile.decide import derive

    out: Val = derive(fn, x)
    return out


_STEP = "piecewise constant: SymPy leaves the derivative of floor/sign unevaluated"
_ZERO = "the gradient is 0 everywhere, also at the jumps (as PyTorch)"
_INTEGERS = tuple(range(-3, 4))

sign = defprim("sign", np.sign, lambda g, z, x: _zeros(g), no_sympy=_STEP,
               sample=elementwise(kinks=(0,)), conventions=_ZERO, doc="-1, 0 or 1 by the sign of x.  d/dx = 0")
floor = defprim("floor", np.floor, lambda g, z, x: _zeros(g), no_sympy=_STEP,
                sample=elementwise(kinks=_INTEGERS), conventions=_ZERO,
                doc="The largest integer <= x.  d/dx = 0")
ceil = defprim("ceil", np.ceil, lambda g, z, x: _zeros(g), no_sympy=_STEP,
               sample=elementwise(kinks=_INTEGERS), conventions=_ZERO,
               doc="The smallest integer >= x.  d/dx = 0")
trunc = defprim("trunc", np.trunc, lambda g, z, x: _zeros(g), no_sympy=_STEP,
                sample=elementwise(kinks=_INTEGERS), conventions=_ZERO,
                doc="x rounded toward zero.  d/dx = 0")


def _round_case(draw: Draw, dtype: Any) -> Case:
    (x,) = elementwise(kinks=tuple(k + 0.5 for k in range(-4, 4)))(draw, dtype).args
    return Case([x], {"decimals": 0})


round_p = defprim("round", lambda x, decimals: np.round(x, decimals), lambda g, z, x, decimals: _zeros(g),
                  no_sympy=_STEP, sample=_round_case, conventions=_ZERO + "; halves round to even, as NumPy",
                  doc="x rounded to ``decimals`` digits (halves to even, as NumPy).  d/dx = 0")
def _division_case(draw: Draw, dtype: Any) -> Case:
    """x = (n + f)·y with integer n and f in [0.1, 0.9]: x/y stays away from the jumps."""
    (shape,) = draw.shapes(1)
    y = draw.floats(shape, 0.5, 2.0, np.float64) * np.where(draw.booleans(shape), 1.0, -1.0)
    n = np.floor(draw.floats(shape, -2.0, 1.999, np.float64))
    x = (n + draw.floats(shape, 0.1, 0.9, np.float64)) * y
    return Case([np.asarray(x, dtype=dtype), np.asarray(y, dtype=dtype)])


floor_divide = defprim("floor_divide", np.floor_divide, lambda g, z, x, y: _zeros(g),
                       lambda g, z, x, y: _zeros(g), no_sympy=_STEP,
                       sample=_division_case, conventions=_ZERO,
                       doc="floor(x / y), Python's //.  d/dx = d/dy = 0")


remainder = defprim("remainder", np.remainder,
                    lambda g, z, x, y: g,
                    lambda g, z, x, y: -g * floor_divide(x, y),
                    no_sympy=_STEP, sample=_division_case,
                    conventions="x - y·floor(x/y) jumps where x/y is an integer; there floor(x/y) of the "
                    "computed quotient decides d/dy (as PyTorch)",
                    doc="x mod y with the sign of y (NumPy's mod, Python's %).  d/dx = 1, d/dy = -floor(x/y)")
fmod = defprim("fmod", np.fmod,
               lambda g, z, x, y: g,
               lambda g, z, x, y: -g * trunc(x / y),
               no_sympy=_STEP, sample=_division_case,
               conventions="x - y·trunc(x/y) jumps where x/y is a nonzero integer; d/dy uses the computed quotient",
               doc="C's fmod: the remainder with the sign of x.  d/dx = 1, d/dy = -trunc(x/y)")


# ------------------------------------------------------------- fmax / fmin
def _isnan(x: Val) -> Val:
    return _test(np.isnan, x)


def _fmax_gx(g: Val, z: Val, x: Val, y: Val) -> Val:
    return where_p((x > y) | _isnan(y), g, where_p(x == y, g * 0.5, 0))


def _fmax_gy(g: Val, z: Val, x: Val, y: Val) -> Val:
    return where_p(((y > x) | _isnan(x)) & ~_isnan(y), g, where_p(x == y, g * 0.5, 0))


def _fmin_gx(g: Val, z: Val, x: Val, y: Val) -> Val:
    return where_p((x < y) | _isnan(y), g, where_p(x == y, g * 0.5, 0))


def _fmin_gy(g: Val, z: Val, x: Val, y: Val) -> Val:
    return where_p(((y < x) | _isnan(x)) & ~_isnan(y), g, where_p(x == y, g * 0.5, 0))


_FNAN = ("NaN is ignored: where one operand is NaN the other is the result and takes the whole gradient (both NaN: "
         "x takes it); ties (x == y) split it 0.5/0.5 like maximum/minimum")
fmax = defprim("fmax", np.fmax, _fmax_gx, _fmax_gy, sympy=lambda sp, x, y: sp.Max(x, y), sample=_tie_apart,
               conventions=_FNAN, doc="Elementwise maximum ignoring NaN (NumPy's fmax).  d/dx = 1 where x > y")
fmin = defprim("fmin", np.fmin, _fmin_gx, _fmin_gy, sympy=lambda sp, x, y: sp.Min(x, y), sample=_tie_apart,
               conventions=_FNAN, doc="Elementwise minimum ignoring NaN (NumPy's fmin).  d/dx = 1 where x < y")


def _nan_to_num_case(draw: Draw, dtype: Any) -> Case:
    (x,) = elementwise()(draw, dtype).args
    return Case([x], draw.choice([{"nan": 0.0, "posinf": None, "neginf": None},
                                  {"nan": 1.5, "posinf": 10.0, "neginf": -10.0}]))


nan_to_num_p = defprim("nan_to_num", lambda x, nan, posinf, neginf: np.nan_to_num(x, nan=nan, posinf=posinf,
                                                                                  neginf=neginf),
                       lambda g, z, x, nan, posinf, neginf: where_p(_test(np.isfinite, x), g, 0),
                       sympy=lambda sp, x, nan, posinf, neginf: x, sample=_nan_to_num_case,
                       conventions="replaced entries (NaN, ±inf) get a zero gradient; finite ones pass it",
                       doc="NaN and ±inf replaced by finite numbers.  d/dx = 1 where x is finite, else 0")


# ----------------------------------------------------------- clip with Tensor bounds
def _clip_bounds_case(draw: Draw, dtype: Any) -> Case:
    """x of the full broadcast shape, each element below lo, inside or above hi (drawn
    region by region, so every rule is exercised), never within 0.1 of a bound."""
    sx, slo, shi = draw.shapes(3)
    full = np.broadcast_shapes(sx, slo, shi)
    lo, hi = draw.floats(slo, -2, -0.2, np.float64), draw.floats(shi, 0.2, 2, np.float64)
    lo_b, hi_b = np.broadcast_to(lo, full), np.broadcast_to(hi, full)
    region = np.floor(draw.floats(full, 0, 2.999, np.float64))
    below = lo_b - draw.floats(full, 0.1, 1, np.float64)
    inside = lo_b + (hi_b - lo_b) * draw.floats(full, 0.1, 0.9, np.float64)
    above = hi_b + draw.floats(full, 0.1, 1, np.float64)
    x = np.select([region == 0, region == 1], [below, inside], above)
    return Case([np.asarray(v, dtype=dtype) for v in (x, lo, hi)])


def _clip_sympy(sp: Any, x: Any, lo: Any, hi: Any) -> Any:
    return sp.Piecewise((hi, lo > hi), (lo, x < lo), (hi, x > hi), (x, True))


clip_bounds = defprim("clip_bounds", np.clip,
                      lambda g, z, x, lo, hi: where_p((x >= lo) & (x <= hi), g, 0),
                      lambda g, z, x, lo, hi: where_p((x < lo) & (lo <= hi), g, 0),
                      lambda g, z, x, lo, hi: where_p((x > hi) | (lo > hi), g, 0),
                      sympy=_clip_sympy, sample=_clip_bounds_case,
                      conventions="the gradient goes to whichever of x, lo, hi is the result: x where lo <= x <= hi "
                      "(ties go to x, as torch.clamp), hi wherever lo > hi (NumPy's result there); at lo == hi < x "
                      "it goes to hi (torch.clamp gives none)",
                      doc="x limited to [lo, hi] with array bounds.  d/dx = 1 inside, d/dlo = 1 below, d/dhi = 1 above")

__all__ = ["ceil", "clip_bounds", "floor", "floor_divide", "fmax", "fmin", "fmod", "nan_to_num_p", "remainder",
           "round_p", "sign", "trunc"]
