"""Compiled mode against hand-written NumPy, chainrule eager, PyTorch eager and JAX jit.

One BLAS thread (set before NumPy loads), every contender timed interleaved in the
same run; each line gives the min and median time per step over the repeats and the
ratio of each to hand-written NumPy's (min / median).

(1) MLP 784-256-256-10, ReLU, softmax cross-entropy, SGD: one training step at batch
    32, 128 and 1024, float32 and float64;
(2) digits (1797 x 64) 64-50-10, Adam, batch 32, 50 epochs with ``nn.fit`` (PyTorch and
    JAX run the same batches in a Python loop, JAX with a jitted step compiled before timing);
(3) the one-time cost of tracing and compiling a step.

Times are the process's CPU time by default (every contender runs on one thread): on a
shared machine, wall-clock time also counts the moments another process held the core.
``--clock wall`` measures wall-clock time instead.

    python benchmarks/bench_compile.py [--quick] [--clock process|wall]
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "BLIS_NUM_THREADS"):
    os.environ[_var] = "1"
# XLA's CPU backend on one thread too (read when JAX loads)
os.environ.setdefault("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1")

import argparse  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402
from baselines import adam_update, init_params, model_from, numpy_grads, torch_mlp, torch_train  # noqa: E402

import nn  # noqa: E402
from autodiff.compile.codegen import CODE_CACHE  # noqa: E402
from nn import optim  # noqa: E402

try:
    from threadpoolctl import threadpool_info, threadpool_limits
except ImportError:  # the thread count then rests on the environment variables above
    threadpool_info = threadpool_limits = None
try:
    import torch

    torch.set_num_threads(1)
except ImportError:
    torch = None
try:
    import numba
except ImportError:
    numba = None
try:
    import jax
    import jax.numpy as jnp

    jax.config.update("jax_enable_x64", True)  # float64 rows in float64 (float32 arrays stay float32)
except ImportError:
    jax = None


def blas_threads() -> str:
    """The BLAS libraries NumPy loaded and their thread counts."""
    if threadpool_info is None:
        return "threadpoolctl not installed; OMP/OPENBLAS/MKL_NUM_THREADS=1"
    return ", ".join(f"{p['internal_api']} {p['num_threads']} thread(s)" for p in threadpool_info()) or "none found"


# ------------------------------------------------------------------ hand-written NumPy
def numpy_sgd_step(params, X, y, lr):
    loss, grads = numpy_grads(params, X, y)
    for p, g in zip(params, grads, strict=True):
        p -= lr * g
    return loss


def batch_indices(n, batch_size, epochs, seed):
    """Each step's sample indices: a fresh permutation per epoch from one seeded Generator,
    so every contender of the digits run sees the same batches."""
    rng = np.random.default_rng(seed)
    for _ in range(epochs):
        order = rng.permutation(n)
        for start in range(0, n, batch_size):
            yield order[start:start + batch_size]


def numpy_adam_fit(params, X, y, lr, batch_size, epochs, seed):
    m = [np.zeros_like(p) for p in params]
    v = [np.zeros_like(p) for p in params]
    for t, idx in enumerate(batch_indices(len(X), batch_size, epochs, seed), start=1):
        adam_update(params, numpy_grads(params, X[idx], y[idx])[1], m, v, t, lr)


# --------------------------------------------------------------------------- chainrule
def eager_step(model, loss_fn, opt):
    def step(X, y):
        opt.zero_grad()
        loss = loss_fn(model(X), y)
        loss.backward()
        opt.step()
        return loss.item()

    return step


# ------------------------------------------------------------------ PyTorch and JAX
def torch_step(params, lr):
    ts = [torch.tensor(p.copy(), requires_grad=True) for p in params]
    opt = torch.optim.SGD(ts, lr=lr)

    def step(X, y):
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(torch_mlp(ts, torch.from_numpy(X)), torch.from_numpy(y))
        loss.backward()
        opt.step()
        return loss.item()

    return step


def torch_adam_fit(params, lr):
    """The digits run in PyTorch: the same batches (same Generator draws) and Adam."""

    def run(X, y, batch_size, epochs, seed):
        torch_train(params, X, y, lr, batch_indices(len(X), batch_size, epochs, seed), adam=True)

    return run


def jax_loss(ps, X, y):
    """The ReLU MLP's mean softmax cross-entropy in jax.numpy."""
    h = X
    for k in range(0, len(ps), 2):
        h = h @ ps[k] + ps[k + 1]
        if k < len(ps) - 2:
            h = jax.nn.relu(h)
    return -jnp.mean(jax.nn.log_softmax(h)[jnp.arange(len(y)), y])


