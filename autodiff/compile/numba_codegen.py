"""From a program to the body of one numba ``@njit`` function (the ``fast`` extra).

The NumPy code generator (:mod:`.codegen`) emits one NumPy call per op; here each op is
lowered to code numba compiles: elementwise ops become scalar expressions inside
explicit loops (a chain of them, each result read once, becomes one loop), reductions
become accumulating loops, ``matmul``/``linear`` and the fused softmax cross-entropy
(and its gradient) become calls to the shared numba functions of :mod:`.numba_kernels`
(``np.dot`` on 2-D blocks; two passes per row).

A guard of the program (a decision a rule took on values while traced) whose predicate
has a lowering in :mod:`.numba_guards` is checked right after its flag is computed: the
kernel then returns early with the guard's number (see ``lower_program``).

Only source text is produced; numba itself is never imported by this module, so the
package imports without it. An op without a lowering raises :class:`Unsupported`
naming it: callers then compile the step with the NumPy code generator instead.
Reductions sum in loop order (NumPy sums pairwise) and numba's libm may round
``exp``/``log``/``tanh`` differently from NumPy's: results agree with eager ones to a
few ulp per operation, not to the bit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..primitive import REGISTRY
from .numba_elementwise import elementwise_template, is_elementwise
from .numba_guards import PREDICATES, check_lines, guard_positions
from .numba_index import lower_indexing
from .numba_ops import (
    CUSTOM_LOWERINGS,
    REDUCTIONS,
    ROWWISE,
    Unsupported,
    lower_matrix_op,
    lower_reduction,
    lower_rowwise,
    lower_softmax_ce,
    typed_literal,
)
from .program import Guard, Op, Program, Ref

__all__ = ["KernelBody", "Unsupported", "lower_program"]


@dataclass
class KernelBody:
    """The lowered program: ``lines`` of the kernel body, the arrays (and other objects,
    such as a dropout layer's Generator) it reads as extra arguments (``const_args``:
    name -> object), and the expressions of its outputs."""

    lines: list[str]
    const_args: dict[str, Any]
    outputs: list[str]
    helpers: list[str] = field(default_factory=list)


@dataclass
class _Lowering:
    program: Program
    inputs: dict[int, str]
    targets: dict[int, str]
    names: dict[int, str] = field(default_factory=dict)
    const_args: dict[str, Any] = field(default_factory=dict)
    inlined: dict[int, Op] = field(default_factory=dict)
    helpers: dict[str, str] = field(default_factory=dict)
    lines: list[str] = field(default_factory=list)

    # ------------------------------------------------------------ values
    def name(self, i: int) -> str:
        """The kernel's name for value ``i`` (an array, or a scalar local for 0-d values)."""
        v = self.program.values[i]
        if i in self.inputs:  # a 0-d input is a 0-d array: its number is a[()]
            return self.inputs[i] + ("[()]" if not v.shape else "")
        if v.kind == "const":
            if v.data is not None and v.data.ndim == 0:
                return typed_literal(v.data)
            name = self.names.get(i)
            if name is None:
                name = self.names[i] = f"k{len(self.const_args)}"
                self.const_args[name] = np.ascontiguousarray(v.data)
            return name
        return self.names.setdefault(i, f"v{i}")

    def operand(self, obj: Any) -> str:
        """An op parameter that is an array (a Ref to a value, or a constant array)."""
        if isinstance(obj, Ref):
            return self.name(obj.index)
        if isinstance(obj, np.ndarray):
            name = f"k{len(self.const_args)}"
            self.const_args[name] = np.ascontiguousarray(obj)
            return name
        raise Unsupported(f"a parameter of type {type(obj).__name__} where an array was expected")

    def object_arg(self, obj: Any) -> str:
        """The kernel argument holding ``obj`` (one argument per object, however often it is read)."""
        for name, held in self.const_args.items():
            if held is obj:
                return name
        name = f"k{len(self.const_args)}"
        self.const_args[name] = obj
        return name

    def element(self, i: int, idx: list[str], shape: tuple[int, ...], dtype: np.dtype) -> str:
        """Value ``i`` at the loop indices ``idx`` of an iteration over ``shape``
        (broadcast as NumPy broadcasts it), cast to ``dtype`` when it differs."""
        v = self.program.values[i]
        if i in self.inlined:
            expr = self.expression(self.inlined[i], idx, shape)
        elif not v.shape:
            expr = self.name(i)
        else:
            lead = len(shape) - len(v.shape)
            at = ["0" if n == 1 and shape[lead + d] != 1 else idx[lead + d] for d, n in enumerate(v.shape)]
            expr = f"{self.name(i)}[{', '.join(at)}]"
        if v.dtype != dtype:
            expr = f"np.{dtype.name}({expr})"
        return expr

    def expression(self, op: Op, idx: list[str], shape: tuple[int, ...]) -> str:
        """An elementwise op's value at one position, as a scalar expression."""
        template, dtypes = elementwise_template(op, self.program, self.helpers)
        return template.format(*(self.element(a, idx, shape, d) for a, d in zip(op.args, dtypes, strict=True)))

    # ------------------------------------------------------------- ops
    def emit(self, op: Op) -> None:
        """The lines computing ``op`` into its name (or its target)."""
        out = self.program.values[op.out]
        name = self.name(op.out)
        dest = self.targets.get(op.out)
        predicate = PREDICATES.get(op.prim.forward)
        if predicate is not None:
            self.lines += predicate(op, self.program, name, [self.name(a) for a in op.args])
            return
        custom = CUSTOM_LOWERINGS.get(op.prim)
        if custom is not None:
            self.lines += custom(op, self.program, name, dest, self.object_arg)
            return
        if is_elementwise(op):
            elementwise_template(op, self.program, self.helpers)  # raises Unsupported before any line
            self.loop(op, name, dest, out.shape, out.dtype)
            return
        if op.name in REDUCTIONS:
            x = op.args[0]
            lines = lower_reduction(op, self.program, name, dest,
                                    lambda idx: self.element(x, idx, self.program.values[x].shape, out.dtype))
        elif op.name in ("getitem", "scatter") and REGISTRY.get(op.name) is op.prim:
            lines = lower_indexing(op, self.program, name, dest, self.name(op.args[0]), self.operand)
        elif op.name in ROWWISE:
            lines = lower_rowwise(op, self.program, name, dest, [self.name(a) for a in op.args])
        elif op.name in ("softmax_cross_entropy", "softmax_cross_entropy_grad"):
            lines = lower_softmax_ce(op, self.program, name, dest, [self.name(a) for a in op.args],
                                     self.operand(op.params["labels"]))
        else:
            lines = lower_matrix_op(op, self.program, name, dest, [self.name(a) for a in op.args])
            if dest is not None and op.name in ("transpose", "reshape"):
                lines.append(f"{dest}[:] = {name}")
                lines.append(f"{name} = {dest}")
        self.lines += lines

    def loop(self, op: Op, name: str, dest: str | None, shape: tuple[int, ...], dtype: np.dtype) -> None:
        """One elementwise op (and the ops inlined into it) as one loop nest."""
        idx = [f"i{d}" for d in range(len(shape))]
        expr = self.expression(op, idx, shape)
        if not shape:
            self.lines.append(f"{name} = {expr}")
            return
        target = dest or name
        lines = [f"{target} = np.empty({shape!r}, np.{dtype.name})"] if dest is None else []
        for d, n in enumerate(shape):
            lines.append("    " * d + f"for {idx[d]} in range({n}):")
        lines.append("    " * len(shape) + f"{target}[{', '.join(idx)}] = {expr}")
        if dest is not None:
            lines.append(f"{name} = {dest}")
        self.lines += lines


