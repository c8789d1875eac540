"""Learning-rate schedulers: each sets ``optimizer.lr`` from a closed form of the number
t of ``step()`` calls so far (PyTorch's formulas; t = 0 at construction)."""

from __future__ import annotations

import math

from .optimizers import Optimizer


class LRScheduler:
    """Base class: ``step()`` advances t and sets ``optimizer.lr``; ``get_last_lr()`` reads it."""

    def __init__(self, optimizer: Optimizer) -> None:
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"{type(self).__name__}: expected an Optimizer, got {type(optimizer).__name__}")
        self.optimizer = optimizer
        self.base_lr = optimizer.lr
        self.last_epoch = 0
        optimizer.lr = self.lr_at(0)

    def lr_at(self, t: int) -> float:
        """The learning rate after t steps (the closed form each scheduler defines)."""
        raise NotImplementedError

    def step(self) -> None:
        """Advance one step (call once per epoch, or per batch for per-batch decay)."""
        self.last_epoch += 1
        self.optimizer.lr = self.lr_at(self.last_epoch)

    def get_last_lr(self) -> list[float]:
        """The learning rate set by the last step, as a list (one entry per group, like PyTorch)."""
        return [self.optimizer.lr]

    def state_dict(self) -> dict:
        """The base learning rate and the step count."""
        return {"base_lr": self.base_lr, "last_epoch": self.last_epoch}

    def load_state_dict(self, state: dict) -> None:
        """Restore what ``state_dict`` returned and set the optimizer's lr to match."""
        self.base_lr, self.last_epoch = state["base_lr"], state["last_epoch"]
        self.optimizer.lr = self.lr_at(self.last_epoch)


class StepLR(LRScheduler):
    """lr = lr₀ · γ^⌊t / step_size⌋."""

    def __init__(self, optimizer: Optimizer, step_size: int, gamma: float = 0.1) -> None:
        self.step_size, self.gamma = step_size, gamma
        super().__init__(optimizer)

    def lr_at(self, t: int) -> float:
        return self.base_lr * self.gamma ** (t // self.step_size)


class ExponentialLR(LRScheduler):
    """lr = lr₀ · γᵗ."""

    def __init__(self, optimizer: Optimizer, gamma: float) -> None:
        self.gamma = gamma
        super().__init__(optimizer)

    def lr_at(self, t: int) -> float:
        return self.base_lr * self.gamma ** t


class LinearLR(LRScheduler):
    """lr = lr₀ · (s + (e − s) · min(t, T) / T): from start_factor to end_factor over total_iters."""

    def __init__(self, optimizer: Optimizer, start_factor: float = 1 / 3, end_factor: float = 1.0,
                 total_iters: int = 5) -> None:
        self.start_factor, self.end_factor, self.total_iters = start_factor, end_factor, total_iters
        super().__init__(optimizer)

    def lr_at(self, t: int) -> float:
        frac = min(t, self.total_iters) / self.total_iters
        return self.base_lr * (self.start_factor + (self.end_factor - self.start_factor) * frac)


class CosineAnnealingLR(LRScheduler):
    """lr = η_min + (lr₀ − η_min)(1 + cos(π t / T_max)) / 2."""

    def __init__(self, optimizer: Optimizer, T_max: int, eta_min: float = 0.0) -> None:  # noqa: N803
        self.T_max, self.eta_min = T_max, eta_min
        super().__init__(optimizer)

    def lr_at(self, t: int) -> float:
        return self.eta_min + (self.base_lr - self.eta_min) * (1 + math.cos(math.pi * t / self.T_max)) / 2


class InverseTimeLR(LRScheduler):
    """lr = lr₀ / (1 + decay · t): the course's a₀ / (1 + k t)."""

    def __init__(self, optimizer: Optimizer, decay: float) -> None:
        self.decay = decay
        super().__init__(optimizer)

    def lr_at(self, t: int) -> float:
        return self.base_lr / (1 + self.decay * t)


class _DecayFromStartToEnd(LRScheduler):
    """The course's parametrisation: from ``start`` at epoch 0 to ``end`` at epoch
    ``epochs``, then held at ``end`` (the optimizer's own lr is replaced by ``start``)."""

    def __init__(self, optimizer: Optimizer, start: float, end: float, epochs: int) -> None:
        name = type(self).__name__
        if not isinstance(epochs, int) or epochs <= 0:
            raise ValueError(f"{name}: epochs must be a positive integer, got {epochs}")
        if start < 0 or end < 0:
            raise ValueError(f"{name}: learning rates must be non-negative, got start={start}, end={end}")
        self.start, self.end, self.epochs = float(start), float(end), epochs
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

    def lr_at(self, t: int) -> float:
        return self.start + (self.end - self.start) * self.fraction(t)


class ExponentialDecayLR(_DecayFromStartToEnd):
    """lr = start · (end / start)^(min(t, N) / N): a constant factor per epoch, from start to end over N epochs."""

    def __init__(self, optimizer: Optimizer, start: float, end: float, epochs: int) -> None:
        if start <= 0 or end <= 0:
            raise ValueError(f"ExponentialDecayLR: start and end must be positive, got start={start}, end={end}")
        super().__init__(optimizer, start, end, epochs)

    def lr_at(self, t: int) -> float:
        return self.start * (self.end / self.start) ** self.fraction(t)
