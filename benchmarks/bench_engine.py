"""Engine benchmark: per-op overhead, an MLP training step, a 100,000-op chain, peak memory.

Every figure is measured in this run, beside its baseline measured in the same run
(raw NumPy for per-op cost, hand-written NumPy forward+backward for the MLP step).
PyTorch CPU, HIPS autograd and MyGrad columns appear when they are installed.

    python benchmarks/bench_engine.py            # the full table (about two minutes)
    python benchmarks/bench_engine.py --quick    # fewer repeats
"""

from __future__ import annotations

import argparse
import sys
import time
import tracemalloc
from collections.abc import Callable

import numpy as np

import autodiff as ad

try:
    import torch

    torch.set_num_threads(2)
except ImportError:
    torch = None
try:
    import autograd
    import autograd.numpy as anp
except ImportError:
    autograd = None
try:
    import mygrad
except ImportError:
    mygrad = None


def best_time(fn: Callable[[], object], repeat: int, number: int) -> float:
    """Best over ``repeat`` runs of the mean time of ``number`` calls, in seconds."""
    fn()
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in range(number):
            fn()
        best = min(best, (time.perf_counter() - start) / number)
    return best


# ------------------------------------------------------------------ per-op
def chain_fns(n_ops: int, size: int = 10) -> dict[str, Callable[[], object]]:
    """Forward + backward of n_ops elementwise ops (mul, add, tanh repeated) on `size` floats."""
    x0 = np.random.default_rng(0).standard_normal(size)
    thirds = n_ops // 3

    def numpy_forward():
        y = x0
        for _ in range(thirds):
            y = np.tanh(y * 0.9 + 0.1)
        return y

    def ours():
        x = ad.Tensor(x0, requires_grad=True)
        y = x
        for _ in range(thirds):
            y = ad.tanh(y * 0.9 + 0.1)
        y.sum().backward()
        return x.grad

    fns = {"numpy forward": numpy_forward, "chainrule": ours}
    if torch is not None:
        def torch_chain():
            x = torch.tensor(x0, requires_grad=True)
            y = x
            for _ in range(thirds):
                y = torch.tanh(y * 0.9 + 0.1)
            y.sum().backward()
            return x.grad
        fns["pytorch"] = torch_chain
    if autograd is not None and n_ops <= 3000:
        def ag_chain():
            def f(x):
                y = x
                for _ in range(thirds):
                    y = anp.tanh(y * 0.9 + 0.1)
                return anp.sum(y)
            return autograd.grad(f)(x0)
        fns["hips autograd"] = ag_chain
    if mygrad is not None and n_ops <= 3000:
        def mg_chain():
            x = mygrad.tensor(x0)
            y = x
            for _ in range(thirds):
                y = mygrad.tanh(y * 0.9 + 0.1)
            mygrad.sum(y).backward()
            return x.grad
        fns["mygrad"] = mg_chain
    return fns


# --------------------------------------------------------------------- MLP
SIZES = (784, 256, 256, 10)
LR = 0.01


def mlp_data(batch: int, dtype):
    rng = np.random.default_rng(1)
    X = rng.standard_normal((batch, SIZES[0])).astype(dtype)
    y = rng.integers(0, SIZES[-1], size=batch)
    params = []
    for fan_in, fan_out in zip(SIZES[:-1], SIZES[1:], strict=True):
        limit = np.sqrt(6 / (fan_in + fan_out))
        params += [rng.uniform(-limit, limit, (fan_in, fan_out)).astype(dtype), np.zeros(fan_out, dtype)]
    return X, y, params


def numpy_mlp_step(X, y, params):
    """Hand-written forward, backward and SGD update: the floor we compare against."""
    W1, b1, W2, b2, W3, b3 = params
    n = X.shape[0]
    rows = np.arange(n)
    h1 = X @ W1 + b1
    a1 = np.maximum(h1, 0)
    h2 = a1 @ W2 + b2
    a2 = np.maximum(h2, 0)
    z = a2 @ W3 + b3
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    s = e.sum(axis=1, keepdims=True)
    loss = -(z[rows, y] - np.log(s[:, 0])).mean()
    dz = e / s
    dz[rows, y] -= 1
    dz /= n
    dW3, db3 = a2.T @ dz, dz.sum(axis=0)
    dh2 = (dz @ W3.T) * (h2 > 0)
    dW2, db2 = a1.T @ dh2, dh2.sum(axis=0)
    dh1 = (dh2 @ W2.T) * (h1 > 0)
    dW1, db1 = X.T @ dh1, dh1.sum(axis=0)
    for p, g in zip(params, (dW1, db1, dW2, db2, dW3, db3), strict=True):
        p -= LR * g
    return loss


def ours_mlp_step(X, y, params):
    W1, b1, W2, b2, W3, b3 = params
    h = ad.relu(X @ W1 + b1)
    h = ad.relu(h @ W2 + b2)
    z = h @ W3 + b3
    loss = -ad.log_softmax(z)[np.arange(len(y)), y].mean()
    loss.backward()
    for p in params:
        w = p.numpy(writable=True)  # the parameter's own array, updated in place like the hand step's
        w -= LR * p.grad.numpy()
        p.grad = None
    return loss


def torch_mlp_step(X, y, params):
    W1, b1, W2, b2, W3, b3 = params
    h = torch.relu(X @ W1 + b1)
    h = torch.relu(h @ W2 + b2)
    z = h @ W3 + b3
    loss = torch.nn.functional.cross_entropy(z, y)
    loss.backward()
    with torch.no_grad():
        for p in params:
            p -= LR * p.grad
            p.grad = None
    return loss


