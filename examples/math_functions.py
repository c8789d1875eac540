"""NumPy's elementwise functions and PyTorch's activations on Tensors: a few values and
gradients, erf's accuracy against Python's math.erf, and (when PyTorch is installed)
the largest difference from PyTorch's values and gradients. Prints what the README shows.

    python examples/math_functions.py
"""

from __future__ import annotations

import math

import numpy as np

import autodiff as ad
import nn.functional as F

ACTIVATIONS = ["gelu", "silu", "mish", "selu", "celu", "hardtanh", "hardsigmoid", "hardswish", "logsigmoid",
               "softsign", "softplus"]


def erf_error() -> float:
    """The largest relative error of ad.erf/ad.erfc against math.erf/math.erfc on 120,000 points in [-26, 26]."""
    x = np.linspace(-26.0, 26.0, 120001)
    worst = 0.0
    for ours, ref in ((ad.erf, math.erf), (ad.erfc, math.erfc)):
        want = np.array([ref(v) for v in x])
        got = ours(ad.Tensor(x)).numpy()
        nonzero = want != 0
        worst = max(worst, float(np.max(np.abs(got - want)[nonzero] / np.abs(want[nonzero]))))
    return worst


def torch_difference() -> dict[str, float] | None:
    """The largest relative difference from PyTorch (float64 values and gradients) of each activation."""
    try:
        import torch
    except ImportError:
        return None
    x = np.random.default_rng(0).uniform(-3.0, 6.0, size=1000)  # below -3 PyTorch's gelu loses digits (see main)
    worst = {}
    for name in ACTIVATIONS:
        t, a = torch.tensor(x, requires_grad=True), ad.Tensor(x, requires_grad=True)
        theirs, ours = getattr(torch.nn.functional, name)(t), getattr(F, name)(a)
        theirs.sum().backward()
        ours.sum().backward()
        for u, v in ((ours.numpy(), theirs.detach().numpy()), (a.grad.numpy(), t.grad.numpy())):
            scale = np.maximum(np.abs(v), 1e-300)
            worst[name] = max(worst.get(name, 0.0), float(np.max(np.abs(u - v) / scale)))
    return worst


def main() -> None:
    x = ad.Tensor([0.5, 2.0], requires_grad=True)
    y = np.arcsinh(x) + ad.erf(x) + x % 1.5          # NumPy's functions dispatch to autodiff's
    y.sum().backward()
    print("arcsinh(x) + erf(x) + x % 1.5 =", np.round(y.numpy(), 6), " gradient", np.round(x.grad.numpy(), 6))
    lo = ad.Tensor(0.0, requires_grad=True)
    clipped = ad.clip(ad.Tensor([-1.0, 0.5, 2.0]), lo, 1.0)
    clipped.sum().backward()
    print("clip([-1, 0.5, 2], lo=0, hi=1) =", clipped.numpy(), " d/dlo", lo.grad.item())
    print(f"erf, erfc vs math.erf, math.erfc: largest relative error {erf_error():.1e}")
    exact = "-7.6198530241605261e-23"  # -10 Φ(-10), from mpmath at 40 digits
    print(f"gelu(-10) = {ad.gelu(ad.Tensor(-10.0)).item():.16e} (exact {exact}), computed as x erfc(-x/√2)/2")
    try:
        import torch

        value = torch.nn.functional.gelu(torch.tensor(-10.0, dtype=torch.float64)).item()
        print(f"PyTorch's gelu(-10) = {value:.16e} (x (1 + erf(x/√2))/2 cancels)")
    except ImportError:
        pass
    diff = torch_difference()
    if diff is None:
        print("PyTorch not installed: no comparison")
    else:
        others = max(v for k, v in diff.items() if k != "hardsigmoid")
        print(f"{len(ACTIVATIONS)} activations vs PyTorch (float64 values and gradients): largest relative "
              f"difference {others:.1e}; hardsigmoid {diff['hardsigmoid']:.1e} (PyTorch's gradient uses 1/6 "
              f"rounded to float32)")


if __name__ == "__main__":
    main()
