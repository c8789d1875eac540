"""Recording a program: run the function once on real values and note every primitive call.

While a :class:`Recorder` is active in a thread, every call through the primitive table
(and the comparisons and sign masks the rules use, which are not primitives) is noted
with its operands, parameters and result. The engine is untouched: the hooks are
installed around the traced call only and do nothing in any other thread.

A value that depends on an input is *dynamic*. Reading a dynamic value as a Python
number or as a raw array (``.item()``, ``float()``, ``bool()``, ``.data``, ``.numpy()``,
``np.asarray``) would bake one example's value into the program, so it raises
:class:`TraceError` naming the line that did it.
"""

from __future__ import annotations

import importlib
import linecache
import os
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

import numpy as np

from .. import primitives as _prims
from ..primitive import Primitive, _wrap
from ..tensor import Tensor
from ..versions import version_of
from .program import Guard, Op, Program, Ref, Value, _collect_refs, is_impure

_tensor_module = importlib.import_module("autodiff.operators")  # where Tensor's comparisons live
_AUTODIFF_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class TraceError(RuntimeError):
    """A function cannot be compiled: it reads a traced value in Python, or computes
    outside the primitive table something the compiled program would bake in."""


class GuardFailed(Exception):
    """Raised by compiled code when a decision taken while tracing does not hold for this
    call's values (``Program.guards``); the caller then runs the function eagerly."""


def user_site() -> str:
    """The innermost stack frame outside autodiff, as ``file:line in function: code``."""
    frame: FrameType | None = sys._getframe(1)
    while frame is not None:
        filename = frame.f_code.co_filename
        if not _inside_autodiff(filename):
            line = linecache.getline(filename, frame.f_lineno).strip()
            return f"{filename}:{frame.f_lineno} in {frame.f_code.co_name}" + (f": {line}" if line else "")
        frame = frame.f_back
    return "<unknown>"


_INSIDE: dict[str, bool] = {}


def _inside_autodiff(filename: str) -> bool:
    inside = _INSIDE.get(filename)
    if inside is None:
        inside = _INSIDE[filename] = os.path.abspath(filename).startswith(_AUTODIFF_DIR)
    return inside


# Comparisons and masks are not primitives (they carry no gradient) but are operations:
# a ReLU mask must be recomputed every step, so the program records them like any op.
_OP_PRIMS: dict[Any, Primitive] = {}


def op_primitive(fn: Any) -> Primitive:
    """The unregistered primitive (no derivative rules) through which a trace records a
    computation on values that carries no gradient: a comparison, a mask, an argmax."""
    prim = _OP_PRIMS.get(fn)
    if prim is None:
        prim = _OP_PRIMS[fn] = Primitive(fn, str(getattr(fn, "__name__", "derived")))
    return prim


