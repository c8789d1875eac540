"""Decompositions as primitives: Cholesky, symmetric eigendecomposition, SVD and QR.

A primitive has one output, so a decomposition with several outputs returns them packed
in one array (documented per primitive) that the public functions in
``autodiff.linalg`` slice into NumPy's named tuples; the rule unpacks the gradient the
same way. Values-only variants (``eigvalsh``, ``svdvals``) are primitives of their own:
their gradient needs no reciprocal eigenvalue gaps, so it stays finite at repeated values.

Symmetric inputs (``cholesky``, ``eigh``, ``eigvalsh``) are symmetrized, (A + Aᵀ)/2,
before the decomposition, as JAX does: on a symmetric matrix the values are NumPy's, and
the gradient is the symmetric one PyTorch and JAX return.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..compile.decide import decide, derive
from ..primitive import defprim
from ..primitives_array import concatenate_p
from ..sampling import Case, Draw
from ._basic import solve_p
from ._common import (
    LinAlgError,
    Val,
    batch_shape,
    check_matrix,
    check_square,
    col,
    diag_embed,
    generic,
    orthogonal,
    per_matrix,
    reciprocal_gaps,
    row,
    separated_values,
    spd,
    swap,
    tril_mask,
    values,
)

_SYM = "the input is symmetrized, (A + Aᵀ)/2, as JAX does (NumPy reads the lower triangle only): equal values on " \
       "symmetric input, and a symmetric gradient as PyTorch and JAX"


def _sym(a: np.ndarray) -> np.ndarray:
    sym: np.ndarray = (a + swap(a)) / 2  # NumPy's stubs type this division Any
    return sym


# ------------------------------------------------------------------ cholesky
def _cholesky(a: np.ndarray) -> np.ndarray:
    check_square("cholesky", a)
    try:
        return np.linalg.cholesky(_sym(a))
    except LinAlgError:
        raise LinAlgError(f"cholesky: a matrix of the batch of shape {a.shape} is not positive definite") from None


def _cholesky_rule(g: Val, z: Val, a: Val) -> Val:
    """With P = Φ(Lᵀ g) (lower triangle, diagonal halved) symmetrized: L⁻ᵀ P L⁻¹."""
    n = z.shape[-1]
    p = (swap(z) @ g) * tril_mask(n, 0, g.dtype)
    p = (p + swap(p * tril_mask(n, -1, g.dtype))) * 0.5
    left = solve_p(swap(z), p)
    return swap(solve_p(swap(z), swap(left)))


def _spd_case(draw: Draw, dtype: Any) -> Case:
    return Case([spd(draw, batch_shape(draw), draw.integers(1, 3), dtype)])


cholesky_p = defprim("cholesky", _cholesky, _cholesky_rule, sample=_spd_case,
                     sympy_array=lambda sp, a: per_matrix((a + swap(a)) / 2, lambda m: m.cholesky(hermitian=False),
                                                          a.shape[-2:]),
                     conventions=_SYM + "; a matrix that is not positive definite raises LinAlgError",
                     doc="Lower-triangular L with L Lᵀ = A.  d/dA = L⁻ᵀ Φ(Lᵀ g) L⁻¹ symmetrized (Φ: lower "
                     "triangle, diagonal halved)")


# ------------------------------------------------------------------ eigh
def _eigh_packed(a: np.ndarray) -> np.ndarray:
    check_square("eigh", a)
    w, v = np.linalg.eigh(_sym(a))
    return np.concatenate([w[..., None, :], v], axis=-2)


def _eigh_rule(g: Val, z: Val, a: Val) -> Val:
    """V (diag(g_w) + F ∘ skew(Vᵀ g_V)) Vᵀ with F_ij = 1 / (w_j - w_i)."""
    w, v = z[..., 0, :], z[..., 1:, :]
    gw, gv = g[..., 0, :], g[..., 1:, :]
    m = swap(v) @ gv
    k = (m - swap(m)) * 0.5
    f = reciprocal_gaps(row(w) - col(w), derive(_largest_magnitude, w), "eigh", k, "eigenvectors")
    return v @ (diag_embed(gw) + f * k) @ swap(v)


def _eigvalsh(a: np.ndarray) -> np.ndarray:
    check_square("eigvalsh", a)
    return np.linalg.eigvalsh(_sym(a))


def _eigvalsh_rule(g: Val, z: Val, a: Val) -> Val:
    v = eigh_p(a)[..., 1:, :]
    return (v * row(g)) @ swap(v)


def _symmetric_case(draw: Draw, dtype: Any) -> Case:
    batch, n = batch_shape(draw), draw.integers(1, 3)
    q = orthogonal(draw, batch, n)
    a = (q * separated_values(draw, batch, n, lo=-1.5)[..., None, :]) @ swap(q)
    return Case([_sym(a).astype(dtype)])


_REPEATED = ("at repeated eigenvalues the eigenvectors are not unique: the gradient is computed when the loss does "
             "not depend on the choice of basis in the repeated eigenspace, else LinAlgError is raised (PyTorch "
             "returns inf/NaN there)")
eigh_p = defprim("eigh", _eigh_packed, _eigh_rule, sample=_symmetric_case,
                 no_sympy="SymPy cannot give closed-form eigenvectors of a symbolic matrix beyond 2x2",
                 conventions=_SYM + "; eigenvalues ascending, eigenvector signs LAPACK's (they can jump at special "
                 "matrices, e.g. diagonal ones, where the gradient is that of the branch through the computed "
                 "vectors); " + _REPEATED,
                 doc="Packed (..., n+1, n): row 0 the eigenvalues w, rows 1: the eigenvectors V (columns) of "
                 "the symmetric A.  d/dA = V (diag(g_w) + F ∘ skew(Vᵀ g_V)) Vᵀ, F_ij = 1/(w_j - w_i)")
eigvalsh_p = defprim("eigvalsh", _eigvalsh, _eigvalsh_rule, sample=_symmetric_case,
                     no_sympy="SymPy cannot give closed-form eigenvalues of a symbolic matrix beyond 2x2",
                     conventions=_SYM + "; at repeated eigenvalues the gradient is V diag(g) Vᵀ for LAPACK's "
                     "basis, exact for symmetric functions of the repeated values (their sum)",
                     doc="Eigenvalues w (ascending) of the symmetric A.  d/dA = V diag(g) Vᵀ")


# ------------------------------------------------------------------ SVD
def _svd_packed(a: np.ndarray) -> np.ndarray:
    check_matrix("svd", a)
    u, s, vh = np.linalg.svd(a, full_matrices=False)
    return np.concatenate([u, s[..., None, :], swap(vh)], axis=-2)


def _largest_magnitude(w: np.ndarray) -> np.ndarray:
    """max |w| over the last axis, shaped (..., 1, 1)."""
    top: np.ndarray = np.max(np.abs(w), axis=-1, keepdims=True, initial=0.0)[..., None]
    return top


def _largest_squared(s: np.ndarray) -> np.ndarray:
    """(max s)² over the last axis, shaped (..., 1, 1)."""
    top: np.ndarray = np.max(s, axis=-1, keepdims=True, initial=0.0)[..., None] ** 2
    return top


def _rank_deficient(s: np.ndarray, k: int) -> np.ndarray:
    """Which singular values are (numerically) zero."""
    top = np.max(s, axis=-1, keepdims=True, initial=0.0)
    tiny: np.ndarray = s <= 100 * k * np.finfo(s.dtype).eps * np.maximum(top, np.finfo(s.dtype).tiny)
    return tiny


def _vectors_used_at_zero(s: np.ndarray, grad: np.ndarray, k: int) -> bool:
    return bool(_rank_deficient(s, k).any() and grad.any())


def _check_rank(name: str, s: Val, grad: Val, k: int) -> None:
    if decide(_vectors_used_at_zero, s, grad, k=k):
        raise LinAlgError(f"{name}: the singular vectors of a rank-deficient non-square matrix are not "
                          f"differentiable (singular values {values(s)[_rank_deficient(values(s), k)][:4]} ...)")


def _svd_rule(g: Val, z: Val, a: Val) -> Val:
    """PyTorch's svd_backward (real case), the 1/(s_k² - s_j²) terms guarded at repeated values."""
    m, n = a.shape[-2], a.shape[-1]
    k = min(m, n)
    u, s, v = z[..., :m, :], z[..., m, :], z[..., m + 1:, :]
    gu, gs, gv = g[..., :m, :], g[..., m, :], g[..., m + 1:, :]
    uhgu, vhgv = swap(u) @ gu, swap(v) @ gv
    numer = (uhgu - swap(uhgu)) * row(s) + col(s) * (vhgv - swap(vhgv))
    f = reciprocal_gaps(row(s * s) - col(s * s), derive(_largest_squared, s), "svd", numer, "singular vectors")
    inner = numer * f + diag_embed(gs)
    if m > k:
        _check_rank("svd", s, gu, k)
        gus = gu / row(s)
        return (u @ inner + gus - u @ (swap(u) @ gus)) @ swap(v)
    if n > k:
        _check_rank("svd", s, gv, k)
        sgv = swap(gv) / col(s)
        return u @ (inner @ swap(v) + sgv - (sgv @ v) @ swap(v))
    return u @ inner @ swap(v)


