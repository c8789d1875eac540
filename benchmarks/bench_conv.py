"""Convolution and pooling against PyTorch CPU: forward + backward time per call.

One BLAS thread for NumPy and one thread for PyTorch (set before NumPy loads), the two
timed interleaved in the same run, float32. Each line gives the min and median time
per forward+backward over the repeats and chainrule's ratio to PyTorch (min / median).

(1) Conv2d layers: the digits CNN's two (8x8 and 4x4 inputs), CIFAR-sized 3x3 layers
    (stride 1 and 2), a dilated one and a depthwise one (groups = channels);
(2) MaxPool2d 2x2, AvgPool2d 3x3 with padding, AdaptiveAvgPool2d(1);
(3) one Adam training step of the examples/cnn_digits.py model, batch 32.

    python benchmarks/bench_conv.py [--quick]
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "BLIS_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402

import autodiff as ad  # noqa: E402
import nn  # noqa: E402
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


def blas_threads() -> str:
    """The BLAS libraries NumPy loaded and their thread counts."""
    if threadpool_info is None:
        return "threadpoolctl not installed; OMP/OPENBLAS/MKL_NUM_THREADS=1"
    return ", ".join(f"{p['internal_api']} {p['num_threads']} thread(s)" for p in threadpool_info()) or "none found"


def interleaved(contenders: dict[str, Callable[[], object]], repeat: int, number: int) -> dict[str, list[float]]:
    """Per-call times of each contender, ``number`` calls per round, rounds alternating between them."""
    for c in contenders.values():
        c()  # warm up
    times: dict[str, list[float]] = {name: [] for name in contenders}
    for _ in range(repeat):
        for name, c in contenders.items():
            start = time.perf_counter()
            for _ in range(number):
                c()
            times[name].append((time.perf_counter() - start) / number)
    return times


def report(title: str, times: dict[str, list[float]]) -> None:
    ours = times["chainrule"]
    line = f"  {title:44s} {min(ours) * 1e3:9.3f} {statistics.median(ours) * 1e3:9.3f}"
    if "pytorch" in times:
        theirs = times["pytorch"]
        line += (f" {min(theirs) * 1e3:9.3f} {statistics.median(theirs) * 1e3:9.3f}   "
                 f"{min(ours) / min(theirs):5.2f}x / {statistics.median(ours) / statistics.median(theirs):5.2f}x")
    print(line)


def layer_pair(ours: nn.Module, theirs: Any, shape: tuple[int, ...]) -> dict[str, Callable[[], object]]:
    """Forward + backward (sum of the output) of the same layer in both frameworks."""
    x = np.random.default_rng(0).normal(size=shape).astype(np.float32)

    def run_ours():
        t = ad.Tensor(x, requires_grad=True)
        ours(t).sum().backward()
        return t.grad

    contenders: dict[str, Callable[[], object]] = {"chainrule": run_ours}
    if theirs is not None:
        def run_theirs():
            t = torch.tensor(x, requires_grad=True)
            theirs(t).sum().backward()
            return t.grad

        contenders["pytorch"] = run_theirs
    return contenders


def conv_layer(c: int, o: int, k: int, **kw: Any) -> tuple[nn.Module, Any]:
    ours = nn.Conv2d(c, o, k, seed=0, dtype=np.float32, **kw)
    if torch is None:
        return ours, None
    theirs = torch.nn.Conv2d(c, o, k, **kw)
    theirs.load_state_dict({name: torch.tensor(v) for name, v in ours.state_dict().items()})
    return ours, theirs


CONVS = [
    ("digits conv 1->16, 8x8, k3 p1, batch 32", (1, 16, 3), {"padding": 1}, (32, 1, 8, 8)),
    ("digits conv 16->32, 4x4, k3 p1, batch 32", (16, 32, 3), {"padding": 1}, (32, 16, 4, 4)),
    ("conv 3->32, 32x32, k3 p1, batch 32", (3, 32, 3), {"padding": 1}, (32, 3, 32, 32)),
    ("conv 32->64, 16x16, k3 s2 p1, batch 32", (32, 64, 3), {"padding": 1, "stride": 2}, (32, 32, 16, 16)),
    ("conv 16->16, 16x16, k3 dilation 2, batch 32", (16, 16, 3), {"dilation": 2}, (32, 16, 16, 16)),
    ("depthwise conv 32, 16x16, k3 p1, batch 32", (32, 32, 3), {"padding": 1, "groups": 32}, (32, 32, 16, 16)),
]


def pools() -> list[tuple[str, nn.Module, Any, tuple[int, ...]]]:
    t = torch.nn if torch is not None else None
    return [
        ("MaxPool2d(2), (32, 32, 32, 32)", nn.MaxPool2d(2), t and t.MaxPool2d(2), (32, 32, 32, 32)),
        ("AvgPool2d(3, 2, 1), (32, 32, 32, 32)", nn.AvgPool2d(3, 2, 1), t and t.AvgPool2d(3, 2, 1), (32, 32, 32, 32)),
        ("AdaptiveAvgPool2d(1), (32, 64, 8, 8)", nn.AdaptiveAvgPool2d(1), t and t.AdaptiveAvgPool2d(1),
         (32, 64, 8, 8)),
    ]


def training_step() -> dict[str, Callable[[], object]]:
    """One Adam step of the digits CNN (examples/cnn_digits.py) on a fixed batch of 32."""
    rng = np.random.default_rng(0)
    X, y = rng.random((32, 1, 8, 8)).astype(np.float32), rng.integers(0, 10, 32)
    model = nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1, rng=rng, dtype=np.float32), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1, rng=rng, dtype=np.float32), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(128, 10, rng=rng, dtype=np.float32))
    loss, opt = nn.CrossEntropyLoss(), optim.Adam(model.parameters(), lr=1e-3)

    def ours():
        opt.zero_grad()
        loss(model(X), y).backward()
        opt.step()

    contenders: dict[str, Callable[[], object]] = {"chainrule": ours}
    if torch is not None:
        tm = torch.nn.Sequential(
            torch.nn.Conv2d(1, 16, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
            torch.nn.Conv2d(16, 32, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
            torch.nn.Flatten(), torch.nn.Linear(128, 10))
        tm.load_state_dict({k: torch.tensor(v) for k, v in nn.to_torch_state_dict(model).items()})
        tloss, topt = torch.nn.CrossEntropyLoss(), torch.optim.Adam(tm.parameters(), lr=1e-3)
        tX, ty = torch.tensor(X), torch.tensor(y)

        def theirs():
            topt.zero_grad()
            tloss(tm(tX), ty).backward()
            topt.step()

        contenders["pytorch"] = theirs
    return contenders


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats (a smoke test)")
    args = parser.parse_args()
    repeat, number = (3, 2) if args.quick else (15, 10)
    print(f"BLAS: {blas_threads()}; NumPy {np.__version__}; "
          f"PyTorch {torch.__version__ + ' (1 thread)' if torch else 'not installed'}; float32")
    print(f"  {'forward + backward, ms per call':44s} {'ours min':>9s} {'median':>9s} {'torch min':>9s} "
          f"{'median':>9s}   ratio ours/torch (min / median)")
    for title, (c, o, k), kw, shape in CONVS:
        ours, theirs = conv_layer(c, o, k, **kw)
        report(title, interleaved(layer_pair(ours, theirs, shape), repeat, number))
    for title, ours, theirs, shape in pools():
        report(title, interleaved(layer_pair(ours, theirs, shape), repeat, number))
    report("digits CNN Adam training step, batch 32", interleaved(training_step(), repeat, number))


if __name__ == "__main__":
    if threadpool_limits is not None:
        with threadpool_limits(limits=1):
            main()
    else:
        main()
