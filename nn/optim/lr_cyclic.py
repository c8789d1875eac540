"""Schedulers with restarts, cycles, phases or a monitored metric (PyTorch's formulas):
CosineAnnealingWarmRestarts, OneCycleLR, SequentialLR, ReduceLROnPlateau."""

from __future__ import annotations

import bisect
import math
from typing import Any

import numpy as np

from ..checks import check_bool, check_number
from .optimizer import Optimizer
from .scheduler import LRScheduler, check_int_list, per_group


class CosineAnnealingWarmRestarts(LRScheduler):
    """SGDR: lr = η_min + (lr₀ − η_min)(1 + cos(π T_cur / T_i)) / 2, where T_cur counts the
    steps since the last restart and the i-th cycle lasts T_i = T_0 · T_multⁱ steps."""

    def __init__(self, optimizer: Optimizer, T_0: int, T_mult: int = 1, eta_min: float = 0.0) -> None:  # noqa: N803
        check_number(self._name, "T_0", T_0, "positive", integer=True)
        check_number(self._name, "T_mult", T_mult, "positive", integer=True)
        check_number(self._name, "eta_min", eta_min, "nonneg")
        self.T_0, self.T_mult, self.eta_min = int(T_0), int(T_mult), eta_min
        super().__init__(optimizer)

    def _lr(self, base_lr: float, t: int, k: int) -> float:
        t_cur, t_i = t, self.T_0
        while t_cur >= t_i:
            t_cur -= t_i
            t_i *= self.T_mult
        return self.eta_min + (base_lr - self.eta_min) * (1 + math.cos(math.pi * t_cur / t_i)) / 2


def _anneal(strategy: str, start: float, end: float, pct: float) -> float:
    if strategy == "cos":
        return end + (start - end) / 2.0 * (math.cos(math.pi * pct) + 1)
    return (end - start) * pct + start


