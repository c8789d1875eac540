"""The lecture's optimizers (course notes 003, its ``Scheduler`` classes), with the
:class:`~nn.optim.Optimizer` interface, so the lecture's experiments run as printed.

They differ from PyTorch's (``nn.optim.Adam`` and friends) on purpose, exactly where the
lecture's code differs:

- ``Adagrad`` keeps **one accumulator per row** of a weight matrix (the diagonal of
  Σ g gᵀ), not one per entry; a 1-D parameter gets a single accumulator, as g @ g.T of
  a 1-D array is a scalar; δ = 1e-8 is added *outside* the square root.
- ``RMSProp`` (the lecture's ``RMS_prop``, ρ = 0.9) and ``Adam`` put δ = 1e-8 *inside*
  the square root: g / √(s + δ), where PyTorch uses g / (√s + ε).
- ``Adam`` corrects its bias with the **epoch count**, not the step count, and
  :meth:`LectureOptimizer.reset` (called at the end of every epoch, as the lecture's
  training loop does) zeroes both moments and advances that count.
- ``Momentum`` is v ← μv + ηg, p ← p − v (η inside the velocity, no dampening).

Call ``reset()`` once per epoch, or pass ``ResetEachEpoch(opt)`` to :func:`nn.fit`.

>>> import numpy as np, nn
>>> from nn.optim import lecture
>>> layer = nn.Linear(2, 1, seed=0)
>>> opt = lecture.Adam(layer.parameters(), lr=0.01)
>>> history = nn.fit(layer, nn.MSELoss(), opt, np.ones((4, 2)), np.ones((4, 1)), epochs=2,
...                  callbacks=[lecture.ResetEachEpoch(opt)], progress=False)
>>> opt.epochs
3
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..callbacks import Callback
from .optimizer import Optimizer, ParamsLike

DELTA = 1e-8  # the lecture's δ ("avoid division by zero")


class LectureOptimizer(Optimizer):
    """Base class of the lecture's optimizers: ``reset()`` at each epoch's end."""

    rules = {"lr": "nonneg", "weight_decay": "nonneg"}

    def reset(self) -> None:
        """What the lecture's ``Scheduler.reset()`` does, for every parameter."""
        for state in self.state.values():
            self._reset(state)

    def _reset(self, state: dict[str, Any]) -> None:
        pass


class Constant(LectureOptimizer):
    """p ← p − η g (the lecture's ``Constant``)."""

    def __init__(self, params: ParamsLike, lr: float, weight_decay: float = 0.0) -> None:
        super().__init__(params, dict(lr=lr, weight_decay=weight_decay))

    def _update(self, p: np.ndarray, g: np.ndarray, state: dict[str, Any], group: dict[str, Any]) -> None:
        p -= group["lr"] * self._l2(g, p, group)


class Momentum(LectureOptimizer):
    """v ← μ v + η g; p ← p − v (the lecture's ``Momentum``; ``reset`` keeps v)."""

    rules = {**LectureOptimizer.rules, "momentum": "nonneg"}

    def __init__(self, params: ParamsLike, lr: float, momentum: float, weight_decay: float = 0.0) -> None:
        super().__init__(params, dict(lr=lr, momentum=momentum, weight_decay=weight_decay))

    def _update(self, p: np.ndarray, g: np.ndarray, state: dict[str, Any], group: dict[str, Any]) -> None:
        v = state.get("change")
        step = group["lr"] * self._l2(g, p, group)
        state["change"] = step if v is None else group["momentum"] * v + step
        p -= state["change"]


def _row_sums_of_squares(g: np.ndarray) -> np.ndarray | np.floating[Any]:
    """diag(Σ g gᵀ) for one step: the sum of squares of each row (of everything, for 1-D g: a scalar)."""
    if g.ndim < 2:
        total: np.floating[Any] = np.sum(g * g)
        return total
    rows: np.ndarray = np.sum(g * g, axis=tuple(range(1, g.ndim)), keepdims=True)
    return rows


class Adagrad(LectureOptimizer):
    """G ← G + diag(g gᵀ) (one accumulator per row); p ← p − η g / (δ + √G).

    ``reset`` forgets G, as the lecture's ``Adagrad.reset`` does.
    """

    def __init__(self, params: ParamsLike, lr: float, weight_decay: float = 0.0) -> None:
        super().__init__(params, dict(lr=lr, weight_decay=weight_decay))

    def _step(self, p: np.ndarray, g: np.ndarray, state: dict[str, Any], group: dict[str, Any]) -> np.ndarray:
        g = self._l2(g, p, group)
        state["G"] = state.get("G", 0.0) + _row_sums_of_squares(g)
        step: np.ndarray = group["lr"] * g / (DELTA + np.sqrt(state["G"]))
        return step

    def _update(self, p: np.ndarray, g: np.ndarray, state: dict[str, Any], group: dict[str, Any]) -> None:
        p -= self._step(p, g, state, group)

    def _reset(self, state: dict[str, Any]) -> None:
        state.pop("G", None)


