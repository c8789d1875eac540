"""Differentiable linear algebra with NumPy's names and semantics (``autodiff.linalg``).

Every function works on stacks of matrices, batched over the leading axes as NumPy
does, and is reached from NumPy too: ``np.linalg.inv(t)`` on a Tensor calls
``autodiff.linalg.inv``. Decompositions return NumPy's named tuples of Tensors.

>>> import autodiff as ad
>>> a = ad.Tensor([[2.0, 1.0], [1.0, 3.0]], requires_grad=True)
>>> ad.linalg.det(a).backward()
>>> a.grad
Tensor([[ 3., -1.],
        [-1.,  2.]])
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np

from .. import functions as F
from ..aliases import TensorLike
from ..compile.decide import derive
from ..mode import state
from ..primitives import matmul as _matmul
from ..tensor import Tensor, as_tensor
from ._basic import det_p, inv_p, logabsdet_p, pinv_p, solve_p, trace_p
from ._common import LinAlgError, swap
from ._decomp import cholesky_p, eigh_p, eigvalsh_p, qr_p, svd_p, svdvals_p
from ._norm import matrix_norm, matrix_power, norm, vector_norm
from ._solvers import lstsq, tensorinv, tensorsolve


class EighResult(NamedTuple):
    """Eigenvalues (ascending) and eigenvectors (columns) of a symmetric matrix."""

    eigenvalues: Tensor
    eigenvectors: Tensor


class SVDResult(NamedTuple):
    """``A = U @ (S[..., None] * Vh)``."""

    U: Tensor
    S: Tensor
    Vh: Tensor


class QRResult(NamedTuple):
    """``A = Q @ R`` with orthonormal columns in Q and upper-triangular R."""

    Q: Tensor
    R: Tensor


class SlogdetResult(NamedTuple):
    """``det A = sign * exp(logabsdet)``."""

    sign: Tensor
    logabsdet: Tensor


def _t(x: Any) -> Tensor:
    return x if isinstance(x, Tensor) else as_tensor(x)


def inv(a: TensorLike) -> Tensor:
    """The inverse of each square matrix; a singular one raises ``LinAlgError``.

    >>> import autodiff as ad
    >>> ad.linalg.inv(ad.Tensor([[2.0, 0.0], [0.0, 4.0]]))
    Tensor([[0.5 , 0.  ],
            [0.  , 0.25]])
    """
    return inv_p(_t(a))


def det(a: TensorLike) -> Tensor:
    """The determinant of each square matrix (gradient ``det(A) A⁻ᵀ``; at an exactly
    singular matrix the gradient raises ``LinAlgError``)."""
    return det_p(_t(a))


def slogdet(a: TensorLike) -> SlogdetResult:
    """Sign and log of the absolute determinant; the sign carries no gradient.

    >>> import autodiff as ad
    >>> ad.linalg.slogdet(ad.Tensor([[-2.0, 0.0], [0.0, 1.0]])).sign
    Tensor(-1.)
    """
    a = _t(a)
    logabsdet = logabsdet_p(a)
    return SlogdetResult(derive(_slogdet_sign, a), logabsdet)


def _slogdet_sign(a: np.ndarray) -> np.ndarray:
    return np.asarray(np.linalg.slogdet(a)[0])


def _full_svd(a: np.ndarray, part: int) -> np.ndarray:
    return np.asarray(np.linalg.svd(a, full_matrices=True)[part])


def _complete_qr(a: np.ndarray, part: int) -> np.ndarray:
    return np.asarray(np.linalg.qr(a, mode="complete")[part])


def solve(a: TensorLike, b: TensorLike) -> Tensor:
    """``x`` with ``a @ x = b``; ``b`` is one vector only when 1-D (NumPy 2), batches broadcast."""
    return solve_p(_t(a), _t(b))


def cholesky(a: TensorLike, /, *, upper: bool = False) -> Tensor:
    """Lower-triangular ``L`` with ``L @ L.T = a`` (``upper=True``: ``L.T``) for a symmetric
    positive-definite ``a``; the input is symmetrized first (see ``conventions``)."""
    low = cholesky_p(_t(a))
    return swap(low) if upper else low


def eigh(a: TensorLike, UPLO: str = "L") -> EighResult:  # noqa: N803  (NumPy's name)
    """Eigenvalues (ascending) and eigenvectors of the symmetrized ``(a + a.T)/2``.

    ``UPLO`` is accepted for NumPy's signature; on a symmetric input either triangle gives
    the same result. The gradient through the eigenvectors at repeated eigenvalues exists
    only for losses that do not depend on the choice of basis there; otherwise
    ``LinAlgError`` is raised (``eigvalsh`` needs no such care).
    """
    if UPLO not in ("L", "U"):
        raise ValueError(f"eigh: UPLO must be 'L' or 'U', got {UPLO!r}")
    packed = eigh_p(_t(a))
    return EighResult(packed[..., 0, :], packed[..., 1:, :])


def eigvalsh(a: TensorLike, UPLO: str = "L") -> Tensor:  # noqa: N803
    """Eigenvalues (ascending) of the symmetrized ``(a + a.T)/2``; gradient ``V diag(g) Vᵀ``."""
    if UPLO not in ("L", "U"):
        raise ValueError(f"eigvalsh: UPLO must be 'L' or 'U', got {UPLO!r}")
    return eigvalsh_p(_t(a))


def _needs_grad(a: Tensor) -> bool:
    return state.grad_enabled and a.requires_grad


def svd(a: TensorLike, full_matrices: bool = True, compute_uv: bool = True, hermitian: bool = False) -> Any:
    """Singular value decomposition ``A = U @ diag(S) @ Vh`` of each matrix (``hermitian``
    is accepted and computes the general SVD, equal in value).

    With ``compute_uv=False`` only ``S``. The singular vectors are differentiable in the
    reduced form only (``full_matrices=False``, or a square matrix): the extra columns of
    the full form are any orthonormal completion. At repeated singular values the
    vectors' gradient exists only for basis-independent losses (else ``LinAlgError``).
    """
    a = _t(a)
    if not compute_uv:
        return svdvals_p(a)
    if full_matrices and a.ndim >= 2 and a.shape[-1] != a.shape[-2]:
        if _needs_grad(a):
            raise ValueError(f"svd: full_matrices=True on a non-square matrix {a.shape} is not differentiable (the "
                             f"extra singular vectors are any orthonormal completion); pass full_matrices=False")
        return SVDResult(*(derive(_full_svd, a, part=k) for k in range(3)))
    m = a.shape[-2] if a.ndim >= 2 else 0
    packed = svd_p(a)
    return SVDResult(packed[..., :m, :], packed[..., m, :], swap(packed[..., m + 1:, :]))


def svdvals(x: TensorLike, /) -> Tensor:
    """Singular values (descending) of each matrix; gradient ``U diag(g) Vᵀ``."""
    return svdvals_p(_t(x))


def qr(a: TensorLike, mode: str = "reduced") -> Any:
    """QR decomposition of each matrix: ``mode='reduced'`` (Q, R), ``'r'`` (R only) or
    ``'complete'`` (differentiable when Q is unique, m <= n)."""
    a = _t(a)
    if mode not in ("reduced", "r", "complete"):
        raise ValueError(f"qr: mode {mode!r} is not supported (use 'reduced', 'r' or 'complete')")
    if mode == "complete" and a.ndim >= 2 and a.shape[-2] > a.shape[-1]:
        if _needs_grad(a):
            raise ValueError(f"qr: mode='complete' on a tall matrix {a.shape} is not differentiable (Q's extra "
                             f"columns are any orthonormal completion); use mode='reduced'")
        return QRResult(derive(_complete_qr, a, part=0), derive(_complete_qr, a, part=1))
    m = a.shape[-2] if a.ndim >= 2 else 0
    packed = qr_p(a)
    r = packed[..., :, m:]
    return r if mode == "r" else QRResult(swap(packed[..., :, :m]), r)


def pinv(a: TensorLike, rcond: Any = None, hermitian: bool = False, *, rtol: Any = None) -> Tensor:
    """Moore-Penrose pseudo-inverse (singular values below ``rcond``/``rtol`` times the
    largest count as 0); its derivative holds where the rank does not change. ``hermitian``
    is accepted and computes the general pseudo-inverse, equal in value."""
    if rcond is not None and rtol is not None:
        raise ValueError("pinv: pass rcond or rtol, not both")
    cutoff = rcond if rcond is not None else rtol
    return pinv_p(_t(a), rcond=cutoff if cutoff is None or np.ndim(cutoff) else float(cutoff))


def trace(x: TensorLike, offset: int = 0, axis1: int = -2, axis2: int = -1) -> Tensor:
    """Sum of each matrix's ``offset`` diagonal over ``axis1``/``axis2`` (the last two
    axes by default, as ``np.linalg.trace``).

    ``autodiff.trace`` is the graph listing; this is the matrix trace.

    >>> import autodiff as ad
    >>> ad.linalg.trace(ad.Tensor([[1.0, 2.0], [3.0, 4.0]]))
    Tensor(5.)
    """
    return trace_p(_t(x), offset=int(offset), axis1=int(axis1), axis2=int(axis2))


def numpy_trace(a: TensorLike, offset: int = 0, axis1: int = 0, axis2: int = 1, dtype: Any = None,
                out: Any = None) -> Tensor:
    """``np.trace(t)`` on a Tensor: the trace with NumPy's defaults (the first two axes)."""
    if out is not None:
        raise TypeError("numpy.trace(..., out=...) is not supported on autodiff Tensors")
    result = trace(a, offset, axis1, axis2)
    return result if dtype is None else F.astype(result, dtype)


