"""Learning-rate schedulers with PyTorch's names and formulas. Each sets every parameter
group's ``lr`` from the number t of ``step()`` calls so far (t = 0 at construction) and
the group's base lr lr₀.

Each scheduler alone follows PyTorch's numbers; attaching two that both step the same
optimizer is not supported (the last one to step sets the lr): combine them with
:class:`SequentialLR`.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Callable
from typing import Any

from ..checks import check_number
from .lr_cyclic import CosineAnnealingWarmRestarts, OneCycleLR, ReduceLROnPlateau, SequentialLR
from .optimizer import Optimizer
from .scheduler import LRScheduler, check_int_list, per_group


class StepLR(LRScheduler):
    """lr = lr₀ · γ^⌊t / step_size⌋."""

    def __init__(self, optimizer: Optimizer, step_size: int, gamma: float = 0.1) -> None:
        check_number("StepLR", "step_size", step_size, "positive", integer=True)
        check_number("StepLR", "gamma", gamma, "nonneg")
        self.step_size, self.gamma = int(step_size), gamma
        super().__init__(optimizer)

    def _lr(self, base_lr: float, t: int, k: int) -> float:
        return base_lr * self.gamma ** (t // self.step_size)


class MultiStepLR(LRScheduler):
    """lr = lr₀ · γ^(number of milestones ≤ t) (a milestone given twice counts twice)."""

    def __init__(self, optimizer: Optimizer, milestones: list[int], gamma: float = 0.1) -> None:
        self.milestones = sorted(check_int_list("MultiStepLR", "milestones", milestones))
        check_number("MultiStepLR", "gamma", gamma, "nonneg")
        self.gamma = gamma
        super().__init__(optimizer)

    def _lr(self, base_lr: float, t: int, k: int) -> float:
        return base_lr * self.gamma ** bisect.bisect_right(self.milestones, t)


class ExponentialLR(LRScheduler):
    """lr = lr₀ · γᵗ."""

    def __init__(self, optimizer: Optimizer, gamma: float) -> None:
        check_number("ExponentialLR", "gamma", gamma, "nonneg")
        self.gamma = gamma
        super().__init__(optimizer)

    def _lr(self, base_lr: float, t: int, k: int) -> float:
        return base_lr * self.gamma ** t


class LinearLR(LRScheduler):
    """lr = lr₀ · (s + (e − s) · min(t, T) / T): from start_factor to end_factor over total_iters."""

    def __init__(self, optimizer: Optimizer, start_factor: float = 1 / 3, end_factor: float = 1.0,
                 total_iters: int = 5) -> None:
        check_number("LinearLR", "start_factor", start_factor)
        if not 0 < start_factor <= 1:
            raise ValueError(f"LinearLR: start_factor must be in (0, 1], got {start_factor!r}")
        check_number("LinearLR", "end_factor", end_factor, "unit")
        check_number("LinearLR", "total_iters", total_iters, "positive", integer=True)
        self.start_factor, self.end_factor, self.total_iters = start_factor, end_factor, int(total_iters)
        super().__init__(optimizer)

    def _lr(self, base_lr: float, t: int, k: int) -> float:
        frac = min(t, self.total_iters) / self.total_iters
        return base_lr * (self.start_factor + (self.end_factor - self.start_factor) * frac)


class CosineAnnealingLR(LRScheduler):
    """lr = η_min + (lr₀ − η_min)(1 + cos(π t / T_max)) / 2."""

    def __init__(self, optimizer: Optimizer, T_max: int, eta_min: float = 0.0) -> None:  # noqa: N803
        check_number("CosineAnnealingLR", "T_max", T_max, "positive", integer=True)
        check_number("CosineAnnealingLR", "eta_min", eta_min, "nonneg")
        self.T_max, self.eta_min = int(T_max), eta_min
        super().__init__(optimizer)

    def _lr(self, base_lr: float, t: int, k: int) -> float:
        return self.eta_min + (base_lr - self.eta_min) * (1 + math.cos(math.pi * t / self.T_max)) / 2


class InverseTimeLR(LRScheduler):
    """lr = lr₀ / (1 + decay · t): the course's a₀ / (1 + k t)."""

    def __init__(self, optimizer: Optimizer, decay: float) -> None:
        check_number("InverseTimeLR", "decay", decay, "nonneg")
        self.decay = decay
        super().__init__(optimizer)

    def _lr(self, base_lr: float, t: int, k: int) -> float:
        return base_lr / (1 + self.decay * t)