class Recorder:
    """Collects the values and ops of one traced call."""

    def __init__(self) -> None:
        self.values: list[Value] = []
        self.ops: list[Op] = []
        self.dynamic: set[int] = set()
        self._by_tensor: dict[int, int] = {}
        self._by_array: dict[int, int] = {}
        self._alive: list[Any] = []  # ids stay unique while their objects live
        self.captured: list[Any] = []  # parameters read from the closure, bound at every call
        self.guards: list[Guard] = []  # decisions rules took on dynamic values (see decide)
        self.frozen: set[int] = set()  # values static_values already guarded
        self.bound: list[np.ndarray] = []  # a copy of every input's array as traced, by slot
        self.stateful: dict[int, tuple[StateHook, Any]] = {}  # objects whose settings the trace took as fixed
        self.constant_tensors: list[tuple[Tensor, int]] = []  # Tensors whose values became constants, versions

    def note_state(self, hook: StateHook, obj: Any) -> None:
        """``obj`` (a module, say) was called while traced: its settings are part of the program."""
        self.stateful.setdefault(id(obj), (hook, obj))

    # ---------------------------------------------------------- values
    def _new(self, kind: str, arr: np.ndarray, **extra: Any) -> int:
        v = Value(len(self.values), kind, tuple(arr.shape), arr.dtype, **extra)
        self.values.append(v)
        self._by_array[id(arr)] = v.index
        self._alive.append(arr)
        return v.index

    def add_input(self, t: Tensor, label: str = "") -> int:
        """Register an argument (or parameter) bound at run time."""
        slot = sum(1 for v in self.values if v.kind == "input")
        i = self._new("input", t._data, slot=slot, label=label)
        self.bound.append(np.array(t._data, copy=True))
        self._by_tensor[id(t)] = i
        self._alive.append(t)
        self.dynamic.add(i)
        return i

    def _const(self, arr: np.ndarray) -> int:
        data = np.array(arr, copy=True)
        data.flags.writeable = False
        i = self._new("const", arr, data=data)
        return i

    def of_tensor(self, t: Tensor) -> int:
        """The value a Tensor holds: known, an input's array seen again, or a new constant."""
        i = self._by_tensor.get(id(t))
        if i is None:
            i = self._by_array.get(id(t._data))
            if i is None and t.prim is None and (t.requires_grad or getattr(type(t), "read_by_identity", False)):
                # a parameter (a frozen one too: its class says its owner keeps this object)
                self.captured.append(t)
                return self.add_input(t, label=t.name or "parameter")
            if i is None and t.prim is None and type(t) is not Tensor:
                raise TraceError(
                    f"a {type(t).__name__} (state such as running statistics, which its owner may replace "
                    f"between calls) is read at {user_site()}: compiling would keep its current value; compile "
                    f"a training step with nn.compile_step (it tracks module buffers), or pass fallback=True")
            if i is None:
                i = self._const(t._data)
                if t._data.flags.writeable:  # (its owner may write it in place: the program is checked)
                    self.constant_tensors.append((t, version_of(t)))
            self._by_tensor[id(t)] = i
            self._alive.append(t)
        return i

    def is_dynamic(self, t: Tensor) -> bool:
        """Whether ``t`` depends on an input (reading it in Python would bake it in)."""
        i = self._by_tensor.get(id(t))
        return i is not None and i in self.dynamic

    def _link(self, obj: Any) -> Any:
        """Params with arrays that are program values (an input's labels, say) become Refs."""
        if isinstance(obj, np.ndarray):
            i = self._by_array.get(id(obj))
            return Ref(i) if i is not None and i in self.dynamic else obj
        if isinstance(obj, Tensor):
            i = self.of_tensor(obj)
            return Ref(i) if i in self.dynamic else obj._data
        if isinstance(obj, tuple):
            return tuple(self._link(o) for o in obj)
        if isinstance(obj, list):
            return [self._link(o) for o in obj]
        return obj

    # ------------------------------------------------------------- ops
    def record(self, prim: Primitive, inputs: tuple[Tensor, ...], params: dict[str, Any], out: Tensor) -> None:
        """Note ``out = prim(*inputs, **params)``; ops on constants only fold into a constant."""
        args = tuple(self.of_tensor(t) for t in inputs)
        linked = {k: self._link(v) for k, v in params.items()}
        refs: list[int] = []
        _collect_refs(linked, refs)
        dynamic = is_impure(params) or any(a in self.dynamic for a in args) or any(r in self.dynamic for r in refs)
        if not dynamic:
            self._by_tensor[id(out)] = self._const(out._data)
            self._alive.append(out)
            return
        i = self._new("op", out._data)
        self._by_tensor[id(out)] = i
        self._alive.append(out)
        self.dynamic.add(i)
        self.ops.append(Op(prim, args, linked, i, user_site()))

    def program(self, outputs: list[Any]) -> Program:
        """The program computing ``outputs`` (Tensors or arrays) from the inputs."""
        outs = []
        for o in outputs:
            if isinstance(o, Tensor):
                outs.append(self.of_tensor(o))
            else:
                arr = np.asarray(o)
                i = self._by_array.get(id(o)) if isinstance(o, np.ndarray) else None
                outs.append(i if i is not None else self._const(arr))
        n_inputs = sum(1 for v in self.values if v.kind == "input")
        self._alive.clear()
        self._by_array.clear()
        self._by_tensor.clear()
        return Program(self.values, self.ops, outs, n_inputs, guards=self.guards,
                       constant_tensors=self.constant_tensors)


# --------------------------------------------------------------- the hooks
class StateHook:
    """How a library tells traces about its objects whose Python settings a program takes
    as fixed (``nn``: a module's ``training``, a dropout rate, its submodules). While a
    trace runs, ``install()`` has made the library call :meth:`Recorder.note_state` for
    each such object used; a compiled function then keys its programs on
    ``settings(objects)``, recomputed only when ``version()`` changed."""

    def install(self) -> None:
        """Start noting objects (called when a trace starts in any thread)."""

    def uninstall(self) -> None:
        """Stop noting objects (called when the last running trace ends)."""

    def settings(self, objects: list[Any]) -> Any:
        """A hashable value that changes whenever the objects' settings do."""
        raise NotImplementedError

    def version(self) -> int:
        """A count that changes whenever any object's settings may have changed."""
        raise NotImplementedError


STATE_HOOKS: list[StateHook] = []  # registered by libraries (nn registers its modules')


_local = threading.local()
_install_lock = threading.Lock()
_installed = [0]
_ORIGINAL: dict[str, Any] = {}


def active() -> Recorder | None:
    """The recorder of this thread's trace, if one is running."""
    return getattr(_local, "recorder", None)


def _primitive_call(self: Primitive, *args: Any, **params: Any) -> Any:
    rec = active()
    if rec is None or _prims_state().raw:
        return _ORIGINAL["call"](self, *args, **params)
    inputs = args if all(isinstance(a, Tensor) for a in args) else _wrap(args)
    out = _ORIGINAL["call"](self, *inputs, **params)
    if out.saved is not None:
        out.saved = params  # the caller's arrays, not copies: the trace follows them by identity
    rec.record(self, inputs, params, out)
    return out


