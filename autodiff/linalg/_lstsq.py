"""Least squares, ``np.linalg.lstsq``, composed from the pseudo-inverse and the singular
values (both primitives with proven rules), so its solution, residuals and singular
values are differentiable wherever the rank does not change.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..primitives import matmul
from ..tensor import Tensor, as_tensor
from ._basic import pinv_p
from ._common import LinAlgError
from ._decomp import svdvals_p


def _cutoff(rcond: Any, a: Tensor) -> float:
    """NumPy's default: machine precision of a's dtype times the larger side."""
    if rcond is None or (isinstance(rcond, (int, float)) and rcond < 0):
        dtype = a.dtype if a.dtype.kind == "f" else np.dtype(np.float64)
        return float(np.finfo(dtype).eps * max(a.shape))
    return float(rcond)


def _check(a: Tensor, b: Tensor) -> None:
    if a.ndim != 2:
        raise LinAlgError(f"lstsq: a must be a matrix (2 axes, as NumPy's lstsq), got shape {a.shape}")
    if b.ndim not in (1, 2) or b.shape[0] != a.shape[0]:
        raise LinAlgError(f"lstsq: b must have shape ({a.shape[0]},) or ({a.shape[0]}, K) to match a of shape "
                          f"{a.shape}, got {b.shape}")
    if a.size == 0:
        raise LinAlgError(f"lstsq: a of shape {a.shape} is empty; there is nothing to solve")


def lstsq(a: Any, b: Any, rcond: Any = None) -> tuple[Tensor, Tensor, int, Tensor]:
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
    a, b = (v if isinstance(v, Tensor) else as_tensor(v) for v in (a, b))
    _check(a, b)
    cutoff = _cutoff(rcond, a)
    x = matmul(pinv_p(a, rcond=cutoff), b)
    s = svdvals_p(a)
    sv = s._data
    rank = int(np.count_nonzero(sv > cutoff * sv.max())) if sv.size else 0
    m, n = a.shape
    if rank == n and m > n:
        r = matmul(a, x) - b
        residuals = (r * r).sum(axis=0)
        if b.ndim == 1:
            residuals = residuals.reshape(1)
    else:
        residuals = Tensor(np.zeros(0, dtype=x.dtype))
    return x, residuals, rank, s


__all__ = ["lstsq"]
