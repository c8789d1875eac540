"""Elementwise ops as scalar numba expressions (see :mod:`.numba_codegen`).

Each op becomes a template over its operands' scalar expressions, with the dtype each
operand is cast to first: NumPy's ufunc loop dtype for arithmetic (float32 stays
float32), bool for ``where``'s condition, and for a comparison with a Python number the
dtype NumPy 2 compares in (the number is "weak": ``x_f32 > 0.1`` compares in float32).
Where NumPy's scalar code has its own branches (``sign`` of -0.0 is +0.0, the stable
sigmoid) a small ``@njit`` helper per dtype reproduces them; ``softplus`` is NumPy's own
``logaddexp(0, x)``, which numba implements with NumPy's algorithm. ``erf``/``erfc``
run in float64 as autodiff's FDLIBM code does (``math.erfc``: libm, also about one ulp)
and are cast back.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..primitive import REGISTRY
from .numba_ops import Unsupported, typed_literal
from .program import Op, Program

# ufunc name -> scalar template; comparisons compute in the operands' common dtype.
_BINARY = {"add": "({0} + {1})", "subtract": "({0} - {1})", "multiply": "({0} * {1})",
           "divide": "({0} / {1})", "maximum": "np.maximum({0}, {1})", "minimum": "np.minimum({0}, {1})",
           "power": "({0} ** {1})",
           **{n: f"np.{n}({{0}}, {{1}})" for n in ("hypot", "arctan2", "logaddexp", "logaddexp2", "fmax", "fmin")}}
_COMPARE = {"greater": "({0} > {1})", "less": "({0} < {1})", "greater_equal": "({0} >= {1})",
            "less_equal": "({0} <= {1})", "equal": "({0} == {1})", "not_equal": "({0} != {1})"}
_UNARY = {"negative": "(-{0})", "absolute": "np.abs({0})",
          **{n: f"np.{n}({{0}})" for n in ("exp", "log", "tanh", "sqrt", "sin", "cos", "tan", "log1p", "expm1",
                                             "square", "reciprocal", "log2", "log10", "exp2", "sinh", "cosh",
                                             "arcsinh", "arctan", "floor", "ceil", "trunc")}}
_INTEGER = {"add", "subtract", "multiply", "maximum", "minimum", "negative"}
# NumPy's add and multiply of booleans are "or" and "and" (masks combined in derivative rules)
_LOGICAL = {"add": "({0} or {1})", "logical_or": "({0} or {1})", "maximum": "({0} or {1})", "multiply": "({0} and {1})",
            "logical_and": "({0} and {1})", "minimum": "({0} and {1})", "logical_not": "(not {0})",
            "not_equal": "({0} != {1})", "logical_xor": "({0} != {1})"}
# Registry primitives whose forward is not a bare ufunc but which lower to one scalar expression.
ELEMENTWISE_EXTRA = {"relu", "sigmoid", "broadcast_to", "where", "softplus", "erf", "erfc", "clip", "astype"}
_F64 = np.dtype(np.float64)


def is_elementwise(op: Op) -> bool:
    """Whether ``op`` lowers to a scalar expression inside a loop (a plain ufunc, or one of
    the registry's elementwise primitives)."""
    f = op.prim.forward
    if isinstance(f, np.ufunc):
        return f.signature is None and not op.params
    return op.name in ELEMENTWISE_EXTRA and REGISTRY.get(op.name) is op.prim


def _helper(name: str, dtype: np.dtype, body: list[str], helpers: dict[str, str]) -> str:
    """A one-argument numba function ``{name}_{dtype}(x)`` with ``body`` (its lines)."""
    fn = f"_{name}_{dtype.name}"
    helpers[fn] = (f"@numba.njit(error_model='numpy', cache=False)\ndef {fn}(x):\n"
                   + "".join(f"    {line}\n" for line in body))
    return fn


def _float_helper(op: str, dtype: np.dtype, helpers: dict[str, str]) -> str:
    """The stable logistic function of ``autodiff``'s sigmoid, or NumPy's sign of a float."""
    one, zero = typed_literal(dtype.type(1)), typed_literal(dtype.type(0))
    if op == "sigmoid":
        return _helper("sigmoid", dtype, ["e = np.exp(-np.abs(x))",
                                          f"return {one} / ({one} + e) if x >= {zero} else e / ({one} + e)"], helpers)
    minus = typed_literal(dtype.type(-1))
    return _helper("sign", dtype, [f"if x > {zero}:", f"    return {one}", f"if x < {zero}:", f"    return {minus}",
                                   f"return {zero} if x == {zero} else x"], helpers)  # NaN stays NaN, -0.0 gives 0.0


def _compare_dtype(program: Program, op: Op) -> np.dtype:
    """The dtype NumPy compares in: a Python number the traced code compared with is weak."""
    parts: list[Any] = []
    for a in op.args:
        v = program.values[a]
        weak = v.weak and v.kind == "const" and v.data is not None and v.data.ndim == 0
        parts.append(v.data.item() if weak and v.data is not None else v.dtype)
    if all(not isinstance(p, np.dtype) for p in parts):
        return np.result_type(*(program.values[a].dtype for a in op.args))
    dtype = np.result_type(*parts)
    for p in parts:  # NumPy compares an int array with a Python int outside its range exactly; a cast would wrap
        if isinstance(p, int) and dtype.kind in "iu" and not np.iinfo(dtype).min <= p <= np.iinfo(dtype).max:
            raise Unsupported(f"a comparison of {dtype} values with {p}")
    return dtype


def _non_float(op: Op, program: Program, out: np.dtype, operands: list[np.dtype]) -> tuple[str, list[np.dtype]]:
    """Comparisons and the integer ops that wrap around as NumPy's do."""
    name = getattr(op.prim.forward, "__name__", op.name)
    if name in _COMPARE:
        return _COMPARE[name], [_compare_dtype(program, op)] * len(op.args)
    if name in ("isnan", "isinf", "isfinite") and operands[0].kind == "f":
        return f"np.{name}({{0}})", operands
    if out.kind == "b" and name in _LOGICAL and all(d.kind == "b" for d in operands):
        return _LOGICAL[name], [out] * len(op.args)
    if out in (np.dtype(np.int64), np.dtype(np.uint64)) and name in _INTEGER:
        return (_BINARY if len(op.args) == 2 else _UNARY)[name], [out] * len(op.args)
    raise Unsupported(f"a {out} result")


def _bound(value: Any, out: np.dtype) -> str:
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise Unsupported(f"a clip bound of type {type(value).__name__}")
    return typed_literal(np.asarray(value).astype(out))  # a Python number is weak: x's dtype


def _extra(op: Op, out: np.dtype, helpers: dict[str, str]) -> tuple[str, list[np.dtype]]:
    """The registry's non-ufunc elementwise primitives."""
    if op.name == "relu":
        return f"np.maximum({{0}}, {typed_literal(out.type(0))})", [out]
    if op.name == "sigmoid":
        return f"{_float_helper('sigmoid', out, helpers)}({{0}})", [out]
    if op.name == "softplus":  # the forward is np.logaddexp(0, x)
        return f"np.logaddexp({typed_literal(out.type(0))}, {{0}})", [out]
    if op.name == "where":
        return "({1} if {0} else {2})", [np.dtype(bool), out, out]
    if op.name in ("erf", "erfc"):
        cast = "{}" if out == _F64 else f"np.{out.name}({{}})"
        return cast.format(f"math.{op.name}({{0}})"), [_F64]
    if op.name == "clip":
        lo, hi = _bound(op.params.get("lo"), out), _bound(op.params.get("hi"), out)
        expr = f"np.maximum({{0}}, {lo})" if lo else "{0}"
        return (f"np.minimum({expr}, {hi})" if hi else expr), [out]
    return "{0}", [out]  # astype: the operand cast to the result's dtype


def elementwise_template(op: Op, program: Program, helpers: dict[str, str]) -> tuple[str, list[np.dtype]]:
    """The op as a scalar template over its operands, and the dtype each is cast to."""
    out = program.values[op.out].dtype
    operands = [program.values[a].dtype for a in op.args]
    if op.name == "broadcast_to":
        return "{0}", [out]
    if out.kind != "f" and op.name != "relu":
        return _non_float(op, program, out, operands)
    if op.name == "where" and operands[0] != np.dtype(bool):
        raise Unsupported(f"a condition of type {program.values[op.args[0]].type()}")
    if op.name == "astype" and any(d.kind not in "biuf" for d in operands):
        raise Unsupported(f"a cast from {operands[0]}")
    if op.name in ELEMENTWISE_EXTRA:
        return _extra(op, out, helpers)
    name = op.prim.forward.__name__
    if name == "sign" and len(op.args) == 1:
        return f"{_float_helper('sign', out, helpers)}({{0}})", [out]
    template = _BINARY.get(name) if len(op.args) == 2 else _UNARY.get(name)
    if template is None:
        raise Unsupported(f"no numba lowering for the ufunc {name} with {len(op.args)} operand(s)")
    return template, [out] * len(op.args)