def _svdvals(a: np.ndarray) -> np.ndarray:
    check_matrix("svdvals", a)
    return np.linalg.svd(a, compute_uv=False)


def _svdvals_rule(g: Val, z: Val, a: Val) -> Val:
    m = a.shape[-2]
    packed = svd_p(a)
    return (packed[..., :m, :] * row(g)) @ swap(packed[..., m + 1:, :])


def _svd_case(draw: Draw, dtype: Any) -> Case:
    batch, m, n = batch_shape(draw), draw.integers(1, 3), draw.integers(1, 3)
    k = min(m, n)
    u, v = orthogonal(draw, batch, m)[..., :k], orthogonal(draw, batch, n)[..., :k]
    s = separated_values(draw, batch, k, lo=0.6)
    return Case([((u * s[..., None, :]) @ swap(v)).astype(dtype)])


svd_p = defprim("svd", _svd_packed, _svd_rule, sample=_svd_case,
                no_sympy="SymPy cannot give closed-form singular vectors of a symbolic matrix",
                conventions="reduced SVD (k = min(m, n)); singular values descending, vector signs LAPACK's; at "
                "repeated singular values the gradient is computed when the loss does not depend on the choice of "
                "basis, else LinAlgError; vectors of a rank-deficient non-square matrix raise LinAlgError",
                doc="Packed (..., m+1+n, k): rows :m U, row m the singular values s, rows m+1: V (= Vhᵀ).  "
                "d/dA = U [(skew(Uᵀg_U) S + S skew(Vᵀg_V)) / (s_k² - s_j²) + diag(g_s)] Vᵀ + the projections of "
                "g_U, g_V off U and V scaled by 1/s")