def plan_inlining(program: Program, keep: set[int]) -> dict[int, Op]:
    """Elementwise results read once, by an elementwise op of the same shape or as the
    operand of a reduction, become part of their reader's loop (never stored)."""
    uses = program.uses()
    producers = {op.out: op for op in program.ops}
    inlined: dict[int, Op] = {}
    for op in program.ops:
        if is_elementwise(op):
            shape = program.values[op.out].shape
        elif op.name in REDUCTIONS:
            shape = program.values[op.args[0]].shape
        else:
            continue
        for a in op.args:
            src = producers.get(a)
            if (src is not None and is_elementwise(src) and a not in keep and uses.get(a) == 1
                    and program.values[a].shape == shape):
                inlined[a] = src
    return inlined


def lower_program(program: Program, inputs: dict[int, str], targets: dict[int, str],
                  guards: Sequence[tuple[int, Guard]] = ()) -> KernelBody:
    """The kernel body computing ``program``: ``inputs`` names the program's inputs inside
    the kernel, ``targets`` the arrays some values are written into (gradients into the
    flat gradient buffer). ``guards`` (numbered) are checked in the kernel right after
    their flag: one that fails returns ``(k, placeholders...)``; the caller's normal
    return then reads ``(-1, outputs...)``. Raises :class:`Unsupported` naming the first
    op it cannot lower (and for a guard of ``program.guards`` not passed in ``guards``)."""
    unchecked = [g for g in program.guards if all(g is not h for _, h in guards)]
    if unchecked:  # a kernel would not re-check those decisions
        raise Unsupported(f"{len(unchecked)} guard(s) ({', '.join(g.what for g in unchecked)})")
    checks = guard_positions(program, guards)
    low = _Lowering(program, inputs, targets)
    low.inlined = plan_inlining(program, set(program.outputs) | set(targets) | set(checks))
    for op in program.ops:
        if op.out in low.inlined:
            continue
        try:
            low.emit(op)
        except Unsupported as e:
            where = f" at {op.site}" if op.site else ""
            raise Unsupported(f"{op.name}{where}: {e}") from None
        for k, g in checks.get(op.out, []):
            low.lines += check_lines(k, g, low.name(op.out), program)
    produced = {op.out for op in program.ops}
    for i, t in targets.items():  # a target fed directly by an input or a constant
        if i not in produced:
            low.lines.append(f"{t}[:] = {low.name(i)}")
    outputs = []
    for o in program.outputs:
        v = program.values[o]
        name = low.name(o)
        outputs.append(name if v.kind == "op" or not v.shape else f"{name}.copy()")
    return KernelBody(low.lines, low.const_args, outputs, list(low.helpers.values()))
