"""A signature's compiled program (``Compiled``) and a first trace awaiting its
verification (``_Traced``): what ``Jitted`` keeps per input signature, and the checks it
runs on them at every call (the closure's Tensors, the labels the fused loss takes, the
arguments a program was verified for)."""

from __future__ import annotations

import types
from collections.abc import Callable
from typing import Any, TypeGuard

import numpy as np

from ..tensor import Tensor
from ..versions import EPOCH, version_of
from .codegen import GENERATED
from .kernels import labels_all_taken, taken_labels, trusting
from .program import Program


class Compiled:
    """One signature's compiled program: ``fn(*arrays)`` returns the output arrays."""

    def __init__(self, program: Program, fn: Callable[..., Any], source: str, captured: list[Any],
                 kinds: Any) -> None:
        self.program, self.fn, self.source, self.captured, self.kinds = program, fn, source, captured, kinds
        self.captured_sig = [(t._data.shape, t._data.dtype, t.requires_grad, t._hooks) for t in captured]
        # the arguments of both verifying traces when they were the same (only the parameters
        # differed: full-batch training); other arguments are verified by a trace first
        self.only_for: list[np.ndarray] | None = None
        self.traced: Program = program  # the program as traced (before compile() took it apart)
        self.other_case: Compiled | _Traced | str | None = None  # where calls go whose guards fail here
        self.taken_labels = taken_labels(program)
        self._trusting: tuple[Callable[..., Any], Callable[..., Any]] | None = None  # (fn, its trusting variant)
        self.constants = list(program.constant_tensors)  # (Tensor, version): checked when anything was written
        self._epoch = -1  # EPOCH when they were last found unchanged

    def trusting_fn(self) -> Callable[..., Any]:
        """``fn`` with its fused loss kernels not checking the labels (``kernels.trusting``):
        the same code over the same buffers, for a caller that has checked every input of
        ``taken_labels`` with ``labels_taken``. ``fn`` itself when some kernel takes labels
        that are no such input (a constant, an array computed in the program)."""
        fn = self.fn
        if self._trusting is None or self._trusting[0] is not fn:
            variant, code = fn, getattr(fn, "__code__", None)
            if code is not None and code.co_filename.startswith(GENERATED) and labels_all_taken(self.program):
                names = trusting(fn.__globals__)
                if names is not None:
                    variant = types.FunctionType(code, names, fn.__name__, fn.__defaults__, fn.__closure__)
            self._trusting = fn, variant
        return self._trusting[1]

    def accepts(self, arrays: list[np.ndarray]) -> bool:
        """Whether the program was verified for these arguments (any, unless ``only_for``)."""
        return self.only_for is None or _same_arrays(self.only_for, arrays)

    def captured_match(self) -> bool:
        """Whether the Tensors read at every call still have the traced shapes and dtypes, still
        require grad or not and have the same gradient hooks as traced (a parameter frozen
        since, or given a hook: another program; ``register_hook`` makes a new list)."""
        return all((t._data.shape, t._data.dtype, t.requires_grad, t._hooks) == s
                   for t, s in zip(self.captured, self.captured_sig, strict=True)) and self.constants_match()

    def constants_match(self) -> bool:
        """Whether the Tensors whose values the program holds as constants (a Tensor from the
        closure that does not require grad) were not written since the trace: any in-place
        write or ``.data`` assignment bumps the process's EPOCH, and then their versions."""
        if self.constants and EPOCH[0] != self._epoch:
            if not all(version_of(t) == v for t, v in self.constants):
                return False
            self._epoch = EPOCH[0]
        return True


class _Traced:
    """A signature traced once, not yet verified: its program, a copy of every input it was
    traced with (arguments, then the values read from the closure: to recognise the same
    call), those closure values, and the program compiled for identical calls only."""

    def __init__(self, program: Program, bound: list[np.ndarray], captured: list[Any], kinds: Any) -> None:
        self.program, self.bound, self.captured, self.kinds = program, bound, captured, kinds
        self.replay: Compiled | None = None
        # the trace before this one, when its rules decided otherwise (another case, awaiting
        # its own second trace): kept, so calls alternating between two cases compile both
        self.other_case: _Traced | None = None

    def same_call(self, args: tuple[Any, ...]) -> bool:
        """Whether these arguments and the closure's current values are the traced ones."""
        now = _arrays(args) + [c._data for c in self.captured]
        return len(now) == len(self.bound) and _same_arrays(self.bound, now)


def _runnable(entry: Any, args: tuple[Any, ...]) -> TypeGuard[Compiled]:
    """Whether ``entry`` is a compiled program verified for a call with these arguments."""
    return type(entry) is Compiled and entry.captured_match() and (entry.only_for is None
                                                                     or entry.accepts(_arrays(args)))


def _baseline(entry: Any) -> Program | None:
    """The program a new trace is verified against: a first trace's, or a program's verified
    only for the arguments it was traced with (whose parameters still fit)."""
    if isinstance(entry, _Traced):
        return entry.program
    if isinstance(entry, Compiled) and entry.only_for is not None and entry.captured_match():
        return entry.traced
    return None


def _arrays(args: tuple[Any, ...]) -> list[np.ndarray]:
    return [a._data if isinstance(a, Tensor) else np.asarray(a) for a in args]


def _same_arrays(xs: list[np.ndarray], ys: list[np.ndarray]) -> bool:
    return all(np.array_equal(x, y, equal_nan=x.dtype.kind in "fc") for x, y in zip(xs, ys, strict=True))
