"""A whole compiled training step as one numba function (the ``fast`` extra).

Forward, backward and the flat optimizer update of a traced step are lowered by
:mod:`autodiff.compile.numba_codegen` into the body of one ``@numba.njit`` kernel: the
parameters are views of the flat parameter buffer taken inside the kernel, gradients
are written straight into the flat gradient buffer, and the SGD/Adam loop of
:mod:`nn.flat_numba` runs last. A thin generated Python wrapper computes the update's
per-step scalars exactly as the NumPy backend does (bias corrections in Python floats)
and calls the kernel.

A decision a rule took on values while traced (a guard, see ``autodiff.compile.decide``)
is re-checked at every call: on the inputs alone (a label check) by the wrapper before
the kernel runs, on computed values (``binary_cross_entropy``'s range check of its
probabilities) by the kernel right after the flag's op, as the NumPy code checks it. A
kernel whose guard fails returns before the update with the guard's number, and the
wrapper raises ``GuardFailed`` as the NumPy code does (the call then runs eagerly).
Gradients already written into the flat gradient buffer are scratch (the eager step
sets ``p.grad`` anew); the Generators a kernel with such guards draws from (dropout
masks) are saved before the call and restored when a guard fails, so the eager rerun
draws eager's mask.

Kernels are cached by their source text, so a second model of the same shapes (a
second ``fit``) reuses the machine code. When an op has no lowering, or numba cannot
type the kernel, :func:`whole_step` returns the reason and the caller compiles the step
with the NumPy code and a numba update instead.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, cast

import numba
import numpy as np

from autodiff.compile.codegen import build
from autodiff.compile.entries import Compiled
from autodiff.compile.numba_codegen import KernelBody, Unsupported, lower_program
from autodiff.compile.numba_guards import lowers
from autodiff.compile.numba_kernels import KERNELS as OP_KERNELS
from autodiff.compile.program import Guard, Op, Program
from autodiff.compile.trace import GuardFailed

from . import numba_lowerings  # noqa: F401  (registers the lowerings of nn's dropout mask and loss guards)
from .flat_numba import KERNELS
from .functional_losses import _plain_labels

if TYPE_CHECKING:
    from autodiff import Tensor

    from .flat import FlatOptimizer

_KERNELS: dict[str, Any] = {}  # kernel source -> numba dispatcher
_typeof = cast(Callable[[Any], Any], numba.typeof)
_DECORATOR = "@numba.njit(error_model='numpy', cache=False, nogil=True)"


def _inputs(flat: FlatOptimizer, program: Program, captured: list[Any], n_args: int) -> tuple[dict[int, str], list[str],
                                                                                              list[int]]:
    """Names of the program's inputs inside the kernel, the lines taking each parameter
    as a view of the flat buffer P, and the input slots passed as kernel arguments."""
    offsets, start = {}, 0
    for p, shape in zip(flat.opt.params, flat.shapes, strict=True):
        size = int(np.prod(shape, dtype=np.int64))
        offsets[id(p)] = (start, start + size, shape)
        start += size
    names: dict[int, str] = {}
    views: list[str] = []
    passed: list[int] = []
    for v in program.values:
        if v.kind != "input" or v.slot is None:
            continue
        names[v.index] = f"a{v.slot}"
        held = captured[v.slot - n_args] if v.slot >= n_args else None
        where = offsets.get(id(held)) if held is not None else None
        if where is not None and v.shape == tuple(where[2]) and v.dtype == flat.dtype:
            views.append(f"a{v.slot} = P[{where[0]}:{where[1]}].reshape({tuple(where[2])!r})")
        else:
            passed.append(v.slot)
    return names, views, passed


def _grad_targets(flat: FlatOptimizer, program: Program, grads: list[int]) -> tuple[dict[int, str], list[str],
                                                                                     list[str]]:
    """Gradient k goes into ``g{k}``, a view of the flat gradient buffer G (copied when one
    value is the gradient of two parameters, or also an output)."""
    targets: dict[int, str] = {}
    views, copies = [], []
    start = 0
    for k, (g, shape) in enumerate(zip(grads, flat.shapes, strict=True)):
        size = int(np.prod(shape, dtype=np.int64))
        if not shape:
            raise Unsupported("a 0-d parameter")
        views.append(f"g{k} = G[{start}:{start + size}].reshape({tuple(shape)!r})")
        start += size
        if g in targets or g in program.outputs:
            copies.append(f"g{k}[:] = {targets.get(g) or _name(program, g)}")
        else:
            targets[g] = f"g{k}"
    return targets, views, copies


def _name(program: Program, i: int) -> str:
    """The kernel's name of a value the lowering names without renaming (an op's result or an input)."""
    v = program.values[i]
    if v.kind == "const":
        raise Unsupported("a constant that is the gradient of two parameters")
    return f"v{i}" if v.kind == "op" else f"a{v.slot}"


def _update(flat: FlatOptimizer) -> tuple[list[str], list[str], list[str]]:
    """The update call inside the kernel, its per-step scalar arguments, and the
    Python expressions computing them in the wrapper (as the NumPy backend computes them)."""
    h, f = flat.group, f"np.{flat.dtype.name}"
    if flat.adam:
        b1, b2 = h["betas"]
        wd = h["weight_decay"]
        decoupled = bool(flat.opt.decoupled)
        call = (f"adam_update(P, G, EXP_AVG, EXP_AVG_SQ, {f}({b1!r}), {f}({1 - b1!r}), {f}({b2!r}), "
                f"{f}({1 - b2!r}), bias2, {h['eps']!r}, step_size, {f}({wd!r}), decay, {decoupled!r})")
        decay = f"{f}(1 - lr * {wd!r})" if decoupled else f"{f}(1.0)"
        return [call], ["bias2", "step_size", "decay"], [f"np.sqrt(1 - {b2!r} ** t)",
                                                         f"{f}(lr / (1 - {b1!r} ** t))", decay]
    buf = "MOMENTUM_BUFFER" if h["momentum"] else "G"
    call = (f"sgd_update(P, G, {buf}, lr_t, {f}({h['weight_decay']!r}), {f}({h['momentum']!r}), "
            f"{f}({1 - h['dampening']!r}), {bool(h['nesterov'])!r}, first)")
    return [call], ["lr_t", "first"], [f"{f}(lr)", "t == 1"]


EpochCheck = tuple[Any, int, dict[str, Any]]


class NumbaKernel:
    """What running a compiled step's kernel directly needs (``nn.fit_numba`` runs whole
    epochs of it inside numba); found as ``numba_kernel`` on the step's Compiled entry."""

    def __init__(self, kernel: Any, buffers: list[Any], passed: list[int], scalars: Any,
                 checks: list[EpochCheck] | None = None) -> None:
        self.kernel, self.buffers, self.passed, self.scalars = kernel, buffers, passed, scalars
        self.checks = checks or []  # (predicate, input slot, params): must hold on the epoch's whole arrays

    def holds_for(self, arrays: tuple[np.ndarray, ...]) -> bool:
        """Whether the step's input guards hold on every batch drawn from these arrays."""
        return all(bool(fn(arrays[slot], **params)) for fn, slot, params in self.checks)