def jax_adam_fit(params, lr, b1=0.9, b2=0.999, eps=1e-8):
    """The digits run with a jax.jit Adam step (compiled once per batch shape, before timing)."""

    @jax.jit
    def step(ps, m, v, t, X, y):
        grads = jax.grad(jax_loss)(ps, X, y)
        m = [b1 * mk + (1 - b1) * g for mk, g in zip(m, grads, strict=True)]
        v = [b2 * vk + (1 - b2) * g * g for vk, g in zip(v, grads, strict=True)]
        ps = [p - (lr / (1 - b1 ** t)) * mk / (jnp.sqrt(vk) / jnp.sqrt(1 - b2 ** t) + eps)
              for p, mk, vk in zip(ps, m, v, strict=True)]
        return ps, m, v

    def run(X, y, batch_size, epochs, seed):
        ps = [jnp.asarray(p) for p in params]
        m = [jnp.zeros_like(p) for p in ps]
        v = [jnp.zeros_like(p) for p in ps]
        for t, idx in enumerate(batch_indices(len(X), batch_size, epochs, seed), start=1):
            ps, m, v = step(ps, m, v, float(t), X[idx], y[idx])
        jax.block_until_ready(ps)

    return run


def jax_step(params, lr):
    @jax.jit
    def update(ps, X, y):
        loss, grads = jax.value_and_grad(jax_loss)(ps, X, y)
        return loss, [p - lr * g for p, g in zip(ps, grads, strict=True)]

    state = {"ps": [jnp.asarray(p) for p in params]}

    def step(X, y):
        loss, state["ps"] = update(state["ps"], X, y)
        return float(loss)

    return step


# ------------------------------------------------------------------------------ timing
CLOCK = {"process": time.process_time, "wall": time.perf_counter}
clock = time.process_time


def interleaved(contenders: dict, run_once, repeat: int) -> dict[str, list[float]]:
    """Time ``run_once(contender)`` for each contender in turn, ``repeat`` rounds."""
    times: dict[str, list[float]] = {name: [] for name in contenders}
    for _ in range(repeat):
        for name, c in contenders.items():
            start = clock()
            run_once(c)
            times[name].append(clock() - start)
    return times


def report(title: str, times: dict[str, list[float]], per: int, unit: str = "µs/step") -> None:
    base_min, base_med = min(times["numpy"]), statistics.median(times["numpy"])
    print(f"\n{title}")
    print(f"  {'':22s} {'min':>10s} {'median':>10s}   ratio to hand NumPy (min / median)")
    for name, ts in times.items():
        lo, med = min(ts), statistics.median(ts)
        scale, digits = (1e6 / per, 1) if unit == "µs/step" else (1.0, 3)
        print(f"  {name:22s} {lo * scale:10.{digits}f} {med * scale:10.{digits}f}   "
              f"{lo / base_min:5.2f}x / {med / base_med:5.2f}x")
    print(f"  ({unit})")


def bench_mlp(batch: int, dtype, repeat: int, steps: int) -> None:
    sizes = (784, 256, 256, 10)
    rng = np.random.default_rng(batch)
    batches = [(rng.normal(size=(batch, 784)).astype(dtype), rng.integers(0, 10, batch)) for _ in range(4)]
    params, lr, loss = init_params(sizes, dtype), 0.01, nn.CrossEntropyLoss()
    hand_params = [p.copy() for p in params]
    contenders: dict = {"numpy": lambda X, y: numpy_sgd_step(hand_params, X, y, lr)}
    m = model_from(params, sizes)
    contenders["chainrule eager"] = eager_step(m, loss, optim.SGD(m.parameters(), lr=lr))
    m = model_from(params, sizes)
    contenders["chainrule compiled"] = nn.compile_step(m, loss, optim.SGD(m.parameters(), lr=lr))
    if numba is not None:
        m = model_from(params, sizes)
        contenders["compiled, numba"] = nn.compile_step(m, loss, optim.SGD(m.parameters(), lr=lr), backend="numba")
    if torch is not None:
        contenders["pytorch eager"] = torch_step(params, lr)
    if jax is not None:
        contenders["jax jit"] = jax_step(params, lr)
    for c in contenders.values():  # warm up: traces, compiles, first allocations
        for X, y in batches:
            c(X, y)

    def run(c):
        for k in range(steps):
            X, y = batches[k % len(batches)]
            c(X, y)

    report(f"MLP 784-256-256-10 SGD step, batch {batch}, {np.dtype(dtype).name}",
           interleaved(contenders, run, repeat), steps)


