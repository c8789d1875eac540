"""Verifying a program: two traces of one signature must be the same program (constants
included), unless the rules decided differently on values (their guards), in which case
each program is valid where its guards hold."""

from __future__ import annotations

from typing import Any

import numpy as np

from .program import Program, Ref


def same_param(a: Any, b: Any) -> bool:
    """Whether two op parameters or constants of two traces are the same: arrays by shape,
    dtype and values (NaN equal to NaN), sequences item by item, anything else by ``==``.

    >>> same_param((1, np.zeros(2)), (1, np.zeros(2)))
    True
    """
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return (isinstance(a, np.ndarray) and isinstance(b, np.ndarray) and a.shape == b.shape
                and a.dtype == b.dtype and np.array_equal(a, b, equal_nan=a.dtype.kind in "fc"))
    if isinstance(a, (tuple, list)) and isinstance(b, (tuple, list)):
        return len(a) == len(b) and all(same_param(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, Ref) or isinstance(b, Ref):
        return bool(a == b)
    try:
        return a is b or bool(a == b)
    except (TypeError, ValueError):
        return False


def decided_alike(p1: Program, p2: Program) -> bool:
    """Whether the rules of two traces took the same decisions on values (their guards).
    When they did not, the programs legitimately differ (each is valid where its guards
    hold) and the newer one must be verified against a later trace of its own kind. A
    guard's constant operands are part of its decision (``static_values`` compares the
    values with the traced ones, a constant)."""
    if [g.expected for g in p1.guards] != [g.expected for g in p2.guards]:
        return False
    for g1, g2 in zip(p1.guards, p2.guards, strict=True):
        c1, c2 = _guard_constants(p1, g1.value), _guard_constants(p2, g2.value)
        if len(c1) != len(c2) or not all(same_param(a, b) for a, b in zip(c1, c2, strict=True)):
            return False
    return True


def _guard_constants(program: Program, flag: int) -> list[Any]:
    op = next((op for op in program.ops if op.out == flag), None)
    if op is None:
        return []
    return [program.values[a].data for a in op.args if program.values[a].kind == "const"]


def differences(p1: Program, p2: Program) -> str | None:
    """Why two traces of one signature differ (None when they are the same program)."""
    if len(p1.ops) != len(p2.ops) or len(p1.values) != len(p2.values):
        return (f"two calls with the same input shapes traced different programs ({len(p1.ops)} and "
                f"{len(p2.ops)} ops): the function's operations depend on input values")
    for o1, o2 in zip(p1.ops, p2.ops, strict=True):
        if o1.prim is not o2.prim or o1.args != o2.args or o1.params.keys() != o2.params.keys() or not all(
                same_param(o1.params[k], o2.params[k]) for k in o1.params):
            return f"the operations depend on input values ({o1.name} at {o1.site} vs {o2.name} at {o2.site})"
        for a in o1.args:
            v1, v2 = p1.values[a], p2.values[a]
            if v1.kind == "const" and not same_param(v1.data, v2.data):
                return (f"an operand of {o1.name} at {o1.site} was computed outside the primitive table from an "
                        f"input (it changed between two calls), so the compiled program would bake in one "
                        f"call's value")
    if [(g.value, g.expected) for g in p1.guards] != [(g.value, g.expected) for g in p2.guards]:
        return "the decisions taken on values (guards) depend on input values"
    if p1.outputs != p2.outputs:
        return "the outputs depend on input values"
    for o in p1.outputs:
        if p1.values[o].kind == "const" and not same_param(p1.values[o].data, p2.values[o].data):
            return "an output was computed outside the primitive table (it changed between two calls)"
    return None