def autograd_mlp_step(X, y, params):
    rows = np.arange(len(y))

    def loss_fn(ps):
        W1, b1, W2, b2, W3, b3 = ps
        h = anp.maximum(anp.dot(X, W1) + b1, 0)
        h = anp.maximum(anp.dot(h, W2) + b2, 0)
        z = anp.dot(h, W3) + b3
        m = anp.max(z, axis=1, keepdims=True)
        logp = z - m - anp.log(anp.sum(anp.exp(z - m), axis=1, keepdims=True))
        return -anp.mean(logp[rows, y])

    grads = autograd.grad(loss_fn)(params)
    for p, g in zip(params, grads, strict=True):
        p -= LR * g


def mygrad_mlp_step(X, y, params):
    W1, b1, W2, b2, W3, b3 = params
    h = mygrad.nnet.relu(mygrad.matmul(X, W1) + b1)
    h = mygrad.nnet.relu(mygrad.matmul(h, W2) + b2)
    z = mygrad.matmul(h, W3) + b3
    loss = mygrad.nnet.losses.softmax_crossentropy(z, y)
    loss.backward()
    for p in params:
        p.data -= LR * p.grad
        p.null_grad()


def mlp_steps(batch: int, dtype) -> dict[str, Callable[[], object]]:
    X, y, params = mlp_data(batch, dtype)
    ours = [ad.Tensor(p.copy(), requires_grad=True) for p in params]
    base = [p.copy() for p in params]
    fns = {"numpy": lambda: numpy_mlp_step(X, y, base), "chainrule": lambda: ours_mlp_step(X, y, ours)}
    if torch is not None:
        tX, ty = torch.from_numpy(X), torch.from_numpy(y)
        tp = [torch.tensor(p.copy(), requires_grad=True) for p in params]
        fns["pytorch"] = lambda: torch_mlp_step(tX, ty, tp)
    if autograd is not None:
        ap = [p.copy() for p in params]
        fns["hips autograd"] = lambda: autograd_mlp_step(X, y, ap)
    if mygrad is not None:
        mp = [mygrad.tensor(p.copy()) for p in params]
        fns["mygrad"] = lambda: mygrad_mlp_step(X, y, mp)
    return fns


def peak_bytes(fn: Callable[[], object]) -> int:
    """Peak bytes NumPy allocates during one call (tracemalloc sees NumPy's buffers)."""
    fn()
    tracemalloc.start()
    tracemalloc.reset_peak()
    start = tracemalloc.get_traced_memory()[0]
    fn()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak - start


# ------------------------------------------------------------------ report
def row(label: str, values: dict[str, str], columns: list[str]) -> str:
    return f"{label:<28}" + "".join(f"{values.get(c, '-'):>15}" for c in columns)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats")
    args = parser.parse_args(argv)
    repeat = 3 if args.quick else 7
    peers = ["chainrule"] + [name for name, mod in (("pytorch", torch), ("hips autograd", autograd),
                                                    ("mygrad", mygrad)) if mod is not None]
    print(f"Python {sys.version.split()[0]}, NumPy {np.__version__}"
          + (f", PyTorch {torch.__version__}" if torch is not None else ""))

    print("\n(a) per-op overhead, forward + backward, 1000-op chain on 10-element float64 arrays [us/op]")
    cols = ["numpy forward"] + peers
    fns = chain_fns(1000)
    times = {k: best_time(f, repeat, 20) / 1000 * 1e6 for k, f in fns.items()}
    print(row("", {c: c for c in cols}, cols))
    print(row("us per op", {k: f"{v:.2f}" for k, v in times.items()}, cols))
    if "pytorch" in times:
        print(f"chainrule / pytorch: {times['chainrule'] / times['pytorch']:.2f}x")

    print("\n(b) MLP 784-256-256-10, ReLU, softmax cross-entropy, SGD: one training step, "
          "ratio to hand-written NumPy")
    cols = ["numpy ms"] + peers
    print(row("", {c: c for c in cols}, cols))
    for dtype in (np.float32, np.float64):
        for batch in (32, 128, 1024):
            fns = mlp_steps(batch, dtype)
            number = max(2, 400 // batch)
            t = {k: best_time(f, repeat, number) for k, f in fns.items()}
            values = {"numpy ms": f"{t['numpy'] * 1e3:.2f}"}
            values.update({k: f"{t[k] / t['numpy']:.2f}x" for k in peers})
            print(row(f"{np.dtype(dtype).name} batch {batch}", values, cols))

    print("\n(c) 100,000-op chain (mul, add, tanh), forward + backward [us/op]")
    cols = ["chainrule"] + (["pytorch"] if torch is not None else [])
    fns = chain_fns(100_002)
    t = {k: best_time(fns[k], max(1, repeat // 3), 1) / 100_002 * 1e6 for k in cols}
    print(row("", {c: c for c in cols}, cols))
    print(row("us per op", {k: f"{v:.2f}" for k, v in t.items()}, cols))

    print("\n(d) peak memory of one training step (NumPy allocations, tracemalloc)")
    for dtype in (np.float32,):
        for batch in (128, 1024):
            fns = mlp_steps(batch, dtype)
            base, ours = peak_bytes(fns["numpy"]), peak_bytes(fns["chainrule"])
            print(f"{np.dtype(dtype).name} batch {batch}: numpy {base / 2**20:.2f} MiB, "
                  f"chainrule {ours / 2**20:.2f} MiB, ratio {ours / base:.2f}x")


if __name__ == "__main__":
    main()
