"""Where a compiled step updates each part of the flat parameter buffer.

The update is elementwise, so it can run on a run of parameters as soon as their
gradients are final and the program no longer reads them: a large weight is then
updated right after its gradient is computed, while that gradient is still in cache,
instead of in one pass over every parameter at the end. The arithmetic is the same, so
the results are the same bits; only the order of independent work changes.
"""

from __future__ import annotations

import re

from autodiff.compile.codegen import writes_out
from autodiff.compile.program import Program

# The flat buffers the update code names; a segment's code names its views instead.
_BUFFER = re.compile(r"\b(P|G|T1|T2|T22|T22_SQ|D1|D2|MOMENTS|EXP_AVG|EXP_AVG_SQ|MOMENTUM_BUFFER)\b")


def segments(sizes: list[int], large: int) -> list[tuple[int, int]]:
    """Runs ``[i, j)`` of parameters in flat order: one parameter of ``large`` elements
    or more alone, consecutive smaller ones together."""
    runs: list[tuple[int, int]] = []
    start = 0
    for k, size in enumerate(sizes):
        if size >= large:
            if start < k:
                runs.append((start, k))
            runs.append((k, k + 1))
            start = k + 1
    if start < len(sizes):
        runs.append((start, len(sizes)))
    return runs


def renamed(lines: list[str], suffix: str) -> list[str]:
    """The update lines with every flat buffer's name ``X`` replaced by ``X_suffix``."""
    return [f"{line}, part {suffix}" if line.startswith("#") else _BUFFER.sub(lambda m: f"{m.group(1)}_{suffix}", line)
            for line in lines]


def _reads(program: Program, value: int) -> tuple[int, bool]:
    """The position of the last op reading ``value`` or a view of it, and whether an
    output may be (a view of) it."""
    aliases, last = {value}, -1
    for k, op in enumerate(program.ops):
        if aliases.intersection(op.refs()):
            last = k
            if not writes_out(op, program):
                aliases.add(op.out)
    return last, bool(aliases.intersection(program.outputs))


def placement(program: Program, grads: list[int], params: list[int | None], late: set[int]) -> int | None:
    """The op after which a run of parameters may be updated: its gradients (values)
    are all produced and its parameters (input values, None when never read) read for
    the last time. None: at the end (a gradient that is copied, an input or a constant,
    or a parameter an output may share memory with)."""
    position = {op.out: k for k, op in enumerate(program.ops)}
    if any(g in late or g not in position for g in grads):
        return None
    at = max(position[g] for g in grads)
    for p in params:
        if p is not None:
            last, escapes = _reads(program, p)
            if escapes:
                return None
            at = max(at, last)
    return at
