"""Helpers shared by the linear-algebra primitives: argument checks, Tensor-or-ndarray
utilities used inside derivative rules, samplers of well-conditioned matrices and
SymPy forms applied matrix by matrix.

Rules receive ndarrays during a plain backward pass and Tensors under
``create_graph=True``; everything here works on both.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeAlias, overload

import numpy as np

from ..compile.decide import decide, derive
from ..primitives import where_p
from ..sampling import Draw
from ..tensor import Tensor

LinAlgError = np.linalg.LinAlgError

#: What a derivative rule receives and returns: an ndarray in a plain backward pass, a
#: Tensor under ``create_graph=True`` (the rules are written so that both work).
Val: TypeAlias = Tensor | np.ndarray


def values(x: Any) -> np.ndarray:
    """The ndarray behind ``x`` (a Tensor's data, or ``x`` itself)."""
    return x._data if isinstance(x, Tensor) else np.asarray(x)


def check_square(name: str, a: np.ndarray) -> None:
    """Raise unless ``a`` is a stack of square matrices."""
    if a.ndim < 2 or a.shape[-1] != a.shape[-2]:
        raise LinAlgError(f"{name}: expected square matrices in the last two axes, got shape {a.shape}")


def check_matrix(name: str, a: np.ndarray) -> None:
    """Raise unless ``a`` has at least two axes."""
    if a.ndim < 2:
        raise LinAlgError(f"{name}: expected a matrix (at least 2 axes), got shape {a.shape}")


@overload
def swap(x: Tensor) -> Tensor: ...
@overload
def swap(x: np.ndarray) -> np.ndarray: ...
def swap(x: Val) -> Val:
    """The matrix transpose of a batch (last two axes swapped)."""
    out: Val = x.swapaxes(-1, -2)  # Tensor.swapaxes is a dispatching method typed Any
    return out


@overload
def col(x: Tensor) -> Tensor: ...
@overload
def col(x: np.ndarray) -> np.ndarray: ...
def col(x: Val) -> Val:
    """``x[..., :, None]``: a batch of vectors as column matrices."""
    return x[..., :, None]


@overload
def row(x: Tensor) -> Tensor: ...
@overload
def row(x: np.ndarray) -> np.ndarray: ...
def row(x: Val) -> Val:
    """``x[..., None, :]``: a batch of vectors as row matrices."""
    return x[..., None, :]


def diag_embed(v: Val) -> Val:
    """Diagonal matrices with ``v`` (shape (..., n)) on the diagonal."""
    n = v.shape[-1]
    return col(v) * np.eye(n, dtype=v.dtype)


def tril_mask(n: int, k: int, dtype: Any) -> np.ndarray:
    """Ones on and below the k-th diagonal of an n x n matrix."""
    return np.tril(np.ones((n, n), dtype=dtype), k)


def reciprocal_gaps(d: Val, scale: Val, name: str, numerator: Val, what: str) -> Val:
    """``1 / d`` off the diagonal, 0 on it, for the gap matrix ``d`` of a decomposition
    whose values have magnitude ``scale`` (shape (..., 1, 1)).

    Where a gap vanishes (repeated eigen/singular values) the vectors are not unique and
    their derivative is undefined unless the loss does not care which basis is chosen, in
    which case ``numerator`` (what ``1 / d`` multiplies) vanishes there too and the term
    is 0. A nonzero numerator over a vanished gap raises instead of returning inf/NaN.
    """
    if decide(_basis_dependent, d, scale, numerator):
        dv = values(d)
        gaps = np.abs(dv[_vanished(dv, values(scale))])
        raise LinAlgError(
            f"{name}: the derivative of the {what} is undefined at repeated values (gaps "
            f"{np.sort(gaps)[:4]} ...), and the gradient reaching them depends on the choice of "
            f"basis; differentiate only basis-independent quantities (values, projectors, products) there"
        )
    skip = derive(_vanished_or_diagonal, d, scale)  # an op of a compiled program: recomputed at every call
    safe = where_p(skip, 1, d)
    return where_p(skip, 0, 1 / safe)


def _eps(dtype: np.dtype) -> float:
    return float(np.finfo(dtype).eps if dtype.kind == "f" else np.finfo(np.float64).eps)


def _vanished(d: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """The off-diagonal gaps that vanish relative to ``scale`` (repeated values)."""
    n = d.shape[-1]
    tiny: np.ndarray = ~np.eye(n, dtype=bool) & (
        np.abs(d) <= 100 * n * _eps(d.dtype) * np.maximum(scale, np.finfo(d.dtype).tiny))
    return tiny


def _vanished_or_diagonal(d: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """Where ``1 / d`` is replaced by 0: the diagonal and the vanished gaps."""
    out: np.ndarray = _vanished(d, scale) | np.eye(d.shape[-1], dtype=bool)
    return out


def _basis_dependent(d: np.ndarray, scale: np.ndarray, numerator: np.ndarray) -> bool:
    """Whether a vanished gap meets a numerator that does not vanish (relative to the largest)."""
    tiny = _vanished(d, scale)
    if not tiny.any():
        return False
    n = d.shape[-1]
    nscale = np.max(np.abs(numerator), axis=(-2, -1), keepdims=True, initial=0.0)
    return bool((np.abs(numerator) > 1e3 * n * _eps(d.dtype) * nscale)[np.broadcast_to(tiny, numerator.shape)].any())


# ------------------------------------------------------------------ sampling
def batch_shape(draw: Draw) -> tuple[int, ...]:
    """A batch shape of 0 to 2 axes."""
    (shape,) = draw.shapes(1, max_dims=2, max_side=2)
    return shape


def generic(shape: tuple[int, ...]) -> np.ndarray:
    """A fixed dense pattern with no zeros or ties. Added to drawn matrices so that even the
    simplest draw (all zeros) is not a diagonal matrix, where LAPACK's sign choices for
    eigenvectors and Householder reflections jump (the decomposition is not continuous there)."""
    pattern: np.ndarray = 0.3 * np.sin(1.7 * np.arange(int(np.prod(shape))) + 0.4).reshape(shape)
    return pattern


def orthogonal(draw: Draw, batch: tuple[int, ...], n: int) -> np.ndarray:
    """Random orthogonal n x n matrices (float64) from a drawn Gaussian-like matrix."""
    q, r = np.linalg.qr(draw.floats(batch + (n, n), -1, 1, np.float64) + 0.5 * np.eye(n) + generic((n, n)))
    return q * np.sign(np.where(np.diagonal(r, axis1=-2, axis2=-1) == 0, 1, np.diagonal(r, axis1=-2, axis2=-1)))[
        ..., None, :]


def separated_values(draw: Draw, batch: tuple[int, ...], n: int, lo: float = 0.8, gap: float = 0.7) -> np.ndarray:
    """n values per batch entry, in increasing order, at least ``gap`` apart, from ``lo``."""
    jitter = draw.floats(batch + (n,), 0.0, 0.3, np.float64)
    values: np.ndarray = lo + gap * np.arange(n) + jitter
    return values


def well_conditioned(draw: Draw, shape: tuple[int, ...], dtype: Any) -> np.ndarray:
    """Square matrices with singular values well away from 0 (a diagonally dominant draw,
    one row's sign flipped at random so determinants of either sign occur)."""
    n = shape[-1]
    a = draw.floats(shape, -1, 1, np.float64) + (n + 1.0) * np.eye(n)
    if draw.integers(0, 1):
        a[..., 0, :] *= -1
    return a.astype(dtype)


def spd(draw: Draw, batch: tuple[int, ...], n: int, dtype: Any) -> np.ndarray:
    """Symmetric positive-definite matrices with eigenvalues 0.7 or more apart."""
    q = orthogonal(draw, batch, n)
    a = (q * separated_values(draw, batch, n)[..., None, :]) @ swap(q)
    sym: np.ndarray = ((a + swap(a)) / 2).astype(dtype)
    return sym


# ------------------------------------------------------------------ SymPy
def per_matrix(x: np.ndarray, fn: Callable[[Any], Any], core: tuple[int, ...]) -> np.ndarray:
    """Apply ``fn`` (a SymPy Matrix -> SymPy Matrix or scalar) to each matrix of an object
    array; ``core`` is the shape of one result (() for a scalar)."""
    import sympy as sp

    lead = x.shape[:-2]
    out = np.empty(lead + core, dtype=object)
    for idx in np.ndindex(lead):
        r = fn(sp.Matrix(x[idx]))
        out[idx] = np.array(r.tolist(), dtype=object).reshape(core) if core else r
    return out


__all__ = ["LinAlgError", "batch_shape", "generic", "check_matrix", "check_square", "col", "diag_embed", "orthogonal",
           "per_matrix", "reciprocal_gaps", "row", "separated_values", "spd", "swap", "tril_mask", "Val", "values",
           "well_conditioned"]
