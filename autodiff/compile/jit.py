"""``jit``: trace a function of Tensors/arrays once per input signature and replay the
compiled straight-line program.

A program is compiled from the second trace of a signature: two calls with different
inputs must give the same program, constants included. A constant that differs was
computed from an input outside the primitive table (NumPy on ``.data``, say), and
replaying it would be a silent wrong number, so it raises :class:`TraceError` (or runs
eagerly with ``fallback=True``). The first calls run eagerly while being traced.

A call identical to the traced one (the same arguments and the same parameters and
buffers read from the closure) could verify nothing by a second trace: it runs the
traced program unverified, which is exact for those very values (the program was
recorded from them); any other call traces again and verifies before the program is
trusted. A decision a rule took on values while traced is a guard of the program
(``autodiff.compile.decide``): when one does not hold, that call is traced (so it runs
eagerly) and the program of that other case is compiled once two of its traces agree.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from typing import Any

import numpy as np

from .. import primitives as P
from ..mode import state
from ..pytree import tree_flatten, tree_unflatten
from ..tensor import Tensor
from .codegen import build, generate
from .entries import Compiled, _arrays, _baseline, _runnable, _same_arrays, _Traced
from .kernels import labels_taken
from .program import Program
from .scalars import check_weak, int_hint, number_slots
from .state import TracedState
from .trace import GuardFailed, Recorder, TraceError, active, recording, user_site
from .verify import decided_alike, differences


def _flatten(out: Any) -> tuple[list[Any], Any]:
    """The output's leaves and structure (a pytree: ``value_and_grad`` with several argnums
    returns a tuple inside a tuple, whose leaves must each be a value of the program)."""
    return tree_flatten(out)


def _unflatten(leaves: list[Any], kind: Any) -> Any:
    return tree_unflatten(kind, leaves)


def _signature(args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[Any, ...]:
    sig: list[tuple[Any, ...]] = []
    for a in args:
        if isinstance(a, Tensor):
            sig.append(("T", a._data.shape, a._data.dtype.str))
        elif isinstance(a, np.ndarray):
            sig.append(("A", a.shape, a.dtype.str))
        elif isinstance(a, (bool, int, float)):
            sig.append(("S", type(a).__name__))
        else:
            arr = np.asarray(a)
            sig.append(("L", arr.shape, arr.dtype.str))
    try:
        static = tuple(sorted(kwargs.items()))
        hash(static)
    except TypeError:
        raise TypeError("jit: keyword arguments are compiled in as constants and must be hashable") from None
    return tuple(sig), static, state.default_dtype.str, state.grad_enabled


class Jitted:
    """A compiled function: call it like ``f``; ``.source`` shows the generated code,
    ``.program`` the primitive program it came from; ``.traces`` counts traces,
    ``.guard_failures`` the calls a guard sent elsewhere, ``.ran`` is the compiled program
    the last call ran (None when it was traced or run eagerly).

    >>> import autodiff as ad
    >>> f = ad.jit(lambda x: ad.tanh(x) * 2)
    >>> for v in (1.0, 2.0, 3.0):
    ...     y = f(np.array([v]))
    >>> float(y[0]) == float(np.tanh(3.0) * 2)
    True
    >>> print(f.source)                                   # doctest: +ELLIPSIS
    def compiled(a0):
        v1 = np.tanh(a0, out=buf0)
        v3 = np.multiply(v1, f64_2p0)
        return (v3,)
    <BLANKLINE>
    """

    def __init__(self, f: Callable[..., Any], fallback: bool = False, verify: bool = True) -> None:
        self.f = f
        self.fallback = fallback
        self.verify = verify
        self._cache: dict[tuple[Any, ...], Any] = {}
        self.state = TracedState()  # the modules (say) its traces used, whose settings key the programs
        self._last: Compiled | _Traced | None = None
        self.traces = 0  # how many times f was traced
        self._noted_new = False  # whether the last trace noted stateful objects not seen before
        self.guard_failures = 0  # compiled calls abandoned (run eagerly) because a guard did not hold
        self.ran: Compiled | None = None  # the compiled program the last call ran (None: eager or traced)
        functools.update_wrapper(self, f)

    # ------------------------------------------------------------- calling
    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if active() is not None:  # inside another trace: become part of it
            return self.f(*args, **kwargs)
        if state.grad_enabled and any(isinstance(a, Tensor) and a.requires_grad for a in args):
            return self.f(*args, **kwargs)  # a graph is wanted through f: jit never cuts one
        outs, kinds = self._run(self._key(args, kwargs), args, kwargs)
        tensors = any(isinstance(a, Tensor) for a in args)
        return _unflatten([Tensor._leaf(np.asarray(o)) if tensors else np.asarray(o) for o in outs], kinds)

    def _key(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[Any, ...]:
        """What a compiled program is valid for: the arguments' kinds, shapes and dtypes, and
        the settings of the stateful objects (modules) the traces used."""
        return (*_signature(args, kwargs), self.state.settings())

    def _run(self, key: tuple[Any, ...], args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[list[Any], Any]:
        """The output leaves (arrays or Tensors) and their structure: compiled, traced or eager."""
        entry = self._cache.get(key)
        self.ran = None
        if entry == "eager":
            return self._eager(args, kwargs)
        if _runnable(entry, args):
            return self._replay(entry, args, kwargs)
        entry, result = self._trace_call(entry, args, kwargs)
        if self._noted_new:  # the trace used stateful objects not seen before: their settings are in the key
            self._noted_new, key = False, self._key(args, kwargs)
        self._cache[key] = self._last = entry
        return result

    def _replay(self, entry: Compiled, args: tuple[Any, ...], kwargs: dict[str, Any],
                depth: int = 0) -> tuple[list[Any], Any]:
        """Run a compiled program. When one of its guards fails (the rules would decide
        otherwise on these values), the program of that other case runs instead: compiled
        once two traces of it agree, traced (so run eagerly) until then. Labels the fused
        softmax cross-entropy does not take (``taken_labels``) are such a case too."""
        arrays = _arrays(args)
        if entry.taken_labels and not labels_taken(entry.taken_labels, arrays, entry.captured):
            return self._other_case(entry, args, kwargs, depth)  # (its label case fails as a guard does)
        try:
            fn = entry.trusting_fn() if entry.taken_labels else entry.fn  # (labels checked just above)
            outs = list(fn(*arrays, *[t._data for t in entry.captured], *self.runtime_inputs()))
        except GuardFailed:
            return self._other_case(entry, args, kwargs, depth)
        self.ran = entry
        return outs, entry.kinds

    def _other_case(self, entry: Compiled, args: tuple[Any, ...], kwargs: dict[str, Any],
                    depth: int = 0) -> tuple[list[Any], Any]:
        """This call after a guard of ``entry`` failed on it: the program of the other case."""
        self.guard_failures += 1
        other = entry.other_case
        if depth >= _MAX_CASES or other == "eager":
            return self._eager(args, kwargs)
        if _runnable(other, args):
            return self._replay(other, args, kwargs, depth + 1)
        entry.other_case, result = self._trace_call(other, args, kwargs)
        return result

    def _eager(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[list[Any], Any]:
        """Run ``f`` uncompiled, on the same kind of arguments a trace gives it (Python
        numbers stay numbers, weakly typed as eager NumPy takes them)."""
        tensors = _as_tensors(args)
        for k in number_slots(args):
            tensors[k] = args[k]
        leaves, kinds = _flatten(self.f(*tensors, **kwargs))
        return [o._data if isinstance(o, Tensor) else o for o in leaves], kinds

    def runtime_inputs(self) -> list[Any]:
        """Values read at every call besides the arguments and parameters (none for jit)."""
        return []

    def _trace_call(self, entry: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[Any, tuple[list[Any],
                                                                                                      Any]]:
        """Trace this call (or replay an identical one): what the signature holds next (a
        first trace, a compiled program, or "eager"), and this call's outputs."""
        if self.verify and isinstance(entry, _Traced) and entry.same_call(args):
            # the traced call again: a second trace could verify nothing, and the traced
            # program is exact for these very values
            if entry.replay is None:
                entry.replay = self.compile(dataclasses.replace(entry.program), entry.captured, entry.kinds)
            return entry, self._replay(entry.replay, args, kwargs)
        self.traces += 1
        try:
            program, outs, kinds, captured, bound = self.trace(args, kwargs)
        except TraceError:
            if not self.fallback:
                raise
            return "eager", self._eager(args, kwargs)
        result = [o._data if isinstance(o, Tensor) else o for o in outs], kinds
        if not self.verify:
            return self.compile(program, captured, kinds), result
        base = _baseline(entry)
        if base is not None and decided_alike(base, program):
            return self._verified(entry, base, program, captured, kinds, bound, len(args), result)
        earlier = entry.other_case if isinstance(entry, _Traced) else None
        if earlier is not None and decided_alike(earlier.program, program):  # the case before this one
            entry.other_case = None
            return self._verified(earlier, earlier.program, program, captured, kinds, bound, len(args), result,
                                  other=entry)
        traced = _Traced(program, bound, captured, kinds)  # verified by the next trace of its kind
        if isinstance(entry, _Traced):  # a first trace of another case: kept for its own second trace
            entry.other_case, traced.other_case = None, entry
        return traced, result

    def _verified(self, entry: Any, base: Program, program: Program, captured: list[Any], kinds: Any,
                  bound: list[np.ndarray], n: int, result: Any, other: _Traced | None = None) -> tuple[Any, Any]:
        """``program`` compiled, when it equals ``base`` (a trace that decided alike: ``entry``'s);
        calls whose guards fail go on to ``other`` (or to ``entry``'s other case)."""
        problem = differences(base, program)
        if problem is not None:
            if self.fallback:
                return "eager", result
            raise TraceError(f"jit: {problem}; pass fallback=True to run this function eagerly")
        compiled = self.compile(dataclasses.replace(program), captured, kinds)
        compiled.traced = program
        if isinstance(entry, _Traced):
            compiled.other_case = other if other is not None else entry.other_case
            if _same_arrays(entry.bound[:n], bound[:n]):
                compiled.only_for = bound[:n]  # the same arguments twice: verified for other parameters only
        return compiled, result

    # ------------------------------------------------------------- tracing
    def trace(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[Program, list[Any], Any, list[Any],
                                                                            list[np.ndarray]]:
        """Run ``f`` once on ``args`` while recording: the program, the outputs, their
        structure, the Tensors it reads from its closure (parameters), and a copy of every
        input as traced."""
        rec = Recorder()
        tensors = _as_tensors(args)
        for k, t in enumerate(tensors):
            rec.add_input(t, label=f"arg{k}")
        self.prepare(rec)
        try:
            with recording(rec):
                out = self.f(*tensors, **kwargs)
        except TypeError as e:
            hint = int_hint(e, args)
            if hint is e:
                raise
            raise hint from e
        leaves, kinds = _flatten(out)
        self._noted_new = self.state.add(rec.stateful) or self._noted_new
        targets, written = self.state_writes()
        captured = rec.captured
        program = rec.program(leaves + written)
        program.state_writes = targets
        check_weak(program, args)
        self.optimize(program)
        return program, leaves, kinds, captured, rec.bound

    def prepare(self, rec: Recorder) -> None:
        """Register inputs read from state before ``f`` runs (none for jit)."""

    def state_writes(self) -> tuple[list[Any], list[Any]]:
        """State ``f`` replaced while traced: where to write it back, and the new values."""
        return [], []

    def optimize(self, program: Program) -> None:
        """The passes run on every traced program."""
        program.eliminate_dead_code().drop_identity_reshapes(P.reshape_p).drop_multiplications_by_one(P.mul)
        program.resolve_broadcasts().eliminate_dead_code()
        program.pair_losses(P.softmax_cross_entropy_p, P.softmax_cross_entropy_grad_p)

    def compile(self, program: Program, captured: list[Any], kinds: Any) -> Compiled:
        """Generate and build the code for a verified program."""
        source, namespace = generate(program)
        return Compiled(program, build(source, namespace, "compiled"), source, captured, kinds)

    # ---------------------------------------------------------- inspection
    @property
    def source(self) -> str:
        """The generated Python/NumPy code of the most recently traced signature."""
        last = self._last
        if last is None:
            raise RuntimeError("jit: nothing traced yet; call the function first")
        if isinstance(last, _Traced):
            return generate(last.program)[0]
        return last.source

    @property
    def program(self) -> Program:
        """The primitive program of the most recently traced signature."""
        if self._last is None:
            raise RuntimeError("jit: nothing traced yet; call the function first")
        return self._last.program


def _as_tensors(args: tuple[Any, ...]) -> list[Tensor]:
    return [a if isinstance(a, Tensor) else Tensor._leaf(np.asarray(a, dtype=_scalar_dtype(a))) for a in args]


def _scalar_dtype(a: Any) -> Any:
    if isinstance(a, float) or (isinstance(a, int) and not isinstance(a, bool)):
        return state.default_dtype
    return None


_MAX_CASES = 4  # programs kept per signature for calls on which the rules decide differently


def jit(f: Callable[..., Any] | None = None, *, fallback: bool = False, verify: bool = True) -> Any:
    """Compile ``f`` (a function of Tensors, arrays or numbers) into straight-line NumPy code.

    ``f`` is traced through the primitive table per input signature (shapes, dtypes) and
    replayed; ``jit(grad(f))`` compiles the gradient too. Tensors that require grad which
    ``f`` reads from its closure (a model's parameters) are read at every call; anything
    else it closes over is a constant of the program, as in ``jax.jit``. Outputs are
    arrays (Tensors without a graph when an argument was a Tensor): differentiate
    inside, then jit; a call with an argument that requires grad runs ``f`` eagerly,
    so the graph through it is kept (and ``ad.trace(jitted, x)`` lists its ops).
    Reading a traced value in Python (``if x.sum() > 0``, ``.item()``) raises
    :class:`TraceError` naming the line, or runs eagerly with ``fallback=True``; an
    argument itself read as a Python value (``float(lr)``) is guarded to keep that
    value, as are the decisions rules take on values (``autodiff.compile.decide``): a
    call where one does not hold runs eagerly (and gets a program of its own).
    Not thread-safe: a compiled function reuses its buffers.

    >>> import autodiff as ad
    >>> df = ad.jit(ad.grad(lambda x: (x ** 3).sum()))
    >>> [df(np.array([v])).tolist() for v in (1.0, 2.0, 3.0)]
    [[3.0], [12.0], [27.0]]
    """
    if f is None:
        return lambda g: Jitted(g, fallback=fallback, verify=verify)
    return Jitted(f, fallback=fallback, verify=verify)


__all__ = ["Jitted", "TraceError", "jit", "user_site"]