class AdagradMomentum(Adagrad):
    """v ← μ v + η g / (δ + √G) with Adagrad's per-row G; p ← p − v (``reset`` forgets G only)."""

    rules = {**LectureOptimizer.rules, "momentum": "nonneg"}

    def __init__(self, params: ParamsLike, lr: float, momentum: float, weight_decay: float = 0.0) -> None:
        LectureOptimizer.__init__(self, params, dict(lr=lr, momentum=momentum, weight_decay=weight_decay))

    def _update(self, p: np.ndarray, g: np.ndarray, state: dict[str, Any], group: dict[str, Any]) -> None:
        step = self._step(p, g, state, group)
        v = state.get("change")
        state["change"] = step if v is None else group["momentum"] * v + step
        p -= state["change"]


class RMSProp(LectureOptimizer):
    """The lecture's ``RMS_prop``: s ← ρ s + (1 − ρ) g²; p ← p − η g / √(s + δ) (``reset`` zeroes s)."""

    rules = {**LectureOptimizer.rules, "rho": "unit"}

    def __init__(self, params: ParamsLike, lr: float, rho: float = 0.9, weight_decay: float = 0.0) -> None:
        super().__init__(params, dict(lr=lr, rho=rho, weight_decay=weight_decay))

    def _update(self, p: np.ndarray, g: np.ndarray, state: dict[str, Any], group: dict[str, Any]) -> None:
        g = self._l2(g, p, group)
        rho = group["rho"]
        state["second"] = rho * state.get("second", 0.0) + (1 - rho) * g * g
        p -= group["lr"] * g / np.sqrt(state["second"] + DELTA)

    def _reset(self, state: dict[str, Any]) -> None:
        state.pop("second", None)


class Adam(LectureOptimizer):
    """The lecture's ``Adam``: m ← ρ₁m + (1 − ρ₁)g; s ← ρ₂s + (1 − ρ₂)g²;
    p ← p − η m̂ / √(ŝ + δ) with m̂ = m / (1 − ρ₁ᵉ), ŝ = s / (1 − ρ₂ᵉ), e the epoch count
    (starting at 1); ``reset`` zeroes m and s and advances e."""

    rules = {**LectureOptimizer.rules, "rho": "unit_open", "rho2": "unit_open"}

    def __init__(self, params: ParamsLike, lr: float, rho: float = 0.9, rho2: float = 0.999,
                 weight_decay: float = 0.0) -> None:
        super().__init__(params, dict(lr=lr, rho=rho, rho2=rho2, weight_decay=weight_decay))
        self.epochs = 1

    def _update(self, p: np.ndarray, g: np.ndarray, state: dict[str, Any], group: dict[str, Any]) -> None:
        g = self._l2(g, p, group)
        r1, r2, e = group["rho"], group["rho2"], self.epochs
        state["moment"] = r1 * state.get("moment", 0.0) + (1 - r1) * g
        state["second"] = r2 * state.get("second", 0.0) + (1 - r2) * g * g
        m_hat = state["moment"] / (1 - r1 ** e)
        s_hat = state["second"] / (1 - r2 ** e)
        p -= group["lr"] * m_hat / np.sqrt(s_hat + DELTA)

    def reset(self) -> None:
        """Zero both moments and count one more epoch for the bias correction."""
        self.epochs += 1
        super().reset()

    def _reset(self, state: dict[str, Any]) -> None:
        state.pop("moment", None)
        state.pop("second", None)

    def state_dict(self) -> dict[str, Any]:
        """The base class's state plus the epoch count of the bias correction."""
        return {**super().state_dict(), "epochs": self.epochs}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what ``state_dict`` returned."""
        super().load_state_dict(state)
        self.epochs = state["epochs"]


class ResetEachEpoch(Callback):
    """A :func:`nn.fit` callback that calls ``optimizer.reset()`` after every epoch, as
    the lecture's training loop does."""

    def __init__(self, optimizer: LectureOptimizer) -> None:
        if not isinstance(optimizer, LectureOptimizer):
            raise TypeError(f"ResetEachEpoch: expected one of the lecture's optimizers, got {type(optimizer).__name__}")
        super().__init__()
        self.optimizer = optimizer

    def on_epoch_end(self, epoch: int, logs: dict[str, float]) -> None:
        self.optimizer.reset()


__all__ = ["Adagrad", "AdagradMomentum", "Adam", "Constant", "LectureOptimizer", "Momentum", "RMSProp",
           "ResetEachEpoch"]
