"""Guards inside a numba kernel: the predicates of :func:`.decide` as loops, and the
early return of a kernel whose guard does not hold (see :mod:`.numba_codegen`).

A guard's flag is an op of the program whose forward is a predicate (``has_zero``,
``has_nan``, ...). A predicate registered here (:func:`register_predicate`) lowers to
loops computing the same Python ``bool`` NumPy's code computes, element by element in
index order; the kernel checks it right after, where the NumPy code checks it, and when
it differs from the traced decision returns at once with the guard's number (nothing
outside the kernel's own arrays and the gradient buffer is written before the update,
which comes last). Like :mod:`.numba_codegen`, this module only writes source text.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .decide import has_inf, has_nan, has_zero, same_values
from .numba_ops import Unsupported, typed_literal
from .program import Guard, Op, Program

# ``lower(op, program, name, args) -> lines`` assigns the predicate's answer (a bool) to
# the local ``name``; ``args`` are the kernel's names of the op's operands (a 0-d
# operand is a scalar expression). Raises Unsupported to refuse a case.
PredicateLowering = Callable[[Op, Program, str, list[str]], list[str]]
PREDICATES: dict[Callable[..., Any], PredicateLowering] = {}


def register_predicate(predicate: Callable[..., Any], lower: PredicateLowering) -> None:
    """Give the guard predicate ``predicate`` (a function passed to ``decide``) a numba lowering."""
    PREDICATES[predicate] = lower


def lowers(op: Op) -> bool:
    """Whether the op computing a guard's flag has a predicate lowering."""
    return op.prim.forward in PREDICATES


def element_loops(shape: tuple[int, ...], body: list[str]) -> list[str]:
    """``body`` (lines reading the indices ``i0, i1, ...``) inside one loop per axis, in C order."""
    lines = ["    " * d + f"for i{d} in range({n}):" for d, n in enumerate(shape)]
    return lines + ["    " * len(shape) + line for line in body]


def at(arg: str, shape: tuple[int, ...]) -> str:
    """The element of ``arg`` at the loop indices (``arg`` itself when it is 0-d)."""
    return f"{arg}[{', '.join(f'i{d}' for d in range(len(shape)))}]" if shape else arg


def operand(op: Op, program: Program, k: int, kinds: str) -> tuple[tuple[int, ...], np.dtype]:
    """Operand ``k``'s shape and dtype, refused unless its dtype kind is one of ``kinds``."""
    v = program.values[op.args[k]]
    if v.dtype.kind not in kinds or v.dtype == np.dtype(np.uint64):
        raise Unsupported(f"{op.name} of {v.type()}")
    return v.shape, v.dtype


def _any(test: str) -> PredicateLowering:
    """Whether some element ``e`` satisfies ``test`` (over e)."""
    def lower(op: Op, program: Program, name: str, args: list[str]) -> list[str]:
        shape, dtype = operand(op, program, 0, "biuf")
        if test.startswith("np.is") and dtype.kind != "f":
            return [f"{name} = False"]  # an integer or a bool is never NaN or infinite
        check = test.format(at(args[0], shape))
        return [f"{name} = False", *element_loops(shape, [f"if {check}:", f"    {name} = True"])]
    return lower


def _same_values(op: Op, program: Program, name: str, args: list[str]) -> list[str]:
    """``np.array_equal(x, traced, equal_nan=x is float)``, element by element."""
    shape, dtype = operand(op, program, 0, "biuf")
    other = program.values[op.args[1]]
    if other.dtype != dtype:
        raise Unsupported(f"same_values of {program.values[op.args[0]].type()} and {other.type()}")
    if other.shape != shape:
        return [f"{name} = False"]
    a, b = at(args[0], shape), at(args[1], shape)
    differ = f"{a} != {b}" + (f" and not (np.isnan({a}) and np.isnan({b}))" if dtype.kind == "f" else "")
    return [f"{name} = True", *element_loops(shape, [f"if {differ}:", f"    {name} = False"])]


register_predicate(has_zero, _any("{} == 0"))
register_predicate(has_nan, _any("np.isnan({})"))
register_predicate(has_inf, _any("np.isinf({})"))
register_predicate(same_values, _same_values)


def check_lines(k: int, guard: Guard, flag: str, program: Program) -> list[str]:
    """The kernel's check of guard ``k`` (flag ``flag``): when it differs from the traced
    decision, return ``(k, ...)`` at once, with placeholders of the outputs' types."""
    test = f"not {flag}" if guard.expected else flag
    return [f"if {test}:", f"    return ({k}, {', '.join(placeholders(program))},)"]


def placeholders(program: Program) -> list[str]:
    """An expression of each output's type (a fresh array, or a typed 0), for the early return."""
    out = []
    for o in program.outputs:
        v = program.values[o]
        out.append(f"np.empty({v.shape!r}, np.{v.dtype.name})" if v.shape else typed_literal(v.dtype.type(0)))
    return out


def guard_positions(program: Program, guards: Sequence[tuple[int, Guard]]) -> dict[int, list[tuple[int, Guard]]]:
    """The guards checked in the kernel, by the value of their flag."""
    produced = {op.out for op in program.ops}
    by_flag: dict[int, list[tuple[int, Guard]]] = {}
    for k, g in guards:
        if g.value not in produced:
            raise Unsupported(f"guard {g.what}: its flag is not computed in the kernel")
        by_flag.setdefault(g.value, []).append((k, g))
    return by_flag