class OneCycleLR(LRScheduler):
    """The 1cycle policy (Smith & Topin): lr rises from max_lr/div_factor to max_lr over the
    first pct_start of ``total_steps`` and anneals to max_lr/(div_factor·final_div_factor)
    (``three_phase`` first returns to the initial lr); momentum (or β₁) cycles inversely
    between max_momentum and base_momentum. Call ``step()`` after every batch; stepping
    past total_steps is an error, as in PyTorch."""

    def __init__(self, optimizer: Optimizer, max_lr: float | list[float], total_steps: int | None = None,
                 epochs: int | None = None, steps_per_epoch: int | None = None, pct_start: float = 0.3,
                 anneal_strategy: str = "cos", cycle_momentum: bool = True, base_momentum: float = 0.85,
                 max_momentum: float = 0.95, div_factor: float = 25.0, final_div_factor: float = 1e4,
                 three_phase: bool = False) -> None:
        name = self._name
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"{name}: expected an Optimizer, got {type(optimizer).__name__}")
        if total_steps is not None:
            check_number(name, "total_steps", total_steps, "positive", integer=True)
        elif epochs is not None and steps_per_epoch is not None:
            check_number(name, "epochs", epochs, "positive", integer=True)
            check_number(name, "steps_per_epoch", steps_per_epoch, "positive", integer=True)
            total_steps = epochs * steps_per_epoch
        else:
            raise ValueError(f"{name}: give total_steps, or epochs and steps_per_epoch")
        check_number(name, "pct_start", pct_start, "unit")
        if anneal_strategy not in ("cos", "linear"):
            raise ValueError(f"{name}: anneal_strategy must be 'cos' or 'linear', got {anneal_strategy!r}")
        check_bool(name, "cycle_momentum", cycle_momentum)
        check_bool(name, "three_phase", three_phase)
        for arg, value in (("div_factor", div_factor), ("final_div_factor", final_div_factor)):
            check_number(name, arg, value, "positive")
        groups = optimizer.param_groups
        max_lrs = per_group(name, "max_lr", max_lr, len(groups))
        for v in max_lrs:
            check_number(name, "max_lr", v, "nonneg")
        self.total_steps, self.anneal_strategy = int(total_steps), anneal_strategy
        self.cycle_momentum, self.use_beta1 = cycle_momentum, "betas" in optimizer.defaults
        if cycle_momentum and "momentum" not in optimizer.defaults and not self.use_beta1:
            raise ValueError(f"{name}: {type(optimizer).__name__} has no momentum or betas to cycle "
                             f"(pass cycle_momentum=False)")
        p = float(pct_start * self.total_steps)
        self.phases = ([(p - 1, "initial_lr", "max_lr", "max_momentum", "base_momentum"),
                        (2 * p - 2, "max_lr", "initial_lr", "base_momentum", "max_momentum"),
                        (self.total_steps - 1, "initial_lr", "min_lr", "max_momentum", "max_momentum")]
                       if three_phase else
                       [(p - 1, "initial_lr", "max_lr", "max_momentum", "base_momentum"),
                        (self.total_steps - 1, "max_lr", "min_lr", "base_momentum", "max_momentum")])
        base_ms = per_group(name, "base_momentum", base_momentum, len(groups))
        max_ms = per_group(name, "max_momentum", max_momentum, len(groups))
        self.group_values = []
        for k, group in enumerate(groups):
            initial = max_lrs[k] / div_factor
            group["initial_lr"] = initial  # PyTorch's layout: the group remembers its cycle
            self.group_values.append({"initial_lr": initial, "max_lr": max_lrs[k],
                                      "min_lr": initial / final_div_factor,
                                      "base_momentum": base_ms[k], "max_momentum": max_ms[k]})
        super().__init__(optimizer)

    def _phase(self, t: int) -> tuple[int, float]:
        if t > self.total_steps:
            raise ValueError(f"OneCycleLR: stepped {t} times, but total_steps is {self.total_steps}")
        start = 0.0
        for i, phase in enumerate(self.phases):
            end = phase[0]
            if t <= end or i == len(self.phases) - 1:
                return i, (t - start) / (end - start)
            start = end
        raise AssertionError("unreachable")

    def _lr(self, base_lr: float, t: int, k: int) -> float:
        i, pct = self._phase(t)
        values = self.group_values[k]
        return _anneal(self.anneal_strategy, values[self.phases[i][1]], values[self.phases[i][2]], pct)

    def _apply(self) -> None:
        super()._apply()
        if not self.cycle_momentum:
            return
        i, pct = self._phase(self.last_epoch)
        for group, values in zip(self.optimizer.param_groups, self.group_values, strict=True):
            m = _anneal(self.anneal_strategy, values[self.phases[i][3]], values[self.phases[i][4]], pct)
            if self.use_beta1:
                group["betas"] = (m, *group["betas"][1:])
            else:
                group["momentum"] = m


