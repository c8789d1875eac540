"""One update over every parameter of a group at once, for the elementwise optimizers.

An elementwise update (SGD, Adam, RMSprop, ...) gives the same bits whether it runs on
each parameter's array or on their concatenation, but per parameter it costs a dozen
NumPy calls each: on a small network (digits: 4 parameters, 56 calls for Adam) those
calls, not the arithmetic, are the step. Here the gradients and parameters are gathered
into one flat array each, ``_update`` runs once, and the parameters are written back.

The optimizer's per-parameter ``state`` stays what it always was: its arrays become
views of the flat state (so ``state_dict``, ``load_state_dict`` and eager edits keep
working), its numbers are read from and written back to every parameter's entry. Any
irregularity (a missing gradient, parameters of mixed dtypes, states that disagree, a
group past ``FLAT_MAX`` elements, where copying in and out costs more than it saves)
leaves the step to the per-parameter loop.
"""

from __future__ import annotations

from operator import attrgetter
from typing import TYPE_CHECKING, Any

import numpy as np

from autodiff import Tensor
from autodiff.versions import bump_version

if TYPE_CHECKING:
    from .optimizer import Optimizer

FLAT_MAX = 1 << 16
"""Groups with more elements are updated parameter by parameter."""

_SIZE, _DTYPE = attrgetter("_data.size"), attrgetter("_data.dtype")


class FlatGroup:
    """The flat buffers of one parameter group and the links of its state into them."""

    def __init__(self, params: list[Tensor], dtype: np.dtype[Any]) -> None:
        self.params = list(params)
        self.dtype = dtype
        self.shapes = [p._data.shape for p in params]
        total = sum(p._data.size for p in params)
        self.pflat = np.empty(total, dtype)
        self.gflat = np.empty(total, dtype)
        self.pviews = flat_views(self.pflat, self.shapes)
        self.state: dict[str, Any] = {}
        self.states: list[dict[str, Any]] = []
        self.linked: list[tuple[dict[str, Any], str, np.ndarray]] = []  # (a parameter's state, key, its view)
        self.scalars: list[str] = []

    def matches(self, params: list[Tensor]) -> bool:
        """Whether the group still holds these parameters, with these shapes and dtype."""
        if len(params) != len(self.params):
            return False
        dtype = self.dtype
        for p, q, shape in zip(params, self.params, self.shapes, strict=True):
            d = p._data
            if p is not q or d.shape != shape or d.dtype != dtype:
                return False
        return True

    def link_state(self, opt_state: dict[Tensor, dict[str, Any]]) -> bool:
        """Make the flat state from the parameters' own (arrays concatenated, numbers that
        agree); False when they cannot share one update."""
        states = [opt_state.setdefault(p, {}) for p in self.params]
        keys = set(states[0])
        if any(set(s) != keys for s in states):
            return False
        flat: dict[str, Any] = {}
        scalars = []
        for key in sorted(keys):
            values = [s[key] for s in states]
            if all(isinstance(v, np.ndarray) and v.shape == p._data.shape and v.dtype == self.dtype
                   for v, p in zip(values, self.params, strict=True)):
                flat[key] = np.concatenate(values, axis=None)
            elif all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values) \
                    and all(v == values[0] for v in values):
                flat[key] = values[0]
                scalars.append(key)
            else:
                return False
        self.state, self.states, self.scalars = flat, states, scalars
        self._link_arrays()
        return True

    def _link_arrays(self) -> None:
        self.linked = []
        for key, value in self.state.items():
            if isinstance(value, np.ndarray) and value.shape == self.pflat.shape:
                for st, view in zip(self.states, flat_views(value, self.shapes), strict=True):
                    st[key] = view
                    self.linked.append((st, key, view))

    def state_intact(self, opt_state: dict[Tensor, dict[str, Any]]) -> bool:
        """Whether every parameter's state still is the linked one, and its numbers agree."""
        for p, st in zip(self.params, self.states, strict=True):
            if opt_state.get(p) is not st:
                return False
        for st, key, view in self.linked:
            if st.get(key) is not view:
                return False
        n_keys = len(self.state)
        for key in self.scalars:
            value = self.states[0].get(key)
            for st in self.states:
                if len(st) != n_keys or st.get(key) != value:
                    return False
            self.state[key] = value
        return all(len(st) == n_keys for st in self.states)

    def write_back(self) -> None:
        """Numbers to every parameter's state; arrays the update created become linked views."""
        scalars = [k for k, v in self.state.items() if not isinstance(v, np.ndarray)]
        for key in scalars:
            value = self.state[key]
            for st in self.states:
                st[key] = value
        self.scalars = scalars
        if len(self.linked) != len(self.states) * (len(self.state) - len(scalars)):
            self._link_arrays()


def flat_views(flat: np.ndarray, shapes: list[tuple[int, ...]]) -> list[np.ndarray]:
    """Consecutive views of a 1-D buffer, one per shape (the parameters laid end to end)."""
    views, start = [], 0
    for shape in shapes:
        n = int(np.prod(shape, dtype=np.int64))
        views.append(flat[start:start + n].reshape(shape))
        start += n
    return views


def flat_step(opt: Optimizer, group: dict[str, Any], cache: dict[int, FlatGroup]) -> bool:
    """Update ``group`` in one flat ``_update``; False (nothing done) when it does not qualify."""
    params = group["params"]
    if len(params) < 2:
        return False
    flat = cache.get(id(group))
    if flat is None or not flat.matches(params):
        # (C-level loops: a large group is turned away here at every step)
        if sum(map(_SIZE, params)) > FLAT_MAX or len(set(map(_DTYPE, params))) != 1:
            return False
        dtype = params[0]._data.dtype
        flat = cache[id(group)] = FlatGroup(params, dtype)
        if not flat.link_state(opt.state):
            del cache[id(group)]
            return False
    grads = []
    for p in params:
        grad = p.grad
        if grad is None:
            return False
        g = grad._data
        if g.shape != p._data.shape or g.dtype != flat.dtype:
            return False
        grads.append(g)
    if not flat.state_intact(opt.state) and not flat.link_state(opt.state):
        return False
    for p in params:
        if not p._data.flags.writeable:
            return False
    np.concatenate(grads, axis=None, out=flat.gflat)
    np.concatenate([p._data for p in params], axis=None, out=flat.pflat)
    opt._update(flat.pflat, flat.gflat, flat.state, group)
    for p, view in zip(params, flat.pviews, strict=True):
        bump_version(p, "numpy(writable=True)")
        np.copyto(p._data, view)
    flat.write_back()
    return True
