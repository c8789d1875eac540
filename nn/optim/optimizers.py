"""Optimizers with PyTorch's update formulas, defaults and argument checks.

Each ``_update`` works on the parameter's array ``p`` in place, given its gradient
``g``, its state and its group's hyperparameters (t = the step count of that parameter).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from autodiff import Tensor

from .optimizer import Optimizer, ParamsLike, clip_grad_norm_, clip_grad_value_

_ADAM_RULES = {"lr": "nonneg", "betas": "betas", "eps": "nonneg", "weight_decay": "nonneg"}


class SGD(Optimizer):
    """Stochastic gradient descent with optional momentum, dampening, Nesterov and L2 weight decay.

    g ← g + λp; b ← μb + (1 − τ)g (b = g at the first step); g ← g + μb (Nesterov) or b; p ← p − lr·g.
    """

    elementwise = True

    rules = {"lr": "nonneg", "momentum": "nonneg", "dampening": None, "weight_decay": "nonneg", "nesterov": "bool"}

    def __init__(self, params: ParamsLike, lr: float = 1e-3, momentum: float = 0.0, dampening: float = 0.0,
                 nesterov: bool = False, weight_decay: float = 0.0) -> None:
        super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening, nesterov=nesterov,
                                      weight_decay=weight_decay))

    def _validate(self, group: dict[str, Any]) -> None:
        super()._validate(group)
        if group["nesterov"] and (group["momentum"] <= 0 or group["dampening"] != 0):
            raise ValueError(f"SGD: nesterov=True requires momentum > 0 and dampening = 0, got momentum="
                             f"{group['momentum']!r}, dampening={group['dampening']!r}")

    def _update(self, p: np.ndarray, g: np.ndarray, state: dict[str, Any], group: dict[str, Any]) -> None:
        wd, momentum = group["weight_decay"], group["momentum"]
        if wd:
            g = g + wd * p
        if momentum:
            buf = state.get("momentum_buffer")
            if buf is None:
                buf = state["momentum_buffer"] = g.copy()
            else:
                buf *= momentum
                buf += (1 - group["dampening"]) * g
            g = g + momentum * buf if group["nesterov"] else buf
        p -= group["lr"] * g

    def _update_all(self, todo: list[tuple[Tensor, np.ndarray, np.ndarray]], state: dict[Tensor, dict[str, Any]],
                    group: dict[str, Any]) -> None:
        """Plain SGD (no momentum, no weight decay, ``_update`` not overridden) as one loop of
        ``p -= lr * g``: what ``_update`` does for each, without a call per parameter (and
        without a read-only view of each gradient: this loop only reads them)."""
        if group["momentum"] or group["weight_decay"] or type(self)._update is not SGD._update:
            super()._update_all(todo, state, group)
            return
        lr = group["lr"]
        for p, data, g in todo:
            if p not in state:
                state[p] = {}
            data -= lr * g


class Adagrad(Optimizer):
    """Adagrad: s ← s + g²; p ← p − lr / (1 + (t − 1)·lr_decay) · g / (√s + eps)."""

    elementwise = True

    rules = {"lr": "nonneg", "lr_decay": "nonneg", "weight_decay": "nonneg", "initial_accumulator_value": "nonneg",
             "eps": "nonneg"}

    def __init__(self, params: ParamsLike, lr: float = 1e-2, lr_decay: float = 0.0, weight_decay: float = 0.0,
                 initial_accumulator_value: float = 0.0, eps: float = 1e-10) -> None:
        super().__init__(params, dict(lr=lr, lr_decay=lr_decay, weight_decay=weight_decay,
                                      initial_accumulator_value=initial_accumulator_value, eps=eps))

    def _update(self, p: np.ndarray, g: np.ndarray, state: dict[str, Any], group: dict[str, Any]) -> None:
        if "sum" not in state:
            state["sum"] = np.full_like(p, group["initial_accumulator_value"])
            state["step"] = 0
        state["step"] += 1
        g = self._l2(g, p, group)
        clr = group["lr"] / (1 + (state["step"] - 1) * group["lr_decay"])
        state["sum"] += g * g
        p -= clr * g / (np.sqrt(state["sum"]) + group["eps"])


class RMSprop(Optimizer):
    """RMSprop: v ← αv + (1 − α)g²; p ← p − lr·g / (√v + eps), optionally centered and with momentum."""

    elementwise = True

    rules = {"lr": "nonneg", "alpha": "nonneg", "eps": "nonneg", "weight_decay": "nonneg", "momentum": "nonneg",
             "centered": "bool"}

    def __init__(self, params: ParamsLike, lr: float = 1e-2, alpha: float = 0.99, eps: float = 1e-8,
                 weight_decay: float = 0.0, momentum: float = 0.0, centered: bool = False) -> None:
        super().__init__(params, dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay, momentum=momentum,
                                      centered=centered))

    def _update(self, p: np.ndarray, g: np.ndarray, state: dict[str, Any], group: dict[str, Any]) -> None:
        alpha, momentum = group["alpha"], group["momentum"]
        if "square_avg" not in state:
            state["step"] = 0
            state["square_avg"] = np.zeros_like(p)
        state["step"] += 1
        g = self._l2(g, p, group)
        v = state["square_avg"]
        v *= alpha
        v += (1 - alpha) * g * g
        if group["centered"]:
            ga = state.setdefault("grad_avg", np.zeros_like(p))
            ga *= alpha
            ga += (1 - alpha) * g
            avg = np.sqrt(v - ga * ga) + group["eps"]
        else:
            avg = np.sqrt(v) + group["eps"]
        if momentum:
            buf = state.setdefault("momentum_buffer", np.zeros_like(p))
            buf *= momentum
            buf += g / avg
            p -= group["lr"] * buf
        else:
            p -= group["lr"] * g / avg


def _adam_moments(p: np.ndarray, g: np.ndarray, state: dict[str, Any], betas: tuple[float, float]) -> int:
    """Advance the step count t and the moments m ← β₁m + (1 − β₁)g, v ← β₂v + (1 − β₂)g²; returns t."""
    b1, b2 = betas
    if "exp_avg" not in state:
        state["step"] = 0
        state["exp_avg"] = np.zeros_like(p)
        state["exp_avg_sq"] = np.zeros_like(p)
    state["step"] += 1
    m, v = state["exp_avg"], state["exp_avg_sq"]
    m *= b1
    m += (1 - b1) * g
    v *= b2
    v += (1 - b2) * g * g
    t: int = state["step"]
    return t


def _weight_decay(p: np.ndarray, g: np.ndarray, group: dict[str, Any], decoupled: bool) -> np.ndarray:
    """Decoupled: p ← p(1 − lr·λ) (AdamW); else g + λp."""
    wd = group["weight_decay"]
    if not wd:
        return g
    if decoupled:
        p *= 1 - group["lr"] * wd
        return g
    decayed: np.ndarray = g + wd * p
    return decayed


class Adam(Optimizer):
    """Adam: m ← β₁m + (1 − β₁)g; v ← β₂v + (1 − β₂)g²;
    p ← p − lr/(1 − β₁ᵗ) · m / (√v / √(1 − β₂ᵗ) + eps) (v replaced by its running max with amsgrad)."""

    elementwise = True

    decoupled = False
    rules = {**_ADAM_RULES, "amsgrad": "bool"}

    def __init__(self, params: ParamsLike, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0.0, amsgrad: bool = False) -> None:
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad))

    def _update(self, p: np.ndarray, g: np.ndarray, state: dict[str, Any], group: dict[str, Any]) -> None:
        g = _weight_decay(p, g, group, self.decoupled)
        b1, b2 = group["betas"]
        t = _adam_moments(p, g, state, group["betas"])
        v = state["exp_avg_sq"]
        if group["amsgrad"]:
            vmax = state.setdefault("max_exp_avg_sq", np.zeros_like(p))
            np.maximum(vmax, v, out=vmax)
            v = vmax
        # math.sqrt on the Python number, as np.float64 (np.sqrt's result type): the same correctly rounded
        # square root without a ufunc call on a scalar
        denom = np.sqrt(v) / np.float64(math.sqrt(1 - b2 ** t)) + group["eps"]
        p -= (group["lr"] / (1 - b1 ** t)) * state["exp_avg"] / denom


class AdamW(Adam):
    """Adam with decoupled weight decay: p ← p(1 − lr·λ) before the Adam step (default λ = 0.01)."""

    decoupled = True

    def __init__(self, params: ParamsLike, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 1e-2, amsgrad: bool = False) -> None:
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad)


class Adadelta(Optimizer):
    """Adadelta: v ← ρv + (1 − ρ)g²; Δ = √(u + eps)/√(v + eps) · g; u ← ρu + (1 − ρ)Δ²; p ← p − lr·Δ."""

    elementwise = True

    rules = {"lr": "nonneg", "rho": "unit", "eps": "nonneg", "weight_decay": "nonneg"}

    def __init__(self, params: ParamsLike, lr: float = 1.0, rho: float = 0.9, eps: float = 1e-6,
                 weight_decay: float = 0.0) -> None:
        super().__init__(params, dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay))

    def _update(self, p: np.ndarray, g: np.ndarray, state: dict[str, Any], group: dict[str, Any]) -> None:
        rho, eps = group["rho"], group["eps"]
        if "square_avg" not in state:
            state["step"] = 0
            state["square_avg"] = np.zeros_like(p)
            state["acc_delta"] = np.zeros_like(p)
        state["step"] += 1
        g = self._l2(g, p, group)
        v, u = state["square_avg"], state["acc_delta"]
        v *= rho
        v += (1 - rho) * g * g
        delta = np.sqrt(u + eps) / np.sqrt(v + eps) * g
        u *= rho
        u += (1 - rho) * delta * delta
        p -= group["lr"] * delta


class Adamax(Optimizer):
    """Adamax: m ← β₁m + (1 − β₁)g; u ← max(β₂u, |g| + eps); p ← p − lr/(1 − β₁ᵗ) · m / u."""

    elementwise = True

    rules = dict(_ADAM_RULES)

    def __init__(self, params: ParamsLike, lr: float = 2e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0.0) -> None:
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay))

    def _update(self, p: np.ndarray, g: np.ndarray, state: dict[str, Any], group: dict[str, Any]) -> None:
        b1, b2 = group["betas"]
        if "exp_avg" not in state:
            state["step"] = 0
            state["exp_avg"] = np.zeros_like(p)
            state["exp_inf"] = np.zeros_like(p)
        state["step"] += 1
        g = self._l2(g, p, group)
        m, u = state["exp_avg"], state["exp_inf"]
        m *= b1
        m += (1 - b1) * g
        np.maximum(b2 * u, np.abs(g) + group["eps"], out=u)
        p -= group["lr"] / (1 - b1 ** state["step"]) * m / u


class NAdam(Optimizer):
    """Adam with Nesterov momentum (Dozat 2016), PyTorch's schedule:
    μₜ = β₁(1 − ½·0.96^(t·ψ)), Πₜ = μ₁⋯μₜ, v̂ = v / (1 − β₂ᵗ);
    p ← p − lr(1 − μₜ)/(1 − Πₜ) · g/(√v̂ + eps) − lr·μₜ₊₁/(1 − Πₜμₜ₊₁) · m/(√v̂ + eps)."""

    elementwise = True

    rules = {**_ADAM_RULES, "momentum_decay": "nonneg", "decoupled_weight_decay": "bool"}

    def __init__(self, params: ParamsLike, lr: float = 2e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0.0, momentum_decay: float = 4e-3,
                 decoupled_weight_decay: bool = False) -> None:
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                                      momentum_decay=momentum_decay, decoupled_weight_decay=decoupled_weight_decay))

    def _update(self, p: np.ndarray, g: np.ndarray, state: dict[str, Any], group: dict[str, Any]) -> None:
        b1, b2 = group["betas"]
        lr, psi = group["lr"], group["momentum_decay"]
        g = _weight_decay(p, g, group, group["decoupled_weight_decay"])
        t = _adam_moments(p, g, state, group["betas"])
        mu = b1 * (1 - 0.5 * 0.96 ** (t * psi))
        mu_next = b1 * (1 - 0.5 * 0.96 ** ((t + 1) * psi))
        state["mu_product"] = state.get("mu_product", 1.0) * mu
        prod = state["mu_product"]
        denom = np.sqrt(state["exp_avg_sq"] / (1 - b2 ** t)) + group["eps"]
        p -= lr * (1 - mu) / (1 - prod) * g / denom
        p -= lr * mu_next / (1 - prod * mu_next) * state["exp_avg"] / denom


class RAdam(Optimizer):
    """Rectified Adam (Liu et al. 2019): with ρ∞ = 2/(1 − β₂) − 1 and ρₜ = ρ∞ − 2tβ₂ᵗ/(1 − β₂ᵗ),
    p ← p − lr·m/(1 − β₁ᵗ) · r·√(1 − β₂ᵗ)/(√v + eps) when ρₜ > 5 (r the rectification term),
    else p ← p − lr·m/(1 − β₁ᵗ)."""

    elementwise = True

    rules = {**_ADAM_RULES, "decoupled_weight_decay": "bool"}

    def __init__(self, params: ParamsLike, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0.0, decoupled_weight_decay: bool = False) -> None:
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                                      decoupled_weight_decay=decoupled_weight_decay))

    def _update(self, p: np.ndarray, g: np.ndarray, state: dict[str, Any], group: dict[str, Any]) -> None:
        b1, b2 = group["betas"]
        g = _weight_decay(p, g, group, group["decoupled_weight_decay"])
        t = _adam_moments(p, g, state, group["betas"])
        m_hat = state["exp_avg"] / (1 - b1 ** t)
        bc2 = 1 - b2 ** t
        rho_inf = 2 / (1 - b2) - 1
        rho_t = rho_inf - 2 * t * b2 ** t / bc2
        if rho_t > 5:
            rect = np.sqrt((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t))
            p -= m_hat * group["lr"] * (np.sqrt(bc2) / (np.sqrt(state["exp_avg_sq"]) + group["eps"])) * rect
        else:
            p -= m_hat * group["lr"]


__all__ = ["SGD", "Adadelta", "Adagrad", "Adam", "AdamW", "Adamax", "NAdam", "Optimizer", "RAdam", "RMSprop",
           "clip_grad_norm_", "clip_grad_value_"]
