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
first calls trace and verify) or was verified for one batch's values only goes through
``step()``, and so does a batch whose values fail a guard of the program (a decision on
values, see ``autodiff.compile.decide``: the program stops before any update). Labels
with rows labelled ``ignore_index`` (padding) make two cases per batch shape, batches
with and without such rows, each with its program (the fused loss's takes no ignored
rows), and their rows leave the accuracy as in the per-batch loop. Anything
else (a DataLoader over a dataset, a progress bar, labels out of range, targets other
than class labels or regression arrays) leaves the epoch to the per-batch loop.
``nn.fit_numba`` runs whole epochs inside numba with the same rules (labels without
ignored rows only).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from autodiff.compile.entries import Compiled
from autodiff.compile.trace import GuardFailed
from autodiff.primitives_loss import labels_in_range

from .data import DataLoader, default_collate
from .functional_losses import _classes_or_ignored


def applicable(step: Any, loader: Any, loss_fn: Any, kind: str | None, padded: bool = False) -> bool:
    """Whether an epoch of ``loader`` may run without the per-batch loop: array data
    from fit's own kind of loader, a flat optimizer, and labels that every step takes
    (with ``padded``, also class labels some of which are ``ignore_index``, the others
    classes: see ``padded_classes``)."""
    if type(loader) is not DataLoader or loader.arrays is None or len(loader.arrays) != 2 or loader._single \
            or loader.drop_last or loader.collate_fn is not default_collate or step.flat is None:
        return False
    X, y = loader.arrays
    if kind not in (None, "multiclass"):
        return False
    ignore = getattr(loss_fn, "ignore_index", None)
    if ignore is not None and np.count_nonzero(y == ignore):
        # such rows leave the accuracy, and the fused loss's program refuses their batches: each batch
        # runs its case's program (a whole numba epoch cannot choose)
        return padded and padded_classes(step, y, ignore) is not None
    if step._labels and y.dtype.kind in "iu":
        c = step.output.shape[-1] if step.output is not None else None
        if c is None or y.ndim != 1 or not y.size or not labels_in_range(y, c):
            return False  # the per-batch loop raises at the batch that holds a bad label
    return kind is None or (y.ndim == 1 and y.dtype.kind in "iu")


def padded_classes(step: Any, y: np.ndarray, ignore: int) -> int | None:
    """The class count of the step's (N, C) output, when ``y`` is 1-D integer labels each
    a class or ``ignore`` (None otherwise: the per-batch loop raises at a bad label)."""
    out = step.output
    if out is None or out.ndim != 2 or y.ndim != 1 or y.dtype.kind not in "iu" or \
            not _classes_or_ignored(y, out.shape[1], ignore):
        return None
    c: int = out.shape[1]
    return c


def next_step_number(flat: Any, t: int) -> int:
    """t of the step after one with ``t``, as ``FlatOptimizer.step_number`` would give it:
    Adam counts; for SGD t only says whether the momentum buffer exists yet (1 before the
    first step)."""
    return t + 1 if flat.adam else (2 if flat.keys else t)


def step_numbers(flat: Any, t0: int, steps: int) -> list[int]:
    """Each of ``steps`` steps' t, from ``t0``."""
    ts, t = [], t0
    for _ in range(steps):
        ts.append(t)
        t = next_step_number(flat, t)
    return ts


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


