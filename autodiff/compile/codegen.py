"""From a program to straight-line Python/NumPy source.

Each op becomes one NumPy call on local variables. A primitive whose forward is a NumPy
ufunc (and matmul, the reductions, ``linear`` and ``relu``, whose forwards are ufunc calls)
writes into a preallocated buffer with ``out=``: the same call on the same operands, so
the same bits, without allocating. Buffers are reused once every value that may share
their memory is dead. Any other primitive is called through its own ``forward``, so
every primitive compiles, including ones registered after this module was written.
"""

from __future__ import annotations

import linecache
import math
import types
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .. import primitives as P
from . import kernels
from .guard_code import guard_lines, merged
from .layout import swap_matmul
from .program import Op, Program, Ref
from .scalars import scalar_operand

# Forwards that always return a new array (never an operand or a view of one).
_REDUCE = {id(P.sum_p): "np.add.reduce", id(P.max_p): "np.maximum.reduce", id(P.min_p): "np.minimum.reduce"}


def _ufunc(op: Op) -> np.ufunc | None:
    f = op.prim.forward
    return f if isinstance(f, np.ufunc) and not op.params and f.nout == 1 else None


def writes_out(op: Op, program: Program | None = None) -> bool:
    """Whether the op's code can write its result into a given array with ``out=``."""
    p = op.prim
    return (_ufunc(op) is not None or id(p) in _REDUCE or p is P.relu or p is P.linear_p
            or p is P.softmax_cross_entropy_grad_p or (program is not None and unique_scatter(op, program)))


def sce_pair(ops: list[Op], k: int) -> bool:
    """Whether ``ops[k]`` is a softmax cross-entropy whose gradient (same logits, same
    labels) is ``ops[k + 1]``: one kernel computes both (see ``Program.pair_losses``)."""
    if k + 1 >= len(ops) or ops[k].prim is not P.softmax_cross_entropy_p:
        return False
    grad = ops[k + 1]
    return (grad.prim is P.softmax_cross_entropy_grad_p and grad.args[0] == ops[k].args[0]
            and same_labels(ops[k].params["labels"], grad.params["labels"]))


def labels_checked(program: Program, slot: int) -> bool:
    """Whether the input ``slot`` is read only as the labels of softmax cross-entropy
    ops, whose kernels refuse labels out of range at every call."""
    inputs = [v.index for v in program.values if v.kind == "input" and v.slot == slot]
    readers = [op for op in program.ops if inputs and inputs[0] in op.refs()]
    return bool(readers) and all(
        op.prim in (P.softmax_cross_entropy_p, P.softmax_cross_entropy_grad_p) and op.params["labels"] == Ref(inputs[0])
        and inputs[0] not in op.args for op in readers)


def same_labels(a: Any, b: Any) -> bool:
    """The same label operand: one program value, or one constant array."""
    return a == b if isinstance(a, Ref) or isinstance(b, Ref) else a is b


def unique_scatter(op: Op, program: Program) -> bool:
    """A scatter whose index hits every position at most once (one index array is
    ``arange(n)``, all are 1-D of length n): a plain assignment then equals ``np.add.at``."""
    if op.prim is not P.scatter_p:
        return False
    index = op.params["index"]
    if not isinstance(index, tuple) or not index:
        return False
    n, has_range = None, False
    for item in index:
        if isinstance(item, Ref):
            v = program.values[item.index]
            shape, kind = v.shape, v.dtype.kind
        elif isinstance(item, np.ndarray):
            shape, kind = item.shape, item.dtype.kind
            has_range = has_range or (item.ndim == 1 and kind in "iu" and np.array_equal(item, np.arange(len(item))))
        else:
            return False
        if len(shape) != 1 or kind not in "iu" or (n is not None and shape[0] != n):
            return False
        n = shape[0]
    return has_range


