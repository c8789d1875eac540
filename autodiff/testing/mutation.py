"""Mutation testing of the registry: does the proof catch every wrong derivative?

For every rule of every registered primitive, :func:`mutants` makes faulty versions:
``scale`` (× 1.001), ``sign`` (negated), ``zeros``, ``drop`` (one term of a sum or
difference inside the rule left out), ``swap`` (a binary primitive's two rules exchanged)
and ``detach`` (the rule's inputs detached, so only the second derivative is wrong).
:func:`run_mutation` installs each in turn, runs the proof on that primitive and counts
the mutants the proof kills. A mutant that computes the same first and second derivatives
as the real rule on many independent draws is *equivalent* (e.g. swapping the two rules
of ``add``) and is not counted.

>>> from autodiff.primitive import REGISTRY
>>> report = run_mutation(["neg"])
>>> report.score_line()
'mutation score: 3/3'
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..mode import state
from ..primitive import REGISTRY, Primitive
from ..sampling import RandomDraw
from ..tensor import Tensor
from .proof import _Problem, prove

PROBES = 6  # independent draws that decide whether a mutant is equivalent
PROBE_SEED = 1000


@dataclass(frozen=True)
class Mutant:
    """One fault in one rule: ``kind`` at input ``index`` of primitive ``name`` (``term``:
    which add/sub call a ``drop`` leaves out, and which operand it keeps)."""

    name: str
    index: int
    kind: str
    term: tuple[int, int] | None = None

    def __str__(self) -> str:
        where = f"{self.name} rule {self.index}"
        if self.kind == "drop" and self.term is not None:
            k, side = self.term
            return f"{where}: drop the {'left' if side == 0 else 'right'} term of its sum #{k}"
        return {"scale": f"{where}: scaled by 1.001", "sign": f"{where}: sign flipped",
                "zeros": f"{where}: replaced by zeros", "swap": f"{self.name}: its two rules swapped",
                "detach": f"{where}: inputs detached (second derivative lost)"}.get(self.kind, where)


# ------------------------------------------------------------ dropping terms
class _Drop:
    """While active, the ``target``-th add/sub call returns one operand only."""

    active = False
    count = 0
    seen = 0
    target: tuple[int, int] | None = None


def _dropping(prim: Primitive, forward: Callable[..., Any], negate_right: bool) -> Callable[..., Any]:
    def fwd(x: Any, y: Any) -> Any:
        if not _Drop.active:
            return forward(x, y)
        _Drop.count += 1
        _Drop.seen = max(_Drop.seen, _Drop.count)
        if _Drop.target is None or _Drop.target[0] != _Drop.count:
            return forward(x, y)
        keep = x if _Drop.target[1] == 1 else (np.negative(y) if negate_right else y)
        shape = np.broadcast_shapes(np.shape(x), np.shape(y))
        return np.array(np.broadcast_to(keep, shape), dtype=np.result_type(x, y))
    return fwd


@contextmanager
def _patched_sums() -> Iterator[None]:
    add, sub = REGISTRY["add"], REGISTRY["sub"]
    assert isinstance(add, Primitive) and isinstance(sub, Primitive)
    saved = add.forward, sub.forward
    add.forward = _dropping(add, saved[0], False)
    sub.forward = _dropping(sub, saved[1], True)
    try:
        yield
    finally:
        add.forward, sub.forward = saved


def _on_tensors(rule: Callable[..., Any], args: tuple[Any, ...], params: dict[str, Any]) -> Any:
    """Run a rule on Tensors even inside a plain backward (so its + and - go through
    the add/sub primitives), returning what the caller expects."""
    if not state.raw:
        return rule(*args, **params)
    state.raw = False
    try:
        r = rule(*[Tensor._leaf(np.asarray(a)) if isinstance(a, np.ndarray) else a for a in args], **params)
    finally:
        state.raw = True
    return r._data if isinstance(r, Tensor) else r


def _counting(rule: Callable[..., Any], target: tuple[int, int] | None) -> Callable[..., Any]:
    def wrapped(*args: Any, **params: Any) -> Any:
        _Drop.active, _Drop.count, _Drop.target = True, 0, target
        try:
            return _on_tensors(rule, args, params)
        finally:
            _Drop.active = False
    return wrapped


# ----------------------------------------------------------------- mutants
def _detached(rule: Callable[..., Any]) -> Callable[..., Any]:
    def wrapped(g: Any, *rest: Any, **params: Any) -> Any:
        return rule(g, *[r.detach() if isinstance(r, Tensor) else r for r in rest], **params)
    return wrapped


def _faulty(kind: str, rule: Callable[..., Any], term: tuple[int, int] | None) -> Callable[..., Any]:
    if kind == "scale":
        return lambda *a, **p: rule(*a, **p) * 1.001
    if kind == "sign":
        return lambda *a, **p: -rule(*a, **p)
    if kind == "zeros":
        return lambda *a, **p: rule(*a, **p) * 0
    if kind == "detach":
        return _detached(rule)
    if kind == "drop":
        return _counting(rule, term)
    raise ValueError(f"mutation: unknown mutant kind {kind!r}")


@contextmanager
def installed(prim: Primitive, mutant: Mutant) -> Iterator[None]:
    """Replace one rule of ``prim`` by its mutant for the duration of the block."""
    rules, rule_any = prim.rules, prim.rule_any
    try:
        if mutant.kind == "swap":
            prim.rules = (rules[1], rules[0])
        elif rule_any is not None:
            bad = _faulty(mutant.kind, lambda *a, **p: rule_any(mutant.index, *a, **p), mutant.term)
            prim.rule_any = lambda i, *a, **p: bad(*a, **p) if i == mutant.index else rule_any(i, *a, **p)
        else:
            mutated = list(rules)
            mutated[mutant.index] = _faulty(mutant.kind, rules[mutant.index], mutant.term)  # type: ignore[arg-type]
            prim.rules = tuple(mutated)
        with _patched_sums():
            yield
    finally:
        prim.rules, prim.rule_any = rules, rule_any


def _probes(prim: Primitive) -> list[_Problem]:
    draw = RandomDraw(np.random.default_rng(PROBE_SEED))
    out = []
    for k in range(PROBES):
        case = prim.sample(draw, np.float64)  # type: ignore[misc]
        p = _Problem(prim, case, np.random.default_rng(PROBE_SEED + k))
        if p.wrt and p.out_dtype.kind == "f":
            out.append(p)
    return out


def _behaviour(prim: Primitive, probes: Sequence[_Problem]) -> list[np.ndarray] | None:
    """First derivatives and Hessian-vector products on the probes (None if it raises)."""
    try:
        out = []
        for p in probes:
            out += p.grad_arrays(p.xs)
            if prim.smooth:
                out += p.hvp()
        return out
    except Exception:
        return None


def _inputs(prim: Primitive, probes: Sequence[_Problem]) -> list[int]:
    if prim.rule_any is not None:
        return sorted({k for p in probes for k in p.wrt})
    return [i for i, r in enumerate(prim.rules) if r is not None]


def _terms(prim: Primitive, mutant: Mutant, probes: Sequence[_Problem]) -> int:
    """How many add/sub calls the rule makes (the most over the probes)."""
    _Drop.seen = 0
    with installed(prim, mutant):
        _behaviour(prim, probes)
    return _Drop.seen


def mutants(prim: Primitive, probes: Sequence[_Problem] | None = None) -> list[Mutant]:
    """Every mutant of ``prim``'s rules (before removing the equivalent ones)."""
    probes = _probes(prim) if probes is None else probes
    kinds = ["scale", "sign", "zeros"] + (["detach"] if prim.smooth else [])
    name = str(prim.name)
    out: list[Mutant] = []
    for i in _inputs(prim, probes):
        out += [Mutant(name, i, kind) for kind in kinds]
        n = _terms(prim, Mutant(name, i, "drop", None), probes)
        out += [Mutant(name, i, "drop", (k, side)) for k in range(1, n + 1) for side in (0, 1)]
    if prim.rule_any is None and len(prim.rules) == 2 and all(r is not None for r in prim.rules):
        out.append(Mutant(name, 0, "swap"))
    return out


