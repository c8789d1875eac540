"""The compiled program: values, primitive calls in a static order, and the passes over it.

A :class:`Program` is what a trace leaves behind: every value is an input (an argument
or a parameter, bound at run time), a constant (known at trace time, including every op
whose operands were all constants: constant folding happens while recording), or the
output of one primitive call. Shapes and dtypes are static. Passes drop dead ops and
resolve broadcasts that the consumer would do anyway.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, cast

import numpy as np

from ..graph import type_string
from ..primitive import Primitive

# Binary primitives that broadcast their operands elementwise (NumPy ufuncs): an explicit
# broadcast_to feeding one of them is redundant when the other operand has the full shape.
ELEMENTWISE_BINARY = {"add", "sub", "mul", "div", "maximum", "minimum", "pow"}


@dataclass(frozen=True)
class Ref:
    """A value of the program used inside an op's parameters (an index array, say)."""

    index: int


@dataclass
class Value:
    """One value: ``kind`` is "input", "const" or "op"; ``slot`` numbers the inputs."""

    index: int
    kind: str
    shape: tuple[int, ...]
    dtype: np.dtype
    data: np.ndarray | None = None
    slot: int | None = None
    label: str = ""
    weak: bool = False  # a Python number the traced code compared with (NumPy casts it to the other operand)

    def type(self) -> str:
        """``f32[32,10]``."""
        return type_string(cast(Any, _Typed(self.shape, self.dtype)))  # reads .shape and .dtype only


@dataclass(frozen=True)
class _Typed:
    shape: tuple[int, ...]
    dtype: np.dtype


@dataclass
class Op:
    """One primitive call: ``values[out] = prim.forward(*values[args], **params)``."""

    prim: Primitive
    args: tuple[int, ...]
    params: dict[str, Any]
    out: int
    site: str = ""

    @property
    def name(self) -> str:
        """The primitive's name."""
        return str(self.prim.name)

    def refs(self) -> list[int]:
        """Every value this op reads: its operands and the values inside its params."""
        found = list(self.args)
        _collect_refs(self.params, found)
        return found


@dataclass(frozen=True)
class Guard:
    """A decision a rule took on values while traced: the 0-d boolean ``value`` (an op of
    the program, recomputed at every call) must equal ``expected``, else the compiled call
    is abandoned and the function runs eagerly (see ``autodiff.compile.trace.decide``)."""

    value: int
    expected: bool
    what: str = ""


def _collect_refs(obj: Any, found: list[int]) -> None:
    if isinstance(obj, Ref):
        found.append(obj.index)
    elif isinstance(obj, (tuple, list)):
        for o in obj:
            _collect_refs(o, found)
    elif isinstance(obj, dict):
        for o in obj.values():
            _collect_refs(o, found)