def _kernel_source(body: KernelBody, params: list[str], prologue: list[str], update: list[str],
                   status: bool) -> str:
    """The kernel's source; with ``status`` it returns ``(-1, outputs...)`` (a guard it
    checks returns its number in place of the -1, see ``lower_program``)."""
    lines = prologue + body.lines + update
    outs = ", ".join((["-1"] if status else []) + body.outputs)
    lines.append(f"return ({outs},)")
    return ("".join(h + "\n" for h in body.helpers) + f"{_DECORATOR}\ndef kernel({', '.join(params)}):\n"
            + "".join(f"    {line}\n" for line in lines))


def _kernel(source: str) -> Any:
    kernel = _KERNELS.get(source)
    if kernel is None:
        namespace: dict[str, Any] = {"np": np, "math": math, "numba": numba, **KERNELS, **OP_KERNELS}
        kernel = _KERNELS[source] = build(source, namespace, "kernel")
    return kernel


def whole_step(flat: FlatOptimizer, program: Program, captured: list[Tensor], kinds: Any, n_params: int,
               n_args: int = 2) -> tuple[Compiled | None, str]:
    """The step as one numba kernel, or (None, why not). Guards on the inputs are checked
    by the wrapper before the kernel runs; guards on computed values by the kernel itself."""
    checks, inner = _split_guards(program)
    producer = {op.out: op for op in program.ops}
    unlowered = [g.what for _, g in inner if g.value not in producer or not lowers(producer[g.value])]
    if unlowered:  # the kernel could not re-check them; the NumPy step does
        return None, (f"the program has {len(unlowered)} guard(s) on computed values ({', '.join(unlowered)}) "
                      f"whose predicate has no numba lowering")
    grads = program.outputs[2:2 + n_params]
    ops = Program(program.values, program.ops, program.outputs, program.n_inputs, list(program.notes),
                  guards=[g for _, g in inner]).eliminate_dead_code().ops  # without the input guards' predicates
    lowered = Program(program.values, ops, program.outputs[:2] + program.outputs[2 + n_params:],
                      program.n_inputs, program.notes, program.state_writes)
    try:
        names, param_views, passed = _inputs(flat, lowered, captured, n_args)
        targets, grad_views, copies = _grad_targets(flat, lowered, grads)
        body = lower_program(lowered, names, targets, inner)
    except Unsupported as e:
        return None, str(e)
    body.lines += copies
    update, scalars, scalar_exprs = _update(flat)
    state = ["EXP_AVG", "EXP_AVG_SQ"] if flat.adam else (["MOMENTUM_BUFFER"] if flat.keys else [])
    params = [f"a{s}" for s in passed] + ["P", "G", *state, *body.const_args, *scalars]
    source = _kernel_source(body, params, param_views + grad_views, update, bool(inner))
    kernel = _kernel(source)
    namespace: dict[str, Any] = {"np": np, "kernel": kernel, "P": flat.flat, "G": flat.gflat, **body.const_args,
                                 **{k.upper(): b for k, b in flat.state.items()}, "GuardFailed": GuardFailed,
                                 "GUARDS": {k: g.what for k, g in inner}}
    buffers = params[len(passed):len(params) - len(scalars)]
    guard_lines = [line for k, op, g in checks for line in _guard_line(k, op, g, program, namespace)]
    # a kernel abandoned by a guard after a dropout draw restores the Generators (the eager rerun draws eager's mask)
    rngs = [name for name, obj in body.const_args.items() if isinstance(obj, np.random.Generator)] if inner else []
    wrapper = _wrapper(lowered, passed, buffers + scalar_exprs, guard_lines, bool(inner), rngs)
    fn = build(wrapper + f"\n\ndef scalars(lr, t):\n    return ({', '.join(scalar_exprs)},)\n", namespace, "compiled")
    sample_scalars = list(namespace["scalars"](0.001, 2))  # the wrapper's own scalar expressions, at sample values
    error = _compile_now(kernel, lowered, passed, [namespace[p] for p in buffers], sample_scalars)
    if error:
        return None, error
    note = "# one numba kernel: forward, backward and the optimizer update; called by the wrapper below\n"
    compiled = Compiled(lowered, fn, note + source + "\n" + wrapper, captured, kinds)
    epoch_checks = _epoch_checks(checks, program)
    if epoch_checks is not None and not inner:  # (a whole epoch inside numba checks no guard of its own)
        setattr(compiled, "numba_kernel", NumbaKernel(kernel, [namespace[p] for p in buffers],  # noqa: B010
                                                      passed, namespace["scalars"], epoch_checks))
    return compiled, ""


