"""Optimizers with PyTorch's update formulas and defaults.

Each updates parameter arrays in place (this is arithmetic on values, not a
derivative: gradients come from autodiff). ``lr`` is an attribute schedulers change.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from autodiff import Tensor


class Optimizer:
    """Base class: holds the parameters, ``lr`` and per-parameter state."""

    defaults: dict[str, Any] = {}

    def __init__(self, params: Iterable[Tensor], lr: float, **hyper: Any) -> None:
        self.params = list(params)
        if not self.params:
            raise ValueError(f"{type(self).__name__}: got an empty parameter list")
        for k, p in enumerate(self.params):
            if not isinstance(p, Tensor) or not p.requires_grad:
                raise TypeError(f"{type(self).__name__}: parameter {k} is not a Tensor that requires grad")
        if lr < 0:
            raise ValueError(f"{type(self).__name__}: invalid learning rate {lr}")
        self.lr = float(lr)
        self.hyper = hyper
        self.state: list[dict[str, Any]] = [{} for _ in self.params]
        self.steps = 0

    def zero_grad(self) -> None:
        """Forget every parameter's gradient (``.grad = None``, PyTorch's default)."""
        for p in self.params:
            p.grad = None

    def step(self) -> None:
        """Update every parameter that has a gradient."""
        self.steps += 1
        for p, state in zip(self.params, self.state, strict=True):
            if p.grad is not None:
                self._update(p.data, p.grad.data.astype(p.dtype, copy=False), state)

    def _update(self, p: np.ndarray, g: np.ndarray, state: dict[str, Any]) -> None:
        raise NotImplementedError

    def _l2(self, g: np.ndarray, p: np.ndarray) -> np.ndarray:
        """g + λp: PyTorch's (coupled) weight_decay."""
        wd = self.hyper["weight_decay"]
        return g + wd * p if wd else g

    def state_dict(self) -> dict[str, Any]:
        """Hyperparameters and per-parameter state (copies)."""
        return {"lr": self.lr, "hyper": dict(self.hyper), "steps": self.steps,
                "state": [{k: np.copy(v) for k, v in s.items()} for s in self.state]}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what ``state_dict`` returned."""
        if len(state["state"]) != len(self.params):
            raise ValueError(f"{type(self).__name__}.load_state_dict: state for {len(state['state'])} parameters, "
                             f"optimizer has {len(self.params)}")
        self.lr, self.hyper, self.steps = state["lr"], dict(state["hyper"]), state["steps"]
        self.state = [{k: np.copy(v) for k, v in s.items()} for s in state["state"]]

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v}" for k, v in {"lr": self.lr, **self.hyper}.items())
        return f"{type(self).__name__}({args})"


class SGD(Optimizer):
    """Stochastic gradient descent with optional momentum, dampening, Nesterov and L2 weight decay.

    g ← g + λp; b ← μb + (1 − τ)g (b = g at the first step); g ← g + μb (Nesterov) or b; p ← p − lr·g.
    """

    def __init__(self, params, lr: float = 1e-3, momentum: float = 0.0, dampening: float = 0.0,
                 nesterov: bool = False, weight_decay: float = 0.0) -> None:
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("SGD: Nesterov momentum requires a momentum and zero dampening")
        super().__init__(params, lr, momentum=momentum, dampening=dampening, nesterov=nesterov,
                         weight_decay=weight_decay)

    def _update(self, p, g, state):
        h = self.hyper
        g = self._l2(g, p)
        if h["momentum"]:
            buf = state.get("momentum_buffer")
            if buf is None:
                buf = state["momentum_buffer"] = g.copy()
            else:
                buf *= h["momentum"]
                buf += (1 - h["dampening"]) * g
            g = g + h["momentum"] * buf if h["nesterov"] else buf
        p -= self.lr * g


class Adagrad(Optimizer):
    """Adagrad: s ← s + g²; p ← p − lr / (1 + (t − 1)·lr_decay) · g / (√s + eps)."""

    def __init__(self, params, lr: float = 1e-2, lr_decay: float = 0.0, weight_decay: float = 0.0,
                 initial_accumulator_value: float = 0.0, eps: float = 1e-10) -> None:
        super().__init__(params, lr, lr_decay=lr_decay, weight_decay=weight_decay,
                         initial_accumulator_value=initial_accumulator_value, eps=eps)

    def _update(self, p, g, state):
        h = self.hyper
        if "sum" not in state:
            state["sum"] = np.full_like(p, h["initial_accumulator_value"])
            state["step"] = 0
        state["step"] += 1
        g = self._l2(g, p)
        clr = self.lr / (1 + (state["step"] - 1) * h["lr_decay"])
        state["sum"] += g * g
        p -= clr * g / (np.sqrt(state["sum"]) + h["eps"])


class RMSprop(Optimizer):
    """RMSprop: v ← αv + (1 − α)g²; p ← p − lr·g / (√v + eps), optionally centered and with momentum."""

    def __init__(self, params, lr: float = 1e-2, alpha: float = 0.99, eps: float = 1e-8, weight_decay: float = 0.0,
                 momentum: float = 0.0, centered: bool = False) -> None:
        super().__init__(params, lr, alpha=alpha, eps=eps, weight_decay=weight_decay, momentum=momentum,
                         centered=centered)

    def _update(self, p, g, state):
        h = self.hyper
        if "square_avg" not in state:
            state["square_avg"] = np.zeros_like(p)
            if h["momentum"]:
                state["momentum_buffer"] = np.zeros_like(p)
            if h["centered"]:
                state["grad_avg"] = np.zeros_like(p)
        g = self._l2(g, p)
        v = state["square_avg"]
        v *= h["alpha"]
        v += (1 - h["alpha"]) * g * g
        if h["centered"]:
            ga = state["grad_avg"]
            ga *= h["alpha"]
            ga += (1 - h["alpha"]) * g
            avg = np.sqrt(v - ga * ga) + h["eps"]
        else:
            avg = np.sqrt(v) + h["eps"]
        if h["momentum"]:
            buf = state["momentum_buffer"]
            buf *= h["momentum"]
            buf += g / avg
            p -= self.lr * buf
        else:
            p -= self.lr * g / avg


class Adam(Optimizer):
    """Adam: m ← β₁m + (1 − β₁)g; v ← β₂v + (1 − β₂)g²;
    p ← p − lr/(1 − β₁ᵗ) · m / (√v / √(1 − β₂ᵗ) + eps) (v replaced by its running max with amsgrad)."""

    decoupled = False

    def __init__(self, params, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0, amsgrad: bool = False) -> None:
        super().__init__(params, lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay, amsgrad=amsgrad)

    def _update(self, p, g, state):
        h = self.hyper
        b1, b2 = h["betas"]
        if "exp_avg" not in state:
            state["step"] = 0
            state["exp_avg"] = np.zeros_like(p)
            state["exp_avg_sq"] = np.zeros_like(p)
            if h["amsgrad"]:
                state["max_exp_avg_sq"] = np.zeros_like(p)
        state["step"] += 1
        t = state["step"]
        if self.decoupled:
            p *= 1 - self.lr * h["weight_decay"]
        else:
            g = self._l2(g, p)
        m, v = state["exp_avg"], state["exp_avg_sq"]
        m *= b1
        m += (1 - b1) * g
        v *= b2
        v += (1 - b2) * g * g
        if h["amsgrad"]:
            np.maximum(state["max_exp_avg_sq"], v, out=state["max_exp_avg_sq"])
            v = state["max_exp_avg_sq"]
        denom = np.sqrt(v) / np.sqrt(1 - b2 ** t) + h["eps"]
        p -= (self.lr / (1 - b1 ** t)) * m / denom


class AdamW(Adam):
    """Adam with decoupled weight decay: p ← p(1 − lr·λ) before the Adam step (default λ = 0.01)."""

    decoupled = True

    def __init__(self, params, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 1e-2, amsgrad: bool = False) -> None:
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad)


def _grads(params: Iterable[Tensor]) -> list[np.ndarray]:
    return [p.grad.data for p in params if p.grad is not None]


def clip_grad_norm_(params: Iterable[Tensor], max_norm: float, norm_type: float = 2.0) -> float:
    """Scale gradients in place so their joint norm is at most ``max_norm``; returns the
    norm before clipping (as PyTorch: scale by max_norm / (norm + 1e-6) when norm > max_norm)."""
    grads = _grads(params)
    if not grads:
        return 0.0
    if norm_type == np.inf:
        total = max(float(np.abs(g).max()) for g in grads)
    else:
        total = float(sum(float(np.sum(np.abs(g, dtype=np.float64) ** norm_type)) for g in grads) ** (1 / norm_type))
    scale = max_norm / (total + 1e-6)
    if scale < 1:
        for g in grads:
            g *= scale
    return total


def clip_grad_value_(params: Iterable[Tensor], clip_value: float) -> None:
    """Clip every gradient entry to [-clip_value, clip_value] in place."""
    for g in _grads(params):
        np.clip(g, -clip_value, clip_value, out=g)