def _same_params(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """The same parameters by identity: one program value (a Ref) or one Python object."""
    return a.keys() == b.keys() and all(
        a[k] == b[k] if isinstance(a[k], Ref) or isinstance(b[k], Ref) else a[k] is b[k] for k in a)


def is_impure(params: dict[str, Any]) -> bool:
    """An op drawing from a random Generator is replayed at run time: never folded or merged."""
    return any(isinstance(v, np.random.Generator) for v in params.values())


@dataclass
class Program:
    """A straight-line program over NumPy arrays with static shapes and dtypes."""

    values: list[Value]
    ops: list[Op]
    outputs: list[int]
    n_inputs: int
    notes: list[str] = field(default_factory=list)
    state_writes: list[Any] = field(default_factory=list)  # what the trailing outputs are written back to
    guards: list[Guard] = field(default_factory=list)  # decisions on values every call re-checks
    # Tensors whose values are constants of the program, with their version when traced
    constant_tensors: list[tuple[Any, int]] = field(default_factory=list)

    # -------------------------------------------------------------- passes
    def eliminate_dead_code(self) -> Program:
        """Drop every op whose result no output needs."""
        live = set(self.outputs) | {g.value for g in self.guards}
        kept = []
        for op in reversed(self.ops):
            if op.out in live:
                kept.append(op)
                live.update(op.refs())
        dropped = len(self.ops) - len(kept)
        self.ops = kept[::-1]
        if dropped:
            self.notes.append(f"dead code: {dropped} ops dropped")
        return self

    def resolve_broadcasts(self) -> Program:
        """Feed elementwise ops the un-broadcast operand when the other operand already has
        the full shape (NumPy broadcasts it in the same loop, with the same values)."""
        producer = {op.out: op for op in self.ops}
        count = 0
        for op in self.ops:
            if op.name not in ELEMENTWISE_BINARY or len(op.args) != 2:
                continue
            out_shape = self.values[op.out].shape
            args = list(op.args)
            for k in (0, 1):
                src = producer.get(args[k])
                other = self.values[args[1 - k]]
                if src is not None and src.name == "broadcast_to" and other.shape == out_shape:
                    inner = self.values[src.args[0]]
                    if np.broadcast_shapes(inner.shape, other.shape) == out_shape:
                        args[k] = src.args[0]
                        count += 1
            op.args = tuple(args)
        if count:
            self.notes.append(f"broadcasts resolved: {count} operands read without broadcast_to")
        return self

    def drop_identity_reshapes(self, reshape: Primitive) -> Program:
        """A reshape to the shape its operand already has is the operand itself."""
        same = {op.out: op.args[0] for op in self.ops
                if op.prim is reshape and self.values[op.out].shape == self.values[op.args[0]].shape}
        if same:
            self.substitute(same)
            self.notes.append(f"identity reshapes: {len(same)} removed")
        return self

    def drop_multiplications_by_one(self, mul: Primitive) -> Program:
        """``x * 1`` is ``x`` to the bit (NaN, infinities and -0.0 included) when it keeps
        x's shape and dtype: the gradient seed's ones vanish this way."""
        same = {}
        for op in self.ops:
            if op.prim is not mul or len(op.args) != 2:
                continue
            out = self.values[op.out]
            for k in (0, 1):
                c, x = self.values[op.args[k]], self.values[op.args[1 - k]]
                if (c.kind == "const" and c.data is not None and c.data.dtype.kind == "f" and np.all(c.data == 1)
                        and x.shape == out.shape and x.dtype == out.dtype):
                    same[op.out] = x.index
                    break
        if same:
            self.substitute(same)
            self.notes.append(f"multiplications by one: {len(same)} removed")
        return self

    def pair_losses(self, loss: Primitive, grad: Primitive) -> Program:
        """Move each ``grad`` op (a loss's gradient as one primitive, reading the loss's
        operand) to just after the ``loss`` op on the same operand and parameters, when
        everything it reads exists there: code generation then computes both in one kernel."""
        count = 0
        for g_op in [op for op in self.ops if op.prim is grad]:
            k = next((k for k, op in enumerate(self.ops) if op.prim is loss and op.args[0] == g_op.args[0]
                      and _same_params(op.params, g_op.params)), None)
            if k is None:
                continue
            j = self.ops.index(g_op)
            defined_by = {op.out: n for n, op in enumerate(self.ops)}
            if j > k and all(defined_by.get(r, -1) < k for r in g_op.refs()):
                self.ops.insert(k + 1, self.ops.pop(j))
                count += 1
        if count:
            self.notes.append(f"losses paired with their gradients: {count}")
        return self

    def substitute(self, mapping: dict[int, int]) -> None:
        """Read ``mapping[v]`` wherever ``v`` was read (operands, params, outputs)."""
        def find(i: int) -> int:
            while i in mapping:
                i = mapping[i]
            return i

        def sub(obj: Any) -> Any:
            if isinstance(obj, Ref):
                return Ref(find(obj.index))
            if isinstance(obj, tuple):
                return tuple(sub(o) for o in obj)
            if isinstance(obj, list):
                return [sub(o) for o in obj]
            return obj

        for op in self.ops:
            op.args = tuple(find(a) for a in op.args)
            op.params = {k: sub(v) for k, v in op.params.items()}
        self.outputs = [find(o) for o in self.outputs]
        self.guards = [Guard(find(g.value), g.expected, g.what) for g in self.guards]
        self.ops = [op for op in self.ops if op.out not in mapping]

    def uses(self) -> dict[int, int]:
        """How many times each value is read (by ops and as an output)."""
        counts: dict[int, int] = {}
        for op in self.ops:
            for r in op.refs():
                counts[r] = counts.get(r, 0) + 1
        for o in [*self.outputs, *(g.value for g in self.guards)]:
            counts[o] = counts.get(o, 0) + 1
        return counts

    # ------------------------------------------------------------- listing
    def __str__(self) -> str:
        lines = ["inputs:  " + " ".join(f"%{v.index}:{v.type()}" + (f" ({v.label})" if v.label else "")
                                        for v in self.values if v.kind == "input")]
        used = set(self.outputs)
        for op in self.ops:
            used.update(op.refs())
        for v in self.values:
            if v.kind == "const" and v.index in used:
                lines.append(f"  %{v.index}:{v.type()} = const {_short(v.data)}")
        for op in self.ops:
            params = _params_text(op.params)
            args = " ".join(f"%{a}" for a in op.args)
            lines.append(f"  %{op.out}:{self.values[op.out].type()} = {op.name}{params} {args}".rstrip())
        lines += [f"guard:   %{g.value} is {g.expected} ({g.what})" for g in self.guards]
        lines.append("outputs: " + " ".join(f"%{o}" for o in self.outputs))
        return "\n".join(lines + [f"# {n}" for n in self.notes])


def _short(a: np.ndarray | None) -> str:
    if a is None:
        return "?"
    if a.size <= 4:
        return np.array2string(a, separator=", ", precision=4).replace("\n", "")
    return f"<{a.size} values>"


def _param_text(v: Any) -> str:
    if isinstance(v, Ref):
        return f"%{v.index}"
    if isinstance(v, np.ndarray):
        return f"array{tuple(v.shape)}"
    if isinstance(v, tuple):
        return "(" + ", ".join(_param_text(x) for x in v) + ("," if len(v) == 1 else "") + ")"
    if isinstance(v, np.dtype):
        return str(v.name)
    if isinstance(v, np.random.Generator):
        return "Generator"
    return repr(v)


def _params_text(params: dict[str, Any]) -> str:
    if not params:
        return ""
    return "[" + ", ".join(f"{k}={_param_text(v)}" for k, v in params.items()) + "]"
