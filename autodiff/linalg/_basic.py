"""Linear-algebra primitives without a decomposition in their rules: inverse,
determinant, log |determinant|, solve, trace and pseudo-inverse, each beside its
derivative rule (written in Tensor operations, so every order works).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..compile.decide import decide, has_inf, has_zero
from ..primitive import defprim
from ..primitives_array import transpose_p
from ..sampling import Case, Draw
from ._common import (
    LinAlgError,
    Val,
    batch_shape,
    check_matrix,
    check_square,
    col,
    per_matrix,
    row,
    swap,
    well_conditioned,
)


# -------------------------------------------------------------------- inverse
def _inv(a: np.ndarray) -> np.ndarray:
    check_square("inv", a)
    try:
        return np.linalg.inv(a)
    except LinAlgError:
        raise LinAlgError(f"inv: a matrix of the batch of shape {a.shape} is singular (it has no inverse)") from None


def _square_case(draw: Draw, dtype: Any) -> Case:
    n = draw.integers(1, 3)
    return Case([well_conditioned(draw, batch_shape(draw) + (n, n), dtype)])


inv_p = defprim("inv", _inv, lambda g, z, a: -(swap(z) @ g @ swap(z)),
                sympy_array=lambda sp, a: per_matrix(a, lambda m: m.inv(), a.shape[-2:]),
                sample=_square_case, conventions="an exactly singular matrix raises LinAlgError (as NumPy); a "
                "nearly singular one gives NumPy's large values",
                doc="A⁻¹ for each matrix of the batch.  d/dA: -A⁻ᵀ g A⁻ᵀ")


# ---------------------------------------------------------------- determinant
def _det(a: np.ndarray) -> np.ndarray:
    check_square("det", a)
    return np.asarray(np.linalg.det(a))


def _det_rule(g: Val, z: Val, a: Val) -> Val:
    if decide(has_zero, z):
        raise LinAlgError(f"det: the gradient at a singular matrix (det = 0, batch of shape {a.shape}) is its "
                          f"adjugate, which autodiff does not compute; perturb the matrix or use slogdet on a "
                          f"nonsingular one")
    return (g * z)[..., None, None] * swap(inv_p(a))


def _logabsdet(a: np.ndarray) -> np.ndarray:
    check_square("slogdet", a)
    return np.asarray(np.linalg.slogdet(a)[1])


def _logabsdet_rule(g: Val, z: Val, a: Val) -> Val:
    if decide(has_inf, z):
        raise LinAlgError(f"slogdet: log|det| is -inf at a singular matrix (batch of shape {a.shape}); it has no "
                          f"gradient there")
    return g[..., None, None] * swap(inv_p(a))


det_p = defprim("det", _det, _det_rule,
                sympy_array=lambda sp, a: per_matrix(a, lambda m: m.det(), ()), sample=_square_case,
                conventions="the gradient at an exactly singular matrix raises LinAlgError",
                doc="det A for each matrix of the batch.  d/dA = det(A) A⁻ᵀ")
logabsdet_p = defprim("logabsdet", _logabsdet, _logabsdet_rule,
                      sympy_array=lambda sp, a: per_matrix(a, lambda m: sp.log(sp.Abs(m.det())), ()),
                      sample=_square_case, conventions="-inf at a singular matrix, whose gradient raises "
                      "LinAlgError; the sign (slogdet's other output) is piecewise constant",
                      doc="log |det A| (slogdet's second output).  d/dA = A⁻ᵀ")


# ---------------------------------------------------------------------- solve
def _solve(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    check_square("solve", a)
    try:
        return np.linalg.solve(a, b)
    except LinAlgError as e:
        if "singular" in str(e).lower():
            raise LinAlgError(f"solve: a matrix of the batch of shape {a.shape} is singular") from None
        raise


def _solve_gb(g: Val, z: Val, a: Val, b: Val) -> Val:
    if b.ndim == 1:  # NumPy 2: a 1-D b is one vector; a batched g must be solved as columns
        return solve_p(swap(a), col(g))[..., 0]
    return solve_p(swap(a), g)


def _solve_ga(g: Val, z: Val, a: Val, b: Val) -> Val:
    gb = _solve_gb(g, z, a, b)
    if b.ndim == 1:
        return -(col(gb) * row(z))
    return -(gb @ swap(z))


def _solve_case(draw: Draw, dtype: Any) -> Case:
    n = draw.integers(1, 3)
    batch = batch_shape(draw)
    a = well_conditioned(draw, batch + (n, n), dtype)
    kind = draw.integers(0, 2)
    b_shape = (n,) if kind == 0 else (batch if kind == 1 else ()) + (n, draw.integers(1, 2))
    return Case([a, draw.floats(b_shape, -2, 2, dtype)])


def _solve_objects(sp: Any, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.asarray(np.matmul(per_matrix(a, lambda m: m.inv(), a.shape[-2:]), b))


solve_p = defprim("solve", _solve, _solve_ga, _solve_gb, sympy_array=_solve_objects, sample=_solve_case,
                  conventions="b is one vector only when it is 1-D, else a batch of matrices (NumPy 2); a singular "
                  "matrix raises LinAlgError",
                  doc="x = A⁻¹ b for each matrix of the batch (broadcast).  d/db = A⁻ᵀ g, d/dA = -(A⁻ᵀ g) xᵀ")


# ---------------------------------------------------------------------- trace
def _trace_rule(g: Val, z: Val, x: Val, offset: int, axis1: int, axis2: int) -> Val:
    a1, a2 = axis1 % x.ndim, axis2 % x.ndim
    rest = [i for i in range(x.ndim) if i not in (a1, a2)]
    mask = np.eye(x.shape[a1], x.shape[a2], k=offset, dtype=g.dtype)
    spread = g[..., None, None] * mask
    return transpose_p(spread, axes=tuple(int(i) for i in np.argsort(rest + [a1, a2])))


def _trace_case(draw: Draw, dtype: Any) -> Case:
    (shape,) = draw.shapes(1, min_dims=2, max_dims=4)
    nd = len(shape)
    a1 = draw.integers(-nd, nd - 1)
    a2 = draw.choice([k for k in range(-nd, nd) if k % nd != a1 % nd])
    offset = draw.integers(-1, 1)
    return Case([draw.floats(shape, -2, 2, dtype)], {"offset": offset, "axis1": a1, "axis2": a2})


def _trace(x: np.ndarray, offset: int, axis1: int, axis2: int) -> np.ndarray:
    check_matrix("trace", x)
    return np.asarray(np.trace(x, offset=offset, axis1=axis1, axis2=axis2))


trace_p = defprim("trace", _trace, _trace_rule,
                  sympy_array=lambda sp, x, offset, axis1, axis2: np.asarray(
                      np.trace(x, offset=offset, axis1=axis1, axis2=axis2), dtype=object),
                  sample=_trace_case, doc="Σᵢ x[..., i, i + offset, ...] over axis1 and axis2.  "
                  "d/dx = g on that diagonal, 0 elsewhere")


# -------------------------------------------------------------- pseudo-inverse
def _pinv(a: np.ndarray, rcond: Any) -> np.ndarray:
    check_matrix("pinv", a)
    return np.linalg.pinv(a) if rcond is None else np.linalg.pinv(a, rcond=rcond)


def _pinv_rule(g: Val, z: Val, a: Val, rcond: Any) -> Val:
    """Golub and Pereyra's derivative of A⁺ (valid where the rank is locally constant),
    the projections I - A A⁺ and I - A⁺ A applied as products so no identity is built."""
    zt = swap(z)
    first = -(zt @ g @ zt)
    left = swap(g) @ z @ zt  # gᵀ A⁺ A⁺ᵀ, then (I - A A⁺) applied on the left
    left = left - a @ (z @ left)
    right = zt @ z @ swap(g)  # A⁺ᵀ A⁺ gᵀ, then (I - A⁺ A) applied on the right
    right = right - (right @ z) @ a
    return first + left + right


def _pinv_case(draw: Draw, dtype: Any) -> Case:
    m, n = draw.integers(1, 3), draw.integers(1, 3)
    a = draw.floats(batch_shape(draw) + (m, n), -1, 1, np.float64) + 2.5 * np.eye(m, n)
    return Case([a.astype(dtype)], {"rcond": None})


def _pinv_objects(sp: Any, a: np.ndarray, rcond: Any) -> np.ndarray:
    """The full-rank forms (the sampler draws full-rank matrices): (AᵀA)⁻¹Aᵀ or Aᵀ(AAᵀ)⁻¹."""
    tall = a.shape[-2] >= a.shape[-1]
    return per_matrix(a, lambda m: (m.T * m).inv() * m.T if tall else m.T * (m * m.T).inv(), swap(a).shape[-2:])


pinv_p = defprim("pinv", _pinv, _pinv_rule, sympy_array=_pinv_objects, sample=_pinv_case,
                 conventions="singular values below rcond (NumPy's default cutoff when None) count as 0; the "
                 "derivative assumes the rank is constant nearby (it jumps where the rank changes)",
                 doc="A⁺, the Moore-Penrose pseudo-inverse of each matrix.  d/dA = -A⁺ᵀ g A⁺ᵀ "
                 "+ (I - A A⁺) gᵀ A⁺ A⁺ᵀ + A⁺ᵀ A⁺ gᵀ (I - A⁺ A)")

__all__ = ["det_p", "inv_p", "logabsdet_p", "pinv_p", "solve_p", "trace_p"]
