"""Differentiable linear algebra: a Gaussian-process likelihood through cholesky, solve and
slogdet (first and second derivative against finite differences), an eigenvalue
gradient, the 2-norm at zero, and what happens at repeated eigenvalues.

Run: python examples/linalg_demo.py
"""

from __future__ import annotations

import numpy as np

import autodiff as ad

rng = np.random.default_rng(0)
x = np.linspace(0.0, 1.0, 8)
y = np.sin(6 * x) + 0.1 * rng.standard_normal(8)
sq = (x[:, None] - x[None, :]) ** 2


def neg_log_likelihood(log_ell):
    """-log N(y | 0, K) with K_ij = exp(-(x_i - x_j)² / 2ℓ²) + 0.01 I."""
    k = ad.exp(-sq / (2 * ad.exp(2 * log_ell))) + 0.01 * np.eye(8)
    low = ad.linalg.cholesky(k)
    alpha = ad.linalg.solve(low.T, ad.linalg.solve(low, y))
    return 0.5 * (y * alpha).sum() + 0.5 * ad.linalg.slogdet(k).logabsdet + 4 * np.log(2 * np.pi)


def central(f, v, h):
    return (f(v + h) - f(v - h)) / (2 * h)


def main() -> None:
    t = -1.5
    nll = lambda v: float(neg_log_likelihood(ad.Tensor(v)).numpy())
    d1 = float(ad.grad(neg_log_likelihood)(t))
    d2 = float(ad.grad(ad.grad(neg_log_likelihood))(t))
    print(f"GP negative log-likelihood at log ell = {t}: {nll(t):.10f}")
    print(f"  d/dlog ell   autodiff {d1:.10f}   finite differences {central(nll, t, 1e-6):.10f}")
    fd2 = central(lambda v: float(ad.grad(neg_log_likelihood)(v)), t, 1e-5)
    print(f"  d2/dlog ell2 autodiff {d2:.10f}   finite differences {fd2:.10f}")

    a = ad.Tensor([[2.0, 1.0], [1.0, 3.0]], requires_grad=True)
    ad.linalg.eigvalsh(a)[0].backward()
    print("gradient of the smallest eigenvalue of [[2, 1], [1, 3]] (v vᵀ):")
    print(np.array2string(a.grad.numpy(), precision=6))

    z = ad.Tensor(np.zeros(3), requires_grad=True)
    ad.linalg.norm(z).backward()
    print(f"gradient of ||x||₂ at x = 0 (subgradient, as PyTorch): {z.grad.numpy()}")

    eye = ad.Tensor(np.eye(3), requires_grad=True)
    try:
        ad.linalg.eigh(eye).eigenvectors[1, 0].backward()
    except np.linalg.LinAlgError as e:
        print("eigenvectors at repeated eigenvalues:", str(e).split(" (gaps")[0])


if __name__ == "__main__":
    main()