class SequentialLR(LRScheduler):
    """Run ``schedulers`` one after another: the i-th from milestone i − 1 on, restarted
    at t = 0 there (PyTorch's SequentialLR)."""

    _not_state = ("optimizer", "schedulers")

    def __init__(self, optimizer: Optimizer, schedulers: list[LRScheduler], milestones: list[int]) -> None:
        name = self._name
        if not isinstance(schedulers, (list, tuple)) or not schedulers:
            raise ValueError(f"{name}: expected a non-empty list of schedulers, got {schedulers!r}")
        for k, s in enumerate(schedulers):
            if not isinstance(s, LRScheduler) or isinstance(s, (ReduceLROnPlateau, SequentialLR)):
                raise TypeError(f"{name}: scheduler {k} must be a closed-form LRScheduler, got {type(s).__name__}")
            if s.optimizer is not optimizer:
                raise ValueError(f"{name}: scheduler {k} steps a different optimizer")
        self.milestones = check_int_list(name, "milestones", milestones)
        if len(self.milestones) != len(schedulers) - 1:
            raise ValueError(f"{name}: {len(schedulers)} schedulers need {len(schedulers) - 1} milestones, "
                             f"got {len(self.milestones)}")
        if self.milestones != sorted(self.milestones):
            raise ValueError(f"{name}: milestones must be increasing, got {self.milestones}")
        self.schedulers = list(schedulers)
        super().__init__(optimizer)

    def _lr(self, base_lr: float, t: int, k: int) -> float:
        i = bisect.bisect_right(self.milestones, t)
        start = self.milestones[i - 1] if i else 0
        return self.schedulers[i]._lr(self.schedulers[i].base_lrs[k], t - start, k)

    def state_dict(self) -> dict[str, Any]:
        """Its own step count and milestones, and each scheduler's state (``_schedulers``)."""
        return {**super().state_dict(), "_schedulers": [s.state_dict() for s in self.schedulers]}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what ``state_dict`` returned, for it and every scheduler it runs."""
        state = dict(state)
        for s, sub in zip(self.schedulers, state.pop("_schedulers"), strict=True):
            s.load_state_dict(sub)
        super().load_state_dict(state)


class ReduceLROnPlateau(LRScheduler):
    """Multiply each group's lr by ``factor`` (not below ``min_lr``) when the metric given
    to ``step(metric)`` has not improved for more than ``patience`` steps, then wait
    ``cooldown`` steps. Improvement: below best·(1 − threshold) ("min", "rel"), below
    best − threshold ("abs"), or the mirror images for mode "max" (PyTorch's rules)."""

    def __init__(self, optimizer: Optimizer, mode: str = "min", factor: float = 0.1, patience: int = 10,
                 threshold: float = 1e-4, threshold_mode: str = "rel", cooldown: int = 0,
                 min_lr: float | list[float] = 0.0, eps: float = 1e-8) -> None:
        name = self._name
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"{name}: expected an Optimizer, got {type(optimizer).__name__}")
        check_number(name, "factor", factor, "nonneg")
        if factor >= 1.0:
            raise ValueError(f"{name}: factor must be < 1.0, got {factor!r}")
        if mode not in ("min", "max"):
            raise ValueError(f"{name}: mode must be 'min' or 'max', got {mode!r}")
        if threshold_mode not in ("rel", "abs"):
            raise ValueError(f"{name}: threshold_mode must be 'rel' or 'abs', got {threshold_mode!r}")
        check_number(name, "patience", patience, "nonneg", integer=True)
        check_number(name, "cooldown", cooldown, "nonneg", integer=True)
        check_number(name, "threshold", threshold, "nonneg")
        check_number(name, "eps", eps, "nonneg")
        self.min_lrs = per_group(name, "min_lr", min_lr, len(optimizer.param_groups))
        for v in self.min_lrs:
            check_number(name, "min_lr", v, "nonneg")
        self.mode, self.factor, self.patience, self.threshold = mode, factor, int(patience), threshold
        self.threshold_mode, self.cooldown, self.eps = threshold_mode, int(cooldown), eps
        self.best = math.inf if mode == "min" else -math.inf
        self.num_bad_epochs = self.cooldown_counter = 0
        self.optimizer = optimizer
        self.last_epoch = 0
        self._last_lr = [g["lr"] for g in optimizer.param_groups]

    def _better(self, value: float) -> bool:
        rel = self.threshold_mode == "rel"
        if self.mode == "min":
            return value < (self.best * (1 - self.threshold) if rel else self.best - self.threshold)
        return value > (self.best * (1 + self.threshold) if rel else self.best + self.threshold)

    def step(self, metrics: Any = None) -> None:
        """Record one value of the monitored metric (e.g. the validation loss) and reduce
        the lr when it has stalled."""
        if metrics is None:
            raise TypeError("ReduceLROnPlateau.step: needs the monitored value, e.g. step(val_loss)")
        try:
            value = float(np.asarray(metrics.data if hasattr(metrics, "requires_grad") else metrics))
        except (TypeError, ValueError):
            raise TypeError(f"ReduceLROnPlateau.step: the monitored value must be a number, got {metrics!r}") from None
        self.last_epoch += 1
        if self._better(value):
            self.best, self.num_bad_epochs = value, 0
        else:
            self.num_bad_epochs += 1
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0
        if self.num_bad_epochs > self.patience:
            for group, min_lr in zip(self.optimizer.param_groups, self.min_lrs, strict=True):
                new = max(group["lr"] * self.factor, min_lr)
                if group["lr"] - new > self.eps:
                    group["lr"] = new
            self.cooldown_counter, self.num_bad_epochs = self.cooldown, 0
        self._last_lr = [g["lr"] for g in self.optimizer.param_groups]
