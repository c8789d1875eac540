"""The Optimizer base class (parameter groups, state, checks) and gradient clipping.

Optimizers update parameter arrays in place under no_grad: arithmetic on values,
not a derivative (gradients come from autodiff). Hyperparameters live in
``param_groups`` as in PyTorch, and are checked once, when a group is added, so
``step()`` does no validation work.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Iterable
from numbers import Real
from typing import Any, TypeAlias

import numpy as np

from autodiff import Tensor, enable_grad
from autodiff.versions import bump_versions

from ..checks import check_bool, check_number
from .flat_step import flat_step

ParamsLike: TypeAlias = Iterable[Tensor] | Iterable[dict[str, Any]]
"""What an optimizer trains: Tensors (``model.parameters()``), or parameter groups, dicts with a
``"params"`` entry and their own hyperparameters (``[{"params": ..., "lr": 0.1}, ...]``)."""


class Optimizer:
    """Base class: ``param_groups`` (each a dict with ``"params"`` and its
    hyperparameters), per-parameter ``state``, ``zero_grad()``, ``step()``.

    Subclasses set ``rules`` ({hyperparameter: rule}, checked for every group) and
    define ``_update(p, g, state, group)`` on arrays.
    """

    rules: dict[str, str | None] = {}
    elementwise = False
    """True when ``_update`` treats every element alike (its numbers shared by the whole group):
    ``step`` may then update a small group's parameters as one flat array (nn/optim/flat_step.py)."""

    def __init__(self, params: ParamsLike, defaults: dict[str, Any]) -> None:
        self.defaults = dict(defaults)
        self.param_groups: list[dict[str, Any]] = []
        self.state: dict[Tensor, dict[str, Any]] = {}
        if isinstance(params, (Tensor, dict)) or not isinstance(params, Iterable):
            raise TypeError(f"{self._name}: params must be an iterable of Tensors or of dicts (parameter groups), "
                            f"got {type(params).__name__}")
        groups: list[Any] = list(params)
        if not groups:
            raise ValueError(f"{self._name}: got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    @property
    def _name(self) -> str:
        return type(self).__name__

    # ------------------------------------------------------------ groups
    def add_param_group(self, group: dict[str, Any]) -> None:
        """Add a group of parameters with its own hyperparameters (the others from the defaults)."""
        if not isinstance(group, dict) or "params" not in group:
            raise TypeError(f"{self._name}: a parameter group must be a dict with a 'params' entry, got "
                            f"{type(group).__name__}")
        params = group["params"]
        if isinstance(params, (set, frozenset)):
            raise TypeError(f"{self._name}: parameters must be an ordered collection, not a set")
        params = [params] if isinstance(params, Tensor) else list(params)
        unique: list[Tensor] = []
        seen: set[int] = set()
        for k, p in enumerate(params):
            if not isinstance(p, Tensor):
                raise TypeError(f"{self._name}: parameter {k} is a {type(p).__name__}, not a Tensor")
            if not p.is_leaf:
                raise ValueError(f"{self._name}: parameter {k} is not a leaf Tensor (it was computed by "
                                 f"'{p.op}'); optimize the leaves it came from")
            if p.dtype.kind != "f":
                raise TypeError(f"{self._name}: parameter {k} has dtype {p.dtype}; only floating tensors train")
            if id(p) not in seen:
                seen.add(id(p))
                unique.append(p)
        if len(unique) != len(params):
            warnings.warn(f"{self._name}: a parameter group holds the same parameter more than once; "
                          f"each is updated once per step", UserWarning, stacklevel=3)
        if any(id(p) in {id(q) for g in self.param_groups for q in g["params"]} for p in unique):
            raise ValueError(f"{self._name}: some parameters appear in more than one parameter group")
        if not unique:
            raise ValueError(f"{self._name}: a parameter group has no parameters")
        unknown = [k for k in group if k != "params" and k not in self.defaults]
        if unknown:
            raise TypeError(f"{self._name}: unknown hyperparameter {unknown[0]!r} in a parameter group "
                            f"(known: {sorted(self.defaults)})")
        full = {**self.defaults, **group, "params": unique}
        self._validate(full)
        self.param_groups.append(full)

    def _validate(self, group: dict[str, Any]) -> None:
        """Check a group's hyperparameters against ``rules`` (subclasses add cross-checks)."""
        for name, rule in self.rules.items():
            value = group[name]
            if rule == "bool":
                check_bool(self._name, name, value)
            elif rule == "betas":
                if not isinstance(value, (tuple, list)) or len(value) != 2:
                    raise TypeError(f"{self._name}: betas must be a pair (beta1, beta2), got {value!r}")
                for i, b in enumerate(value):
                    check_number(self._name, f"betas[{i}]", b, "unit_open")
                group[name] = (float(value[0]), float(value[1]))
            else:
                check_number(self._name, name, value, rule)

    @property
    def params(self) -> list[Tensor]:
        """Every parameter, group by group."""
        return [p for group in self.param_groups for p in group["params"]]

    @property
    def lr(self) -> float:
        """The learning rate of every group (an error when groups differ); assigning sets every group's."""
        rates = {g["lr"] for g in self.param_groups}
        if len(rates) > 1:
            raise ValueError(f"{self._name}.lr: the parameter groups have different learning rates "
                             f"{[g['lr'] for g in self.param_groups]}; read param_groups[i]['lr']")
        lr: float = self.param_groups[0]["lr"]
        return lr

    @lr.setter
    def lr(self, value: float) -> None:
        check_number(self._name, "lr", value, "nonneg")
        for g in self.param_groups:
            g["lr"] = float(value)

    # -------------------------------------------------------------- steps
    def zero_grad(self, set_to_none: bool = True) -> None:
        """Forget every parameter's gradient: ``.grad = None`` (PyTorch's default) or zeros."""
        for group in self.param_groups:
            for p in group["params"]:
                if set_to_none or p.grad is None:
                    p.grad = None
                else:
                    p.grad = Tensor(np.zeros_like(p.data))

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Update every parameter that has a gradient; with ``closure`` (a function that
        recomputes the loss and its gradients) first call it and return its loss."""
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        state = self.state
        flat = self.__dict__.setdefault("_flat_groups", {}) if self.elementwise else None
        for group in self.param_groups:
            if flat is not None and flat_step(self, group, flat):
                continue  # the same update, on all the group's parameters at once
            todo, written = [], []
            for p in group["params"]:
                grad = p.grad
                if grad is not None:
                    data, g = p._data, grad._data
                    if g.dtype is not data.dtype and g.dtype != data.dtype:
                        g = g.astype(data.dtype)
                    if not data.flags.writeable:
                        p.numpy(writable=True)  # raises its error: a read-only array cannot be updated
                    todo.append((p, data, g))
                    written.append(p)
            # (what numpy(writable=True) does, as flat_step: every parameter before any update)
            bump_versions(written, "numpy(writable=True)")
            self._update_all(todo, state, group)
        return loss

    def _update_all(self, todo: list[tuple[Tensor, np.ndarray, np.ndarray]], state: dict[Tensor, dict[str, Any]],
                    group: dict[str, Any]) -> None:
        """Run ``_update`` on each (parameter, its array, its gradient's array) of a group, with
        the gradient as a read-only view (an update reads it, never writes it) and the
        parameter's state (created empty at its first step)."""
        for p, data, g in todo:
            g = g.view()
            g.setflags(write=False)
            s = state.get(p)
            if s is None:
                s = state[p] = {}
            self._update(data, g, s, group)

    def _update(self, p: np.ndarray, g: np.ndarray, state: dict[str, Any], group: dict[str, Any]) -> None:
        raise NotImplementedError

    @staticmethod
    def _l2(g: np.ndarray, p: np.ndarray, group: dict[str, Any]) -> np.ndarray:
        """g + λp: PyTorch's (coupled) weight_decay."""
        wd = group["weight_decay"]
        return g + wd * p if wd else g

    # -------------------------------------------------------------- state
    def state_dict(self) -> dict[str, Any]:
        """PyTorch's layout, as plain data: ``{"state": {index: {name: array or number}},
        "param_groups": [{hyperparameter: value, "params": [index, ...]}]}`` (copies)."""
        index: dict[int, int] = {}
        groups = []
        for group in self.param_groups:
            ids = []
            for p in group["params"]:
                ids.append(index.setdefault(id(p), len(index)))
            groups.append({**{k: v for k, v in group.items() if k != "params"}, "params": ids})
        state = {index[id(p)]: _copy_state(s) for p, s in self.state.items() if id(p) in index}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore what ``state_dict`` returned (hyperparameters and per-parameter state),
        after checking that the groups, sizes and array shapes match."""
        if not isinstance(state_dict, dict) or not {"state", "param_groups"} <= set(state_dict):
            found = sorted(state_dict) if isinstance(state_dict, dict) else type(state_dict).__name__
            raise ValueError(f"{self._name}.load_state_dict: expected a dict with 'state' and 'param_groups' "
                             f"(what state_dict() returns), got {found}")
        groups = state_dict["param_groups"]
        if len(groups) != len(self.param_groups):
            raise ValueError(f"{self._name}.load_state_dict: the state has {len(groups)} parameter groups, "
                             f"the optimizer {len(self.param_groups)}")
        by_index: dict[int, Tensor] = {}
        for k, (saved, group) in enumerate(zip(groups, self.param_groups, strict=True)):
            if len(saved["params"]) != len(group["params"]):
                raise ValueError(f"{self._name}.load_state_dict: group {k} has {len(saved['params'])} parameters "
                                 f"in the state, {len(group['params'])} in the optimizer")
            by_index.update({int(i): p for i, p in zip(saved["params"], group["params"], strict=True)})
        new_state: dict[Tensor, dict[str, Any]] = {}
        for i, s in state_dict["state"].items():
            p = by_index.get(int(i))
            if p is None:
                raise ValueError(f"{self._name}.load_state_dict: state for parameter {i}, which no group lists")
            for name, value in s.items():
                self._check_loaded(p, i, name, value)
            new_state[p] = _copy_state(s)
        merged = [{**group, **{k: v for k, v in saved.items() if k != "params"}}
                  for saved, group in zip(groups, self.param_groups, strict=True)]
        for group in merged:
            self._validate(group)
        for group, new in zip(self.param_groups, merged, strict=True):
            group.update(new)
        self.state = new_state

    def _check_loaded(self, p: Tensor, index: Any, name: str, value: Any) -> None:
        """A loaded per-parameter state array must have its parameter's shape."""
        if isinstance(value, np.ndarray) and value.ndim and value.shape != p.shape:
            raise ValueError(f"{self._name}.load_state_dict: state '{name}' of parameter {index} has shape "
                             f"{value.shape}, the parameter {p.shape}")

    def __repr__(self) -> str:
        lines = [f"{self._name} ("]
        for k, g in enumerate(self.param_groups):
            lines.append(f"  group {k}: " + ", ".join(f"{n}={v}" for n, v in g.items() if n != "params"))
        return "\n".join(lines) + "\n)"


def _copy_state(value: Any) -> Any:
    """A deep copy of nested dicts/lists of arrays and numbers."""
    if isinstance(value, dict):
        return {k: _copy_state(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_copy_state(v) for v in value)
    if isinstance(value, np.ndarray):
        return value.copy()
    if isinstance(value, np.generic):
        return value.item()
    return value


def _grads(params: Iterable[Tensor]) -> list[np.ndarray]:
    if isinstance(params, Tensor):
        params = [params]
    return [p.grad.numpy(writable=True) for p in params if p.grad is not None]


def clip_grad_norm_(params: Iterable[Tensor], max_norm: float, norm_type: float = 2.0) -> float:
    """Scale gradients in place so their joint norm is at most ``max_norm``; returns the
    norm before clipping (as PyTorch: scale by max_norm / (norm + 1e-6) when norm > max_norm)."""
    check_number("clip_grad_norm_", "max_norm", max_norm, "nonneg")
    if not (norm_type == math.inf or (isinstance(norm_type, Real) and norm_type > 0)):
        raise ValueError(f"clip_grad_norm_: norm_type must be > 0 or inf, got {norm_type!r}")
    grads = _grads(params)
    if not grads:
        return 0.0
    if norm_type == math.inf:
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
    check_number("clip_grad_value_", "clip_value", clip_value, "nonneg")
    for g in _grads(params):
        np.clip(g, -clip_value, clip_value, out=g)
