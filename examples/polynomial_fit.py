"""Fit y = x0² + 3 x0 x1 + x1² + 5 from 100 points with a small network, then compare the
exact gradient of the fitted network (autodiff, with respect to its inputs) with the
true gradient (2 x0 + 3 x1, 3 x0 + 2 x1) on a grid.

    python examples/polynomial_fit.py [--epochs 3000]
"""

from __future__ import annotations

import numpy as np
from common import parser, pyplot, save

import autodiff as ad
import nn
from nn import optim
from nn.datasets import polynomial, polynomial_gradient, polynomial_target


def main(argv=None) -> dict:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--points", type=int, default=100)
    p.add_argument("--epochs", type=int, default=3000)
    args = p.parse_args(argv)
    if args.quick:
        args.epochs = 50
    X, y = polynomial(args.points, seed=args.seed)
    mu, sd = y.mean(), y.std()
    model = nn.MLP([2, 32, 32, 1], activation="tanh", seed=args.seed)
    opt = optim.Adam(model.parameters(), lr=0.01)
    sched = optim.lr_scheduler.CosineAnnealingLR(opt, T_max=args.epochs, eta_min=1e-4)
    h = nn.fit(model, nn.MSELoss(), opt, X, ((y - mu) / sd).reshape(-1, 1), epochs=args.epochs,
               batch_size=args.points, scheduler=sched, progress=False, seed=args.seed)
    fitted = lambda x: model(x) * sd + mu  # back to the target's scale

    grid = np.linspace(-1.8, 1.8, 25)
    G = np.stack(np.meshgrid(grid, grid), axis=-1).reshape(-1, 2)
    with ad.no_grad():
        value_err = np.abs(fitted(G).numpy().ravel() - polynomial_target(G))
    # a Tensor (the model's parameters require grad, so the gradient keeps their graph): take its values
    learned = np.asarray(ad.grad(lambda x: fitted(x).sum())(G))
    true = polynomial_gradient(G)
    grad_err = np.linalg.norm(learned - true, axis=1)
    scale = np.linalg.norm(true, axis=1).mean()
    print(f"trained on {args.points} points for {args.epochs} epochs: final MSE {h['loss'][-1] * sd ** 2:.4f}")
    print(f"on a 25x25 grid in [-1.8, 1.8]²: |f - y| mean {value_err.mean():.4f}, max {value_err.max():.4f}")
    print(f"gradient: |∇f - ∇y| mean {grad_err.mean():.4f}, max {grad_err.max():.4f} "
          f"(mean |∇y| = {scale:.2f}: {grad_err.mean() / scale:.1%} relative)")
    x0 = np.array([[1.0, -0.5]])
    print(f"at x = (1, -0.5): autodiff ∇f = {np.round(np.asarray(ad.grad(lambda x: fitted(x).sum())(x0))[0], 3)}, "
          f"true ∇y = {polynomial_gradient(x0)[0]}")

    plt = pyplot()
    if plt is not None:
        fig, (a, b) = plt.subplots(1, 2, figsize=(10, 4.4))
        a.quiver(G[:, 0], G[:, 1], true[:, 0], true[:, 1], color="grey", label="true ∇y", alpha=0.6)
        a.quiver(G[:, 0], G[:, 1], learned[:, 0], learned[:, 1], color="C3", label="autodiff ∇f", alpha=0.6)
        a.scatter(X[:, 0], X[:, 1], s=8, c="k", label="training points")
        a.legend(fontsize=8, loc="upper left")
        a.set_title("gradient fields")
        im = b.imshow(grad_err.reshape(25, 25), origin="lower", extent=(-1.8, 1.8, -1.8, 1.8), cmap="viridis")
        b.scatter(X[:, 0], X[:, 1], s=8, c="w")
        fig.colorbar(im, ax=b, label="|∇f - ∇y|")
        b.set_title("gradient error (largest where there are no points)")
        save(fig, args.out, "polynomial_fit.png")
    return {"grad_err_mean": float(grad_err.mean()), "relative": float(grad_err.mean() / scale)}


if __name__ == "__main__":
    main()
