"""fit(): the training loop, with validation, metrics, schedulers, early stopping,
callbacks, diagnostics and a progress display; evaluate()."""

from __future__ import annotations

import math
import sys
from collections.abc import Iterable
from typing import Any

import numpy as np

from autodiff import Tensor, no_grad
from autodiff.compile import TraceError

from . import fit_epoch
from .callbacks import Callback, EarlyStopping, History, TrainingDiagnostics
from .checks import check_bool, check_number
from .compile import compile_step
from .data import DataLoader, _lengths_match, as_array
from .losses import BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, NLLLoss
from .module import Module
from .optim.lr_cyclic import ReduceLROnPlateau


def _accuracy_kind(loss_fn: Any) -> str | None:
    if isinstance(loss_fn, (CrossEntropyLoss, NLLLoss)):
        return "multiclass"
    if isinstance(loss_fn, BCEWithLogitsLoss):
        return "logits"
    if isinstance(loss_fn, BCELoss):
        return "probabilities"
    return None


def _n_correct(kind: str, loss_fn: Any, out: np.ndarray, y: np.ndarray) -> tuple[int, int]:
    """(correct predictions, predictions counted) in one batch."""
    if kind == "multiclass":
        truth = y.argmax(axis=1) if y.shape == out.shape else y
        hit = out.argmax(axis=1) == truth
        ignore = getattr(loss_fn, "ignore_index", None)
        # (one reduction proves the default negative ignore_index absent: every label above it)
        if ignore is not None and y.shape != out.shape and truth.size and not (ignore < 0 and truth.min() > ignore) \
                and np.count_nonzero(truth == ignore):
            keep = truth != ignore
            return int(np.count_nonzero(hit & keep)), int(np.count_nonzero(keep))
        return int(np.count_nonzero(hit)), hit.size
    threshold = 0.0 if kind == "logits" else 0.5
    return int(np.sum((out > threshold) == (y > 0.5))), y.size


def _loader(owner: str, X: Any, y: Any, batch_size: int, shuffle: bool = False, seed: int | None = None) -> Any:
    """A DataLoader over (X, y), or X itself when it already is a loader (y must be None)."""
    if isinstance(X, DataLoader) or (y is None and hasattr(X, "__iter__") and hasattr(X, "batch_size")):
        if y is not None:
            raise ValueError(f"{owner}: got a DataLoader and y; the loader already yields (inputs, targets)")
        return X
    if y is None:
        raise ValueError(f"{owner}: give targets y with the inputs X, or a DataLoader of (inputs, targets)")
    check_number(owner, "batch_size", batch_size, "positive", integer=True)
    X, y = as_array(owner, "X", X), as_array(owner, "y", y)
    _lengths_match(owner, X, y)
    if not len(X):
        raise ValueError(f"{owner}: X and y are empty (0 samples)")
    return DataLoader(X, y, batch_size=batch_size, shuffle=shuffle, seed=seed)


def _pair(owner: str, batch: Any) -> tuple[Any, Any]:
    if not isinstance(batch, (tuple, list)) or len(batch) != 2:
        raise TypeError(f"{owner}: each batch must be a pair (inputs, targets), got {type(batch).__name__}"
                        + (f" of length {len(batch)}" if isinstance(batch, (tuple, list)) else ""))
    return batch[0], batch[1]


def _as_data(x: Any) -> np.ndarray:
    """The values of a batch's outputs or targets, to read (never written: no read-only view needed)."""
    return x._data if isinstance(x, Tensor) else np.asarray(x)


def evaluate(model: Module, loss_fn: Any, X: Any, y: Any = None, batch_size: int = 1024) -> dict[str, float]:
    """Loss (and accuracy for classification losses) of ``model`` on (X, y), or on the
    batches of a DataLoader, in eval mode; the model's mode is restored afterwards."""
    loader = _loader("evaluate", X, y, batch_size)
    kind = _accuracy_kind(loss_fn)
    was_training = model.training
    model.eval()
    total = correct = counted = n = 0.0
    try:
        with no_grad():
            for batch in loader:
                xb, yb = _pair("evaluate", batch)
                out = model(xb)
                size = len(yb)
                total += float(loss_fn(out, yb).item()) * size
                if kind:
                    c, k = _n_correct(kind, loss_fn, _as_data(out), _as_data(yb))
                    correct, counted = correct + c, counted + k
                n += size
    finally:
        model.train(was_training)
    logs = {"loss": total / n}
    if kind:
        logs["accuracy"] = correct / counted if counted else math.nan
    return logs


