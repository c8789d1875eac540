"""The error function and its complement in NumPy, accurate to about one ulp in float64.

No SciPy needed: this is the piecewise rational approximation of FDLIBM's ``s_erf.c``
(J. T. Coonen and K. C. Ng, Sun Microsystems, 1993; its coefficients and error bounds
are used here, the vectorised code is ours), the same method Go's ``math.Erf``, musl and
the BSD libms use. On each interval the approximation error is below 2**-57:

- |x| < 0.84375: erf(x) = x + x·P(x²)/Q(x²);
- 0.84375 <= |x| < 1.25: erf(|x|) = c + P(|x| - 1)/Q(|x| - 1), c = 0.845062911510467529297;
- 1.25 <= |x| < 28: erfc(|x|) = exp(-x² - 0.5625 + R(1/x²)/S(1/x²)) / |x|, with
  two (R, S) pairs split at 1/0.35, and the exponent formed so that -x² loses no bits;
- |x| >= 28: erf = ±1, erfc = 0 or 2.

Original notice of the coefficients' source: "Copyright (C) 1993 by Sun Microsystems,
Inc. All rights reserved. Developed at SunSoft, a Sun Microsystems, Inc. business.
Permission to use, copy, modify, and distribute this software is freely granted,
provided that this notice is preserved."

>>> import math
>>> abs(float(erf(np.array(0.5))) - math.erf(0.5)) < 1e-16
True
"""

from __future__ import annotations

import numpy as np

_ERX = 8.45062911510467529297e-01
_EFX8 = 1.02703333676410069053e+00
# lowest degree first
_PP = (1.28379167095512558561e-01, -3.25042107247001499370e-01, -2.84817495755985104766e-02,
       -5.77027029648944159157e-03, -2.37630166566501626084e-05)
_QQ = (1.0, 3.97917223959155352819e-01, 6.50222499887672944485e-02, 5.08130628187576562776e-03,
       1.32494738004321644526e-04, -3.96022827877536812320e-06)
_PA = (-2.36211856075265944077e-03, 4.14856118683748331666e-01, -3.72207876035701323847e-01,
       3.18346619901161753674e-01, -1.10894694282396677476e-01, 3.54783043256182359371e-02,
       -2.16637559486879084300e-03)
_QA = (1.0, 1.06420880400844228286e-01, 5.40397917702171048937e-01, 7.18286544141962662868e-02,
       1.26171219808761642112e-01, 1.36370839120290507362e-02, 1.19844998467991074170e-02)
_RA = (-9.86494403484714822705e-03, -6.93858572707181764372e-01, -1.05586262253232909814e+01,
       -6.23753324503260060396e+01, -1.62396669462573470355e+02, -1.84605092906711035994e+02,
       -8.12874355063065934246e+01, -9.81432934416914548592e+00)
_SA = (1.0, 1.96512716674392571292e+01, 1.37657754143519042600e+02, 4.34565877475229228821e+02,
       6.45387271733267880336e+02, 4.29008140027567833386e+02, 1.08635005541779435134e+02,
       6.57024977031928170135e+00, -6.04244152148580987438e-02)
_RB = (-9.86494292470009928597e-03, -7.99283237680523006574e-01, -1.77579549177547519889e+01,
       -1.60636384855821916062e+02, -6.37566443368389627722e+02, -1.02509513161107724954e+03,
       -4.83519191608651397019e+02)
_SB = (1.0, 3.03380607434824582924e+01, 3.25792512996573918826e+02, 1.53672958608443695994e+03,
       3.19985821950859553908e+03, 2.55305040643316442583e+03, 4.74528541206955367215e+02,
       -2.24409524465858183362e+01)


def _poly(t: np.ndarray, coeffs: tuple[float, ...]) -> np.ndarray:
    """Horner's rule, coefficients lowest degree first."""
    acc = np.full_like(t, coeffs[-1])
    for c in coeffs[-2::-1]:
        acc = acc * t + c
    return acc


def _small(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """erf and erfc for |x| < 0.84375."""
    y = _poly(x * x, _PP) / _poly(x * x, _QQ)
    tiny = np.abs(x) < 2.0 ** -28
    e = np.where(tiny, 0.125 * (8.0 * x + _EFX8 * x), x + x * y)  # the 1/8 avoids underflow of x·efx
    c = np.where(x < 0.25, 1.0 - e, 0.5 - (x * y + (x - 0.5)))
    return e, c


def _middle(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """erf and erfc for 0.84375 <= |x| < 1.25."""
    s = np.abs(x) - 1.0
    pq = _poly(s, _PA) / _poly(s, _QA)
    positive = x > 0
    e = np.where(positive, _ERX + pq, -_ERX - pq)
    c = np.where(positive, (1.0 - _ERX) - pq, 1.0 + (_ERX + pq))
    return e, c


def _tail(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """erf and erfc for 1.25 <= |x| < 28."""
    a = np.abs(x)
    s = 1.0 / (a * a)
    near = a < 1.0 / 0.35
    ratio = np.where(near, _poly(s, _RA) / _poly(s, _SA), _poly(s, _RB) / _poly(s, _SB))
    z = (a.view(np.uint64) & np.uint64(0xFFFFFFFF00000000)).view(np.float64)  # a with its low 32 bits cleared
    upper = np.exp(-z * z - 0.5625) * np.exp((z - a) * (z + a) + ratio) / a  # erfc(|x|)
    positive = x > 0
    return np.where(positive, 1.0 - upper, upper - 1.0), np.where(positive, upper, 2.0 - upper)


def erf_erfc(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """erf(x) and erfc(x) of a float64 array (NaN stays NaN, ±inf gives the limits)."""
    x = np.asarray(x, dtype=np.float64)
    e, c = np.full(x.shape, np.nan), np.full(x.shape, np.nan)
    a = np.abs(x)
    for mask, piece in ((a < 0.84375, _small), ((a >= 0.84375) & (a < 1.25), _middle),
                        ((a >= 1.25) & (a < 28.0), _tail)):
        if mask.any():
            e[mask], c[mask] = piece(np.ascontiguousarray(x[mask]))
    far = a >= 28.0
    e[far] = np.sign(x[far])
    c[far] = np.where(x[far] > 0, 0.0, 2.0)
    return e, c


def _result_dtype(x: np.ndarray) -> np.dtype:
    """The dtype NumPy's float ufuncs give for ``x`` (float32 stays float32, ints become float64)."""
    return np.sin(np.zeros(0, dtype=x.dtype)).dtype


def erf(x: np.ndarray) -> np.ndarray:
    """The error function 2/√π ∫₀ˣ exp(-t²) dt, elementwise (float32 in, float32 out)."""
    x = np.asarray(x)
    return erf_erfc(x)[0].astype(_result_dtype(x), copy=False)


def erfc(x: np.ndarray) -> np.ndarray:
    """1 - erf(x), without the cancellation for large x (erfc(10) = 2.09e-45)."""
    x = np.asarray(x)
    return erf_erfc(x)[1].astype(_result_dtype(x), copy=False)
