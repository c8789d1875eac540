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

from .program import Op, Program


class Unsupported(Exception):
    """An op (or an operand's shape or dtype) the numba lowering has no code for."""


# ufunc name -> scalar template; comparisons compute in the operands' common dtype.
_BINARY = {"add": "({0} + {1})", "subtract": "({0} - {1})", "multiply": "({0} * {1})",
           "divide": "({0} / {1})", "maximum": "np.maximum({0}, {1})", "minimum": "np.minimum({0}, {1})",
           "power": "({0} ** {1})"}
_COMPARE = {"greater": "({0} > {1})", "less": "({0} < {1})", "greater_equal": "({0} >= {1})",
            "less_equal": "({0} <= {1})", "equal": "({0} == {1})", "not_equal": "({0} != {1})"}
_UNARY = {"negative": "(-{0})", "exp": "np.exp({0})", "log": "np.log({0})", "tanh": "np.tanh({0})",
          "sqrt": "np.sqrt({0})", "absolute": "np.abs({0})", "sin": "np.sin({0})", "cos": "np.cos({0})",
          "log1p": "np.log1p({0})", "expm1": "np.expm1({0})"}
_INTEGER = {"add", "subtract", "multiply", "maximum", "minimum", "negative"}
# Primitives whose forward is not a bare ufunc but which lower to one scalar expression.
ELEMENTWISE_EXTRA = {"relu", "sigmoid", "broadcast_to"}
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


def _sigmoid_helper(dtype: np.dtype, helpers: dict[str, str]) -> str:
    """The stable logistic function of ``autodiff``'s sigmoid, as a numba function for one dtype."""
    name = f"_sigmoid_{dtype.name}"
    one, zero = typed_literal(dtype.type(1)), typed_literal(dtype.type(0))
    helpers[name] = (f"@numba.njit(error_model='numpy', cache=False)\ndef {name}(x):\n"
                     f"    e = np.exp(-np.abs(x))\n"
                     f"    return {one} / ({one} + e) if x >= {zero} else e / ({one} + e)\n")
    return name


def elementwise_template(op: Op, program: Program, helpers: dict[str, str]) -> tuple[str, np.dtype]:
    """The op as a scalar template over its operands, and the dtype they are cast to."""
    out = program.values[op.out].dtype
    operands = [program.values[a].dtype for a in op.args]
    if op.name == "broadcast_to":
        return "{0}", out
    if out.kind != "f" and op.name != "relu":
        name = getattr(op.prim.forward, "__name__", op.name)
        if name in _COMPARE:
            return _COMPARE[name], np.result_type(*operands)
        if out in (np.dtype(np.int64), np.dtype(np.uint64)) and name in _INTEGER:  # wraps around as NumPy's does
            return (_BINARY if len(op.args) == 2 else _UNARY)[name], out
        raise Unsupported(f"a {out} result")
    if op.name == "relu":
        return f"np.maximum({{0}}, {typed_literal(out.type(0))})", out
    if op.name == "sigmoid":
        return f"{_sigmoid_helper(out, helpers)}({{0}})", out
    name = op.prim.forward.__name__
    template = _BINARY.get(name) if len(op.args) == 2 else _UNARY.get(name)
    if template is None:
        raise Unsupported(f"no numba lowering for the ufunc {name} with {len(op.args)} operand(s)")
    return template, out


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


def _float_2d(program: Program, op: Op, *values: int) -> np.dtype:
    dtypes = {program.values[v].dtype for v in values}
    shapes = [program.values[v].shape for v in values]
    if len(dtypes) != 1 or next(iter(dtypes)).kind != "f" or any(len(s) != 2 for s in shapes):
        raise Unsupported(f"np.dot needs 2-D operands of one float dtype, got "
                          f"{[program.values[v].type() for v in values]}")
    return next(iter(dtypes))


def lower_matrix_op(op: Op, program: Program, name: str, dest: str | None, args: list[str]) -> list[str]:
    """matmul and linear as ``np.dot`` into the result; transpose and reshape as views."""
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
    dtype = _float_2d(program, op, op.args[0], op.args[1], op.out)
    into = dest or name
    lines = [f"{name} = {dest}" if dest is not None else f"{name} = np.empty({out.shape!r}, np.{dtype.name})"]
    if op.name == "matmul":
        return [*lines, f"matmul_into({args[0]}, {args[1]}, {into})"]
    b = program.values[op.args[2]]
    if b.dtype != dtype or b.shape not in ((out.shape[1],), (1, out.shape[1])):
        raise Unsupported(f"a bias of type {b.type()} for a result {out.type()}")
    return [*lines, f"linear_into({args[0]}, {args[1]}, {args[2]}, {into})"]


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