def _same(a: list[np.ndarray] | None, b: list[np.ndarray] | None) -> bool:
    if a is None or b is None or len(a) != len(b):
        return False
    return all(x.shape == y.shape and np.allclose(x, y, rtol=1e-12, atol=1e-13, equal_nan=True)
               for x, y in zip(a, b, strict=True))


@dataclass
class MutationReport:
    """Killed, surviving and equivalent mutants of a mutation run."""

    killed: list[Mutant] = field(default_factory=list)
    survived: list[Mutant] = field(default_factory=list)
    equivalent: list[Mutant] = field(default_factory=list)

    @property
    def total(self) -> int:
        """Mutants counted (equivalent ones are not)."""
        return len(self.killed) + len(self.survived)

    def score_line(self) -> str:
        """``mutation score: K/N``."""
        return f"mutation score: {len(self.killed)}/{self.total}"

    def __str__(self) -> str:
        lines = [f"survived: {m}" for m in self.survived]
        lines.append(f"equivalent mutants (same derivatives on {PROBES} draws, not counted): {len(self.equivalent)}")
        lines.append(self.score_line())
        return "\n".join(lines)


def run_mutation(names: Sequence[str] | None = None, examples: int = 6, seed: int = 0,
                 progress: Callable[[str], None] | None = None) -> MutationReport:
    """Mutate every rule of the named primitives (default: all registered primitives) and
    run the proof on each mutant; see the module docstring."""
    report = MutationReport()
    chosen = sorted(REGISTRY) if names is None else list(names)
    for name in chosen:
        prim = REGISTRY.get(name)
        if prim is None:
            raise KeyError(f"mutation: no registered primitive named {name!r}")
        if not isinstance(prim, Primitive) or prim.sample is None:
            continue  # composites have no rules of their own
        probes = _probes(prim)
        reference = _behaviour(prim, probes)
        for m in mutants(prim, probes):
            # a mutant may well divide by zero or take a log of a negative: that is its failure, not noise to print
            with installed(prim, m), np.errstate(all="ignore"), warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                if _same(_behaviour(prim, probes), reference):
                    report.equivalent.append(m)
                    continue
                try:
                    killed = not prove(prim, examples=examples, seed=seed).ok
                except Exception:
                    killed = True
            (report.killed if killed else report.survived).append(m)
            if progress is not None and not killed:
                progress(f"survived: {m}")
    return report


__all__ = ["Mutant", "MutationReport", "installed", "mutants", "run_mutation"]
