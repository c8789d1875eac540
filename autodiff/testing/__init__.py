"""Check gradients, for our tests and users' own code: :func:`gradcheck` and
:func:`check_grads` against central finite differences, :func:`verify_primitive` runs the
registry's whole proof (``autodiff.testing.proof``) on a user's primitive, and
:func:`gradient_property` makes a Hypothesis property test in one line.

>>> import autodiff as ad
>>> gradcheck(lambda x: ad.sin(x) * x, np.array([0.5, 1.5]))
True
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

import numpy as np

from ..engine import gradients
from ..mode import no_grad
from ..tensor import Tensor


def _float64_args(args: tuple[Any, ...]) -> tuple[list[Any], list[int]]:
    """float64 copies of the floating-point arguments (and their positions)."""
    values, positions = [], []
    for k, a in enumerate(args):
        arr = a._data if isinstance(a, Tensor) else np.asarray(a)
        if arr.dtype.kind == "f" or (not isinstance(a, (Tensor, np.ndarray)) and arr.dtype.kind in "iub"):
            values.append(np.array(arr, dtype=np.float64, order="C"))  # C order: perturbed in place through reshape(-1)
            positions.append(k)
        else:
            values.append(a)
    return values, positions


def _scalar(out: Any, name: str) -> float:
    arr = out._data if isinstance(out, Tensor) else np.asarray(out)
    if arr.size != 1:
        raise ValueError(f"{name}: f must return a single-element value, got shape {arr.shape}")
    return float(arr.reshape(()))


def numerical_grad(f: Callable[..., Any], *args: Any, eps: float = 1e-6) -> np.ndarray | tuple[np.ndarray, ...]:
    """Central finite differences ``(f(x + eps) - f(x - eps)) / 2 eps`` in float64.

    ``f`` takes Tensors and returns a single-element value. Returns one array per
    floating-point argument (a bare array when there is only one).

    >>> numerical_grad(lambda x: (x * x).sum(), np.array([1.0, 2.0]))
    array([2., 4.])
    """
    values, positions = _float64_args(args)
    grads = []
    with no_grad():
        def call() -> float:
            return _scalar(f(*[Tensor(v) if k in positions else v for k, v in enumerate(values)]), "numerical_grad")

        for k in positions:
            x = values[k]
            g = np.zeros_like(x)
            flat, gflat = x.reshape(-1), g.reshape(-1)
            for i in range(flat.size):
                old = flat[i]
                flat[i] = old + eps
                up = call()
                flat[i] = old - eps
                down = call()
                flat[i] = old
                gflat[i] = (up - down) / (2 * eps)
            grads.append(g)
    return grads[0] if len(grads) == 1 else tuple(grads)


def gradcheck(f: Callable[..., Any], *args: Any, eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3,
              seed: int = 0) -> bool:
    """Compare autodiff's gradient of ``f`` with central finite differences, in float64.

    Every floating-point argument is checked. A non-scalar output is reduced to a
    scalar with fixed random weights (a vector-Jacobian product). Raises
    ``AssertionError`` naming the argument, the element and both values for the
    worst mismatch; returns True otherwise.
    """
    values, positions = _float64_args(args)
    tensors = [Tensor(v, requires_grad=True) if k in positions else v for k, v in enumerate(values)]
    probe = f(*tensors)
    shape = np.shape(probe)
    weights = np.random.default_rng(seed).uniform(0.5, 1.5, size=shape)

    def projected(*xs: Any) -> Any:
        out = f(*xs)
        return (out * weights).sum() if shape else out

    out = projected(*tensors)
    inputs = [tensors[k] for k in positions]
    if isinstance(out, Tensor) and out.requires_grad:
        analytic = [g._data for g in cast(list[Tensor], gradients(out, inputs))]  # never None here
    else:
        analytic = [np.zeros_like(values[k]) for k in positions]
    fd = numerical_grad(projected, *values, eps=eps)
    numeric = [fd] if isinstance(fd, np.ndarray) else list(fd)  # one array per position
    for k, a, n in zip(positions, analytic, numeric, strict=True):
        err = np.abs(a - n) - (atol + rtol * np.abs(n))
        if err.size and (np.max(err) > 0 or not np.all(np.isfinite(a))):
            i = np.unravel_index(int(np.argmax(np.where(np.isfinite(err), err, np.inf))), a.shape)
            raise AssertionError(
                f"gradcheck: argument {k}, element {tuple(int(j) for j in i)}: autodiff gives {float(a[i]):.10g}, "
                f"finite differences give {float(n[i]):.10g} (atol={atol}, rtol={rtol})"
            )
    return True


from .checks import check_grads, gradient_property, verify_primitive  # noqa: E402  (they use the helpers above)
from .proof import ProofError, ProofReport, prove  # noqa: E402

__all__ = ["ProofError", "ProofReport", "check_grads", "gradcheck", "gradient_property", "numerical_grad", "prove",
           "verify_primitive"]
