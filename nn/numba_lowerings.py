"""numba lowerings of the primitives ``nn`` defines itself (the ``fast`` extra's whole step).

A dropout mask stays an operation of the compiled step: the kernel takes the layer's
``numpy.random.Generator`` as an argument and draws from it with numba's Generator
support, which shares the Generator's state and uses NumPy's algorithm for
``random()``. Element by element, in C order, it makes the draws ``rng.random(shape)``
makes, so the masks (and the Generator's state afterwards) are those of eager training
with the same seed, in the same order when several layers draw.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from autodiff.compile.numba_ops import Unsupported, register_lowering, typed_literal
from autodiff.compile.program import Op, Program

from .functional import _dropout_mask


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