@dataclass
class Emitter:
    """Names for the program's values and constants, and the namespace the code runs in."""

    program: Program
    namespace: dict[str, Any] = field(default_factory=lambda: {"np": np})
    names: dict[int, str] = field(default_factory=dict)
    _bound: dict[int, str] = field(default_factory=dict)

    def bind(self, obj: Any, stem: str) -> str:
        """A global name for a Python object the code uses (an array, a function, a dtype)."""
        name = self._bound.get(id(obj))
        if name is None:
            name = f"{stem}{len(self._bound)}"
            self._bound[id(obj)] = name
            self.namespace[name] = obj
        return name

    def scalar(self, x: float, dtype: np.dtype[Any]) -> str:
        """``bind_number`` into this code's globals."""
        return bind_number(self.namespace, x, dtype)

    def offsets(self, shape: tuple[int, ...]) -> str:
        """The name of a read-only ``arange(n) * c`` for a matrix of shape (n, c): where
        each row starts in the flattened matrix (a row's label plus it is a flat index)."""
        n, c = shape
        name = f"rows{n}x{c}"
        if name not in self.namespace:
            r = np.arange(n) * c
            r.flags.writeable = False
            self.namespace[name] = r
        return name

    def value(self, i: int) -> str:
        """The expression for value ``i``."""
        v = self.program.values[i]
        if v.kind == "const":
            return self.bind(v.data, "c")
        return self.names.setdefault(i, f"a{v.slot}" if v.kind == "input" else f"v{i}")

    def literal(self, obj: Any) -> str:
        """Source text for a parameter: plain numbers, tuples and slices inline, anything else bound."""
        if isinstance(obj, Ref):
            return self.value(obj.index)
        if obj is None or isinstance(obj, bool) or type(obj) is int:
            return repr(obj)
        if type(obj) is float and math.isfinite(obj):
            return repr(obj)
        if obj is Ellipsis:
            return "..."
        if isinstance(obj, tuple):
            inner = ", ".join(self.literal(o) for o in obj)
            return f"({inner},)" if len(obj) == 1 else f"({inner})"
        if isinstance(obj, slice):
            return f"slice({self.literal(obj.start)}, {self.literal(obj.stop)}, {self.literal(obj.step)})"
        return self.bind(obj, "k")


def _call(em: Emitter, op: Op, out: str | None) -> str:
    """The expression computing ``op`` (into ``out`` when given and supported)."""
    args = [em.value(a) for a in op.args]
    tail = f", out={out}" if out else ""
    uf = _ufunc(op)
    if uf is not None:
        if len(args) == 2:
            args = [scalar_operand(em, op, k) or a for k, a in enumerate(args)]
        return f"np.{uf.__name__}({', '.join(args)}{tail})"
    p = op.prim
    if id(p) in _REDUCE:
        return (f"{_REDUCE[id(p)]}({args[0]}, axis={em.literal(_axis(op.params['axis']))}, "
                f"keepdims={em.literal(op.params['keepdims'])}{tail})")
    if p is P.relu:
        dtype = em.program.values[op.args[0]].dtype
        return f"np.maximum({args[0]}, {em.scalar(0, dtype) if dtype.kind == 'f' else 0}{tail})"
    if p is P.softmax_cross_entropy_grad_p:
        return (f"{em.bind(kernels.sce_grad, 'f_sce_grad')}({', '.join(args)}, {em.literal(op.params['labels'])}, "
                f"{em.offsets(em.program.values[op.args[0]].shape)}{tail}{_scale(em, op)})")
    if p is P.getitem_p:
        return f"{args[0]}[{em.literal(op.params['index'])}]"
    if p is P.reshape_p:
        return f"{args[0]}.reshape({em.literal(op.params['shape'])})"
    if p is P.transpose_p:
        axes = op.params["axes"]
        if axes is None or (len(axes) == 2 and tuple(axes) == (1, 0)):
            return f"{args[0]}.T"
        return f"{args[0]}.transpose({em.literal(tuple(axes))})"
    params = [f"{k}={em.literal(v)}" for k, v in op.params.items()]
    return f"{em.bind(p.forward, 'f_' + _ident(str(p.name)) + '_')}({', '.join(args + params)})"


def bind_number(namespace: dict[str, Any], x: float, dtype: Any) -> str:
    """The name, bound in ``namespace``, of a read-only 0-d array of ``dtype`` holding ``x``
    (finite), to stand for a Python number NumPy would cast to ``dtype`` anyway: the same
    loop on the same value, ~0.4 µs a call faster than converting the number at every call.
    Named by the value in that dtype (its shortest text): ``f32_0p9``, ``f32_1p6777216e07``
    for 2**24 + 1."""
    a = np.array(x, dtype)
    a.flags.writeable = False
    text = str(a[()])
    name = f"{a.dtype.kind}{a.dtype.itemsize * 8}_{text.replace('-', 'm').replace('.', 'p').replace('+', '')}"
    namespace.setdefault(name, a)  # (one name, one value of one dtype)
    return name


def _axis(axis: Any) -> Any:
    return tuple(axis) if isinstance(axis, list) else axis


def _ident(name: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in name)