svdvals_p = defprim("svdvals", _svdvals, _svdvals_rule, sample=_svd_case,
                    no_sympy="SymPy cannot give closed-form singular values of a symbolic matrix",
                    conventions="at repeated singular values the gradient is U diag(g) Vᵀ for LAPACK's vectors, "
                    "exact for symmetric functions of the repeated values (nuclear norm)",
                    doc="Singular values s (descending) of A.  d/dA = U diag(g) Vᵀ")


# ------------------------------------------------------------------ QR
def _qr_packed(a: np.ndarray) -> np.ndarray:
    check_matrix("qr", a)
    q, r = np.linalg.qr(a)
    return np.concatenate([swap(q), r], axis=-1)


def _zero_on_diagonal(r: np.ndarray, size: int) -> bool:
    """Whether R has a (numerically) zero diagonal entry: A is rank-deficient."""
    diag = np.abs(np.diagonal(r, axis1=-2, axis2=-1))
    top = np.max(np.abs(r), axis=(-2, -1), initial=0.0)[..., None]
    return bool((diag <= 100 * size * np.finfo(r.dtype).eps * top).any())


def _qr_square_like(q: Val, r: Val, gq: Val, gr: Val) -> Val:
    """The gradient for m >= n: (g_Q + Q copyltu(M)) R⁻ᵀ with M = R g_Rᵀ - g_Qᵀ Q."""
    n = r.shape[-1]
    mm = r @ swap(gr) - swap(gq) @ q
    copied = mm * tril_mask(n, 0, mm.dtype) + swap(mm * tril_mask(n, -1, mm.dtype))
    return swap(solve_p(r, swap(gq + q @ copied)))


def _qr_rule(g: Val, z: Val, a: Val) -> Val:
    m, n = a.shape[-2], a.shape[-1]
    q, r = swap(z[..., :, :m]), z[..., :, m:]
    gq, gr = swap(g[..., :, :m]), g[..., :, m:]
    if decide(_zero_on_diagonal, r, size=max(m, n)):
        raise LinAlgError(f"qr: not differentiable at a rank-deficient matrix (shape {a.shape}): R has a "
                          f"(numerically) zero diagonal entry")
    if m >= n:
        return _qr_square_like(q, r, gq, gr)
    # A = [X | Y] with X square: X = Q U, Y = Q V; the gradient of V reaches X through Q
    y, gu, gv = a[..., :, m:], gr[..., :, :m], gr[..., :, m:]
    gx = _qr_square_like(q, r[..., :, :m], gq + y @ swap(gv), gu)
    return concatenate_p(gx, q @ gv, axis=-1)


def _qr_case(draw: Draw, dtype: Any) -> Case:
    m, n = draw.integers(1, 3), draw.integers(1, 3)
    a = draw.floats(batch_shape(draw) + (m, n), -1, 1, np.float64) + 3.0 * np.eye(m, n) + generic((m, n))
    return Case([a.astype(dtype)])


qr_p = defprim("qr", _qr_packed, _qr_rule, sample=_qr_case,
               no_sympy="SymPy's QR of a symbolic matrix needs sign assumptions the proof's symbols lack",
               conventions="reduced QR with LAPACK's signs (R's diagonal may be negative; they jump where a column "
               "below the diagonal is exactly zero, e.g. on a diagonal matrix, so the gradient there is that of "
               "the branch through the computed factors); a rank-deficient matrix "
               "(a zero on R's diagonal) raises LinAlgError in backward",
               doc="Packed (..., k, m+n): columns :m Qᵀ, columns m: R (k = min(m, n)).  For m >= n d/dA = "
               "(g_Q + Q copyltu(R g_Rᵀ - g_Qᵀ Q)) R⁻ᵀ; for m < n the trailing columns through Q g_V")

__all__ = ["cholesky_p", "eigh_p", "eigvalsh_p", "qr_p", "svd_p", "svdvals_p"]