def bench_digits(repeat: int, epochs: int) -> None:
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    X = X / 16.0
    sizes, lr = (64, 50, 10), 1e-3
    params = init_params(sizes, np.float64)

    def ours(compiled):
        def run():
            model = model_from(params, sizes)
            nn.fit(model, nn.CrossEntropyLoss(), optim.Adam(model.parameters(), lr=lr), X, y, epochs=epochs,
                   batch_size=32, progress=False, seed=0, compile=compiled)
        return run

    contenders = {"numpy": lambda: numpy_adam_fit([p.copy() for p in params], X, y, lr, 32, epochs, 0),
                  "chainrule eager": ours(False), "chainrule compiled": ours(True)}
    if numba is not None:
        contenders["compiled, numba"] = ours("numba")
    if torch is not None:
        torch_run = torch_adam_fit(params, lr)
        torch_run(X, y, 32, 1, 0)  # PyTorch's first-call initialisation, untimed
        contenders["pytorch eager"] = lambda: torch_run(X, y, 32, epochs, 0)
    if jax is not None:
        jax_run = jax_adam_fit(params, lr)
        jax_run(X, y, 32, 1, 0)  # compiles the step for the full and the last batch's shape, untimed
        contenders["jax jit"] = lambda: jax_run(X, y, 32, epochs, 0)
    times = interleaved(contenders, lambda c: c(), repeat)
    report(f"digits 64-50-10, Adam, batch 32, {epochs} epochs (nn.fit; hand NumPy loop)", times, 1, unit="s/run")


def bench_compile_cost(dtype) -> None:
    sizes = (784, 256, 256, 10)
    params = init_params(sizes, dtype)
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(128, 784)).astype(dtype), rng.integers(0, 10, 128)
    m = model_from(params, sizes)
    step = nn.compile_step(m, nn.CrossEntropyLoss(), optim.SGD(m.parameters(), lr=0.01))
    CODE_CACHE.clear()  # the MLP rows compiled this very program: its code is compiled anew here
    costs = []
    for _ in range(3):
        start = clock()
        step(X + 0.0, y)
        costs.append(clock() - start)
    print(f"\none-time cost (MLP 784-256-256-10, batch 128, {np.dtype(dtype).name}): first call (eager + trace) "
          f"{costs[0] * 1e3:.1f} ms, second (eager + trace + verify + codegen) {costs[1] * 1e3:.1f} ms; "
          f"a compiled call {costs[2] * 1e3:.2f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats and epochs (a smoke test)")
    parser.add_argument("--clock", choices=sorted(CLOCK), default="process",
                        help="CPU time of this process (default) or wall-clock time")
    args = parser.parse_args()
    global clock
    clock = CLOCK[args.clock]
    repeat = 3 if args.quick else 15
    print(f"BLAS: {blas_threads()}; NumPy {np.__version__}; "
          f"PyTorch {torch.__version__ + ' (1 thread)' if torch else 'not installed'}; "
          f"JAX {jax.__version__ if jax else 'not installed'}; "
          f"numba {numba.__version__ + ' (whole step)' if numba else 'not installed'}; "
          f"clock: {args.clock} time")
    for dtype in (np.float32, np.float64):
        for batch in (32, 128, 1024):
            bench_mlp(batch, dtype, repeat, steps=max(2, 2000 // batch) if not args.quick else 2)
    bench_digits(repeat=2 if args.quick else 7, epochs=2 if args.quick else 50)
    bench_compile_cost(np.float32)


if __name__ == "__main__":
    if threadpool_limits is not None:
        with threadpool_limits(limits=1):
            main()
    else:
        main()