class Hits:
    """Correct multiclass predictions counted in bulk: each batch's outputs and labels are
    copied into buffers (two calls) and compared (argmax against the labels) when the
    buffers are full and at the end, instead of three calls per batch. Rows labelled
    ``ignore`` are left out of both counts, as ``fit``'s per-batch count leaves them.
    Given the labels of all the batches to come, in order (``known``), ``add`` takes the
    outputs alone and only they are copied."""

    size = 1 << 20  # bytes of outputs held at most

    def __init__(self, ignore: int | None = None, known: np.ndarray | None = None) -> None:
        self.ignore, self.known = ignore, known
        self.out: np.ndarray | None = None
        self.labels: np.ndarray | None = None
        self.filled = self.correct = self.counted = self.start = 0
        self.cap, self.row_shape, self.dtype = 0, (), np.dtype(np.float64)

    def add(self, out: np.ndarray, labels: np.ndarray | None = None) -> None:
        """One batch: outputs of shape (rows, classes) and integer labels of shape (rows,)
        (None: the next rows of ``known``)."""
        rows = len(out)
        if self.filled + rows > self.cap or out.shape[1:] != self.row_shape or out.dtype != self.dtype \
                or (labels is not None and (self.labels is None or labels.dtype != self.labels.dtype)):
            self._count()
            cap = max(rows, self.size // max(out[0].nbytes, 1))
            self.out, self.cap, self.row_shape, self.dtype = np.empty((cap, *out.shape[1:]), out.dtype), cap, \
                out.shape[1:], out.dtype
            self.labels = None if labels is None else np.empty(cap, labels.dtype)
        assert self.out is not None
        self.out[self.filled:self.filled + rows] = out
        if labels is not None:
            assert self.labels is not None
            self.labels[self.filled:self.filled + rows] = labels
        self.filled += rows

    def _count(self) -> None:
        if self.out is None or not self.filled:
            return
        if self.labels is not None:
            labels = self.labels[:self.filled]
        else:
            assert self.known is not None
            labels = self.known[self.start:self.start + self.filled]
        self.start += self.filled
        hit = self.out[:self.filled].argmax(axis=1) == labels
        if self.ignore is None:
            self.correct, self.counted = self.correct + int(np.count_nonzero(hit)), self.counted + self.filled
        else:
            keep = labels != self.ignore
            self.correct += int(np.count_nonzero(hit & keep))
            self.counted += int(np.count_nonzero(keep))
        self.filled = 0

    def totals(self) -> tuple[int, int]:
        """(correct predictions, predictions counted) over every batch added."""
        self._count()
        return self.correct, self.counted


Fast = tuple[Compiled, Any, Any, bool]  # a program, the function to call, the closure's arrays, writes state


def _compiled(step: Any, xb: np.ndarray, yb: np.ndarray, fits: bool, checked: int | None) -> Fast | None:
    """The compiled program of the batch's shape, if the step's per-call checks hold now
    (see ``_usable``). The fused loss's program for labels that ``fits`` (all classes), else
    the program of the other case when it is the fused loss's other case."""
    entry = step._cache.get(step._key((xb, yb), {}))
    other = getattr(entry, "other_case", None)
    if type(entry) is Compiled and type(other) is Compiled and bool(entry.taken_labels) != fits \
            and bool(other.taken_labels) == fits:
        entry = other
    return _usable(step, entry, checked)


def _usable(step: Any, entry: Any, checked: int | None) -> Fast | None:
    """``entry``, if it is a compiled program the step's per-call checks hold for now; the
    function to call (``Compiled.trusting_fn`` when the epoch checked the batch's labels,
    the second argument, to be classes in [0, ``checked``), as the fused loss takes them),
    the closure's arrays (None: read at every call) and whether it writes module state."""
    if type(entry) is not Compiled or not entry.captured_match() or entry.only_for is not None:
        return None  # (verified for one batch's values only: step() decides)
    params = {id(p) for p in step.params}
    static = all(id(c) in params for c in entry.captured)
    taken = entry.taken_labels
    trusted = checked is not None and taken and all(slot == 1 and c == checked for slot, c in taken)
    return (entry, entry.trusting_fn() if trusted else entry.fn, tuple(c._data for c in entry.captured)
            if static else None, bool(entry.program.state_writes))


def run_epoch(step: Any, loss_fn: Any, kind: str | None, epoch: int, loader: Any) -> dict[str, float] | None:
    """The logs of one epoch of compiled steps, or None when the per-batch loop must run it."""
    step._refresh()
    if not applicable(step, loader, loss_fn, kind, padded=True):
        return None
    step.flat.sync()
    X, y = loader.arrays
    n = loader.n_samples
    ignore = getattr(loss_fn, "ignore_index", None)
    classes = padded_classes(step, y, ignore) if ignore is not None and np.count_nonzero(y == ignore) else None
    order = loader.rng.permutation(n) if loader.shuffle else None
    hits = Hits(None if classes is None else ignore, known=y if order is None else y.take(order)) if kind else None
    checked = classes if classes is not None else _classes_of(step, y)
    total = _steps(step, _batches(X, y, order, loader.batch_size), epoch, hits, classes, checked)
    logs = {"loss": total / n}
    if hits is not None:
        correct, counted = hits.totals()
        logs["accuracy"] = correct / counted if counted else math.nan
    return logs


def _classes_of(step: Any, y: np.ndarray) -> int | None:
    """C, when ``y`` is 1-D integer labels, each a class of the step's (N, C) output."""
    out = step.output
    if out is None or out.ndim != 2 or y.ndim != 1 or y.dtype.kind not in "iu" or not y.size:
        return None
    c: int = out.shape[1]
    return c if labels_in_range(y, c) else None


def _steps(step: Any, batches: Any, epoch: int, hits: Hits | None, classes: int | None = None,
           checked: int | None = None) -> float:
    """Run every batch's step; the sum of loss times rows. The compiled calls are booked
    (``advance``) before any call of ``step()`` and at the end, however the loop ends.
    With ``classes`` (some labels ignored), batches with and without them are two cases.
    ``checked``: C when every batch's labels are classes in [0, C) (with ``classes``: the
    batches without ignored rows), as the fused loss's kernel would check them at every call."""
    flat, lr = step.flat, step.optimizer.lr
    ready: dict[tuple[int, bool], Fast | None] = {}
    total, t, done = 0.0, flat.step_number(), 0
    failed = None  # a compiled program whose guard the batch failed
    out: Any = None  # the last step's output
    fast: Any = None  # the batch's case's Fast (None: step() takes it; _UNSEEN: not looked up yet)
    add = hits.add if hits is not None else None  # (its labels are the epoch's, known in order)
    try:
        for batch, (xb, yb) in enumerate(batches):
            rows = len(yb)
            case = (rows, classes is None or labels_in_range(yb, classes))
            fast = ready.get(case, _UNSEEN)
            if fast is _UNSEEN:
                done = _book(step, done, out)
                t, fast = flat.step_number(), _compiled(step, xb, yb, case[1], checked if case[1] else None)
                ready[case] = fast
            if fast is not None and not case[1] and fast[0].taken_labels:
                failed, fast = fast[0], None  # the fused loss's program: on to the other case's
            if fast is not None:
                entry, fn, args, writes = fast
                try:
                    outs = fn(xb, yb, *(args if args is not None else [c._data for c in entry.captured]), lr, t)
                except GuardFailed:  # abandoned before any update: step() takes the batch (eagerly, or the
                    fast, failed = None, entry  # program of the other case)
                else:
                    done, out, step.ran = done + 1, outs[1], entry
                    if writes:
                        step._write_back(entry, outs)
                    value, t = float(outs[0]), next_step_number(flat, t)
            if fast is None:
                done = _book(step, done, out)
                value = step(xb, yb) if failed is None else step(xb, yb, failed=failed)
                out, failed = step.output, None
                flat.sync()  # the call may have stepped eagerly (new arrays) and compiled this shape's step
                _note_ran(step, ready, case, checked if case[1] else None)
                t = flat.step_number()
            if not math.isfinite(value):
                raise loss_error(value, epoch, batch)
            total += value * rows
            if add is not None:
                add(out)
    finally:  # an error or Ctrl-C too: the steps taken are booked
        _book(step, done, out)
    return total


def _note_ran(step: Any, ready: dict[tuple[int, bool], Fast | None], case: tuple[int, bool],
              checked: int | None) -> None:
    """After ``step()`` took a batch: the program it ran serves the next batches of the
    case; none (it traced, or ran eagerly): the case's program is looked up again."""
    ran = _usable(step, step.ran, checked)
    if ran is None:
        ready.pop(case, None)
    else:
        ready[case] = ran


def _book(step: Any, done: int, out: np.ndarray | None) -> int:
    """Book ``done`` compiled calls (the last one's output ``out``); 0, the calls left."""
    if done and out is not None:
        advance(step, done, out)
    return 0