def cond(x: TensorLike, p: Any = None) -> Tensor:
    """Condition number ``norm(x, p) * norm(inv(x), p)``; for ``p`` None, 2 or -2 the ratio of
    extreme singular values (any matrix shape), as NumPy."""
    x = _t(x)
    if p is None or p in (2, -2):
        s = svdvals_p(x)
        big, small = F.max(s, axis=-1), F.min(s, axis=-1)
        return small / big if p == -2 else big / small
    inverse = inv_p(x)
    axes = (-2, -1)
    return norm(x, p, axes) * norm(inverse, p, axes)


def matrix_transpose(x: TensorLike, /) -> Tensor:
    """Each matrix of the batch transposed (the last two axes swapped)."""
    return swap(_t(x))


def multi_dot(arrays: Sequence[TensorLike]) -> Tensor:
    """``arrays[0] @ arrays[1] @ ...``, left to right (1-D ends as NumPy: first a row,
    last a column vector)."""
    items = [_t(a) for a in arrays]
    if len(items) < 2:
        raise ValueError(f"multi_dot: expected at least two arrays, got {len(items)}")
    out = items[0]
    for a in items[1:]:
        out = out @ a
    return out


def vecdot(x1: TensorLike, x2: TensorLike, /, *, axis: int = -1) -> Tensor:
    """The dot product of vectors along ``axis`` (batches broadcast)."""
    return F.sum(_t(x1) * _t(x2), axis=axis)


matmul = _matmul
tensordot = F.tensordot

__all__ = ["EighResult", "LinAlgError", "QRResult", "SVDResult", "SlogdetResult", "cholesky", "cond", "det", "eigh",
           "eigvalsh", "inv", "lstsq", "matmul", "matrix_norm", "matrix_power", "matrix_transpose", "multi_dot",
           "norm", "numpy_trace", "pinv", "qr", "slogdet", "solve", "svd", "svdvals", "tensordot", "tensorinv",
           "tensorsolve", "trace", "vecdot", "vector_norm"]
