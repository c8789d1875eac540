"""``fit(compile="numba")``: a whole epoch of compiled steps inside numba.

Once the step of the full batch and the step of the last (partial) batch are both numba
kernels (from the third epoch on: each shape is traced twice before it compiles), an
epoch over array data runs as one numba function: it gathers each batch's rows in the
order the DataLoader's Generator gives (the same ``permutation`` call, so the same
batches), calls the step kernel, and sums the loss and the correct predictions as
``fit``'s Python loop does. Only per-epoch things are observable in ``fit`` (callbacks,
history, schedulers), so the epoch's logs are those of the per-batch loop; a non-finite
loss stops with the same error, naming the batch. Anything else (a DataLoader over a
dataset, a progress bar, labels out of range, targets other than class labels or
regression arrays) leaves the epoch to the per-batch loop.
"""

from __future__ import annotations

from typing import Any

import numba
import numpy as np

from autodiff.compile.codegen import build
from autodiff.compile.entries import Compiled

from .fit_epoch import advance, applicable, loss_error, step_numbers
from .flat_numba_step import NumbaKernel

_EPOCHS: dict[tuple[str, int, int], Any] = {}


def _epoch_source(n_full: int, n_last: int, buffers: tuple[int, int], scalars: tuple[int, int],
                  accuracy: bool) -> str:
    """An epoch: n_full batches through kernel ``kfull``, then one of n_last rows through ``klast``."""
    fb = [f"fb{k}" for k in range(buffers[0])]
    lb = [f"lb{k}" for k in range(buffers[1])]
    fs = [f"fs{k}" for k in range(scalars[0])]
    ls = [f"ls{k}" for k in range(scalars[1])]
    lines = ["total = 0.0", "correct = 0"]

    def batch(kernel: str, xb: str, yb: str, start: str, rows: str, bufs: list[str], sc: list[str], k: str,
              status: str) -> list[str]:
        body = [f"for i in range({rows}):", f"    r = order[{start} + i]", f"    {xb}[i] = X[r]", f"    {yb}[i] = Y[r]",
                f"res = {kernel}({xb}, {yb}, {', '.join(bufs + [f'{s}[{k}]' for s in sc])})",
                "value = np.float64(res[0])",
                "if not np.isfinite(value):", f"    return {status}, total, correct, value, res[1]",
                f"total += value * {rows}"]
        if accuracy:
            body += [f"for i in range({rows}):", "    out = res[1]", "    best = 0",
                     "    for j in range(1, out.shape[1]):", "        if out[i, j] > out[i, best]:",
                     "            best = j", f"    if best == {yb}[i]:", "        correct += 1"]
        return body

    if n_full:
        lines += ["for b in range(n_full):"]
        lines += ["    " + line for line in batch("kfull", "xb", "yb", "b * bs", "bs", fb, fs, "b", "b")]
    if n_last:
        lines += batch("klast", "xl", "yl", "n_full * bs", str(n_last), lb, ls, "0", "n_full")
    lines.append("return -1, total, correct, value, res[1]")
    args = ["X", "Y", "order", "n_full", "bs", "xb", "yb", "xl", "yl", *fb, *lb, *fs, *ls]
    return ("@numba.njit(error_model='numpy', cache=False, nogil=True)\n"
            f"def epoch({', '.join(args)}):\n" + "".join(f"    {line}\n" for line in lines))


def _epoch_fn(source: str, kfull: Any, klast: Any) -> Any:
    key = (source, id(kfull), id(klast))
    fn = _EPOCHS.get(key)
    if fn is None:
        fn = _EPOCHS[key] = build(source, {"np": np, "numba": numba, "kfull": kfull, "klast": klast}, "epoch")
    return fn


def _entry(step: Any, X: np.ndarray, y: np.ndarray, rows: int) -> NumbaKernel | None:
    """The step's numba kernel for a batch of ``rows`` rows, if it is compiled and current."""
    xb, yb = np.empty((rows, *X.shape[1:]), X.dtype), np.empty((rows, *y.shape[1:]), y.dtype)
    entry = step._cache.get(step._key((xb, yb), {}))
    kernel = getattr(entry, "numba_kernel", None)
    if type(entry) is not Compiled or not isinstance(kernel, NumbaKernel) or kernel.passed != [0, 1] \
            or not entry.captured_match() or entry.only_for is not None:  # (verified for one batch only)
        return None
    return kernel


def run_epoch(step: Any, loss_fn: Any, kind: str | None, epoch: int, loader: Any) -> dict[str, float] | None:
    """The logs of one epoch run inside numba, or None when the per-batch loop must run it."""
    if not applicable(step, loader, loss_fn, kind):
        return None
    X, y = loader.arrays
    n, bs = loader.n_samples, loader.batch_size
    n_full, n_last = divmod(n, bs)
    full = _entry(step, X, y, bs) if n_full else None
    last = _entry(step, X, y, n_last) if n_last else None
    if (n_full and full is None) or (n_last and last is None):
        return None
    if not all(k.holds_for((X, y)) for k in (full, last) if k is not None):
        return None  # (a label ignored, say: fit's per-batch loop runs the step, which checks its guards)
    flat = step.flat
    flat.sync()
    order = loader.rng.permutation(n) if loader.shuffle else np.arange(n)
    lr, t0 = step.optimizer.lr, flat.step_number()
    args: list[Any] = [X, y, order, n_full, bs]
    args += [np.empty((bs, *X.shape[1:]), X.dtype), np.empty((bs, *y.shape[1:]), y.dtype),
             np.empty((max(n_last, 1), *X.shape[1:]), X.dtype), np.empty((max(n_last, 1), *y.shape[1:]), y.dtype)]
    ts = step_numbers(flat, t0, n_full + (1 if n_last else 0))
    kernels = [k for k in [full] * n_full + [last] * (1 if n_last else 0) if k is not None]
    columns = list(zip(*[k.scalars(lr, t) for k, t in zip(kernels, ts, strict=True)], strict=True))
    n_sc = len(columns)
    full_sc = [np.asarray(c[:n_full]) for c in columns] if n_full else []
    last_sc = [np.asarray(c[n_full:]) for c in columns] if n_last else []
    source = _epoch_source(n_full, n_last, (len(full.buffers) if full else 0, len(last.buffers) if last else 0),
                           (n_sc if n_full else 0, n_sc if n_last else 0), kind == "multiclass")
    fn = _epoch_fn(source, full.kernel if full else None, last.kernel if last else None)
    args += (full.buffers if full else []) + (last.buffers if last else []) + full_sc + last_sc
    status, total, correct, value, out = fn(*args)
    advance(step, len(ts) if status < 0 else status + 1, out)
    if status >= 0:
        raise loss_error(value, epoch, status)
    logs = {"loss": total / n}
    if kind:
        logs["accuracy"] = correct / n
    return logs
