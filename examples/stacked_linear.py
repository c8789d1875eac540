"""Stacking linear neurons stays linear; a ReLU between them does not.

f(x) = 2x + 5 and g(x) = 8x - 3 compose to g(f(x)) = 16x + 37 (11 and 85 at x = 3).
With a ReLU between them the composition bends at x = -2.5. autodiff shows it:
the second derivative of g∘f is 0 everywhere, and g∘relu∘f has slope 0 left of the
kink and 16 right of it.

    python examples/stacked_linear.py
"""

from __future__ import annotations

import numpy as np
from common import parser, pyplot, save

import autodiff as ad
import nn


def neuron(w: float, b: float) -> nn.Linear:
    layer = nn.Linear(1, 1, init="zeros")
    with ad.no_grad():  # PyTorch's idiom: parameters are written in place outside the graph
        layer.weight[...] = w
        layer.bias[...] = b
    return layer


def main(argv=None) -> dict:
    args = parser(__doc__.splitlines()[0]).parse_args(argv)
    f, g = neuron(2, 5), neuron(8, -3)
    stacked = nn.Sequential(f, g)
    with_relu = nn.Sequential(f, nn.ReLU(), g)
    x3 = np.array([[3.0]])
    print(f"f(3) = {f(x3).item():g}, g(f(3)) = {stacked(x3).item():g}")

    # one equivalent neuron: weight and bias of the product of the two affine maps
    w = (f.weight.numpy() @ g.weight.numpy()).item()
    b = (f.bias.numpy() @ g.weight.numpy() + g.bias.numpy()).item()
    print(f"g∘f is one linear neuron: w = {w:g}, b = {b:g}  ->  g(f(x)) = {w:g}x + {b:g}")

    xs = np.linspace(-6, 4, 201).reshape(-1, 1)
    slope = lambda model: ad.grad(lambda x: model(x.reshape(1, 1)).sum())
    curvature = lambda model: ad.grad(slope(model))
    second = max(abs(float(curvature(stacked)(x))) for x in (-5.0, -1.0, 2.0))
    print(f"max |d²/dx² g(f(x))| at x in (-5, -1, 2): {second:g}   (linear: the slope is the same everywhere)")
    left, right = float(slope(with_relu)(-4.0)), float(slope(with_relu)(1.0))
    print(f"with a ReLU between them: slope {left:g} left of x = -2.5, {right:g} right of it (not linear)")
    linear_fit = np.polyfit(xs.ravel(), with_relu(xs).numpy().ravel(), 1)
    residual = np.abs(np.polyval(linear_fit, xs.ravel()) - with_relu(xs).numpy().ravel()).max()
    print(f"best straight line through g(relu(f(x))) misses it by up to {residual:.3g}")

    plt = pyplot()
    if plt is not None:
        fig, ax = plt.subplots(figsize=(6, 4))
        for label, model in (("f(x) = 2x + 5", f), ("g(x) = 8x - 3", g), ("g(f(x)) = 16x + 37", stacked),
                             ("g(relu(f(x)))", with_relu)):
            ax.plot(xs, model(xs).numpy(), label=label)
        ax.axhline(0, color="grey", lw=0.5)
        ax.set_xlabel("x")
        ax.legend()
        ax.set_title("Stacked linear neurons stay linear; a ReLU bends them")
        save(fig, args.out, "stacked_linear.png")
    return {"f3": f(x3).item(), "gf3": stacked(x3).item(), "w": w, "b": b, "left": left, "right": right}


if __name__ == "__main__":
    main()
