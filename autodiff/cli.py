"""The ``autodiff`` command: differentiate, check and draw expressions from the terminal.

    autodiff diff "sqrt(x**2 + exp(x**2))" --at x=1.5
    autodiff check "x*sin(y)" --samples 20
    autodiff graph "exp(x**2)" --at x=1 -o graph.svg

Exit status: 0 ok, 1 a check failed, 2 bad input (one line on stderr, no traceback).
"""

from __future__ import annotations

import argparse
import sys

import numpy as np

from . import __version__


class BadInput(Exception):
    """A mistake in the command line: reported in one line, exit status 2."""


def _parse_expression(text: str):
    import sympy as sp
    from sympy.parsing.sympy_parser import convert_xor, parse_expr, standard_transformations

    x = sp.Symbol("x")
    local = {
        "relu": sp.Lambda(x, x * sp.Heaviside(x, 0)),
        "sigmoid": sp.Lambda(x, 1 / (1 + sp.exp(-x))),
        "softplus": sp.Lambda(x, sp.log(1 + sp.exp(x))),
        "log1p": sp.Lambda(x, sp.log(1 + x)),
        "e": sp.E, "pi": sp.pi,
    }
    try:
        expr = parse_expr(text, local_dict=local, transformations=standard_transformations + (convert_xor,))
    except Exception as e:  # SymPy raises SyntaxError, TokenError, TypeError, ... for malformed text
        raise BadInput(f"cannot parse the expression {text!r}: {type(e).__name__}: {e}".splitlines()[0]) from None
    if not isinstance(expr, sp.Expr):
        raise BadInput(f"the expression {text!r} is not a number-valued formula")
    undefined = sorted({type(f).__name__ for f in expr.atoms(sp.core.function.AppliedUndef)})
    if undefined:
        raise BadInput(f"unknown function {', '.join(undefined)} in {text!r}")
    symbols = sorted(expr.free_symbols, key=lambda s: s.name)
    return expr, symbols


def _parse_points(assignments: list[str] | None, symbols) -> dict[str, float]:
    values: dict[str, float] = {}
    for item in assignments or []:
        for part in item.split(","):
            name, sep, value = part.partition("=")
            if not sep or not name.strip():
                raise BadInput(f"--at expects NAME=VALUE, got {part!r}")
            try:
                values[name.strip()] = float(value)
            except ValueError:
                raise BadInput(f"--at {name.strip()}: {value!r} is not a number") from None
    names = [s.name for s in symbols]
    missing = [n for n in names if n not in values]
    if missing:
        raise BadInput(f"missing --at value for {', '.join(missing)} (e.g. --at {missing[0]}=1.0)")
    unknown = sorted(set(values) - set(names))
    if unknown:
        raise BadInput(f"--at names {', '.join(unknown)}, which the expression does not use")
    return values


def _gradients_at(expr, symbols, point: dict[str, float]):
    """Value, autodiff gradient and SymPy gradient of expr at point (one entry per symbol)."""
    from .engine import gradients
    from .symbolic import from_sympy, sympy_derivative
    from .tensor import Tensor

    f = from_sympy(expr, symbols)
    xs = [Tensor(point[s.name], requires_grad=True, name=s.name) for s in symbols]
    with np.errstate(all="ignore"):
        out = f(*xs)
        auto = [g.item() for g in gradients(out, xs)] if out.requires_grad else [0.0] * len(xs)
    subs = {s: point[s.name] for s in symbols}
    derivatives = [sympy_derivative(expr, s) for s in symbols]
    exact = [complex(d.evalf(subs=subs)) for d in derivatives]
    exact = [e.real if abs(e.imag) < 1e-300 else float("nan") for e in exact]
    return out.item(), auto, derivatives, exact, f


def _agree(a: float, exact: float, args) -> bool:
    return bool(abs(a - exact) <= args.atol + args.rtol * abs(exact))


