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

from itertools import repeat
from operator import attrgetter, is_, is_not
from typing import TYPE_CHECKING, Any

import numpy as np

from autodiff import Tensor
from autodiff.versions import bump_versions

if TYPE_CHECKING:
    from .optimizer import Optimizer

FLAT_MAX = 1 << 16
"""Groups with more elements are updated parameter by parameter."""

# Every check below runs at every step: its loops over parameters are C-level (map over
# attrgetter and operator functions), so a small group's step is not spent checking it.
_DATA, _GRAD, _WRITEABLE = attrgetter("_data"), attrgetter("grad"), attrgetter("_data.flags.writeable")
_SIZE, _DTYPE, _SHAPE = attrgetter("_data.size"), attrgetter("_data.dtype"), attrgetter("_data.shape")
_SHAPE_OF, _DTYPE_OF = attrgetter("shape"), attrgetter("dtype")


class FlatGroup:
    """The flat buffers of one parameter group and the links of its state into them."""

    def __init__(self, params: list[Tensor], dtype: np.dtype[Any]) -> None:
        self.params = list(params)
        self.dtype = dtype
        self.shapes = [p._data.shape for p in params]
        self.dtypes = [dtype] * len(params)  # (compared as lists: identical dtypes skip dtype.__eq__)
        total = sum(p._data.size for p in params)
        self.pflat = np.empty(total, dtype)
        self.gflat = np.empty(total, dtype)
        self.pviews = flat_views(self.pflat, self.shapes)
        self.state: dict[str, Any] = {}
        self.states: list[dict[str, Any]] = []
        # the links of the parameters' states into the flat state: state[key] is view
        self.linked_states: list[dict[str, Any]] = []
        self.linked_keys: list[str] = []
        self.linked_views: list[np.ndarray] = []
        self.scalars: list[str] = []

    def matches(self, params: list[Tensor]) -> bool:
        """Whether the group still holds these parameters, with these shapes and dtype."""
        return (len(params) == len(self.params) and all(map(is_, params, self.params))
                and list(map(_SHAPE, params)) == self.shapes and list(map(_DTYPE, params)) == self.dtypes)

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
        self.linked_states, self.linked_keys, self.linked_views = [], [], []
        for key, value in self.state.items():
            if isinstance(value, np.ndarray) and value.shape == self.pflat.shape:
                for st, view in zip(self.states, flat_views(value, self.shapes), strict=True):
                    st[key] = view
                    self.linked_states.append(st)
                    self.linked_keys.append(key)
                    self.linked_views.append(view)

    def state_intact(self, opt_state: dict[Tensor, dict[str, Any]]) -> bool:
        """Whether every parameter's state still is the linked one, and its numbers agree."""
        states = self.states
        if not (all(map(is_, map(opt_state.get, self.params), states))
                and all(map(is_, map(dict.get, self.linked_states, self.linked_keys), self.linked_views))
                and set(map(len, states)) == {len(self.state)}):
            return False
        for key in self.scalars:
            values = list(map(dict.get, states, repeat(key)))
            if values.count(values[0]) != len(values):
                return False
            self.state[key] = values[0]
        return True

    def write_back(self) -> None:
        """Numbers to every parameter's state; arrays the update created become linked views."""
        numbers = {k: v for k, v in self.state.items() if not isinstance(v, np.ndarray)}
        for st in self.states:
            st.update(numbers)
        self.scalars = list(numbers)
        if len(self.linked_views) != len(self.states) * (len(self.state) - len(numbers)):
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
    grads = list(map(_GRAD, params))
    if not all(map(is_not, grads, repeat(None))):
        return False
    grads = list(map(_DATA, grads))
    if list(map(_SHAPE_OF, grads)) != flat.shapes or list(map(_DTYPE_OF, grads)) != flat.dtypes:
        return False
    if not flat.state_intact(opt.state) and not flat.link_state(opt.state):
        return False
    if not all(map(_WRITEABLE, params)):
        return False
    np.concatenate(grads, axis=None, out=flat.gflat)
    np.concatenate(list(map(_DATA, params)), axis=None, out=flat.pflat)
    opt._update(flat.pflat, flat.gflat, flat.state, group)
    bump_versions(params, "numpy(writable=True)")  # (every parameter written: one epoch, as Optimizer.step)
    for p, view in zip(params, flat.pviews, strict=True):
        np.copyto(p._data, view)
    flat.write_back()
    return True
