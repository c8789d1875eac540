"""Solvers composed from primitives with proven rules: least squares (``lstsq``, from the
pseudo-inverse and the singular values, differentiable wherever the rank does not
change), and the tensor forms of inverse and solve (``tensorinv``, ``tensorsolve``: a
reshape to one square matrix around ``inv``/``solve``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from .. import functions as F
from ..aliases import TensorLike
from ..compile.decide import derive, static_values
from ..primitives import matmul
from ..tensor import Tensor, as_tensor
from ._basic import inv_p, pinv_p, solve_p
from ._common import LinAlgError
from ._decomp import svdvals_p


def _cutoff(rcond: Any, a: Tensor) -> float:
    """NumPy's default: machine precision of a's dtype times the larger side."""
    if rcond is None or (isinstance(rcond, (int, float)) and rcond < 0):
        dtype = a.dtype if a.dtype.kind == "f" else np.dtype(np.float64)
        return float(np.finfo(dtype).eps * max(a.shape))
    return float(rcond)


def _rank(s: np.ndarray, cutoff: float) -> np.ndarray:
    """The number of singular values above ``cutoff`` times the largest."""
    return np.asarray(np.count_nonzero(s > cutoff * s.max()) if s.size else 0)


def _check(a: Tensor, b: Tensor) -> None:
    if a.ndim != 2:
        raise LinAlgError(f"lstsq: a must be a matrix (2 axes, as NumPy's lstsq), got shape {a.shape}")
    if b.ndim not in (1, 2) or b.shape[0] != a.shape[0]:
        raise LinAlgError(f"lstsq: b must have shape ({a.shape[0]},) or ({a.shape[0]}, K) to match a of shape "
                          f"{a.shape}, got {b.shape}")
    if a.size == 0:
        raise LinAlgError(f"lstsq: a of shape {a.shape} is empty; there is nothing to solve")


def lstsq(a: TensorLike, b: TensorLike, rcond: Any = None) -> tuple[Tensor, Tensor, int, Tensor]:
    """The least-squares solution of ``a @ x = b``: ``(x, residuals, rank, s)`` as
    ``np.linalg.lstsq`` returns them (singular values at or below ``rcond`` times the
    largest count as zero; ``rcond=None`` is NumPy's default, machine precision times
    ``max(M, N)``). ``x = pinv(a) @ b`` and ``s = svdvals(a)`` are differentiable where the
    rank is locally constant; ``residuals`` (the squared residual norm of each column of
    b) is empty unless ``a`` has full column rank and more rows than columns, as in NumPy.

    >>> import autodiff as ad
    >>> a = ad.Tensor([[1.0, 0.0], [1.0, 1.0], [1.0, 2.0]], requires_grad=True)
    >>> x, res, rank, s = ad.linalg.lstsq(a, [1.0, 2.0, 2.0])
    >>> [round(v, 6) for v in x.tolist()], rank
    ([1.166667, 0.5], 2)
    """
    a, b = as_tensor(a), as_tensor(b)
    _check(a, b)
    cutoff = _cutoff(rcond, a)
    x = matmul(pinv_p(a, rcond=cutoff), b)
    s = svdvals_p(a)
    rank = int(static_values(derive(_rank, s, cutoff=cutoff)))  # it shapes the results: guarded when compiled
    m, n = a.shape
    if rank == n and m > n:
        r = matmul(a, x) - b
        residuals = (r * r).sum(axis=0)
        if b.ndim == 1:
            residuals = residuals.reshape(1)
    else:
        residuals = Tensor(np.zeros(0, dtype=x.dtype))
    return x, residuals, rank, s


def tensorinv(a: TensorLike, ind: int = 2) -> Tensor:
    """The inverse of ``a`` for ``tensordot(..., axes=ind)``, as ``np.linalg.tensorinv``:
    ``a`` of shape ``I + J`` (``I = a.shape[:ind]``) read as one square matrix, inverted,
    and shaped ``J + I``; its gradient is inv's.

    >>> import autodiff as ad
    >>> ad.linalg.tensorinv(np.eye(4).reshape(4, 2, 2), ind=1).shape
    (2, 2, 4)
    """
    a = a if isinstance(a, Tensor) else as_tensor(a)
    if not isinstance(ind, (int, np.integer)) or ind <= 0:
        raise ValueError(f"tensorinv: ind must be a positive integer, got {ind!r}")
    rows, cols = a.shape[:ind], a.shape[ind:]
    if math.prod(rows) != math.prod(cols):
        raise LinAlgError(f"tensorinv: a of shape {a.shape} with ind={ind} is not square: the first {ind} axes "
                          f"hold {math.prod(rows)} elements, the others {math.prod(cols)}")
    n = math.prod(rows)
    out: Tensor = inv_p(a.reshape(n, n)).reshape(cols + rows)  # Tensor.reshape dispatches by name: typed Any
    return out


def tensorsolve(a: TensorLike, b: TensorLike, axes: int | Sequence[int] | None = None) -> Tensor:
    """``x`` with ``tensordot(a, x, axes=x.ndim) == b``, as ``np.linalg.tensorsolve``: the
    axes listed in ``axes`` move to the end of ``a`` first; ``a`` is then one square matrix
    (``b``'s elements by ``x``'s) and the system is solved with ``solve``.

    >>> import autodiff as ad
    >>> ad.linalg.tensorsolve(np.eye(6).reshape(2, 3, 6), np.ones((2, 3))).shape
    (6,)
    """
    a, b = as_tensor(a), as_tensor(b)
    if axes is not None:
        moved = [int(k) % a.ndim for k in np.atleast_1d(axes)]
        a = F.transpose(a, [k for k in range(a.ndim) if k not in moved] + moved)
    x_shape = a.shape[b.ndim:]
    n = math.prod(x_shape)
    if a.shape[:b.ndim] != b.shape or math.prod(a.shape[:b.ndim]) != n:
        raise LinAlgError(f"tensorsolve: a of shape {a.shape} (after moving axes={axes!r}) must start with b's "
                          f"shape {b.shape} and be square: b's elements ({b.size}) equal to x's ({n})")
    out: Tensor = solve_p(a.reshape(n, n), b.reshape(n)).reshape(x_shape)  # (Tensor.reshape is typed Any)
    return out


__all__ = ["lstsq", "tensorinv", "tensorsolve"]