class LambdaLR(LRScheduler):
    """lr = lr₀ · λ(t), with one function for every group or a list of one per group."""

    _not_state = ("optimizer", "lr_lambdas")

    def __init__(self, optimizer: Optimizer, lr_lambda: Callable[[int], float] | list[Callable[[int], float]]) -> None:
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"LambdaLR: expected an Optimizer, got {type(optimizer).__name__}")
        self.lr_lambdas = per_group("LambdaLR", "lr_lambda", lr_lambda, len(optimizer.param_groups))
        for f in self.lr_lambdas:
            if not callable(f):
                raise TypeError(f"LambdaLR: lr_lambda must be a function of the step, got {type(f).__name__}")
        super().__init__(optimizer)

    def _lr(self, base_lr: float, t: int, k: int) -> float:
        factor: Any = self.lr_lambdas[k](t)
        check_number("LambdaLR", f"lr_lambda({t})", factor)
        lr: float = base_lr * factor
        return lr


class _DecayFromStartToEnd(LRScheduler):
    """The course's parametrisation: from ``start`` at epoch 0 to ``end`` at epoch
    ``epochs``, then held at ``end`` (the optimizer's own lr is replaced by ``start``)."""

    def __init__(self, optimizer: Optimizer, start: float, end: float, epochs: int) -> None:
        name = type(self).__name__
        check_number(name, "epochs", epochs, "positive", integer=True)
        check_number(name, "start", start, "nonneg")
        check_number(name, "end", end, "nonneg")
        self.start, self.end, self.epochs = float(start), float(end), int(epochs)
        super().__init__(optimizer)

    def fraction(self, t: int) -> float:
        """How far along the schedule step t is, in [0, 1]."""
        return min(t, self.epochs) / self.epochs


class LinearDecayLR(_DecayFromStartToEnd):
    """lr = start + (end − start) · min(t, N) / N: a straight line from start to end over N epochs.

    >>> import autodiff as ad, numpy as np
    >>> from nn.optim import SGD
    >>> opt = SGD([ad.Tensor(np.zeros(1), requires_grad=True)], lr=0.1)
    >>> s = LinearDecayLR(opt, start=0.1, end=0.01, epochs=3)
    >>> [round(opt.lr, 4) for _ in range(4) if s.step() is None]
    [0.07, 0.04, 0.01, 0.01]
    """

    def _lr(self, base_lr: float, t: int, k: int) -> float:
        return self.start + (self.end - self.start) * self.fraction(t)


class ExponentialDecayLR(_DecayFromStartToEnd):
    """lr = start · (end / start)^(min(t, N) / N): a constant factor per epoch, from start to end over N epochs."""

    def __init__(self, optimizer: Optimizer, start: float, end: float, epochs: int) -> None:
        check_number("ExponentialDecayLR", "start", start, "positive")
        check_number("ExponentialDecayLR", "end", end, "positive")
        super().__init__(optimizer, start, end, epochs)

    def _lr(self, base_lr: float, t: int, k: int) -> float:
        lr: float = self.start * (self.end / self.start) ** self.fraction(t)  # float ** float is Any to mypy
        return lr


__all__ = ["CosineAnnealingLR", "CosineAnnealingWarmRestarts", "ExponentialDecayLR", "ExponentialLR",
           "InverseTimeLR", "LRScheduler", "LambdaLR", "LinearDecayLR", "LinearLR", "MultiStepLR", "OneCycleLR",
           "ReduceLROnPlateau", "SequentialLR", "StepLR"]