# Input guards whose answer on a whole array holds for every subset of its rows, so that
# nn.fit_numba checks them once per epoch, on all the data: the labels' plain case of
# nll_loss / cross_entropy (every label a class, none ignored), with its traced answer.
_EPOCH_CHECKABLE: dict[Any, bool] = {_plain_labels: True}


def _epoch_checks(checks: list[tuple[int, Op, Guard]], program: Program) -> list[EpochCheck] | None:
    """The input guards as checks of a whole epoch's data, or None when one of them
    cannot be checked that way (the step then runs batch by batch)."""
    found: list[EpochCheck] = []
    for _, op, g in checks:
        values = [program.values[a] for a in op.args]
        slot = values[0].slot if len(values) == 1 and values[0].kind == "input" else None
        if _EPOCH_CHECKABLE.get(op.prim.forward) is not g.expected or slot is None:
            return None
        found.append((op.prim.forward, slot, dict(op.params)))
    return found


def _wrapper(lowered: Program, passed: list[int], rest: list[str], guard_lines: list[str], status: bool,
             rngs: list[str]) -> str:
    """The Python function the step calls: the input guards' checks, the kernel call (the
    passed inputs, then ``rest``: buffers and the update's scalars) and, with ``status``,
    ``GuardFailed`` for a guard the kernel found failing, after restoring the state of
    the Generators ``rngs`` the kernel draws from."""
    by_slot = {v.slot: v for v in lowered.values if v.kind == "input"}
    # C order for numba's one compiled signature (np.ascontiguousarray would make a 0-d array 1-d)
    call = [f"np.ascontiguousarray(a{s})" if by_slot[s].shape else f"a{s}" for s in passed] + rest
    args = ", ".join([f"a{k}" for k in range(lowered.n_inputs)] + ["lr", "t"])
    first = 1 if status else 0
    # 0-d results (new values of 0-d buffers) come back from numba as Python numbers: 0-d arrays of their dtype again
    outs = [f"r[{k + first}]" if k < 2 or lowered.values[o].shape
            else f"np.asarray(r[{k + first}], np.{lowered.values[o].dtype.name})"
            for k, o in enumerate(lowered.outputs)]
    lines = [*guard_lines, *(f"rng_state{j} = {g}.bit_generator.state" for j, g in enumerate(rngs)),
             f"r = kernel({', '.join(call)})"]
    if status:
        restore = "".join(f"{g}.bit_generator.state = rng_state{j}; " for j, g in enumerate(rngs))
        lines.append(f"if r[0] >= 0: {restore}raise GuardFailed(int(r[0]), GUARDS[r[0]])")
    lines.append(f"return ({', '.join(outs)},)")
    return "def compiled(" + args + "):\n" + "".join(f"    {line}\n" for line in lines)