class _Progress:
    """tqdm bar over an epoch when tqdm is installed and output is a terminal or a Jupyter
    notebook (tqdm.auto picks the widget); else one
    line per epoch."""

    def __init__(self, enabled: bool, epochs: int) -> None:
        self.enabled, self.epochs = enabled, epochs
        self.tqdm = None
        if enabled and (sys.stdout.isatty() or "ipykernel" in sys.modules):  # a terminal or a notebook
            try:
                from tqdm.auto import tqdm

                self.tqdm = tqdm
            except ImportError:
                pass

    def batches(self, loader: Iterable[Any], epoch: int) -> Iterable[Any]:
        if self.tqdm is None:
            return loader
        bar: Iterable[Any] = self.tqdm(loader, desc=f"epoch {epoch + 1}/{self.epochs}", leave=False, unit="batch")
        return bar

    def epoch_end(self, epoch: int, logs: dict[str, float]) -> None:
        if not self.enabled:
            return
        shown = [k for k in ("loss", "accuracy", "val_loss", "val_accuracy", "lr") if k in logs]
        text = " - ".join(f"{k} {logs[k]:.4g}" for k in shown)
        print(f"epoch {epoch + 1}/{self.epochs} - {text}", flush=True)


def _check_fit_args(model: Any, loss_fn: Any, optimizer: Any, epochs: Any, scheduler: Any,
                    callbacks: list[Any], progress: Any, shuffle: Any) -> None:
    if not isinstance(model, Module):
        raise TypeError(f"fit: model must be an nn.Module, got {type(model).__name__}")
    if not callable(loss_fn):
        raise TypeError(f"fit: loss_fn must be callable, got {type(loss_fn).__name__}")
    if not (hasattr(optimizer, "step") and hasattr(optimizer, "zero_grad")):
        raise TypeError(f"fit: optimizer must have step() and zero_grad(), got {type(optimizer).__name__}")
    check_number("fit", "epochs", epochs, "nonneg", integer=True)
    if scheduler is not None and not hasattr(scheduler, "step"):
        raise TypeError(f"fit: scheduler must have step(), got {type(scheduler).__name__}")
    for cb in callbacks:
        if not all(hasattr(cb, m) for m in ("on_train_begin", "on_epoch_end", "on_train_end")):
            raise TypeError(f"fit: callbacks must be Callbacks, got {type(cb).__name__}")
    check_bool("fit", "progress", progress)
    check_bool("fit", "shuffle", shuffle)


def _run_epoch(model: Module, loss_fn: Any, optimizer: Any, kind: str | None, epoch: int,
               batches: Iterable[Any], step: Any = None) -> dict[str, float]:
    """One pass over the training batches (with the compiled ``step`` when given); returns
    the epoch's loss (and accuracy)."""
    total = correct = counted = n = 0.0
    hits = fit_epoch.Hits(getattr(loss_fn, "ignore_index", None)) if kind == "multiclass" else None
    for batch, pair in enumerate(batches):
        xb, yb = _pair("fit", pair)
        if step is not None:
            value, out = step(xb, yb), step.output
        else:
            optimizer.zero_grad()
            out = model(xb)
            loss = loss_fn(out, yb)
            value = float(loss.item())
        if not math.isfinite(value):
            raise fit_epoch.loss_error(value, epoch, batch)
        if step is None:
            loss.backward()
            optimizer.step()
        size = len(yb)
        total, n = total + value * size, n + size
        if kind:
            predicted, truth = _as_data(out), _as_data(yb)
            if hits is not None and predicted.ndim == 2 and truth.ndim == 1 and truth.dtype.kind in "iu":
                hits.add(predicted, truth)  # counted in bulk
            else:
                c, k = _n_correct(kind, loss_fn, predicted, truth)
                correct, counted = correct + c, counted + k
    if hits is not None:
        c, k = hits.totals()
        correct, counted = correct + c, counted + k
    if not n:
        raise ValueError("fit: the training loader yielded no batches")
    logs = {"loss": total / n}
    if kind:
        logs["accuracy"] = correct / counted if counted else math.nan
    return logs


def _lr_logs(optimizer: Any) -> dict[str, float]:
    groups = getattr(optimizer, "param_groups", None)
    if not groups:
        return {"lr": optimizer.lr} if hasattr(optimizer, "lr") else {}
    return {("lr" if k == 0 else f"lr_group{k}"): g["lr"] for k, g in enumerate(groups)}


