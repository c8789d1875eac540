"""Per-op overhead of every registered primitive and composite, against PyTorch CPU.

For each registry entry, one input case is drawn by its own sampler (small arrays: what
is measured is the cost per op, not NumPy's arithmetic); then forward + backward of
``sum(u * f(x))`` is timed for autodiff and, when PyTorch is installed and has a function
of the same name taking the same arguments, for PyTorch (``torch.<name>``,
``torch.linalg.<name>`` or ``torch.nn.functional.<name>``, with ``axis``/``keepdims``
passed as ``dim``/``keepdim``). The two are run interleaved, ``--repeat`` times each; the
table gives min and median in microseconds and the ratios autodiff / PyTorch of the mins
and of the medians (on a busy machine the mins are the steadier).

    python benchmarks/bench_ops.py             # every entry
    python benchmarks/bench_ops.py exp matmul  # some
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable
from typing import Any

import numpy as np

import autodiff as ad
from autodiff.primitive import REGISTRY
from autodiff.sampling import RandomDraw

try:
    import torch

    torch.set_num_threads(1)
except ImportError:
    torch = None

_RENAMED = {"axis": "dim", "keepdims": "keepdim"}
_TORCH_NAME = {"add": "add", "sub": "sub", "mul": "mul", "div": "div", "neg": "neg", "pow": "pow"}


def _blas_threads() -> str:
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        if var in os.environ:
            return f"{var}={os.environ[var]}"
    return "BLAS threads: library default (set OPENBLAS_NUM_THREADS=1 for stable numbers)"


def _ours(entry: Any, args: list, params: dict, wrt: tuple[int, ...], u: np.ndarray) -> Callable[[], None]:
    def run() -> None:
        xs = [ad.Tensor(a, requires_grad=True) if k in wrt else a for k, a in enumerate(args)]
        out = entry(*xs, **params)
        if out.requires_grad:  # (a constant, e.g. matrix_power with n = 0, has no backward)
            ad.gradients(out, [xs[k] for k in wrt], grad_outputs=[u])
    return run


def _torch_fn(name: str) -> Callable[..., Any] | None:
    if torch is None:
        return None
    name = _TORCH_NAME.get(name, name)
    for space in (torch.linalg, torch, torch.nn.functional):
        fn = getattr(space, name, None)
        if callable(fn):
            return fn
    return None


def _theirs(name: str, args: list, params: dict, wrt: tuple[int, ...], u: np.ndarray) -> Callable[[], None] | None:
    fn = _torch_fn(name)
    if fn is None:
        return None
    kwargs = {_RENAMED.get(k, k): v for k, v in params.items() if v is not None or k != "axis"}
    if kwargs.get("dim", 0) is None:
        kwargs.pop("dim")
    gu = torch.from_numpy(u)

    def run() -> None:
        xs = [torch.tensor(a, requires_grad=k in wrt) if isinstance(a, np.ndarray) else a
              for k, a in enumerate(args)]
        out = fn(*xs, **kwargs)
        torch.autograd.grad(out, [xs[k] for k in wrt], grad_outputs=gu)
    try:  # same arguments, same values: otherwise this entry has no PyTorch column
        xs = [torch.tensor(a) if isinstance(a, np.ndarray) else a for a in args]
        with torch.no_grad():
            got = fn(*xs, **kwargs)
        want = entry_value(name, args, params)
        if not isinstance(got, torch.Tensor) or tuple(got.shape) != want.shape or \
                not np.allclose(got.numpy(), want, rtol=1e-6, atol=1e-9):
            return None
        run()
    except Exception:
        return None
    return run


def entry_value(name: str, args: list, params: dict) -> np.ndarray:
    """autodiff's forward value of a registry entry (no graph)."""
    with ad.no_grad():
        return np.asarray(REGISTRY[name](*[ad.Tensor(a) if isinstance(a, np.ndarray) else a for a in args],
                                         **params).numpy())


def _interleaved(fns: list[Callable[[], None]], repeat: int, number: int) -> list[list[float]]:
    times: list[list[float]] = [[] for _ in fns]
    for fn in fns:
        fn()
    for _ in range(repeat):
        for k, fn in enumerate(fns):
            start = time.perf_counter()
            for _ in range(number):
                fn()
            times[k].append((time.perf_counter() - start) / number * 1e6)
    return times


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="registry entries (default: all)")
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--number", type=int, default=50)
    args = parser.parse_args(argv)
    print(_blas_threads(), "| PyTorch", torch.__version__ + ", 1 thread" if torch is not None else "not installed")
    print(f"{'op':<16}{'autodiff min':>13}{'median':>9}{'torch min':>11}{'median':>9}{'ratio min':>10}"
          f"{'median':>8}   (µs, fwd+bwd)")
    ratios, median_ratios = [], []
    for name in args.names or sorted(REGISTRY):
        entry = REGISTRY[name]
        case = entry.sample(RandomDraw(np.random.default_rng(0)), np.float64)
        wrt = case.positions()
        if not wrt:
            continue
        u = np.ones(entry_value(name, case.args, case.params).shape)
        fns = [_ours(entry, case.args, case.params, wrt, u)]
        theirs = _theirs(name, case.args, case.params, wrt, u)
        if theirs is not None:
            fns.append(theirs)
        times = _interleaved(fns, args.repeat, args.number)
        row = f"{name:<16}{min(times[0]):>13.1f}{statistics.median(times[0]):>9.1f}"
        if theirs is not None:
            ratio = min(times[0]) / min(times[1])
            median_ratio = statistics.median(times[0]) / statistics.median(times[1])
            ratios.append(ratio)
            median_ratios.append(median_ratio)
            row += f"{min(times[1]):>11.1f}{statistics.median(times[1]):>9.1f}{ratio:>10.2f}{median_ratio:>8.2f}"
        print(row)
    if ratios:
        print(f"{len(ratios)} ops beside PyTorch: ratio of mins, median over ops {statistics.median(ratios):.2f} "
              f"(best {min(ratios):.2f}, worst {max(ratios):.2f}); ratio of medians, median over ops "
              f"{statistics.median(median_ratios):.2f}")


if __name__ == "__main__":
    main()
