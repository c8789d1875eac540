"""The settings of objects a compiled function's traces used (``nn`` modules: ``training``,
a dropout rate, their submodules): part of the key its programs are cached under, so
``model.eval()`` after tracing in training mode is another program, never the traced one.
"""

from __future__ import annotations

from typing import Any

from .trace import StateHook


class TracedState:
    """The stateful objects noted by a function's traces (see ``trace.StateHook``), and
    their settings now, recomputed only when a hook's ``version()`` changed."""

    def __init__(self) -> None:
        self.objects: dict[int, tuple[StateHook, Any]] = {}
        self._hooks: list[StateHook] = []
        self._cached: tuple[tuple[int, ...] | None, tuple[Any, ...]] = (None, ())

    def add(self, noted: dict[int, tuple[StateHook, Any]]) -> bool:
        """Add the objects a trace noted; whether any was new (the key then changed)."""
        new = {k: v for k, v in noted.items() if k not in self.objects}
        if not new:
            return False
        self.objects.update(new)
        self._hooks = list({id(h): h for h, _ in self.objects.values()}.values())
        self._cached = (None, ())
        return True

    def settings(self) -> tuple[Any, ...]:
        """The settings of every object noted so far (empty when none was)."""
        if not self._hooks:
            return ()
        versions = tuple(h.version() for h in self._hooks)
        if versions != self._cached[0]:
            value = tuple(h.settings([o for g, o in self.objects.values() if g is h]) for h in self._hooks)
            self._cached = (versions, value)
        return self._cached[1]
