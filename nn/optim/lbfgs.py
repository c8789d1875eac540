"""L-BFGS with PyTorch's closure API and its algorithm (a fixed step or a strong-Wolfe line search)."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

import numpy as np

from autodiff import enable_grad, no_grad

from ..checks import check_number
from .line_search import strong_wolfe
from .optimizer import Optimizer, ParamsLike


class LBFGS(Optimizer):
    """Limited-memory BFGS (PyTorch's ``torch.optim.LBFGS``): ``step(closure)`` runs up
    to ``max_iter`` quasi-Newton iterations, each moving every parameter by lr·d, where
    d = −H·g comes from the two-loop recursion over the last ``history_size`` curvature
    pairs (s, y) with yᵀs > 1e-10 (the first step is scaled by min(1, 1/‖g‖₁)).

    ``closure`` recomputes the loss: it calls ``zero_grad()``, the model, ``backward()``
    and returns the loss. One parameter group only, as in PyTorch. With
    ``line_search_fn="strong_wolfe"`` each step length is found by a line search
    satisfying the strong Wolfe conditions (c1 = 1e-4, c2 = 0.9), as PyTorch's.
    """

    rules = {"lr": "nonneg", "tolerance_grad": "nonneg", "tolerance_change": "nonneg"}

    def __init__(self, params: ParamsLike, lr: float = 1.0, max_iter: int = 20, max_eval: int | None = None,
                 tolerance_grad: float = 1e-7, tolerance_change: float = 1e-9, history_size: int = 100,
                 line_search_fn: str | None = None) -> None:
        if max_eval is None:
            max_eval = max_iter * 5 // 4 if isinstance(max_iter, int) else max_iter
        super().__init__(params, dict(lr=lr, max_iter=max_iter, max_eval=max_eval, tolerance_grad=tolerance_grad,
                                      tolerance_change=tolerance_change, history_size=history_size,
                                      line_search_fn=line_search_fn))
        if len(self.param_groups) != 1:
            raise ValueError("LBFGS: per-group options are not supported; give one parameter group")
        self._params = self.param_groups[0]["params"]

    def _check_loaded(self, p: Any, index: Any, name: str, value: Any) -> None:
        """L-BFGS keeps flat vectors over all parameters: nothing to compare with one shape."""

    def _validate(self, group: dict[str, Any]) -> None:
        super()._validate(group)
        for name in ("max_iter", "max_eval", "history_size"):
            check_number("LBFGS", name, group[name], "positive", integer=True)
        if group["line_search_fn"] not in (None, "strong_wolfe"):
            raise ValueError(f"LBFGS: line_search_fn must be None (a fixed step) or 'strong_wolfe', got "
                             f"{group['line_search_fn']!r}")

    def _flat_grad(self) -> np.ndarray:
        return np.concatenate([np.zeros(p.size, p.dtype) if p.grad is None else p.grad.data.reshape(-1)
                               for p in self._params])

    def _add(self, t: float, d: np.ndarray) -> None:
        offset = 0
        for p in self._params:
            p.numpy(writable=True)[...] += (t * d[offset:offset + p.size]).reshape(p.shape).astype(p.dtype, copy=False)
            offset += p.size

    def _directional(self, evaluate: Callable[[], tuple[Any, float]], t: float,
                     d: np.ndarray) -> tuple[float, np.ndarray]:
        """Loss and flat gradient at x + t·d, leaving the parameters at x."""
        saved = [p.data.copy() for p in self._params]
        self._add(t, d)
        _, loss = evaluate()
        g = self._flat_grad()
        for p, x in zip(self._params, saved, strict=True):
            p.data = x
        return loss, g

    def step(self, closure: Callable[[], Any] | None = None) -> Any:  # noqa: C901 (PyTorch's loop, kept whole)
        """Run the L-BFGS iterations; returns the loss of the first ``closure`` call."""
        if closure is None:
            raise TypeError("LBFGS.step: needs a closure that recomputes the loss (zero_grad, forward, backward)")
        group = self.param_groups[0]
        lr, tol_grad, tol_change = group["lr"], group["tolerance_grad"], group["tolerance_change"]

        def evaluate() -> tuple[Any, float]:
            with enable_grad():
                out = closure()
            return out, float(out.item() if hasattr(out, "item") else out)

        state = self.state.setdefault(self._params[0], {"func_evals": 0, "n_iter": 0})
        orig_loss, loss = evaluate()
        evals = 1
        state["func_evals"] += 1
        g = self._flat_grad()
        if np.abs(g).max() <= tol_grad:
            return orig_loss
        d: np.ndarray | None = state.get("d")
        t: float | None = state.get("t")
        old_dirs, old_stps, ro = state.get("old_dirs", []), state.get("old_stps", []), state.get("ro", [])
        h_diag, prev_g = state.get("H_diag", 1.0), state.get("prev_flat_grad")
        n_iter = 0
        with no_grad():
            while n_iter < group["max_iter"]:
                n_iter += 1
                state["n_iter"] += 1
                if state["n_iter"] == 1:
                    d, old_dirs, old_stps, ro, h_diag = -g, [], [], [], 1.0
                else:
                    assert d is not None and t is not None  # set by an earlier iteration (kept in the state)
                    y, s = g - prev_g, d * t
                    ys = float(y @ s)
                    if ys > 1e-10:
                        if len(old_dirs) == group["history_size"]:
                            del old_dirs[0], old_stps[0], ro[0]
                        old_dirs.append(y)
                        old_stps.append(s)
                        ro.append(1.0 / ys)
                        h_diag = ys / float(y @ y)
                    d = _two_loop(-g, old_dirs, old_stps, ro, h_diag)
                prev_g = g.copy()
                prev_loss = loss
                t = min(1.0, 1.0 / float(np.abs(g).sum())) * lr if state["n_iter"] == 1 else lr
                if float(g @ d) > -tol_change:  # not a descent direction
                    break
                if group["line_search_fn"] is not None:
                    loss, g, t, ls_evals = strong_wolfe(partial(self._directional, evaluate, d=d), t, d,
                                                        loss, g, float(g @ d))
                    self._add(t, d)
                    evals += ls_evals
                    state["func_evals"] += ls_evals
                else:
                    self._add(t, d)
                    if n_iter != group["max_iter"]:
                        _, loss = evaluate()
                        g = self._flat_grad()
                        evals += 1
                        state["func_evals"] += 1
                if (n_iter == group["max_iter"] or evals >= group["max_eval"] or np.abs(g).max() <= tol_grad
                        or np.abs(d * t).max() <= tol_change or abs(loss - prev_loss) < tol_change):
                    break
        state.update(d=d, t=t, old_dirs=old_dirs, old_stps=old_stps, ro=ro, H_diag=h_diag, prev_flat_grad=prev_g,
                     prev_loss=prev_loss)
        return orig_loss


def _two_loop(q: np.ndarray, dirs: list[np.ndarray], stps: list[np.ndarray], ro: list[float],
              h_diag: float) -> np.ndarray:
    """The L-BFGS two-loop recursion: H·q for the inverse-Hessian estimate H."""
    al = [0.0] * len(dirs)
    for i in range(len(dirs) - 1, -1, -1):
        al[i] = float(stps[i] @ q) * ro[i]
        q = q - al[i] * dirs[i]
    r = q * h_diag
    for i in range(len(dirs)):
        be = float(dirs[i] @ r) * ro[i]
        r = r + (al[i] - be) * stps[i]
    return r
