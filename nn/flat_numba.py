"""The flat optimizer update as one numba loop (the ``fast`` extra): one pass over the
parameters instead of a dozen NumPy calls.

Each element goes through the same IEEE operations, in the same order and dtypes, as
``nn.optim``'s NumPy code (numba without fastmath contracts nothing), so the results
are the same bits. Imported only when a step asks for ``backend="numba"``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

try:
    import numba
except ImportError as e:  # pragma: no cover - exercised only without the extra
    raise ImportError("backend='numba' needs numba: pip install 'chainrule[fast]'") from e


@numba.njit(cache=False, nogil=True, error_model="numpy")
def adam_update(p: np.ndarray, g: np.ndarray, m: np.ndarray, v: np.ndarray, b1: Any, one_minus_b1: Any, b2: Any,
                one_minus_b2: Any, bias2: Any, eps: Any, step_size: Any, wd: Any, decay: Any, decoupled: bool) -> None:
    """Adam/AdamW on flat arrays; the scalars come in the dtypes NumPy would use."""
    for i in range(p.size):
        gi = g[i]
        if decoupled:
            p[i] = p[i] * decay
        elif wd != 0:
            gi = gi + wd * p[i]
        mi = m[i] * b1
        mi = mi + one_minus_b1 * gi
        m[i] = mi
        vi = v[i] * b2
        vi = vi + (one_minus_b2 * gi) * gi
        v[i] = vi
        denom = np.float64(np.sqrt(vi)) / bias2 + eps
        p[i] = p[i] - (step_size * mi) / denom


@numba.njit(cache=False, nogil=True, error_model="numpy")
def sgd_update(p: np.ndarray, g: np.ndarray, buf: np.ndarray, lr: Any, wd: Any, momentum: Any, one_minus_dampening: Any,
               nesterov: bool, first: bool) -> None:
    """SGD with optional L2 weight decay, momentum and Nesterov on flat arrays."""
    for i in range(p.size):
        gi = g[i]
        if wd != 0:
            gi = gi + wd * p[i]
        if momentum != 0:
            if first:
                b = gi
            else:
                b = buf[i] * momentum
                b = b + one_minus_dampening * gi
            buf[i] = b
            gi = gi + momentum * b if nesterov else b
        p[i] = p[i] - lr * gi


def adam_lines(hyper: dict[str, Any], decoupled: bool, dtype: np.dtype) -> list[str]:
    """The update of the generated step: scalars cast as NumPy's weak Python floats would be."""
    b1, b2 = hyper["betas"]
    wd = hyper["weight_decay"]
    f = f"np.{dtype.name}"
    decay = f"{f}(1 - lr * {wd!r})" if decoupled else f"{f}(1.0)"
    return ["# Adam over the flat parameter buffer: one numba loop",
            f"adam_update(P, G, EXP_AVG, EXP_AVG_SQ, {f}({b1!r}), {f}({1 - b1!r}), {f}({b2!r}), {f}({1 - b2!r}), "
            f"np.sqrt(1 - {b2!r} ** t), {hyper['eps']!r}, {f}(lr / (1 - {b1!r} ** t)), {f}({wd!r}), {decay}, "
            f"{decoupled!r})"]


def sgd_lines(hyper: dict[str, Any], dtype: np.dtype) -> list[str]:
    """The SGD update of the generated step as one numba call."""
    f = f"np.{dtype.name}"
    buf = "MOMENTUM_BUFFER" if hyper["momentum"] else "G"
    return ["# SGD over the flat parameter buffer: one numba loop",
            f"sgd_update(P, G, {buf}, {f}(lr), {f}({hyper['weight_decay']!r}), {f}({hyper['momentum']!r}), "
            f"{f}({1 - hyper['dampening']!r}), {bool(hyper['nesterov'])!r}, t == 1)"]


KERNELS = {"adam_update": adam_update, "sgd_update": sgd_update}
