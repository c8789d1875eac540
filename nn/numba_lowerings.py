"""numba lowerings of the primitives ``nn`` defines itself (the ``fast`` extra's whole step).

A dropout mask stays an operation of the compiled step: the kernel takes the layer's
``numpy.random.Generator`` as an argument and draws from it with numba's Generator
support, which shares the Generator's state and uses NumPy's algorithm for
``random()``. Element by element, in C order, it makes the draws ``rng.random(shape)``
makes, so the masks (and the Generator's state afterwards) are those of eager training
with the same seed, in the same order when several layers draw.

The guards of nn's losses are checked in the kernel too: ``binary_cross_entropy``'s
check that its input holds probabilities, and the labels' plain case of ``nll_loss`` /
``cross_entropy`` (each the same ``bool`` as the NumPy predicate, NaN included).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from autodiff.compile.numba_guards import at, element_loops, operand, register_predicate
from autodiff.compile.numba_ops import Unsupported, register_lowering, typed_literal
from autodiff.compile.program import Op, Program

from .functional import _dropout_mask
from .functional_losses import _plain_labels, _probabilities


def _lower_dropout_mask(op: Op, program: Program, name: str, dest: str | None,
                        object_arg: Callable[[Any], str]) -> list[str]:
    """``(rng.random(shape) >= p) / (1 - p)`` cast to the mask's dtype, one draw per element."""
    out = program.values[op.out]
    p, rng = op.params["p"], op.params["rng"]
    if not isinstance(rng, np.random.Generator) or out.dtype.kind != "f" or not out.shape:
        raise Unsupported(f"a mask of type {out.type()} drawn from {type(rng).__name__}")
    # the kept value exactly as the NumPy forward computes it (a True divided by 1 - p, then cast)
    kept = typed_literal((np.ones(1, bool) / (1.0 - p)).astype(out.dtype)[0])
    zero = typed_literal(out.dtype.type(0))
    idx = [f"i{d}" for d in range(len(out.shape))]
    target = dest or name
    lines = [f"{target} = np.empty({out.shape!r}, np.{out.dtype.name})"] if dest is None else []
    for d, n in enumerate(out.shape):
        lines.append("    " * d + f"for {idx[d]} in range({n}):")
    lines.append("    " * len(out.shape) + f"{target}[{', '.join(idx)}] = "
                 f"{kept} if {object_arg(rng)}.random() >= {float(p)!r} else {zero}")
    if dest is not None:
        lines.append(f"{name} = {dest}")
    return lines


register_lowering(_dropout_mask, _lower_dropout_mask)


def _lower_probabilities(op: Op, program: Program, name: str, args: list[str]) -> list[str]:
    """``not (p.min() < 0 or p.max() > 1)``: NumPy's min and max are NaN when some element
    is NaN, and NaN compares False, so any NaN makes the answer True."""
    shape, _ = operand(op, program, 0, "biuf")
    e = at(args[0], shape)
    body = [f"if np.isnan({e}):" if program.values[op.args[0]].dtype.kind == "f" else "if False:",
            f"    {name}_nan = True", f"elif {e} < 0 or {e} > 1:", f"    {name}_out = True"]
    return [f"{name}_nan = False", f"{name}_out = False", *element_loops(shape, body),
            f"{name} = {name}_nan or not {name}_out"]


def _lower_plain_labels(op: Op, program: Program, name: str, args: list[str]) -> list[str]:
    """``0 <= lo and hi < c and not lo <= ignore_index <= hi`` with lo, hi the labels'
    min and max (NaN-propagating, as NumPy's)."""
    shape, _ = operand(op, program, 0, "iuf")
    if not all(shape):
        raise Unsupported("labels without elements")
    c, ignore = op.params["c"], op.params["ignore_index"]
    if not all(isinstance(v, int) for v in (c, ignore)):
        raise Unsupported(f"c={c!r} and ignore_index={ignore!r} (integers lower)")
    first = f"{args[0]}[{', '.join('0' for _ in shape)}]" if shape else args[0]
    body = [f"{name}_lo = np.minimum({name}_lo, {at(args[0], shape)})",
            f"{name}_hi = np.maximum({name}_hi, {at(args[0], shape)})"]
    return [f"{name}_lo = {first}", f"{name}_hi = {first}", *element_loops(shape, body),
            f"{name} = 0 <= {name}_lo and {name}_hi < {c} and not {name}_lo <= {ignore} <= {name}_hi"]


register_predicate(_probabilities, _lower_probabilities)
register_predicate(_plain_labels, _lower_plain_labels)
