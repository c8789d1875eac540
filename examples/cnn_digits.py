"""A small CNN on scikit-learn's 8x8 digits, trained with nn and (when installed) PyTorch.

conv 3x3 (1 -> 16) - ReLU - max-pool 2 - conv 3x3 (16 -> 32) - ReLU - max-pool 2 -
flatten - linear (128 -> 64) - ReLU - dropout 0.3 - linear (64 -> 10), Adam, batch 32,
float32, one thread each. PyTorch trains the same model from the same initial weights
(``nn.to_torch_state_dict``: conv weights already have PyTorch's layout, Linear weights
are transposed) on the same batches, so the accuracies and training times are side by
side (only the dropout masks differ: each framework draws its own).

    python examples/cnn_digits.py [--epochs 30] [--quick]
"""

from __future__ import annotations

import os

# Small matrices: one BLAS thread is faster than several, and far faster on a busy machine.
# Set before NumPy loads, only when run as a script; a value you exported yourself wins.
if __name__ == "__main__":
    for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "BLIS_NUM_THREADS"):
        os.environ.setdefault(_var, "1")

import time  # noqa: E402

import numpy as np  # noqa: E402
from common import parser  # noqa: E402

import autodiff as ad  # noqa: E402
import nn  # noqa: E402
from nn import optim  # noqa: E402


def make_model(seed: int) -> nn.Sequential:
    """The CNN; float32 weights drawn from one seeded Generator."""
    rng = np.random.default_rng(seed)
    return nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1, rng=rng, dtype=np.float32), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1, rng=rng, dtype=np.float32), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(128, 64, rng=rng, dtype=np.float32), nn.ReLU(), nn.Dropout(0.3, rng=rng),
        nn.Linear(64, 10, rng=rng, dtype=np.float32),
    )


def batch_orders(n: int, epochs: int, batch_size: int, seed: int) -> list[list[np.ndarray]]:
    """The mini-batches of every epoch, drawn once so both frameworks see the same ones."""
    rng = np.random.default_rng(seed)
    return [np.array_split(order, range(batch_size, n, batch_size)) for order in
            (rng.permutation(n) for _ in range(epochs))]


def train_ours(model: nn.Sequential, X: np.ndarray, y: np.ndarray, orders: list, lr: float) -> tuple[float, float]:
    """Adam on cross-entropy; returns the wall-clock and CPU training times in seconds."""
    loss_fn, opt = nn.CrossEntropyLoss(), optim.Adam(model.parameters(), lr=lr)
    model.train()
    start, cpu = time.perf_counter(), time.process_time()
    for epoch in orders:
        for idx in epoch:
            opt.zero_grad()
            loss_fn(model(X[idx]), y[idx]).backward()
            opt.step()
    return time.perf_counter() - start, time.process_time() - cpu


def accuracy_ours(model: nn.Sequential, X: np.ndarray, y: np.ndarray) -> float:
    model.eval()
    with ad.no_grad():
        return float((model(X).numpy().argmax(axis=1) == y).mean())


def torch_copy(model: nn.Sequential):
    """The same network in PyTorch with nn's initial weights."""
    import torch

    t = torch.nn.Sequential(
        torch.nn.Conv2d(1, 16, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Conv2d(16, 32, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Flatten(), torch.nn.Linear(128, 64), torch.nn.ReLU(), torch.nn.Dropout(0.3),
        torch.nn.Linear(64, 10),
    )
    t.load_state_dict({k: torch.from_numpy(v) for k, v in nn.to_torch_state_dict(model).items()})
    return t


def train_torch(model, X: np.ndarray, y: np.ndarray, orders: list, lr: float) -> tuple[float, float]:
    import torch

    torch.manual_seed(0)  # its dropout masks
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y)
    loss_fn, opt = torch.nn.CrossEntropyLoss(), torch.optim.Adam(model.parameters(), lr=lr)
    model.train()
    start, cpu = time.perf_counter(), time.process_time()
    for epoch in orders:
        for idx in epoch:
            opt.zero_grad()
            loss_fn(model(Xt[idx]), yt[idx]).backward()
            opt.step()
    return time.perf_counter() - start, time.process_time() - cpu


def accuracy_torch(model, X: np.ndarray, y: np.ndarray) -> float:
    import torch

    model.eval()
    with torch.no_grad():
        return float((model(torch.from_numpy(X)).numpy().argmax(axis=1) == y).mean())


def main(argv=None) -> dict:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--epochs", type=int, default=30, help="training epochs")
    p.add_argument("--lr", type=float, default=2e-3, help="Adam's learning rate")
    p.add_argument("--no-torch", action="store_true", help="skip the PyTorch comparison")
    args = p.parse_args(argv)
    epochs = 1 if args.quick else args.epochs
    X_train, X_test, y_train, y_test = nn.datasets.load_digits(seed=args.seed)
    if args.quick:
        X_train, y_train = X_train[:256], y_train[:256]
    X_train, X_test = (a.reshape(-1, 1, 8, 8).astype(np.float32) for a in (X_train, X_test))
    y_train, y_test = y_train.astype(np.int64), y_test.astype(np.int64)
    orders = batch_orders(len(X_train), epochs, 32, args.seed)
    model = make_model(args.seed)
    print(model)
    try:
        if args.no_torch:
            raise ImportError
        import torch

        torch.set_num_threads(1)
    except ImportError:
        torch = None
    twin = torch_copy(model) if torch is not None else None
    wall, cpu = train_ours(model, X_train, y_train, orders, args.lr)
    result = {"ours": accuracy_ours(model, X_test, y_test), "ours_seconds": wall}
    print(f"{len(X_train)} training images, {len(X_test)} test images, {epochs} epochs of batch 32")
    print(f"chainrule nn   test accuracy {result['ours']:.2%}   training {wall:5.1f} s ({cpu:.1f} s CPU)")
    if twin is not None:
        wall, cpu = train_torch(twin, X_train, y_train, orders, args.lr)
        result.update(torch=accuracy_torch(twin, X_test, y_test), torch_seconds=wall)
        print(f"PyTorch {torch.__version__.split('+')[0]:6s} test accuracy {result['torch']:.2%}   "
              f"training {wall:5.1f} s ({cpu:.1f} s CPU, {torch.get_num_threads()} thread)")
    else:
        print("PyTorch is not installed (or --no-torch): no comparison")
    return result


if __name__ == "__main__":
    main()
