"""What a compiled function or step takes as fixed from the modules it ran: their
settings (``training``, a dropout rate, their submodules and parameters by identity).

``Module.__setattr__`` counts assignments of anything but buffers (of another value) in
``SETTINGS_VERSION``, and ModuleList and ModuleDict count their edits, so a compiled
step checks one number per call and recomputes the settings only after a change.
While a trace runs, ``Module.__call__`` notes each module called, so ``ad.jit`` of a
function that calls modules keys its programs on their settings too
(``autodiff.compile.trace.StateHook``): ``model.eval()`` after tracing in training mode
runs another program, never the traced one. (A module replaced inside a plain list
attribute in place, ``seq.layers[1] = m``, is not an assignment: use ``seq[1] = m``.)
"""

from __future__ import annotations

from typing import Any

import numpy as np

from autodiff.compile.trace import STATE_HOOKS, StateHook, active

# How many times a module attribute other than a buffer was assigned: what a compiled step
# bakes in from its modules (``training``, a dropout rate, a submodule) can only have
# changed when this count did (see :func:`settings`).
SETTINGS_VERSION = [0]

_SCALARS = (bool, int, float, str, type(None))


def changed() -> None:
    """Count an edit of what a module holds (an attribute assigned, a module put into or
    taken out of a ModuleList or ModuleDict): compiled steps recompute their settings."""
    SETTINGS_VERSION[0] += 1


def same_setting(old: Any, new: Any) -> bool:
    """Whether assigning ``new`` over ``old`` leaves a setting as it was: the same object,
    or an equal number or string of the same type (``model.train()`` in training mode), so
    compiled steps need not recompute their settings (``settings``) after every epoch."""
    return old is new or (type(old) is type(new) and type(new) in _SCALARS and old == new)


def settings(*roots: Any) -> tuple[Any, ...]:
    """What a trace of these modules (and their submodules) takes as fixed: every attribute
    but buffers, by value for numbers, strings, None and containers of them, by identity
    for anything else (a submodule, a parameter, a Generator). Buffers are read at every
    call of a compiled step; a change of anything here is another program.

    >>> from nn import Dropout
    >>> d = Dropout(0.5)
    >>> before = settings(d)
    >>> d.p = 0.2
    >>> settings(d) == before
    False
    """
    from .module import Buffer, Module

    seen: set[int] = set()
    out: list[Any] = []
    for root in roots:
        if isinstance(root, Module):
            for m in root.modules():
                if id(m) not in seen:
                    seen.add(id(m))
                    out.append((id(m), tuple((k, _setting(v)) for k, v in vars(m).items()
                                             if not isinstance(v, Buffer))))
    return tuple(out)


def constants(*roots: Any) -> list[np.ndarray]:
    """The NumPy arrays the modules (and their submodules) hold as attributes (a loss's
    class weights, a mask): a trace takes their values as constants, and eager reads them
    at every step, so a compiled step watches them for edits in place. (A Tensor held so is
    a constant whose in-place writes the program sees by its version: ``Compiled.constants_match``.)"""
    from .module import Module

    found: dict[int, np.ndarray] = {}
    for root in roots:
        if isinstance(root, Module):
            for m in root.modules():
                for v in vars(m).values():
                    if isinstance(v, np.ndarray):
                        found.setdefault(id(v), v)
    return list(found.values())


def _setting(value: Any) -> Any:
    if value is None or isinstance(value, (bool, int, float, complex, str, bytes, np.generic)):
        return type(value), value
    if isinstance(value, (list, tuple)):
        return type(value), tuple(_setting(v) for v in value)
    if isinstance(value, dict):
        return dict, tuple((k, _setting(v)) for k, v in value.items())
    if isinstance(value, np.ndarray):  # by value: its entries are the program's constants
        return np.ndarray, value.shape, value.dtype.str, value.tobytes()
    return "id", id(value)


class _ModuleState(StateHook):
    """Traces note every module called (``Module.__call__`` is replaced while one runs), so
    a compiled function keys its programs on their settings (``settings``)."""

    def __init__(self) -> None:
        self.plain_call: Any = None

    def install(self) -> None:
        from .module import Module

        if self.plain_call is None:
            self.plain_call = Module.__call__
        setattr(Module, "__call__", _noting_call)  # noqa: B010

    def uninstall(self) -> None:
        from .module import Module

        setattr(Module, "__call__", self.plain_call)  # noqa: B010

    def settings(self, objects: list[Any]) -> Any:
        return settings(*objects)

    def version(self) -> int:
        return SETTINGS_VERSION[0]


_MODULE_STATE = _ModuleState()


def _noting_call(self: Any, *args: Any, **kwargs: Any) -> Any:
    rec = active()
    if rec is not None:
        rec.note_state(_MODULE_STATE, self)
    return self.forward(*args, **kwargs)


STATE_HOOKS.append(_MODULE_STATE)