def _scale(em: Emitter, grad: Op) -> str:
    """``, scale=name``: the gradient kernel's g / N computed once, when g is a constant
    of the program (the seed of a backward), else nothing."""
    x, g = (em.program.values[a] for a in grad.args[:2])
    if g.kind != "const" or g.data is None:
        return ""
    return f", scale={em.bind(kernels.grad_scale(np.empty(x.shape, x.dtype), g.data), 'scale')}"


def _pair_lines(em: Emitter, loss: Op, grad: Op, out: str | None, target: str | None) -> list[str]:
    """Softmax cross-entropy and its gradient in one kernel call (the gradient into a buffer)."""
    dest = target or out
    x, g = em.value(grad.args[0]), em.value(grad.args[1])
    labels = em.literal(grad.params["labels"])
    name = em.value(grad.out)
    lines = [] if dest else [f"{name} = np.empty_like({x})"]
    call = (f"{em.bind(kernels.sce_value_and_grad, 'f_sce_pair')}({x}, {g}, {labels}, "
            f"{em.offsets(em.program.values[grad.args[0]].shape)}, {dest or name}{_scale(em, grad)})")
    return lines + [f"{em.value(loss.out)} = {call}"] + ([f"{name} = {dest}"] if dest else [])


def _lines_for(em: Emitter, op: Op, out: str | None, target: str | None) -> list[str]:
    name = em.value(op.out)
    if unique_scatter(op, em.program):
        dest = target or out
        g, index = em.value(op.args[0]), em.literal(op.params["index"])
        v = em.program.values[op.out]
        make = f"{dest}.fill(0)" if dest else f"{name} = np.zeros({em.literal(v.shape)}, {em.bind(v.dtype, 'k')})"
        # + 0.0 turns -0.0 into 0.0 as adding into zeros does: the same bits as np.add.at
        return ([make, f"{name} = {dest}"] if dest else [make]) + [f"{name}[{index}] = {g} + 0.0"]
    if op.prim is P.linear_p:
        x, w, b = (em.value(a) for a in op.args)
        dest = target or out
        if dest is None:
            return [f"{name} = np.matmul({x}, {w})", f"{name} += {b}"]
        return [f"{name} = np.matmul({x}, {w}, out={dest})", f"np.add({name}, {b}, out={name})"]
    if (out is not None and target is None and op.prim.forward is np.matmul
            and swap_matmul(em.program, op, P.transpose_p)):
        # the same product with the operands' roles swapped (faster in this BLAS, the same bits)
        x, y = (em.value(a) for a in op.args)
        n, m = em.program.values[op.out].shape
        swapped = em.bind(em.namespace[out].reshape(m, n), "bt")
        return [f"{name} = np.matmul({y}.T, {x}.T, out={swapped}).T"]
    if target is not None and writes_out(op, em.program):
        return [f"{name} = {_call(em, op, target)}"]
    lines = [f"{name} = {_call(em, op, out)}"]
    if target is not None:
        lines += [f"{target}[...] = {name}", f"{name} = {target}"]
    return lines


def plan_buffers(program: Program, targets: set[int]) -> tuple[dict[int, int], list[tuple[tuple[int, ...], np.dtype]]]:
    """Which op results go into which reusable buffer, and the buffers' (shape, dtype).

    A buffer is reused only after every value that may share its memory is dead, and
    never holds a program output (nor anything an output may be a view of).
    """
    ops = program.ops
    position = {op.out: k for k, op in enumerate(ops)}
    last_use = dict(position)
    for k, op in enumerate(ops):
        for r in op.refs():
            last_use[r] = k
    for o in program.outputs:
        last_use[o] = len(ops)
    escapes = set(program.outputs) | set(targets)
    for op in reversed(ops):  # operands of ops that may return a view of them escape with the result
        if op.out in escapes and not writes_out(op, program):
            escapes.update(op.refs())
    buffered = {op.out for op in ops
                if writes_out(op, program) and op.out not in escapes and program.values[op.out].shape}
    aliases: dict[int, set[int]] = {}
    end: dict[int, int] = {}
    for op in ops:
        if op.out in buffered:
            aliases[op.out] = {op.out}
        elif writes_out(op, program):
            aliases[op.out] = set()
        else:
            aliases[op.out] = set().union(*(aliases.get(r, set()) for r in op.refs()))
        for b in aliases[op.out]:
            end[b] = max(end.get(b, 0), last_use[op.out])
    release: dict[int, list[int]] = {}
    for b, e in end.items():
        release.setdefault(e + 1, []).append(b)
    free: dict[tuple[tuple[int, ...], str], list[int]] = {}
    assigned: dict[int, int] = {}
    shapes: list[tuple[tuple[int, ...], np.dtype]] = []
    for k, op in enumerate(ops):
        for b in release.get(k, ()):
            v = program.values[b]
            free.setdefault((v.shape, v.dtype.str), []).append(assigned[b])
        if op.out in buffered:
            v = program.values[op.out]
            pool = free.get((v.shape, v.dtype.str))
            if pool:
                assigned[op.out] = pool.pop()
            else:
                assigned[op.out] = len(shapes)
                shapes.append((v.shape, v.dtype))
    return assigned, shapes