def fit(model: Module, loss_fn: Any, optimizer: Any, X: Any, y: Any = None, epochs: int = 10, batch_size: int = 32,
        validation_data: Any = None, scheduler: Any = None, early_stopping: EarlyStopping | None = None,
        callbacks: Iterable[Callback] = (), progress: bool = True, shuffle: bool = True,
        seed: int | None = 0, compile: bool | str = False) -> History:  # noqa: A002
    """Train ``model`` on (X, y) (arrays or DataFrames), or on a DataLoader given as X, and
    return a :class:`History` of per-epoch logs: ``loss`` (and ``accuracy`` for
    classification losses), ``val_loss``/``val_accuracy`` with ``validation_data`` (a pair
    (X, y) or a DataLoader), and ``lr`` (``lr_group1``, ... for further parameter groups).

    ``scheduler.step()`` runs once per epoch (ReduceLROnPlateau gets ``val_loss``, else
    ``loss``). A NaN or infinite loss stops training with an error naming the epoch and
    batch. Whatever happens, the model ends in the train/eval mode it had on entry; if
    training stops early (Ctrl-C returns the History so far with ``interrupted`` set, any
    other exception is re-raised), early stopping's best weights are restored when asked.
    With ``compile=True`` each batch runs as one compiled step (:func:`nn.compile_step`);
    ``compile="numba"`` (the ``fast`` extra) compiles each step into one numba kernel and,
    once compiled, runs whole epochs over array data inside numba (same batches and logs).
    """
    callbacks = list(callbacks) + ([early_stopping] if early_stopping is not None else [])
    _check_fit_args(model, loss_fn, optimizer, epochs, scheduler, callbacks, progress, shuffle)
    if compile != "numba":
        check_bool("fit", "compile", compile)
    loader = _loader("fit", X, y, batch_size, shuffle, seed)
    if validation_data is not None and not isinstance(validation_data, DataLoader):
        if not isinstance(validation_data, (tuple, list)) or len(validation_data) != 2:
            raise TypeError("fit: validation_data must be a pair (X_val, y_val) or a DataLoader")
        X_val, y_val = validation_data
        validation_data = _loader("fit validation_data", X_val, y_val, batch_size=1024)
    kind = _accuracy_kind(loss_fn)
    history, bar = History(), _Progress(progress, epochs)
    was_training = model.training
    try:
        for cb in callbacks:
            cb.on_train_begin(model)
        step = None
        if compile:
            step = compile_step(model, loss_fn, optimizer, backend="numba" if compile == "numba" else "numpy")
        for epoch in range(epochs):
            model.train()
            lrs = _lr_logs(optimizer)
            logs = None
            if step is not None and bar.tqdm is None:  # nothing per batch is seen: no per-batch loop
                if compile == "numba":  # a whole epoch inside numba
                    from .fit_numba import run_epoch

                    logs = run_epoch(step, loss_fn, kind, epoch, loader)
                if logs is None:
                    logs = fit_epoch.run_epoch(step, loss_fn, kind, epoch, loader)
            if logs is None:
                logs = _run_epoch(model, loss_fn, optimizer, kind, epoch, bar.batches(loader, epoch), step)
            if validation_data is not None:
                logs.update({f"val_{k}": v for k, v in evaluate(model, loss_fn, validation_data).items()})
            logs.update(lrs)
            if isinstance(scheduler, ReduceLROnPlateau):
                scheduler.step(logs.get("val_loss", logs["loss"]))
            elif scheduler is not None:
                scheduler.step()
            for cb in callbacks:
                cb.on_epoch_end(epoch, logs)
            history.append(epoch, logs)
            bar.epoch_end(epoch, logs)
            if any(cb.stop_training for cb in callbacks):
                history.stopped_epoch = epoch
                break
        for cb in callbacks:
            cb.on_train_end(model)
    except KeyboardInterrupt:
        history.interrupted = True
        if early_stopping is not None:
            early_stopping.restore(model)
    except BaseException as e:
        if early_stopping is not None:
            early_stopping.restore(model)
        if compile and isinstance(e, TraceError):  # (fit takes no fallback=True: say what it takes)
            raise TraceError(f"{e} (fit: compile=False trains this model eagerly)") from e
        raise
    finally:
        model.train(was_training)
    if early_stopping is not None:
        history.best_epoch = getattr(early_stopping, "best_epoch", None)
    return history


__all__ = ["Callback", "EarlyStopping", "History", "TrainingDiagnostics", "evaluate", "fit"]
