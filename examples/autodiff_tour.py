"""A tour of automatic differentiation with the course's two examples:
f(x) = exp(x²) and f(x) = sqrt(x² + exp(x²)).

It prints each function's op listing, counts the primitive operations of the
function and of its gradient (naive form and with a shared intermediate, as the
notes do), checks the gradient against SymPy and finite differences, sets forward
mode beside reverse mode as the notes do (the table of values, tangents and
adjoints, and the primitive calls each mode makes, counted while it runs), and
draws the graph of the second function (needs Graphviz; otherwise writes the DOT
text).

    python examples/autodiff_tour.py [--x 1.5] [--out examples/output]
"""

from __future__ import annotations

import argparse
import contextlib
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import numpy as np

import autodiff as ad
from autodiff.primitive import REGISTRY, Primitive
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


@contextlib.contextmanager
def counting_primitive_calls() -> Iterator[Counter]:
    """Count every evaluation of a registered primitive's NumPy forward inside the block,
    in graph-recording code and in backward passes alike (their rules call primitives)."""
    calls: Counter = Counter()
    prims = [p for p in REGISTRY.values() if isinstance(p, Primitive)]
    originals = {p: p.forward for p in prims}

    def counted(p: Primitive):
        forward = originals[p]

        def run(*args, **kwargs):
            calls[p.name] += 1
            return forward(*args, **kwargs)

        return run

    for p in prims:
        p.forward = counted(p)
    try:
        yield calls
    finally:
        for p, forward in originals.items():
            p.forward = forward


def intermediates(x):
    """f(x) = sqrt(x² + exp(x²)) as the notes' evaluation trace v1..v4 (v4 = f)."""
    v1 = x * x
    v2 = ad.exp(v1)
    v3 = v1 + v2
    v4 = ad.sqrt(v3)
    return v1, v2, v3, v4


def forward_vs_reverse(x: float) -> None:
    """The notes' two modes on f(x) = sqrt(x² + exp(x²)): one table, then the cost of each."""
    values, tangents = ad.jvp(lambda t: intermediates(t), (x,), (1.0,))  # v̇ᵢ = dvᵢ/dx, seeded ẋ = 1
    t = ad.Tensor(x, requires_grad=True)
    vs = intermediates(t)
    adjoints = ad.gradients(vs[-1], [t, *vs])  # v̄ᵢ = df/dvᵢ, seeded v̄₄ = 1
    print("\nforward and reverse mode on f(x) = sqrt(x² + exp(x²)):")
    print(f"  {'':<18} {'value vᵢ':>12} {'tangent v̇ᵢ':>12} {'adjoint v̄ᵢ':>12}")
    rows = [("x", x, 1.0), ("v1 = x²", values[0], tangents[0]), ("v2 = exp(v1)", values[1], tangents[1]),
            ("v3 = v1 + v2", values[2], tangents[2]), ("v4 = sqrt(v3) = f", values[3], tangents[3])]
    for (label, v, vdot), vbar in zip(rows, adjoints, strict=True):
        print(f"  {label:<18} {float(v):>12.6f} {float(vdot):>12.6f} {float(vbar):>12.6f}")
    print(f"  f'(x): forward mode reads it from the last tangent, reverse mode from the first adjoint "
          f"(both {float(tangents[3]):.10f})")

    print("\nprimitive calls each mode makes (counted while it runs; the input is a Tensor that requires")
    print("grad, so every operation, the backward passes' rules included, is a recorded primitive call):")
    f = lambda t: ad.sqrt(t * t + ad.exp(t * t))
    x_t = ad.Tensor(x, requires_grad=True)
    with counting_primitive_calls() as fwd:
        f(x_t)
    with counting_primitive_calls() as rev:
        ad.grad(f)(x_t)
    with counting_primitive_calls() as tan:
        ad.jvp(f, (x_t,), (1.0,))
    print(f"  f alone                          {sum(fwd.values()):>3}  ({_ops(fwd)})")
    print(f"  reverse mode, grad(f)            {sum(rev.values()):>3}  (f, then one backward pass)")
    print(f"  forward mode, jvp(f, (x,), (1,)) {sum(tan.values()):>3}  (f, a recorded backward pass, its transpose)")
    n = 4
    g = lambda v: ad.sqrt(v * v + ad.exp(v * v)).sum()  # R^4 → R: the same f on every input, summed
    xs = ad.Tensor(np.linspace(0.5, 2.0, n), requires_grad=True)
    with counting_primitive_calls() as jf:
        ad.jacfwd(g)(xs)
    with counting_primitive_calls() as jr:
        ad.jacrev(g)(xs)
    print(f"  R^{n} → R, the whole gradient: forward mode {sum(jf.values())} calls ({n} tangent passes), "
          f"reverse mode {sum(jr.values())} (one backward pass)")
    print("  A pass of either mode costs a small multiple of f; forward mode needs one pass per input,\n"
          "  reverse mode one per output. Ours derives forward mode by transposing the reverse pass (no\n"
          "  second rule table), so a forward pass costs more than the notes' dual numbers, and the\n"
          "  choice still follows the shape: jacfwd for tall Jacobians, jacrev for wide ones.")


def _ops(calls: Counter) -> str:
    return ", ".join(f"{name} {k}" for name, k in sorted(calls.items()))


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

    forward_vs_reverse(x)

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
