"""``autodiff verify``: the registry proves itself on the user's machine.

Prints one row per registered primitive and composite (checks passed, largest relative
error), then a summary; ``--mutate`` also runs the mutation test and ends with
``mutation score: K/N``. Exit status 0 when everything passed, 1 otherwise.
"""

from __future__ import annotations

import argparse
import warnings
from typing import Any

import numpy as np

from .primitive import REGISTRY, Composite, Primitive

_COLUMNS = ("fd1", "fd2", "sympy1", "sympy2", "fwd_rev", "float32", "no_mutation")
_HEADS = ("FD", "FD²", "SymPy", "SymPy²", "fwd=rev", "f32", "no-mut")


def add_parser(sub: Any) -> None:
    """Add the ``verify`` command to the CLI's subparsers."""
    p = sub.add_parser("verify", help="prove every registered derivative (FD, SymPy, 2nd order, fwd=rev, ...)",
                       description="Run the registry's proof on every primitive and composite (or the NAMES given) "
                                   "and print a table; --mutate also checks that the proof kills every wrong rule.")
    p.add_argument("names", nargs="*", metavar="NAME", help="registry entries to prove (default: all)")
    p.add_argument("--examples", type=int, default=6, help="drawn cases per entry (default 6)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--mutate", action="store_true", help="also run mutation testing and print the mutation score")
    p.add_argument("--list", action="store_true", help="list the registry (name, kind, what it computes) and exit")
    p.add_argument("--markdown", action="store_true", help="with --list: a Markdown table (the README's list)")
    p.set_defaults(run=cmd_verify)


def _describe(entry: Primitive | Composite) -> tuple[str, str, str]:
    """(kind, what it computes, its derivative) from the entry's own documentation."""
    if isinstance(entry, Composite):
        text = " ".join((entry.fn.__doc__ or "").strip().split("\n\n")[0].split())
        return "composite", text, "by the chain rule through its primitives"
    lines = (type(entry).__doc__ or "").strip().split("\n\n")[0]
    text = " ".join(lines.split())
    what, _, derivative = text.partition(" d/d")
    return "primitive", what.strip(), ("d/d" + derivative).strip() if derivative else ""


def registry_markdown() -> str:
    """The registry as a Markdown table (name, kind, what it computes, derivative,
    conventions): the README's function list is this text, regenerated, never hand-kept."""
    rows = ["| name | kind | computes | derivative | conventions |", "|---|---|---|---|---|"]
    for name, entry in sorted(REGISTRY.items()):
        kind, what, derivative = _describe(entry)
        cells = [f"`{name}`", kind, what, derivative, entry.conventions]
        rows.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(rows) + "\n"


def _list(markdown: bool) -> int:
    if markdown:
        print(registry_markdown(), end="")
        return 0
    for name, entry in sorted(REGISTRY.items()):
        kind, what, _ = _describe(entry)
        print(f"{name:<16} {kind:<10} {what}")
    return 0


def cmd_verify(args: argparse.Namespace) -> int:
    """Run the proof (and the mutation test) and print the table."""
    from .testing.proof import prove

    if args.list:
        return _list(args.markdown)
    unknown = [n for n in args.names if n not in REGISTRY]
    if unknown:
        raise ValueError(f"no registered primitive or composite named {', '.join(map(repr, unknown))} "
                         f"(see autodiff verify --list)")
    if args.examples < 1:
        raise ValueError(f"--examples must be at least 1, got {args.examples}")
    names = args.names or sorted(REGISTRY)
    print(f"{'name':<16}" + "".join(f"{h:>8}" for h in _HEADS) + f"{'max err':>10}")
    failed = []
    for name in names:
        with np.errstate(all="ignore"), warnings.catch_warnings():  # (a drawn case may divide both branches of a where)
            warnings.simplefilter("ignore", RuntimeWarning)
            report = prove(REGISTRY[name], examples=args.examples, seed=args.seed)
        marks = report.summary()
        print(f"{name:<16}" + "".join(f"{marks[c]:>8}" for c in _COLUMNS) + f"{report.max_error():>10.1e}")
        if not report.ok:
            failed.append(report)
    for report in failed:
        print(str(report))
    print(f"{len(names) - len(failed)}/{len(names)} entries proven ({args.examples} drawn cases each); "
          f"skip = not applicable, see autodiff verify NAME")
    ok = not failed
    if args.mutate:
        from .testing.mutation import run_mutation

        prims = [n for n in names if not isinstance(REGISTRY[n], Composite)]
        result = run_mutation(prims, examples=args.examples, seed=args.seed)
        print(str(result))
        ok = ok and not result.survived
    return 0 if ok else 1


__all__ = ["add_parser", "cmd_verify", "registry_markdown"]
