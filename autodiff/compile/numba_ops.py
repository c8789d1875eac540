"""Lowerings of single ops to numba-compilable source (see :mod:`.numba_codegen`).

Scalar expressions keep NumPy's dtypes: every operand is cast to the dtype NumPy's
ufunc loop would compute in, and literals are typed (``np.float32(1.0)``), because
numba, like Python, would otherwise promote a float32 expression to float64.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from ..primitive import Primitive
from .program import Op, Program


class Unsupported(Exception):
    """An op (or an operand's shape or dtype) the numba lowering has no code for."""


# A lowering of its own for a primitive defined outside autodiff (nn's dropout mask):
# ``lower(op, program, name, dest, object_arg) -> lines`` computes the op into ``name``
# (writing into the array ``dest`` when it is given); ``object_arg(obj)`` names a
# kernel argument that passes ``obj`` (a Generator, say) at every call.
CustomLowering = Callable[[Op, Program, str, "str | None", Callable[[Any], str]], list[str]]
CUSTOM_LOWERINGS: dict[Primitive, CustomLowering] = {}


def register_lowering(prim: Primitive, lower: CustomLowering) -> None:
    """Give ``prim`` a numba lowering (see ``CUSTOM_LOWERINGS``); raises Unsupported in it to refuse a case."""
    CUSTOM_LOWERINGS[prim] = lower


REDUCTIONS = {"sum": ("+", "0"), "max": ("max", "-np.inf"), "min": ("min", "np.inf")}


def typed_literal(a: np.ndarray | np.generic | float | int) -> str:
    """A 0-d constant as numba source of the same dtype: ``np.float32(0.5)``, ``True``."""
    arr = np.asarray(a)
    if arr.dtype.kind == "b":
        return repr(bool(arr))
    if arr.dtype.kind in "iu":
        return f"np.{arr.dtype.name}({int(arr)})"
    if arr.dtype.kind != "f":
        raise Unsupported(f"a {arr.dtype} constant")
    x = float(arr)
    text = repr(x) if math.isfinite(x) else ("np.nan" if math.isnan(x) else ("np.inf" if x > 0 else "-np.inf"))
    return f"np.{arr.dtype.name}({text})"


def _axes(axis: Any, ndim: int) -> tuple[int, ...]:
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if isinstance(axis, int) else tuple(axis)
    return tuple(sorted(a % ndim for a in axes))


def lower_reduction(op: Op, program: Program, name: str, dest: str | None,
                    element: Callable[[list[str]], str]) -> list[str]:
    """sum/max/min over some axes as loops accumulating in the result's dtype, in index order."""
    x, out = program.values[op.args[0]], program.values[op.out]
    if set(op.params) - {"axis", "keepdims"}:
        raise Unsupported(f"parameters {sorted(op.params)}")
    axes = _axes(op.params.get("axis"), len(x.shape))
    if any(x.shape[a] == 0 for a in axes) and op.name != "sum":
        raise Unsupported("an empty reduction")
    kind, start = REDUCTIONS[op.name]
    dtype = out.dtype
    if kind != "+" and dtype.kind != "f":
        raise Unsupported(f"{op.name} of {x.type()}")
    idx = [f"i{d}" for d in range(len(x.shape))]
    keep = [d for d in range(len(x.shape)) if d not in axes]
    at = ", ".join(idx[d] if d in keep else "0" for d in range(len(x.shape))) if op.params.get("keepdims") \
        else ", ".join(idx[d] for d in keep)
    init = typed_literal(np.asarray(0, dtype)) if start == "0" else f"np.{dtype.name}({start})"
    acc = f"{name}[{at}]" if out.shape else name
    lines = []
    if out.shape:
        lines.append(f"{name} = np.empty({out.shape!r}, np.{dtype.name})" if dest is None else f"{name} = {dest}")
        lines.append(f"{name}.fill({init})")
    else:
        lines.append(f"{name} = {init}")
    for d, n in enumerate(x.shape):
        lines.append("    " * d + f"for {idx[d]} in range({n}):")
    value = element(idx)
    pad = "    " * len(x.shape)
    lines.append(pad + (f"{acc} += {value}" if kind == "+" else
                        f"{acc} = np.{'maximum' if kind == 'max' else 'minimum'}({acc}, {value})"))
    return lines


def _float_rows(program: Program, op: Op) -> tuple[np.dtype, int]:
    """The one float dtype of a matmul/linear, and the rows of its result as a 2-D block:
    ``x`` (and the result) may have leading batch axes, the matrix must be 2-D."""
    x, w, out = (program.values[v] for v in (op.args[0], op.args[1], op.out))
    dtypes = {x.dtype, w.dtype, out.dtype}
    if (len(dtypes) != 1 or x.dtype.kind != "f" or len(w.shape) != 2 or len(x.shape) < 2
            or out.shape != (*x.shape[:-1], w.shape[1])):
        raise Unsupported(f"np.dot needs operands of one float dtype, a 2-D matrix and a 2-D (or batched) "
                          f"left operand, got {[program.values[v].type() for v in op.args[:2]]}")
    return x.dtype, int(np.prod(x.shape[:-1], dtype=np.int64))


def lower_matrix_op(op: Op, program: Program, name: str, dest: str | None, args: list[str]) -> list[str]:
    """matmul and linear as ``np.dot`` into the result (leading axes of the left operand
    folded into its rows); transpose and reshape as views."""
    out = program.values[op.out]
    if op.name == "transpose":
        axes = op.params.get("axes")
        rank = len(out.shape)
        if axes is None or tuple(axes) == tuple(range(rank))[::-1]:
            return [f"{name} = {args[0]}.T"]  # a C array's .T is an F array: np.dot hands both to BLAS as they are
        return [f"{name} = {args[0]}.transpose({tuple(axes)!r})"]
    if op.name == "reshape":
        return [f"{name} = np.ascontiguousarray({args[0]}).reshape({out.shape!r})"]
    if op.name not in ("matmul", "linear") or (op.name == "matmul" and op.params):
        raise Unsupported(f"no numba lowering for {op.name}")
    dtype, rows = _float_rows(program, op)
    into, x = dest or name, args[0]
    lines = [f"{name} = {dest}" if dest is not None else f"{name} = np.empty({out.shape!r}, np.{dtype.name})"]
    if len(out.shape) > 2:  # C-contiguous blocks of rows (a view where the operand already is C-contiguous)
        x = f"np.ascontiguousarray({x}).reshape(({rows}, {program.values[op.args[0]].shape[-1]}))"
        into = f"{into}.reshape(({rows}, {out.shape[-1]}))"
    if op.name == "matmul":
        return [*lines, f"matmul_into({x}, {args[1]}, {into})"]
    b = program.values[op.args[2]]
    if b.dtype != dtype or b.shape not in ((out.shape[-1],), (1, out.shape[-1])):
        raise Unsupported(f"a bias of type {b.type()} for a result {out.type()}")
    return [*lines, f"linear_into({x}, {args[1]}, {args[2]}, {into})"]


def lower_softmax_ce(op: Op, program: Program, name: str, dest: str | None, args: list[str],
                     labels: str) -> list[str]:
    """Softmax cross-entropy at integer labels (the loss, or its gradient) row by row,
    each row shifted by its maximum (by 0 where that is not finite, as eager shifts it)."""
    x = program.values[op.args[0]]
    if len(x.shape) != 2 or x.dtype.kind != "f" or not x.shape[0]:
        raise Unsupported(f"logits of type {x.type()}")
    n = x.shape[0]
    f = f"np.{x.dtype.name}"
    zero, one = typed_literal(x.dtype.type(0)), typed_literal(x.dtype.type(1))
    if op.name == "softmax_cross_entropy":
        return [f"{name} = softmax_ce({args[0]}, {labels}, {zero}, {f}({n}))"]
    g = program.values[op.args[1]]
    if g.shape:
        raise Unsupported(f"an upstream gradient of type {g.type()}")
    alloc = f"{name} = np.empty({x.shape!r}, {f})" if dest is None else f"{name} = {dest}"
    return [alloc, f"softmax_ce_grad({args[0]}, {labels}, {f}({args[1]}) / {f}({n}), {zero}, {one}, {dest or name})"]


ROWWISE = {"softmax": "softmax_rows", "log_softmax": "log_softmax_rows", "logsumexp": "logsumexp_rows"}


def lower_rowwise(op: Op, program: Program, name: str, dest: str | None, args: list[str]) -> list[str]:
    """softmax, log_softmax and logsumexp along the last axis, row by row (leading axes
    folded into rows), each row shifted by its maximum as eager shifts it."""
    x, out = program.values[op.args[0]], program.values[op.out]
    axis = op.params.get("axis")
    axes = (axis,) if isinstance(axis, int) else axis
    if axis is None and len(x.shape) == 1:
        axes = (0,)
    if (x.dtype.kind != "f" or not out.shape or not x.shape[-1] or not isinstance(axes, (tuple, list))
            or len(axes) != 1 or axes[0] % len(x.shape) != len(x.shape) - 1):
        raise Unsupported(f"{op.name} of {x.type()} along axis {axis!r} (only the last axis lowers)")
    rows = int(np.prod(x.shape[:-1], dtype=np.int64))
    into = dest or name
    lines = [f"{name} = {dest}" if dest is not None else f"{name} = np.empty({out.shape!r}, np.{out.dtype.name})"]
    block = f"np.ascontiguousarray({args[0]}).reshape(({rows}, {x.shape[-1]}))"
    target = f"{into}.reshape(({rows},{'' if op.name == 'logsumexp' else f' {x.shape[-1]}'}))"
    return [*lines, f"{ROWWISE[op.name]}({block}, {typed_literal(x.dtype.type(0))}, {target})"]
