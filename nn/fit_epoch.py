"""``fit(compile=True)``: an epoch of compiled steps without the per-call checks.

Inside one epoch of ``fit`` over array data nothing a compiled step checks at every
call can change between batches: the batches come from ``fit``'s own DataLoader,
callbacks, schedulers and the progress display act between epochs, and the labels are
checked once for the whole array. So the step's cache is consulted once per batch shape
and epoch, and each batch then calls the compiled program directly: the rows of many
batches are gathered at once (the same ``permutation`` call of the loader's Generator,
so the same batches), and the loss and the correct predictions are summed as ``fit``'s
per-batch loop sums them, with the same error, naming the batch, for a non-finite loss.
The step counts, the gradients in ``p.grad`` and the optimizer state are brought up to
date once, as ``step()`` leaves them. A batch shape whose step is not compiled yet (the
first calls trace and verify), or whose program checks values of its own (guards, see
``autodiff.compile.decide``) or was verified for one batch's values only, goes through
``step()``. Anything else (a DataLoader over a dataset, a progress bar, labels out of
range, targets other than class labels or regression arrays) leaves the epoch to the
per-batch loop. ``nn.fit_numba`` runs whole epochs inside numba with the same rules.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from autodiff.compile.jit import Compiled

from .data import DataLoader, default_collate


def applicable(step: Any, loader: Any, loss_fn: Any, kind: str | None) -> bool:
    """Whether an epoch of ``loader`` may run without the per-batch loop: array data
    from fit's own kind of loader, a flat optimizer, and labels that every step takes."""
    if type(loader) is not DataLoader or loader.arrays is None or len(loader.arrays) != 2 or loader._single \
            or loader.drop_last or loader.collate_fn is not default_collate or step.flat is None:
        return False
    X, y = loader.arrays
    if kind not in (None, "multiclass"):
        return False
    ignore = getattr(loss_fn, "ignore_index", None)
    if ignore is not None and np.count_nonzero(y == ignore):
        return False  # such rows leave the accuracy (and a compiled step does not take them)
    if step._labels and y.dtype.kind in "iu":
        c = step.output.shape[-1] if step.output is not None else None
        if c is None or y.ndim != 1 or not y.size or y.min() < 0 or y.max() >= c:
            return False  # the per-batch loop raises at the batch that holds a bad label
    return kind is None or (y.ndim == 1 and y.dtype.kind in "iu")


def step_numbers(flat: Any, t0: int, steps: int) -> list[int]:
    """Each step's t as ``FlatOptimizer.step_number`` would give it: Adam counts; for SGD
    t only says whether the momentum buffer exists yet (1 before the first step)."""
    if flat.adam:
        return list(range(t0, t0 + steps))
    return [t0] + [2] * (steps - 1) if flat.keys else [t0] * steps


def advance(step: Any, steps: int, out: np.ndarray) -> None:
    """The book-keeping of ``steps`` compiled steps: step counts, state, gradients, output."""
    flat = step.flat
    flat.after_step()
    if flat.adam and steps > 1:
        for st in flat._states:
            st["step"] += steps - 1
    step.output = out


def loss_error(value: float, epoch: int, batch: int) -> FloatingPointError:
    """fit's error for a loss that became NaN or infinite (epoch and batch count from 0)."""
    return FloatingPointError(f"fit: the loss became {value} at epoch {epoch + 1}, batch {batch + 1} "
                              f"(try a smaller learning rate, or detect_anomaly() to find the op)")


_UNSEEN = object()
GATHER_BYTES = 1 << 23  # the rows of this many bytes of batches are gathered in one call


