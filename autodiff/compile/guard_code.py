"""The generated code's guard checks (see ``autodiff.compile.decide``).

Each guard is checked right after the op computing its flag; a flag that differs from
the traced decision raises ``GuardFailed`` before anything outside the program's own
buffers is written, and the call then runs eagerly. A random draw made before the
check (a dropout mask from a layer's Generator) would leave that Generator advanced by
the abandoned call, and the eager rerun would draw the next numbers instead of the
ones eager draws: so a program that checks a guard after a draw saves the state of the
Generators it draws from when it starts, and a failing check restores it first.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .trace import GuardFailed

if TYPE_CHECKING:
    from .codegen import Emitter


def guard_lines(em: Emitter) -> dict[int, list[str]]:
    """The lines checking each guard, by the position of the op after which they run
    (-1: before every op, with the saving of the Generators drawn from before a check)."""
    ops = em.program.ops
    position = {op.out: k for k, op in enumerate(ops)}
    if not em.program.guards:
        return {}
    em.namespace["GuardFailed"] = GuardFailed
    checks = {n: position.get(g.value, -1) for n, g in enumerate(em.program.guards)}
    last = max(checks.values())
    generators = {id(v): v for op in ops[:last + 1] for v in op.params.values() if isinstance(v, np.random.Generator)}
    names = [em.literal(gen) for gen in generators.values()]
    restore = "".join(f"{g}.bit_generator.state = rng_state{k}; " for k, g in enumerate(names))
    lines: dict[int, list[str]] = {-1: [f"rng_state{k} = {g}.bit_generator.state" for k, g in enumerate(names)]}
    for n, g in enumerate(em.program.guards):
        flag = em.value(g.value)
        test = f"not {flag}" if g.expected else flag
        lines.setdefault(checks[n], []).append(f"if {test}: {restore}raise GuardFailed({n}, {g.what!r})")
    if not lines[-1]:
        del lines[-1]
    return lines


def merged(checks: dict[int, list[str]], after: dict[int, list[str]]) -> dict[int, list[str]]:
    """The guards' checks, then the ``after`` lines; ``after`` lines placed before the last
    check move after it (they update state, such as parameters, that an abandoned call must
    leave alone; running them later is allowed: they write only what no later op reads)."""
    last = max(checks, default=-1)
    merged = {k: list(v) for k, v in checks.items()}
    for k in sorted(after):
        merged.setdefault(max(k, last), []).extend(after[k])
    return merged
