"""Shared test helpers: compare autodiff's vector-Jacobian product with finite differences;
the optimizers the compiled-step tests run with a flat fused update."""

from __future__ import annotations

import numpy as np

import autodiff as ad
from autodiff.testing import numerical_grad
from nn import optim

# optimizers a compiled step fuses into one flat update (SGD and its momenta, Adam, AdamW)
FLAT_OPTIMIZERS = {
    "sgd": lambda ps: optim.SGD(ps, lr=0.1),
    "momentum": lambda ps: optim.SGD(ps, lr=0.05, momentum=0.9, weight_decay=0.01),
    "nesterov": lambda ps: optim.SGD(ps, lr=0.05, momentum=0.9, nesterov=True),
    "adam": lambda ps: optim.Adam(ps, lr=0.01, weight_decay=0.001),
    "adamw": lambda ps: optim.AdamW(ps, lr=0.01),
}


def vjp_both_ways(f, arrays, seed: int = 0):
    """Autodiff and float64 finite-difference gradients of sum(f(*xs) * G) for a random G.

    Returns (output Tensor, autodiff grads as Tensors, numerical grads as float64 arrays).
    """
    inputs = [ad.Tensor(a, requires_grad=True) for a in arrays]
    out = f(*inputs)
    G = np.random.default_rng(seed).uniform(-1.0, 1.0, size=out.shape)
    auto = ad.gradients(out, inputs, grad_outputs=[G.astype(out.dtype)])
    G64 = G.astype(np.float64)
    numeric = numerical_grad(lambda *xs: (f(*xs) * G64).sum(), *[np.asarray(a, np.float64) for a in arrays])
    if len(arrays) == 1:
        numeric = (numeric,)
    return out, auto, numeric


def assert_vjp_matches(f, arrays, rtol: float = 1e-5, atol: float = 1e-6) -> None:
    """Assert autodiff matches finite differences and every gradient keeps its input's dtype."""
    out, auto, numeric = vjp_both_ways(f, arrays)
    for k, (a, n, x) in enumerate(zip(auto, numeric, arrays, strict=True)):
        assert a.dtype == np.asarray(x).dtype, f"input {k}: gradient dtype {a.dtype}, input dtype {x.dtype}"
        assert a.shape == np.shape(x), f"input {k}: gradient shape {a.shape}, input shape {np.shape(x)}"
        np.testing.assert_allclose(a.numpy(), n, rtol=rtol, atol=atol, err_msg=f"input {k}")


def eager_step(model, loss_fn, opt, X, y) -> float:
    """One eager training step (zero_grad, forward, backward, step); the loss as a float."""
    opt.zero_grad()
    loss = loss_fn(model(X), y)
    loss.backward()
    opt.step()
    return loss.item()
