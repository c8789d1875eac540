"""The LRScheduler base class: a closed form of the step count t sets every group's lr."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..checks import check_number
from .optimizer import Optimizer


def per_group(owner: str, name: str, value: Any, n: int) -> list[Any]:
    """``value`` repeated for n groups, or a list/tuple of exactly n values (an error naming it otherwise)."""
    if isinstance(value, (list, tuple)):
        if len(value) != n:
            raise ValueError(f"{owner}: expected {n} values of {name} (one per parameter group), got {len(value)}")
        return list(value)
    return [value] * n


class LRScheduler:
    """Base class: ``step()`` advances t and sets each parameter group's ``lr`` to
    ``_lr(base_lr, t, k)``; ``get_last_lr()`` returns them (one per group). A group's
    base lr is its lr when the first scheduler was attached (``initial_lr``, as PyTorch).
    """

    def __init__(self, optimizer: Optimizer) -> None:
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"{type(self).__name__}: expected an Optimizer, got {type(optimizer).__name__}")
        self.optimizer = optimizer
        self.base_lrs = [group.setdefault("initial_lr", group["lr"]) for group in optimizer.param_groups]
        self.last_epoch = 0
        self._apply()

    @property
    def _name(self) -> str:
        return type(self).__name__

    def _lr(self, base_lr: float, t: int, k: int) -> float:
        """The learning rate of group k after t steps (the closed form each scheduler defines)."""
        raise NotImplementedError

    def _apply(self) -> None:
        self._last_lr = [self._lr(base, self.last_epoch, k) for k, base in enumerate(self.base_lrs)]
        for group, lr in zip(self.optimizer.param_groups, self._last_lr, strict=True):
            group["lr"] = lr

    def step(self) -> None:
        """Advance one step (call once per epoch, or per batch for per-batch schedules)."""
        self.last_epoch += 1
        self._apply()

    def get_last_lr(self) -> list[float]:
        """The learning rates set by the last step, one per parameter group (as PyTorch)."""
        return list(self._last_lr)

    _not_state: tuple[str, ...] = ("optimizer",)

    def state_dict(self) -> dict[str, Any]:
        """The scheduler's attributes except the optimizer (and functions), as plain data."""
        return {k: _plain(v) for k, v in vars(self).items() if k not in self._not_state}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what ``state_dict`` returned and set the groups' lr to match."""
        unknown = [k for k in state if k not in vars(self) or k in self._not_state]
        if unknown:
            raise KeyError(f"{self._name}.load_state_dict: unexpected key {unknown[0]!r}")
        for k, v in state.items():
            setattr(self, k, _plain(v))
        for group, lr in zip(self.optimizer.param_groups, self._last_lr, strict=True):
            group["lr"] = lr


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def check_int_list(owner: str, name: str, values: Any) -> list[int]:
    """``values`` as a list of integers >= 0 (an error naming the first bad one)."""
    if not isinstance(values, Sequence) or isinstance(values, str):
        raise TypeError(f"{owner}: {name} must be a list of integers, got {type(values).__name__}")
    for v in values:
        check_number(owner, name, v, "nonneg", integer=True)
    return [int(v) for v in values]