def _prims_state() -> Any:
    from ..mode import state

    return state


def _compare(ufunc: Any, a: Any, b: Any) -> Tensor:
    out: Tensor = _ORIGINAL["compare"](ufunc, a, b)
    rec = active()
    if rec is not None:
        inputs = tuple(x if isinstance(x, Tensor) else Tensor._leaf(np.asarray(x)) for x in (a, b))
        rec.record(op_primitive(ufunc), inputs, {}, out)
        for x, t in zip((a, b), inputs, strict=True):
            if isinstance(x, (int, float)) and not isinstance(x, bool):
                rec.values[rec.of_tensor(t)].weak = True
    return out


def _invert(self: Tensor) -> Tensor:
    out: Tensor = _ORIGINAL["invert"](self)
    rec = active()
    if rec is not None:
        rec.record(op_primitive(np.logical_not), (self,), {}, out)
    return out


def _sign(x: Any) -> Any:
    out = _ORIGINAL["sign"](x)
    rec = active()
    if rec is not None and isinstance(x, Tensor):
        rec.record(op_primitive(np.sign), (x,), {}, out)
    return out


def _guarded(name: str) -> Any:
    original = _ORIGINAL[name]

    def method(self: Tensor, *args: Any, **kwargs: Any) -> Any:
        rec = active()
        if rec is None or not rec.is_dynamic(self):
            return original(self, *args, **kwargs)
        if rec.values[rec.of_tensor(self)].kind == "input":
            if name in _PYTHON_VALUES:  # an argument read as a Python value: guarded to stay that value
                from .decide import static_values

                static_values(self)
            return original(self, *args, **kwargs)
        raise TraceError(
                f"{_READS[name]} of a traced value at {user_site()}: the compiled program would keep this one "
                f"example's value (data-dependent Python control flow or NumPy outside the primitive table); "
                f"compute it with autodiff operations, or pass fallback=True to run such a function eagerly"
            )

    method.__name__ = name
    method.__doc__ = getattr(original, "__doc__", None)
    return method


_READS = {"item": ".item()", "__bool__": "bool()", "__float__": "float()", "__int__": "int()", "tolist": ".tolist()",
          "numpy": ".numpy()", "__array__": "np.asarray()", "data_get": ".data"}


_METHODS = ("item", "__bool__", "__float__", "__int__", "tolist", "numpy", "__array__")
# reads that make Python values of an argument (a number in the program, a branch); arrays
# of arguments (.data, np.asarray) are program values when used as params (labels, indices)
_PYTHON_VALUES = ("item", "__bool__", "__float__", "__int__", "tolist")


def _install() -> None:
    # setattr: the hooks replace methods of the classes for the duration of a trace
    data_prop: property = vars(Tensor)["data"]
    _ORIGINAL.update(call=Primitive.__call__, compare=vars(_tensor_module)["_compare"],
                     invert=Tensor.__invert__, sign=vars(_prims)["_sign"], data_prop=data_prop,
                     data_get=data_prop.fget, **{n: getattr(Tensor, n) for n in _METHODS})
    setattr(Primitive, "__call__", _primitive_call)  # noqa: B010
    setattr(_tensor_module, "_compare", _compare)  # noqa: B010
    setattr(Tensor, "__invert__", _invert)  # noqa: B010
    setattr(_prims, "_sign", _sign)  # noqa: B010
    for n in _METHODS:
        setattr(Tensor, n, _guarded(n))
    setattr(Tensor, "data", property(_guarded("data_get"), data_prop.fset, doc=data_prop.__doc__))  # noqa: B010
    for hook in STATE_HOOKS:
        hook.install()


def _uninstall() -> None:
    for hook in STATE_HOOKS:
        hook.uninstall()
    setattr(Primitive, "__call__", _ORIGINAL["call"])  # noqa: B010
    setattr(_tensor_module, "_compare", _ORIGINAL["compare"])  # noqa: B010
    setattr(Tensor, "__invert__", _ORIGINAL["invert"])  # noqa: B010
    setattr(_prims, "_sign", _ORIGINAL["sign"])  # noqa: B010
    for n in _METHODS:
        setattr(Tensor, n, _ORIGINAL[n])
    setattr(Tensor, "data", _ORIGINAL["data_prop"])  # noqa: B010


@contextmanager
def recording(rec: Recorder) -> Iterator[Recorder]:
    """Record this thread's primitive calls into ``rec`` for the duration of the block."""
    if active() is not None:
        raise TraceError("a trace is already running in this thread")
    with _install_lock:
        if _installed[0] == 0:
            _install()
        _installed[0] += 1
    _local.recorder = rec
    try:
        yield rec
    finally:
        _local.recorder = None
        with _install_lock:
            _installed[0] -= 1
            if _installed[0] == 0:
                _uninstall()
