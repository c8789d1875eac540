"""The ``autodiff`` command: differentiate, check and draw expressions from the terminal.

    autodiff diff "sqrt(x**2 + exp(x**2))" --at x=1.5
    autodiff check "x*sin(y)" --samples 20
    autodiff graph "exp(x**2)" --at x=1 -o graph.svg

Exit status: 0 ok, 1 a check failed, 2 bad input (one line on stderr, no traceback).
"""

from __future__ import annotations

import argparse
import math
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn, cast

import numpy as np
import sympy as sp

from . import __version__, cli_verify

MAX_SAMPLES = 10_000


class BadInput(Exception):
    """A mistake in the command line: reported in one line, exit status 2."""


def _parse_expression(text: str) -> tuple[Any, list[Any]]:
    """The expression (through the safe parser: nothing is evaluated) and its symbols by name."""
    from .parsing import ExpressionError, parse_expression

    try:
        expr = parse_expression(text)
    except ExpressionError as e:
        raise BadInput(str(e)) from None
    return expr, sorted(expr.free_symbols, key=lambda s: s.name)


def _finite(name: str, text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise BadInput(f"{name}: {text.strip()!r} is not a number") from None
    if not math.isfinite(value):
        raise BadInput(f"{name}: {text.strip()!r} is not a finite number")
    return value


def _parse_points(assignments: list[str] | None, symbols: list[Any]) -> dict[str, float]:
    values: dict[str, float] = {}
    for item in assignments or []:
        for part in item.split(","):
            name, sep, value = part.partition("=")
            if not sep or not name.strip():
                raise BadInput(f"--at expects NAME=VALUE, got {part!r}")
            values[name.strip()] = _finite(f"--at {name.strip()}", value)
    names = [s.name for s in symbols]
    missing = [n for n in names if n not in values]
    if missing:
        raise BadInput(f"missing --at value for {', '.join(missing)} (e.g. --at {missing[0]}=1.0)")
    unknown = sorted(set(values) - set(names))
    if unknown:
        raise BadInput(f"--at names {', '.join(unknown)}, which the expression does not use")
    return values


_DIGITS = 30                  # SymPy evaluates its formulas at a point with this many digits
_HUGE = sp.Float("1e1000")    # ... and stops at intermediate values beyond this magnitude
_TOO_LARGE = "beyond 1e1000 in magnitude (on the way)"


def _sympy_at(nodes: list[Any], subs: dict[Any, Any]) -> tuple[float, str | None]:
    """A SymPy formula at a point, node by node (children first) with ``_DIGITS`` digits.

    Returns (value, None), or (nan, why) when the formula is not a finite real number
    there. Each intermediate value is bounded, so no point costs unbounded time
    (``evalf`` on e.g. ``sin(exp(exp(x)))`` at x = 100 never returns)."""
    values: dict[int, Any] = {}
    for node in nodes:
        if isinstance(node, sp.Symbol):
            v = subs[node]
        else:
            try:
                v = node.func(*[values[id(c)] for c in node.args]) if node.args else node
                if v.is_number and not v.is_Rational and not v.is_Float:
                    v = v.evalf(_DIGITS)
            except (OverflowError, ZeroDivisionError):
                return math.nan, _TOO_LARGE
            if v.has(sp.zoo, sp.nan, sp.oo, -sp.oo):
                return math.nan, "infinite or undefined"
            if v.is_number and v.is_extended_real is False:
                return math.nan, "not real"
            if v.is_Float and abs(v) > _HUGE:
                return math.nan, _TOO_LARGE
        values[id(node)] = v
    return float(values[id(nodes[-1])]), None


@dataclass
class _Point:
    value: float          # autodiff's value of f
    auto: list[float]     # autodiff's gradient, one entry per symbol
    exact: list[float]    # SymPy's derivative formula evaluated with _DIGITS digits
    problem: str | None   # why the point is outside the domain (None: inside)


class _Formula:
    """An expression, its autodiff function and SymPy's derivatives, ready to evaluate at points."""

    def __init__(self, text: str) -> None:
        from .symbolic import _postorder, from_sympy, sympy_derivative

        self.expr, self.symbols = _parse_expression(text)
        self.f = from_sympy(self.expr, self.symbols)
        self.derivatives = [sympy_derivative(self.expr, s) for s in self.symbols]
        self._nodes = [_postorder(e) for e in (self.expr, *self.derivatives)]

    def at(self, point: dict[str, float]) -> _Point:
        from .engine import gradients
        from .tensor import Tensor

        xs = [Tensor(point[s.name], requires_grad=True, name=s.name) for s in self.symbols]
        with np.errstate(all="ignore"):
            out = self.f(*xs)
            # gradients without allow_unused gives zeros, never None, for an unused input
            auto = ([g.item() for g in cast(list[Tensor], gradients(out, xs))] if out.requires_grad
                    else [0.0] * len(xs))
        subs = {s: sp.Float(point[s.name], _DIGITS) for s in self.symbols}
        value, why = _sympy_at(self._nodes[0], subs)
        problem = f"f is {why}" if why else None
        exact = []
        for s, nodes in zip(self.symbols, self._nodes[1:], strict=True):
            e, why = _sympy_at(nodes, subs)
            exact.append(e)
            problem = problem or (f"d/d{s.name} is {why}" if why else None)
        if problem is None and not all(abs(v) <= np.finfo(np.float64).max for v in (value, *exact)):
            problem = "f or a derivative is beyond the float64 range"
        return _Point(out.item(), auto, exact, problem)


def _agree(a: float, exact: float, args: argparse.Namespace) -> bool:
    return bool(abs(a - exact) <= args.atol + args.rtol * abs(exact))


def _point_text(point: dict[str, float]) -> str:
    return ", ".join(f"{k} = {v:g}" for k, v in point.items())


def cmd_diff(args: argparse.Namespace) -> int:
    """``autodiff diff``: value and gradient at a point, beside SymPy's derivative."""
    formula = _Formula(args.expression)
    symbols = formula.symbols
    point = _parse_points(args.at, symbols)
    at = formula.at(point)
    if at.problem:
        raise BadInput(f"at {_point_text(point)}: {at.problem} there; choose a point where f and its "
                       f"derivatives are finite real numbers")
    print(f"f({', '.join(s.name for s in symbols)}) = {formula.expr}")
    if symbols:
        print("at " + _point_text(point))
    print(f"  value                   {at.value:.12g}")
    ok = True
    for s, a, d, e in zip(symbols, at.auto, formula.derivatives, at.exact, strict=True):
        ok &= _agree(a, e, args)
        print(f"  d/d{s.name}")
        print(f"    autodiff              {a:.12g}")
        print(f"    SymPy                 {d}")
        print(f"                        = {e:.12g}")
        print(f"    difference            {abs(a - e):.1e}")
    print("agree" if ok else "DISAGREE")
    return 0 if ok else 1


def cmd_check(args: argparse.Namespace) -> int:
    """``autodiff check``: autodiff vs SymPy vs finite differences at random points."""
    from .testing import numerical_grad

    if not 1 <= args.samples <= MAX_SAMPLES:
        raise BadInput(f"--samples must be between 1 and {MAX_SAMPLES:,}, got {args.samples}")
    low, high = _finite("--low", str(args.low)), _finite("--high", str(args.high))
    if not low < high:
        raise BadInput(f"--low ({low:g}) must be less than --high ({high:g})")
    formula = _Formula(args.expression)
    symbols = formula.symbols
    if not symbols:
        raise BadInput("the expression has no variables to differentiate")
    rng = np.random.default_rng(args.seed)
    print(f"checking d/d({', '.join(s.name for s in symbols)}) of {formula.expr} at {args.samples} random points "
          f"in [{low:g}, {high:g}] (seed {args.seed})")
    print(f"{'point':<28}{'var':>5}{'autodiff':>16}{'SymPy':>16}{'finite diff':>16}  result")
    failures = checked = 0
    skipped: Counter[str] = Counter()
    first_skipped = ""
    for _ in range(args.samples):
        point = {s.name: float(rng.uniform(low, high)) for s in symbols}
        text = ", ".join(f"{k}={v:.3f}" for k, v in point.items())
        at = formula.at(point)
        if at.problem:
            skipped[at.problem] += 1
            first_skipped = first_skipped or text
            continue
        with np.errstate(all="ignore"):
            fd = np.atleast_1d(numerical_grad(formula.f, *[np.float64(point[s.name]) for s in symbols]))
        for s, a, e, n in zip(symbols, at.auto, at.exact, fd, strict=True):
            good = _agree(a, e, args) and abs(n - e) <= 1e-5 + 1e-4 * abs(e)
            failures += not good
            checked += 1
            print(f"{text:<28}{s.name:>5}{a:>16.9g}{e:>16.9g}{float(n):>16.9g}  {'pass' if good else 'FAIL'}")
            text = ""
    if skipped:
        reasons = "; ".join(f"{why} at {k}" for why, k in skipped.most_common())
        print(f"skipped {sum(skipped.values())} of {args.samples} points outside the domain ({reasons}; "
              f"first at {first_skipped})")
    print(f"{checked - failures} passed, {failures} failed")
    return 0 if failures == 0 and checked else 1


def cmd_graph(args: argparse.Namespace) -> int:
    """``autodiff graph``: the expression's graph as a listing, DOT or a picture."""
    from .draw import render
    from .graph import listing
    from .symbolic import from_sympy
    from .tensor import Tensor

    expr, symbols = _parse_expression(args.expression)
    point = _parse_points(args.at, symbols)
    xs = [Tensor(point[s.name], requires_grad=True, name=s.name) for s in symbols]
    with np.errstate(all="ignore"):
        out = from_sympy(expr, symbols)(*xs)
        if args.backward and out.requires_grad:
            out.backward()
    if args.output is None:
        print(listing(out, inputs=xs))
        return 0
    folder = Path(args.output).parent
    if not folder.is_dir():
        raise BadInput(f"cannot write {args.output}: the folder {folder} does not exist")
    try:
        path = render(out, args.output, show_data=not args.no_data, max_nodes=args.max_nodes)
    except OSError as e:
        raise BadInput(f"cannot write {args.output}: {e.strerror or e}") from None
    except (ImportError, RuntimeError, ValueError) as e:
        raise BadInput(str(e).splitlines()[0]) from None
    print(f"wrote {path}")
    return 0


def _tolerances(p: argparse.ArgumentParser) -> None:
    p.add_argument("--rtol", type=float, default=1e-9, help="relative tolerance of autodiff vs SymPy")
    p.add_argument("--atol", type=float, default=1e-12, help="absolute tolerance of autodiff vs SymPy")


class _Parser(argparse.ArgumentParser):
    """argparse, with its errors on one line (exit status 2)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``autodiff`` command."""
    parser = _Parser(
        prog="autodiff",
        description="chainrule's autodiff: differentiate expressions, check gradients against SymPy, "
                    "draw computation graphs, prove the registry of derivatives.",
    )
    parser.add_argument("--version", action="version", version=f"autodiff (chainrule) {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("diff", help="value and gradient of an expression, checked against SymPy",
                       description="Print the value, the autodiff gradient, SymPy's derivative (formula and "
                                   "value) and their difference.")
    p.add_argument("expression", help='a formula in Python syntax, e.g. "sqrt(x**2 + exp(x**2))"')
    p.add_argument("--at", action="append", metavar="NAME=VALUE", help="a point, e.g. --at x=1.5 (repeatable)")
    _tolerances(p)
    p.set_defaults(run=cmd_diff)

    p = sub.add_parser("check", help="autodiff vs SymPy vs finite differences at random points",
                       description="Compare autodiff with SymPy and central finite differences at random points "
                                   "and print a pass/fail table.")
    p.add_argument("expression")
    p.add_argument("--samples", type=int, default=10, help="how many random points (default 10)")
    p.add_argument("--low", type=float, default=-2.0)
    p.add_argument("--high", type=float, default=2.0)
    p.add_argument("--seed", type=int, default=0)
    _tolerances(p)
    p.set_defaults(run=cmd_check)

    p = sub.add_parser("graph", help="the computation graph: listing, DOT or a picture",
                       description="Write the graph of an expression: .txt (op listing), .dot, or .svg/.png/.pdf "
                                   "(needs Graphviz). Without -o, print the listing.")
    p.add_argument("expression")
    p.add_argument("--at", action="append", metavar="NAME=VALUE")
    p.add_argument("-o", "--output", help="out.txt, out.dot, out.svg, out.png or out.pdf")
    p.add_argument("--backward", action="store_true", help="run backward first so the graph shows gradients")
    p.add_argument("--no-data", action="store_true", help="leave values out of the picture")
    p.add_argument("--max-nodes", type=int, default=150, metavar="N",
                   help="fold repeated structure beyond N boxes, and refuse graphs that stay larger (default 150)")
    p.set_defaults(run=cmd_graph)
    cli_verify.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status (0 ok, 1 check failed, 2 bad input)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "run", None) is None:
        parser.print_help()
        return 0
    try:
        status: int = args.run(args)
        return status
    except BadInput as e:
        print(f"autodiff {args.command}: error: {e}", file=sys.stderr)
        return 2
    except ValueError as e:  # e.g. from_sympy refusing a function it cannot build
        print(f"autodiff {args.command}: error: {str(e).splitlines()[0]}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
