"""Forward against reverse mode: jacfwd and jacrev on tall and wide Jacobians, Hessians, hvp.

jacfwd makes one pass per input element, jacrev one per output element, so jacfwd
should win for a tall Jacobian (few inputs, many outputs) and jacrev for a wide one.
One BLAS thread (set before NumPy loads); the contenders of each case are timed
interleaved in the same run, and each line gives the min and median time per call
and the ratio to the other mode (min / median).

    python benchmarks/bench_transforms.py [--quick]
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "BLIS_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402

import numpy as np  # noqa: E402

import autodiff as ad  # noqa: E402

try:
    from threadpoolctl import threadpool_info
except ImportError:  # the thread count then rests on the environment variables above
    threadpool_info = None


def blas_threads() -> str:
    """The BLAS libraries NumPy loaded and their thread counts."""
    if threadpool_info is None:
        return "threadpoolctl not installed; OMP/OPENBLAS/MKL_NUM_THREADS=1"
    return ", ".join(f"{p['internal_api']} {p['num_threads']} thread(s)" for p in threadpool_info()) or "none found"


def interleaved(contenders: dict[str, Callable[[], object]], repeat: int) -> dict[str, list[float]]:
    """Time each contender once per round, rounds interleaved; seconds per call."""
    for fn in contenders.values():
        fn()  # warm up
    times: dict[str, list[float]] = {name: [] for name in contenders}
    for _ in range(repeat):
        for name, fn in contenders.items():
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    return times


def report(title: str, times: dict[str, list[float]], baseline: str) -> dict[str, float]:
    """Print min and median per contender with ratios to ``baseline``; return the min ratios."""
    base = times[baseline]
    print(f"\n{title}")
    ratios = {}
    for name, ts in times.items():
        r_min, r_med = min(ts) / min(base), statistics.median(ts) / statistics.median(base)
        ratios[name] = r_min
        print(f"  {name:<28} min {min(ts) * 1e3:8.2f} ms  median {statistics.median(ts) * 1e3:8.2f} ms  "
              f"x{r_min:5.2f} / x{r_med:5.2f} of {baseline}")
    return ratios


def layered(n_in: int, n_out: int, seed: int = 0) -> Callable:
    """A smooth map R^n_in → R^n_out through a hidden layer of 64: tanh, then sin·exp."""
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((64, n_in)) / np.sqrt(n_in)
    B = rng.standard_normal((n_out, 64)) / 8

    def f(x):
        h = ad.tanh(A @ x)
        z = B @ h
        return ad.sin(z) * ad.exp(0.1 * z)

    return f


def jacobian_case(label: str, n_in: int, n_out: int, repeat: int) -> dict[str, float]:
    f = layered(n_in, n_out)
    x = np.random.default_rng(1).standard_normal(n_in)
    np.testing.assert_allclose(ad.jacfwd(f)(x), ad.jacrev(f)(x), rtol=1e-10, atol=1e-12)
    times = interleaved({"jacfwd": lambda: ad.jacfwd(f)(x), "jacrev": lambda: ad.jacrev(f)(x)}, repeat)
    return report(f"{label} Jacobian: {n_out} outputs x {n_in} inputs", times, "jacrev")


def hessian_case(n: int, repeat: int) -> None:
    rng = np.random.default_rng(2)
    A = rng.standard_normal((n, n)) / np.sqrt(n)
    f = lambda x: ad.logsumexp(A @ ad.tanh(x)) + (x * x).sum() / 2
    x, v = rng.standard_normal(n), rng.standard_normal(n)
    H = ad.hessian(f)(x)
    np.testing.assert_allclose(ad.jacrev(ad.grad(f))(x), H, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(ad.hvp(f, x, v), H @ v, rtol=1e-9, atol=1e-12)
    times = interleaved({
        "hessian = jacfwd(grad)": lambda: ad.hessian(f)(x),
        "jacrev(grad)": lambda: ad.jacrev(ad.grad(f))(x),
        "hvp (no Hessian formed)": lambda: ad.hvp(f, x, v),
    }, repeat)
    report(f"Hessian of a scalar function of {n} inputs", times, "hessian = jacfwd(grad)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats, smaller sizes (a smoke test)")
    args = parser.parse_args()
    repeat = 3 if args.quick else 15
    big, small = (60, 3) if args.quick else (400, 4)
    print(f"BLAS: {blas_threads()}; NumPy {np.__version__}")
    tall = jacobian_case("tall", small, big, repeat)
    wide = jacobian_case("wide", big, small, repeat)
    hessian_case(20 if args.quick else 60, repeat)
    print(f"\njacrev/jacfwd (min): tall {1 / tall['jacfwd']:.1f}x in favour of jacfwd; "
          f"wide {wide['jacfwd']:.1f}x in favour of jacrev")


if __name__ == "__main__":
    main()