def _split_guards(program: Program) -> tuple[list[tuple[int, Op, Guard]], list[tuple[int, Guard]]]:
    """The guards (numbered as in ``program.guards``) whose flag is computed from the
    program's inputs and constants alone (the wrapper checks them before the kernel runs:
    a label check, say), with their ops; and the others, on values the program computes
    (the kernel checks them)."""
    producer = {op.out: op for op in program.ops}
    checks, inner = [], []
    for k, g in enumerate(program.guards):
        op = producer.get(g.value)
        if op is not None and all(program.values[a].kind in ("input", "const") for a in op.args):
            checks.append((k, op, g))
        else:
            inner.append((k, g))
    return checks, inner


def _guard_line(k: int, op: Op, g: Guard, program: Program, namespace: dict[str, Any]) -> list[str]:
    """The wrapper's check of one input guard: the predicate on the arguments, and
    ``GuardFailed`` when its answer is not the traced one (the NumPy code's own check)."""
    args = []
    for j, a in enumerate(op.args):
        v = program.values[a]
        if v.kind == "input":
            args.append(f"a{v.slot}")
        else:
            namespace[f"guard{k}_{j}"] = v.data
            args.append(f"guard{k}_{j}")
    namespace[f"guard{k}"], namespace[f"guard{k}_params"] = op.prim.forward, dict(op.params)
    test = "not " if g.expected else ""
    return [f"if {test}guard{k}({', '.join(args)}, **guard{k}_params): raise GuardFailed({k}, {g.what!r})"]


def _compile_now(kernel: Any, program: Program, passed: list[int], buffers: list[Any], scalars: list[Any]) -> str:
    """Compile the kernel for the step's argument types now (``scalars``: sample values of
    the update's scalar arguments), so that a typing failure falls back before any step
    runs. Returns the error text ("" when it compiled)."""
    by_slot = {v.slot: v for v in program.values if v.kind == "input"}
    samples: list[Any] = [np.empty(by_slot[s].shape, by_slot[s].dtype) for s in passed] + buffers + scalars
    try:
        kernel.compile(tuple(_typeof(a) for a in samples))
    except numba.core.errors.NumbaError as e:
        first = str(e).strip().splitlines()
        return f"numba could not compile the kernel: {first[0] if first else type(e).__name__}"
    return ""