def _batches(X: np.ndarray, y: np.ndarray, order: np.ndarray | None, bs: int) -> Any:
    """The epoch's batches, as the DataLoader gives them: the rows of many batches are
    gathered at once (one ``take`` per ``GATHER_BYTES`` of rows), each batch a slice of them."""
    n = len(y)
    rows_per_chunk = max(1, GATHER_BYTES // max(X[0].nbytes + y[0].nbytes, 1) // bs) * bs
    for c0 in range(0, n, rows_per_chunk):
        c1 = min(c0 + rows_per_chunk, n)
        if order is None:
            Xc, yc = X[c0:c1], y[c0:c1]
        else:
            Xc, yc = X.take(order[c0:c1], axis=0), y.take(order[c0:c1], axis=0)
        for s in range(0, c1 - c0, bs):
            yield Xc[s:s + bs], yc[s:s + bs]


class _Hits:
    """An epoch's correct predictions, counted in bulk: each batch's output is copied into
    a buffer (one call) whose argmax is compared with the labels of its rows (the
    epoch's rows, in order) when it is full and at the end."""

    size = 1 << 20  # bytes of outputs held at most

    def __init__(self, y: np.ndarray, order: np.ndarray | None) -> None:
        self.y, self.order = y, order
        self.buf: np.ndarray | None = None
        self.first = self.filled = self.count = 0

    def add(self, out: np.ndarray) -> None:
        rows = out.shape[0]
        if self.buf is None:
            per_row = max(out[0].nbytes, 1)
            self.buf = np.empty((max(rows, min(len(self.y), self.size // per_row)), *out.shape[1:]), out.dtype)
        if self.filled + rows > len(self.buf):
            self._count()
        self.buf[self.filled:self.filled + rows] = out
        self.filled += rows

    def _count(self) -> None:
        if self.buf is not None and self.filled:
            end = self.first + self.filled
            labels = self.y[self.order[self.first:end]] if self.order is not None else self.y[self.first:end]
            self.count += int(np.count_nonzero(self.buf[:self.filled].argmax(axis=1) == labels))
            self.first, self.filled = end, 0

    def total(self) -> int:
        """The correct predictions of every row added."""
        self._count()
        return self.count


def _compiled(step: Any, xb: np.ndarray, yb: np.ndarray) -> tuple[Any, Any, bool] | None:
    """The compiled program of the batch's shape, if its guards hold now and it checks no
    values of its own: the program, the closure's arrays (None: read at every call) and
    whether it writes module state."""
    entry = step._cache.get(step._key((xb, yb), {}))
    if type(entry) is not Compiled or not entry.captured_match() or entry.program.guards \
            or entry.only_for is not None:  # guarded, or verified for one batch's values only: step() decides
        return None
    params = {id(p) for p in step.params}
    static = all(id(c) in params for c in entry.captured)
    return entry, tuple(c._data for c in entry.captured) if static else None, bool(entry.program.state_writes)


def run_epoch(step: Any, loss_fn: Any, kind: str | None, epoch: int, loader: Any) -> dict[str, float] | None:
    """The logs of one epoch of compiled steps, or None when the per-batch loop must run it."""
    step._refresh()
    if not applicable(step, loader, loss_fn, kind):
        return None
    step.flat.sync()
    X, y = loader.arrays
    n = loader.n_samples
    order = loader.rng.permutation(n) if loader.shuffle else None
    hits = _Hits(y, order) if kind else None
    total = _steps(step, _batches(X, y, order, loader.batch_size), epoch, hits)
    logs = {"loss": total / n}
    if hits is not None:
        logs["accuracy"] = hits.total() / n
    return logs


def _steps(step: Any, batches: Any, epoch: int, hits: _Hits | None) -> float:
    """Run every batch's step; the sum of loss times rows. The compiled calls are booked
    (``advance``) before any call of ``step()`` and at the end, however the loop ends."""
    flat, lr = step.flat, step.optimizer.lr
    adam, momentum = flat.adam, bool(flat.keys)
    ready: dict[int, Any] = {}
    total, t, done, out = 0.0, flat.step_number(), 0, None
    try:
        for batch, (xb, yb) in enumerate(batches):
            rows = len(yb)
            fast = ready.get(rows, _UNSEEN)
            if fast is _UNSEEN:
                done = _book(step, done, out)
                t, fast = flat.step_number(), _compiled(step, xb, yb)
                ready[rows] = fast
            if fast is not None:
                entry, args, writes = fast
                outs = entry.fn(xb, yb, *(args if args is not None else [c._data for c in entry.captured]), lr, t)
                done, out, step.ran = done + 1, outs[1], entry
                if writes:
                    step._write_back(entry, outs)
                value, t = float(outs[0]), t + 1 if adam else (2 if momentum else t)
            else:
                done = _book(step, done, out)
                value, out = step(xb, yb), step.output
                flat.sync()  # the call may have stepped eagerly (new arrays) and compiled this shape's step
                del ready[rows]
                t = flat.step_number()
            if not math.isfinite(value):
                raise loss_error(value, epoch, batch)
            total += value * rows
            if hits is not None:
                hits.add(out)
    finally:  # an error or Ctrl-C too: the steps taken are booked
        _book(step, done, out)
    return total


def _book(step: Any, done: int, out: np.ndarray | None) -> int:
    """Book ``done`` compiled calls (the last one's output ``out``); 0, the calls left."""
    if done and out is not None:
        advance(step, done, out)
    return 0
