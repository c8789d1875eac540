"""Quick start: differentiate f(x) = sqrt(x² + exp(x²)) with autodiff and check it against SymPy.

    python examples/quickstart.py
"""

import numpy as np
import sympy as sp

import autodiff as ad


def f(x):
    return ad.sqrt(x ** 2 + ad.exp(x ** 2))


def main() -> None:
    x = ad.Tensor(1.5, requires_grad=True, name="x")
    y = f(x)
    y.backward()

    s = sp.Symbol("x", real=True)
    derivative = sp.diff(sp.sqrt(s ** 2 + sp.exp(s ** 2)), s)
    exact = float(derivative.subs(s, 1.5))

    print("f(x) = sqrt(x**2 + exp(x**2)) at x = 1.5")
    print(f"  value                 {y.item():.12f}")
    print(f"  autodiff  f'(1.5)     {x.grad.item():.12f}")
    print(f"  SymPy     f'(x)       {sp.simplify(derivative)}")
    print(f"  SymPy     f'(1.5)     {exact:.12f}")
    print(f"  difference            {abs(x.grad.item() - exact):.1e}")
    print(f"  f''(1.5) by grad(grad(f)): {float(ad.grad(ad.grad(f))(1.5)):.12f}"
          f"   (SymPy: {float(sp.diff(derivative, s).subs(s, 1.5)):.12f})")
    assert np.isclose(x.grad.item(), exact, rtol=1e-12), "autodiff and SymPy disagree"


if __name__ == "__main__":
    main()
