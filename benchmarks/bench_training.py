"""Training benchmark: seconds per epoch of nn against hand-written NumPy (and PyTorch).

(1) digits: 64-50-10 ReLU MLP, Adam, batch 32, 50 epochs (2,250 small steps, where
    per-op overhead dominates), float64 as scikit-learn gives it;
(2) a synthetic MNIST-sized problem: 60,000 x 784 float32, 10 classes, 784-256-10
    MLP, SGD, batch 128, one epoch.

    python benchmarks/bench_training.py [--quick]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from baselines import adam_update, init_params, model_from, numpy_grads, torch_train

import nn
from nn import optim

try:
    import torch

    torch.set_num_threads(2)
except ImportError:
    torch = None


def batches(n, batch_size, rng):
    order = rng.permutation(n)
    for start in range(0, n, batch_size):
        yield order[start:start + batch_size]


# ------------------------------------------------------------ hand-written
def numpy_sgd_epoch(params, X, y, lr, batch_size, rng):
    for idx in batches(len(X), batch_size, rng):
        for p, g in zip(params, numpy_grads(params, X[idx], y[idx])[1], strict=True):
            p -= lr * g


def numpy_adam_epochs(params, X, y, lr, batch_size, epochs, rng):
    m = [np.zeros_like(p) for p in params]
    v = [np.zeros_like(p) for p in params]
    t = 0
    for _ in range(epochs):
        for idx in batches(len(X), batch_size, rng):
            t += 1
            adam_update(params, numpy_grads(params, X[idx], y[idx])[1], m, v, t, lr)


# -------------------------------------------------------------------- ours
def ours_epochs(model, opt, X, y, batch_size, epochs, rng):
    loss_fn = nn.CrossEntropyLoss()
    for _ in range(epochs):
        for idx in batches(len(X), batch_size, rng):
            opt.zero_grad()
            loss_fn(model(X[idx]), y[idx]).backward()
            opt.step()


def torch_epochs(params, X, y, lr, batch_size, epochs, rng, adam):
    index_batches = (idx for _ in range(epochs) for idx in batches(len(X), batch_size, rng))
    torch_train(params, X, y, lr, index_batches, adam)


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def compare(label, sizes, X, y, lr, batch_size, epochs, adam, repeat):
    params = init_params(sizes, X.dtype)
    results = {}
    for name in ["numpy", "chainrule", "nn.fit"] + (["pytorch"] if torch is not None else []):
        best = float("inf")
        for r in range(repeat):
            rng = np.random.default_rng(r)
            ps = [p.copy() for p in params]
            if name == "numpy":
                run = (lambda ps=ps, rng=rng: numpy_adam_epochs(ps, X, y, lr, batch_size, epochs, rng)) if adam else \
                    (lambda ps=ps, rng=rng: [numpy_sgd_epoch(ps, X, y, lr, batch_size, rng) for _ in range(epochs)])
            elif name == "chainrule":
                model = model_from(ps, sizes)
                opt = optim.Adam(model.parameters(), lr=lr) if adam else optim.SGD(model.parameters(), lr=lr)
                run = lambda model=model, opt=opt, rng=rng: ours_epochs(model, opt, X, y, batch_size, epochs, rng)
            elif name == "nn.fit":
                model = model_from(ps, sizes)
                opt = optim.Adam(model.parameters(), lr=lr) if adam else optim.SGD(model.parameters(), lr=lr)
                run = lambda model=model, opt=opt, r=r: nn.fit(model, nn.CrossEntropyLoss(), opt, X, y, epochs=epochs,
                                                               batch_size=batch_size, progress=False, seed=r)
            else:
                run = lambda ps=ps, rng=rng: torch_epochs(ps, X, y, lr, batch_size, epochs, rng, adam)
            best = min(best, timed(run))
        results[name] = best
    base = results["numpy"]
    cells = "".join(f"{k} {v:.2f}s ({v / base:.2f}x)   " for k, v in results.items())
    print(f"{label:<34}{cells}")
    return results


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer epochs and repeats")
    args = parser.parse_args(argv)
    repeat = 1 if args.quick else 3
    try:
        X_train, _, y_train, _ = nn.datasets.load_digits(seed=0)
        source = "scikit-learn digits"
    except ImportError:
        rng = np.random.default_rng(0)
        X_train, y_train = rng.uniform(0, 1, (1437, 64)), rng.integers(0, 10, 1437)
        source = "digits-sized random data (install the datasets extra for the real set)"
    epochs = 10 if args.quick else 50
    print(f"(1) {source}: {len(X_train)} samples, 64-50-10, Adam, batch 32, {epochs} epochs")
    compare("digits", (64, 50, 10), X_train, y_train.astype(np.int64), 1e-3, 32, epochs, True, repeat)

    rng = np.random.default_rng(1)
    n = 12_000 if args.quick else 60_000
    X = rng.standard_normal((n, 784)).astype(np.float32)
    y = (X[:, :10].argmax(axis=1)).astype(np.int64)  # a learnable synthetic labelling
    print(f"(2) synthetic MNIST-sized: {n} x 784 float32, 784-256-10, SGD, batch 128, one epoch")
    compare("MNIST-sized", (784, 256, 10), X, y, 0.01, 128, 1, False, repeat)


if __name__ == "__main__":
    main()