def cmd_diff(args) -> int:
    """``autodiff diff``: value and gradient at a point, beside SymPy's derivative."""
    expr, symbols = _parse_expression(args.expression)
    point = _parse_points(args.at, symbols)
    value, auto, derivatives, exact, _ = _gradients_at(expr, symbols, point)
    print(f"f({', '.join(s.name for s in symbols)}) = {expr}")
    if symbols:
        print("at " + ", ".join(f"{s.name} = {point[s.name]:g}" for s in symbols))
    print(f"  value                   {value:.12g}")
    ok = True
    for s, a, d, e in zip(symbols, auto, derivatives, exact, strict=True):
        diff = abs(a - e)
        ok &= _agree(a, e, args)
        print(f"  d/d{s.name}")
        print(f"    autodiff              {a:.12g}")
        print(f"    SymPy                 {d}")
        print(f"                        = {e:.12g}")
        print(f"    difference            {diff:.1e}")
    print("agree" if ok else "DISAGREE")
    return 0 if ok else 1


def cmd_check(args) -> int:
    """``autodiff check``: autodiff vs SymPy vs finite differences at random points."""
    from .testing import numerical_grad

    expr, symbols = _parse_expression(args.expression)
    if not symbols:
        raise BadInput("the expression has no variables to differentiate")
    rng = np.random.default_rng(args.seed)
    header = f"{'point':<28}{'var':>5}{'autodiff':>16}{'SymPy':>16}{'finite diff':>16}  result"
    print(f"checking d/d({', '.join(s.name for s in symbols)}) of {expr} at {args.samples} random points "
          f"in [{args.low}, {args.high}] (seed {args.seed})")
    print(header)
    failures = checked = 0
    for _ in range(args.samples):
        point = {s.name: float(rng.uniform(args.low, args.high)) for s in symbols}
        value, auto, _, exact, f = _gradients_at(expr, symbols, point)
        if not np.isfinite(value) or not np.all(np.isfinite(exact)):
            continue  # outside the expression's domain
        with np.errstate(all="ignore"):
            fd = numerical_grad(f, *[np.float64(point[s.name]) for s in symbols])
        fd = np.atleast_1d(fd)
        text = ", ".join(f"{k}={v:.3f}" for k, v in point.items())
        for s, a, e, n in zip(symbols, auto, exact, fd, strict=True):
            good = _agree(a, e, args) and abs(n - e) <= 1e-5 + 1e-4 * abs(e)
            failures += not good
            checked += 1
            print(f"{text:<28}{s.name:>5}{a:>16.9g}{e:>16.9g}{float(n):>16.9g}  {'pass' if good else 'FAIL'}")
            text = ""
    print(f"{checked - failures} passed, {failures} failed")
    return 0 if failures == 0 and checked else 1


def cmd_graph(args) -> int:
    """``autodiff graph``: the expression's graph as a listing, DOT or a picture."""
    from .draw import render
    from .graph import listing
    from .symbolic import from_sympy
    from .tensor import Tensor

    expr, symbols = _parse_expression(args.expression)
    point = _parse_points(args.at, symbols)
    xs = [Tensor(point[s.name], requires_grad=True, name=s.name) for s in symbols]
    out = from_sympy(expr, symbols)(*xs)
    if args.backward and out.requires_grad:
        out.backward()
    if args.output is None:
        print(listing(out, inputs=xs))
        return 0
    try:
        path = render(out, args.output, show_data=not args.no_data)
    except (ImportError, RuntimeError, ValueError) as e:
        raise BadInput(str(e)) from None
    print(f"wrote {path}")
    return 0


def _tolerances(p: argparse.ArgumentParser) -> None:
    p.add_argument("--rtol", type=float, default=1e-9, help="relative tolerance of autodiff vs SymPy")
    p.add_argument("--atol", type=float, default=1e-12, help="absolute tolerance of autodiff vs SymPy")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``autodiff`` command."""
    parser = argparse.ArgumentParser(
        prog="autodiff",
        description="chainrule's autodiff: differentiate expressions, check gradients against SymPy, "
                    "draw computation graphs.",
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
    p.set_defaults(run=cmd_graph)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status (0 ok, 1 check failed, 2 bad input)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "run", None) is None:
        parser.print_help()
        return 0
    try:
        return args.run(args)
    except BadInput as e:
        print(f"autodiff {args.command}: error: {e}", file=sys.stderr)
        return 2
    except ValueError as e:  # e.g. from_sympy refusing a function it cannot build
        print(f"autodiff {args.command}: error: {str(e).splitlines()[0]}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
