"""A tour of automatic differentiation with the course's two examples:
f(x) = exp(x²) and f(x) = sqrt(x² + exp(x²)).

It prints each function's op listing, counts the primitive operations of the
function and of its gradient (naive form and with a shared intermediate, as the
notes do), checks the gradient against SymPy and finite differences, and draws the
graph of the second function (needs Graphviz; otherwise writes the DOT text).

    python examples/autodiff_tour.py [--x 1.5] [--out examples/output]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

import autodiff as ad
from autodiff.testing import gradcheck


def f1(x):
    return ad.exp(x ** 2)


def f2_naive(x):
    return ad.sqrt(x ** 2 + ad.exp(x ** 2))


def f2_shared(x):
    u = x ** 2  # computed once, used twice
    return ad.sqrt(u + ad.exp(u))


def forward_and_gradient_ops(f, x: float) -> tuple[int, int]:
    """Primitive ops of f, and the ops its gradient adds (the backward pass's rules)."""
    forward = ad.trace(f, x).n_ops
    t = ad.Tensor(x, requires_grad=True)
    (g,) = ad.gradients(f(t), [t], create_graph=True)  # the backward pass, recorded
    return forward, ad.graph.listing(g, inputs=[t]).n_ops - forward


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--x", type=float, default=1.5, help="the point (default 1.5)")
    parser.add_argument("--out", default="examples/output", help="where to write the graph picture")
    args = parser.parse_args(argv)
    x = args.x

    print(f"f(x) = exp(x**2) at x = {x}")
    print(ad.trace(f1, x))
    print(f"  f'(x) = {float(ad.grad(f1)(x)):.10f}   closed form 2x exp(x²) = {2 * x * np.exp(x * x):.10f}")

    print(f"\nf(x) = sqrt(x**2 + exp(x**2)) at x = {x}")
    print(ad.trace(f2_naive, x))
    print("\nprimitive operations (function / what its gradient adds):")
    for label, f in (("naive form", f2_naive), ("x² computed once", f2_shared), ("exp(x²)", f1)):
        fwd, bwd = forward_and_gradient_ops(f, x)
        print(f"  {label:<18} {fwd:>2} / {bwd:>2}")

    print("\ngradient checks:")
    print(ad.check_against_sympy(f2_naive, x))
    gradcheck(f2_naive, np.array(x))
    print("  finite differences: ok")

    t = ad.Tensor(x, requires_grad=True, name="x")
    y = f2_shared(t)
    y.name = "f"
    y.backward()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    try:
        path = ad.render(y, out / "tour_graph.png")
    except (ImportError, RuntimeError) as e:
        path = ad.render(y, out / "tour_graph.dot")
        print(f"\n({e}; wrote DOT text instead)")
    print(f"\ngraph of sqrt(u + exp(u)), u = x², after backward: {path}")
    print(ad.summary(y))


if __name__ == "__main__":
    main()