def _body(em: Emitter, assigned: dict[int, int], targets: dict[int, str],
          after: dict[int, list[str]]) -> list[str]:
    """The lines computing every op, in order (a loss and its gradient as one kernel),
    with ``after[k]`` following op ``k``."""
    ops = em.program.ops
    body: list[str] = []
    k = 0
    while k < len(ops):
        op = ops[k + 1] if sce_pair(ops, k) else ops[k]
        out = f"buf{assigned[op.out]}" if op.out in assigned else None
        if op is ops[k]:
            body += _lines_for(em, op, out, targets.get(op.out)) + after.get(k, [])
            k += 1
        else:
            body += _pair_lines(em, ops[k], op, out, targets.get(op.out)) + after.get(k, []) + after.get(k + 1, [])
            k += 2
    return body


def generate(program: Program, targets: dict[int, str] | None = None, name: str = "compiled",
             namespace: dict[str, Any] | None = None, epilogue: list[str] | None = None,
             extra_args: tuple[str, ...] = (), after: dict[int, list[str]] | None = None,
             prologue: list[str] | None = None) -> tuple[str, dict[str, Any]]:
    """The source of ``def name(a0, a1, ..., *extra_args)`` computing the program's outputs,
    and its globals.

    ``targets`` maps values to arrays (names in ``namespace``) that receive them in place;
    ``prologue`` lines run first; ``epilogue`` lines run after the program, before it
    returns; ``after[k]`` lines right after op ``k`` (they may read and write only what no
    later op reads).
    """
    targets = targets or {}
    em = Emitter(program)
    if namespace:
        em.namespace.update(namespace)
    assigned, shapes = plan_buffers(program, set(targets))
    for b, (shape, dtype) in enumerate(shapes):
        em.namespace[f"buf{b}"] = np.empty(shape, dtype)
    args = ", ".join([f"a{k}" for k in range(program.n_inputs)] + list(extra_args))
    checks = guard_lines(em)
    body = (prologue or []) + checks.pop(-1, []) + _body(em, assigned, targets, merged(checks, after or {}))
    produced = {op.out for op in program.ops}
    for i, t in targets.items():  # a target fed directly by an input or a constant
        if i not in produced:
            body.append(f"{t}[...] = {em.value(i)}")
    body += epilogue or []
    # an output that is an input or a constant is copied: callers own what they get back
    outs = ", ".join(em.value(o) if program.values[o].kind == "op" else f"np.array({em.value(o)})"
                     for o in program.outputs)
    body.append(f"return ({outs},)" if len(program.outputs) == 1 else f"return ({outs})")
    source = f"def {name}({args}):\n" + "".join(f"    {line}\n" for line in body)
    return source, em.namespace


_COUNTER = [0]


GENERATED = "<chainrule-compiled-"  # how the file names of generated code start


# Generated source -> its code object: compiling costs ~1 ms, and the same program is
# generated again whenever a model of the same shapes is compiled in this process (each
# fit of a grid search, say). The newest CODE_CACHE_SIZE sources are kept.
CODE_CACHE: dict[str, types.CodeType] = {}
CODE_CACHE_SIZE = 256


def build(source: str, namespace: dict[str, Any], name: str) -> Any:
    """Compile generated source (our own code, never user text) into a function over the
    globals ``namespace``; the source is registered with linecache so tracebacks show the
    generated line. The code object of a source compiled before is reused (``CODE_CACHE``):
    each function still reads its own globals (buffers, constants)."""
    code = CODE_CACHE.pop(source, None)
    if code is None:
        _COUNTER[0] += 1
        filename = f"{GENERATED}{_COUNTER[0]}>"
        linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
        code = compile(source, filename, "exec")
        if len(CODE_CACHE) >= CODE_CACHE_SIZE:
            del CODE_CACHE[next(iter(CODE_CACHE))]  # the least recently built
    CODE_CACHE[source] = code  # (newest last)
    exec(code, namespace)  # noqa: S102  (generated code, see docstring)
    return namespace[name]
