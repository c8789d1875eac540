"""THE table, continued: NumPy's smooth elementwise functions (hyperbolic and inverse
trigonometric functions, logarithms and exponentials in other bases, ``hypot``,
``logaddexp``, ``sinc``, ``erf``) beside their derivative rules, SymPy forms and domains.
The piecewise ones (``floor``, ``mod``, ``fmax``, ``clip`` with Tensor bounds, ...) are in
``primitives_piecewise.py``.

Every rule is written in Tensor operations, so gradients differentiate again.

>>> import autodiff as ad
>>> x = ad.Tensor(0.5, requires_grad=True)
>>> ad.arctanh(x).backward()
>>> round(x.grad.item(), 12)            # 1 / (1 - x²)
1.333333333333
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from . import special
from .primitive import Primitive, defprim
from .primitives import Val, cos, exp, sqrt, where_p
from .sampling import Case, Draw, Sampler, elementwise

_LN2, _LN10 = math.log(2.0), math.log(10.0)


def signed(lo: float, hi: float, arity: int = 1) -> Sampler:
    """Sampler of ``arity`` inputs with |x| in [lo, hi] and either sign (away from a pole at 0)."""

    def sample(draw: Draw, dtype: Any) -> Case:
        args = []
        for shape in draw.shapes(arity):
            sign = np.where(draw.booleans(shape), 1.0, -1.0)
            args.append(np.asarray(draw.floats(shape, lo, hi, np.float64) * sign, dtype=dtype))
        return Case(args)

    return sample


# ------------------------------------------------------------- hyperbolic
cosh: Primitive  # each rule names the other
sinh = defprim("sinh", np.sinh, lambda g, z, x: g * cosh(x),
               sympy=lambda sp, x: sp.sinh(x), sample=elementwise(-3, 3), doc="sinh x.  d/dx = cosh x")
cosh = defprim("cosh", np.cosh, lambda g, z, x: g * sinh(x),
               sympy=lambda sp, x: sp.cosh(x), sample=elementwise(-3, 3), doc="cosh x.  d/dx = sinh x")


# --------------------------------------------------------- inverse trigonometric
arcsin = defprim("arcsin", np.arcsin, lambda g, z, x: g / sqrt((1 - x) * (1 + x)),
                 sympy=lambda sp, x: sp.asin(x), sample=elementwise(-0.9, 0.9),
                 doc="Inverse sine (|x| <= 1).  d/dx = 1/√(1 - x²)")
arccos = defprim("arccos", np.arccos, lambda g, z, x: -g / sqrt((1 - x) * (1 + x)),
                 sympy=lambda sp, x: sp.acos(x), sample=elementwise(-0.9, 0.9),
                 doc="Inverse cosine (|x| <= 1).  d/dx = -1/√(1 - x²)")
arctan = defprim("arctan", np.arctan, lambda g, z, x: g / (1 + x * x),
                 sympy=lambda sp, x: sp.atan(x), sample=elementwise(-4, 4), doc="Inverse tangent.  d/dx = 1/(1 + x²)")


def _hypot_safe(z: Val) -> Val:
    """The norm, with 1 where it is 0 (the gradient x/r is then 0/1: PyTorch's norm subgradient)."""
    return where_p(z == 0, 1, z)


hypot = defprim("hypot", np.hypot,
                lambda g, z, x, y: g * x / _hypot_safe(z),
                lambda g, z, x, y: g * y / _hypot_safe(z),
                sympy=lambda sp, x, y: sp.sqrt(x * x + y * y), sample=elementwise(arity=2, kinks=(0,)),
                conventions="at x = y = 0 the gradient is 0 (the subgradient norms use; torch.hypot gives NaN)",
                doc="√(x² + y²) without overflow.  d/dx = x/hypot, d/dy = y/hypot")
arctan2 = defprim("arctan2", np.arctan2,
                  lambda g, z, y, x: g * (x / hypot(y, x)) / hypot(y, x),
                  lambda g, z, y, x: -g * (y / hypot(y, x)) / hypot(y, x),
                  sympy=lambda sp, y, x: sp.atan2(y, x), sample=elementwise(arity=2, kinks=(0,)),
                  conventions="the angle jumps at the origin and on the negative x axis; at the origin the "
                  "gradient is NaN (as PyTorch)",
                  doc="The angle of the point (x, y), as np.arctan2(y, x).  d/dy = x/(x² + y²), d/dx = -y/(x² + y²)")

# --------------------------------------------------------- inverse hyperbolic
arcsinh = defprim("arcsinh", np.arcsinh, lambda g, z, x: g / hypot(x, 1),
                  sympy=lambda sp, x: sp.asinh(x), sample=elementwise(-4, 4),
                  doc="Inverse hyperbolic sine.  d/dx = 1/√(x² + 1)")
arccosh = defprim("arccosh", np.arccosh, lambda g, z, x: g / (sqrt(x - 1) * sqrt(x + 1)),
                  sympy=lambda sp, x: sp.acosh(x), sample=elementwise(1.1, 5),
                  doc="Inverse hyperbolic cosine (x >= 1).  d/dx = 1/√(x² - 1)")
arctanh = defprim("arctanh", np.arctanh, lambda g, z, x: g / ((1 - x) * (1 + x)),
                  sympy=lambda sp, x: sp.atanh(x), sample=elementwise(-0.9, 0.9),
                  doc="Inverse hyperbolic tangent (|x| < 1).  d/dx = 1/(1 - x²)")

# ------------------------------------------------------- other bases, powers
log2 = defprim("log2", np.log2, lambda g, z, x: g / (x * _LN2),
               sympy=lambda sp, x: sp.log(x, 2), sample=elementwise(0.1, 5),
               doc="Base-2 logarithm (x > 0).  d/dx = 1/(x ln 2)")
log10 = defprim("log10", np.log10, lambda g, z, x: g / (x * _LN10),
                sympy=lambda sp, x: sp.log(x, 10), sample=elementwise(0.1, 5),
                doc="Base-10 logarithm (x > 0).  d/dx = 1/(x ln 10)")
exp2 = defprim("exp2", np.exp2, lambda g, z, x: g * z * _LN2,
               sympy=lambda sp, x: 2 ** x, sample=elementwise(), doc="2ˣ.  d/dx = 2ˣ ln 2")
# exp(x), not z + 1: for x = -40, z + 1 rounds to 0
expm1 = defprim("expm1", np.expm1, lambda g, z, x: g * exp(x),
                sympy=lambda sp, x: sp.exp(x) - 1, sample=elementwise(),
                doc="eˣ - 1, accurate for small x.  d/dx = eˣ")
square = defprim("square", np.square, lambda g, z, x: g * (2 * x),
                 sympy=lambda sp, x: x ** 2, sample=elementwise(), doc="x².  d/dx = 2x")
reciprocal = defprim("reciprocal", np.reciprocal, lambda g, z, x: -g * (z * z),
                     sympy=lambda sp, x: 1 / x, sample=signed(0.3, 3),
                     doc="1/x (NumPy's: integer input gives integer division).  d/dx = -1/x²")
cbrt = defprim("cbrt", np.cbrt, lambda g, z, x: g / (3 * (z * z)),
               sympy=lambda sp, x: sp.Piecewise((x ** sp.Rational(1, 3), x > 0), (-(-x) ** sp.Rational(1, 3), True)),
               sample=signed(0.2, 4), conventions="d/dx = inf at x = 0 (the tangent is vertical)",
               doc="Real cube root (negative for x < 0).  d/dx = 1/(3 ∛x²)")
deg2rad = defprim("deg2rad", np.deg2rad, lambda g, z, x: g * (math.pi / 180),
                  sympy=lambda sp, x: x * sp.pi / 180, sample=elementwise(-200, 200),
                  doc="Degrees to radians.  d/dx = π/180")
rad2deg = defprim("rad2deg", np.rad2deg, lambda g, z, x: g * (180 / math.pi),
                  sympy=lambda sp, x: x * 180 / sp.pi, sample=elementwise(-4, 4),
                  doc="Radians to degrees.  d/dx = 180/π")

# ----------------------------------------------------------- log-sum-exp pairs
# exp(x - z) <= 1 since z >= x: no overflow at any magnitude
logaddexp = defprim("logaddexp", np.logaddexp,
                    lambda g, z, x, y: g * exp(x - z),
                    lambda g, z, x, y: g * exp(y - z),
                    sympy=lambda sp, x, y: sp.log(sp.exp(x) + sp.exp(y)), sample=elementwise(arity=2, lo=-5, hi=5),
                    doc="log(eˣ + eʸ), stable for any magnitude.  d/dx = e^(x - out) = σ(x - y)")
logaddexp2 = defprim("logaddexp2", np.logaddexp2,
                     lambda g, z, x, y: g * exp2(x - z),
                     lambda g, z, x, y: g * exp2(y - z),
                     sympy=lambda sp, x, y: sp.log(2 ** x + 2 ** y, 2), sample=elementwise(arity=2, lo=-5, hi=5),
                     doc="log₂(2ˣ + 2ʸ), stable for any magnitude.  d/dx = 2^(x - out)")


# ------------------------------------------------------------------ sinc
def _sinc_rule(g: Val, z: Val, x: Val) -> Val:
    """sinc'(x) = (cos πx - sinc x)/x. Near 0 that cancels, so |πx| < 1/4 uses the series
    π Σₙ (-1)ⁿ 2n uᵖ/(2n+1)!, p = 2n-1, u = πx (error below 1e-17); the direct branch sees
    x = 1 there, so its NaN at 0 cannot leak into a second derivative."""
    u = x * math.pi
    small = (u < 0.25) & (u > -0.25)
    far = where_p(small, 1.0, x)
    direct = (cos(far * math.pi) - sinc(far)) / far
    u2 = u * u
    series = u * (-1 / 3 + u2 * (1 / 30 + u2 * (-1 / 840 + u2 * (1 / 45360 + u2 * (-1 / 3991680 + u2 / 518918400)))))
    return g * where_p(small, series * math.pi, direct)


# sampled off 0 only because SymPy's derivative of sinc is 0/0 there (ours is 0; a test checks it)
sinc = defprim("sinc", np.sinc, _sinc_rule,
               sympy=lambda sp, x: sp.sinc(sp.pi * x), sample=elementwise(-3, 3, kinks=(0,)),
               conventions="sinc(0) = 1 and sinc'(0) = 0",
               doc="NumPy's normalised sinc, sin(πx)/(πx).  d/dx = (cos πx - sinc x)/x")

# ------------------------------------------------------------ error function
_TWO_OVER_ROOT_PI = 2 / math.sqrt(math.pi)
erf = defprim("erf", special.erf, lambda g, z, x: g * (_TWO_OVER_ROOT_PI * exp(-(x * x))),
              sympy=lambda sp, x: sp.erf(x), sample=elementwise(-3, 3),
              doc="The error function 2/√π ∫₀ˣ e^(-t²) dt (about one ulp in float64, no SciPy needed).  "
              "d/dx = 2/√π e^(-x²)")
erfc = defprim("erfc", special.erfc, lambda g, z, x: g * (-_TWO_OVER_ROOT_PI * exp(-(x * x))),
               sympy=lambda sp, x: sp.erfc(x), sample=elementwise(-3, 3),
               doc="1 - erf(x), accurate where erf(x) is close to 1.  d/dx = -2/√π e^(-x²)")

__all__ = ["arccos", "arccosh", "arcsin", "arcsinh", "arctan", "arctan2", "arctanh", "cbrt", "cosh", "deg2rad",
           "erf", "erfc", "exp2", "expm1", "hypot", "log2", "log10", "logaddexp", "logaddexp2", "rad2deg",
           "reciprocal", "signed", "sinc", "sinh", "square"]
