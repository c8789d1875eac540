"""``autodiff verify``: the registry proves itself on the user's machine.

Prints one row per registered primitive and composite (checks passed, largest relative
error), then a summary; ``--mutate`` also runs the mutation test and ends with
``mutation score: K/N``. Exit status 0 when everything passed, 1 otherwise.
"""

from __future__ import annotations

import argparse
import time
from typing import Any

from .primitive import REGISTRY, Composite

_COLUMNS = ("fd1", "fd2", "sympy1", "sympy2", "fwd_rev", "float32", "no_mutation")
_HEADS = ("FD", "FD²", "SymPy", "SymPy²", "fwd=rev", "f32", "no-mut")


def add_parser(sub: Any) -> None:
    """Add the ``verify`` command to the CLI's subparsers."""
    p = sub.add_parser("verify", help="prove every registered derivative (FD, SymPy, 2nd order, fwd=rev, ...)",
                       description="Run the registry's proof on every primitive and composite (or the NAMES given) "
                                   "and print a table; --mutate also checks that the proof kills every wrong rule.")
    p.add_argument("names", nargs="*", metavar="NAME", help="registry entries to prove (default: all)")
    p.add_argument("--examples", type=int, default=4, help="drawn cases per entry (default 4)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--mutate", action="store_true", help="also run mutation testing and print the mutation score")
    p.add_argument("--list", action="store_true", help="list the registry (name, kind, what it computes) and exit")
    p.set_defaults(run=cmd_verify)


def _list() -> int:
    for name, entry in sorted(REGISTRY.items()):
        kind = "composite" if isinstance(entry, Composite) else "primitive"
        text = entry.fn.__doc__ if isinstance(entry, Composite) else type(entry).__doc__
        doc = (text or "").strip().splitlines()
        print(f"{name:<16} {kind:<10} {doc[0] if doc else ''}")
    return 0


def cmd_verify(args: argparse.Namespace) -> int:
    """Run the proof (and the mutation test) and print the table."""
    from .testing.proof import prove

    if args.list:
        return _list()
    unknown = [n for n in args.names if n not in REGISTRY]
    if unknown:
        raise ValueError(f"no registered primitive or composite named {', '.join(map(repr, unknown))} "
                         f"(see autodiff verify --list)")
    if args.examples < 1:
        raise ValueError(f"--examples must be at least 1, got {args.examples}")
    names = args.names or sorted(REGISTRY)
    print(f"{'name':<16}" + "".join(f"{h:>8}" for h in _HEADS) + f"{'max err':>10}")
    failed, start = [], time.perf_counter()
    for name in names:
        report = prove(REGISTRY[name], examples=args.examples, seed=args.seed)
        marks = report.summary()
        print(f"{name:<16}" + "".join(f"{marks[c]:>8}" for c in _COLUMNS) + f"{report.max_error():>10.1e}")
        if not report.ok:
            failed.append(report)
    for report in failed:
        print(str(report))
    print(f"{len(names) - len(failed)}/{len(names)} entries proven ({args.examples} drawn cases each, "
          f"{time.perf_counter() - start:.1f} s); skip = not applicable, see autodiff verify NAME")
    ok = not failed
    if args.mutate:
        from .testing.mutation import run_mutation

        prims = [n for n in names if not isinstance(REGISTRY[n], Composite)]
        result = run_mutation(prims, examples=args.examples, seed=args.seed)
        print(str(result))
        ok = ok and not result.survived
    return 0 if ok else 1


__all__ = ["add_parser", "cmd_verify"]
