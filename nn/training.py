"""fit(): the training loop, with validation, metrics, schedulers, early stopping,
callbacks, diagnostics and a progress display."""

from __future__ import annotations

import sys
from collections.abc import Iterable
from typing import Any

import numpy as np

from autodiff import Tensor, no_grad

from .compile import compile_step
from .data import DataLoader, _lengths_match
from .layers import ReLU, Sequential
from .losses import BCELoss, BCEWithLogitsLoss, CrossEntropyLoss
from .module import Module


class History:
    """Per-epoch logs of a training run: ``history["loss"]`` is the list of epoch losses."""

    def __init__(self) -> None:
        self.history: dict[str, list[float]] = {}
        self.epoch: list[int] = []
        self.stopped_epoch: int | None = None
        self.best_epoch: int | None = None

    def append(self, epoch: int, logs: dict[str, float]) -> None:
        """Record one epoch's logs."""
        self.epoch.append(epoch)
        for k, v in logs.items():
            self.history.setdefault(k, []).append(v)

    def __getitem__(self, key: str) -> list[float]:
        return self.history[key]

    def __repr__(self) -> str:
        last = ", ".join(f"{k}={v[-1]:.4g}" for k, v in self.history.items() if v)
        return f"History({len(self.epoch)} epochs; last: {last})"


class Callback:
    """Hooks called by :func:`fit`; set ``stop_training = True`` to stop after this epoch."""

    stop_training = False

    def on_train_begin(self, model: Module) -> None:
        """Called once before the first epoch."""

    def on_epoch_end(self, epoch: int, logs: dict[str, float]) -> None:
        """Called after every epoch with its logs (add entries to record them)."""

    def on_train_end(self, model: Module) -> None:
        """Called once after the last epoch."""


class EarlyStopping(Callback):
    """Stop when ``monitor`` has not improved by ``min_delta`` for ``patience`` epochs;
    with ``restore_best_weights`` the model ends with exactly the weights it had at the
    end of its best epoch."""

    def __init__(self, monitor: str = "val_loss", patience: int = 5, min_delta: float = 0.0, mode: str = "auto",
                 restore_best_weights: bool = True) -> None:
        if mode == "auto":
            mode = "max" if "acc" in monitor else "min"
        if mode not in ("min", "max"):
            raise ValueError(f"EarlyStopping: mode must be 'min', 'max' or 'auto', got {mode!r}")
        self.monitor, self.patience, self.min_delta, self.mode = monitor, patience, min_delta, mode
        self.restore_best_weights = restore_best_weights

    def on_train_begin(self, model: Module) -> None:
        self.model = model
        self.best: float | None = None
        self.best_epoch: int | None = None
        self.best_state: dict | None = None
        self.wait = 0
        self.stop_training = False

    def _improved(self, value: float) -> bool:
        if self.best is None:
            return True
        return value < self.best - self.min_delta if self.mode == "min" else value > self.best + self.min_delta

    def on_epoch_end(self, epoch: int, logs: dict[str, float]) -> None:
        if self.monitor not in logs:
            raise KeyError(f"EarlyStopping: '{self.monitor}' is not logged (logged: {sorted(logs)}); "
                           f"pass validation_data to fit() to monitor val_loss")
        value = logs[self.monitor]
        if self._improved(value):
            self.best, self.best_epoch, self.wait = value, epoch, 0
            if self.restore_best_weights:
                self.best_state = self.model.state_dict()
        else:
            self.wait += 1
            if self.wait >= self.patience:
                self.stop_training = True

    def on_train_end(self, model: Module) -> None:
        if self.restore_best_weights and self.best_state is not None:
            model.load_state_dict(self.best_state)


class TrainingDiagnostics(Callback):
    """Adds to each epoch's logs the percentage of dead ReLU units per ReLU layer (units
    whose output is 0 for every sample of ``X_probe``, the course notes' ``get_dead``) and
    the gradient norm of every parameter (to spot vanishing or exploding gradients).

    Works on :class:`Sequential` models (MLP included).
    """

    def __init__(self, X_probe: Any) -> None:
        self.X_probe = np.asarray(X_probe)

    def on_train_begin(self, model: Module) -> None:
        if not isinstance(model, Sequential):
            raise TypeError("TrainingDiagnostics: needs a Sequential model to see each layer's output")
        self.model = model

    def dead_percentages(self) -> dict[str, float]:
        """{layer index: % of dead units} for every ReLU layer, on the probe data."""
        out: dict[str, float] = {}
        was_training = self.model.training
        self.model.eval()
        with no_grad():
            h: Any = self.X_probe
            for i, layer in enumerate(self.model):
                h = layer(h)
                if isinstance(layer, ReLU):
                    alive = np.any(np.asarray(h.data) > 0, axis=0)
                    out[str(i)] = 100.0 * float(np.mean(~alive))
        self.model.train(was_training)
        return out

    def on_epoch_end(self, epoch: int, logs: dict[str, float]) -> None:
        for name, pct in self.dead_percentages().items():
            logs[f"dead_relu/{name}"] = pct
        for name, p in self.model.named_parameters():
            if p.grad is not None:
                logs[f"grad_norm/{name}"] = float(np.sqrt(np.sum(np.square(p.grad.data, dtype=np.float64))))


def _accuracy_kind(loss_fn: Any) -> str | None:
    if isinstance(loss_fn, CrossEntropyLoss):
        return "multiclass"
    if isinstance(loss_fn, BCEWithLogitsLoss):
        return "logits"
    if isinstance(loss_fn, BCELoss):
        return "probabilities"
    return None


def _n_correct(kind: str, out: np.ndarray, y: np.ndarray) -> int:
    if kind == "multiclass":
        truth = y.argmax(axis=1) if y.ndim == 2 else y
        return int(np.sum(out.argmax(axis=1) == truth))
    threshold = 0.0 if kind == "logits" else 0.5
    return int(np.sum((out > threshold) == (y > 0.5)))


def evaluate(model: Module, loss_fn: Any, X: Any, y: Any, batch_size: int = 1024) -> dict[str, float]:
    """Loss (and accuracy for classification losses) of ``model`` on (X, y) in eval mode."""
    kind = _accuracy_kind(loss_fn)
    was_training = model.training
    model.eval()
    total = correct = 0.0
    n = 0
    with no_grad():
        for xb, yb in DataLoader(X, y, batch_size=batch_size):
            out = model(xb)
            total += float(loss_fn(out, yb).item()) * len(xb)
            if kind:
                correct += _n_correct(kind, out.data, yb)
            n += len(xb)
    model.train(was_training)
    logs = {"loss": total / n}
    if kind:
        logs["accuracy"] = correct / n
    return logs


class _Progress:
    """tqdm bar over an epoch when tqdm is installed and output is a terminal; else one
    line per epoch."""

    def __init__(self, enabled: bool, epochs: int) -> None:
        self.enabled, self.epochs = enabled, epochs
        self.tqdm = None
        if enabled and sys.stdout.isatty():
            try:
                from tqdm.auto import tqdm

                self.tqdm = tqdm
            except ImportError:
                pass

    def batches(self, loader: Iterable, epoch: int) -> Iterable:
        if self.tqdm is None:
            return loader
        return self.tqdm(loader, desc=f"epoch {epoch + 1}/{self.epochs}", leave=False, unit="batch")

    def epoch_end(self, epoch: int, logs: dict[str, float]) -> None:
        if not self.enabled:
            return
        shown = [k for k in ("loss", "accuracy", "val_loss", "val_accuracy", "lr") if k in logs]
        text = " - ".join(f"{k} {logs[k]:.4g}" for k in shown)
        print(f"epoch {epoch + 1}/{self.epochs} - {text}", flush=True)


def fit(model: Module, loss_fn: Any, optimizer: Any, X: Any, y: Any, epochs: int = 10, batch_size: int = 32,
        validation_data: tuple[Any, Any] | None = None, scheduler: Any = None,
        early_stopping: EarlyStopping | None = None, callbacks: Iterable[Callback] = (), progress: bool = True,
        shuffle: bool = True, seed: int | None = 0, compile: bool = False) -> History:  # noqa: A002
    """Train ``model`` on (X, y) and return a :class:`History` of per-epoch logs:
    ``loss`` (and ``accuracy`` for classification losses), ``val_loss``/``val_accuracy``
    with ``validation_data``, and ``lr``. ``scheduler.step()`` runs once per epoch.

    A NaN or infinite loss stops training with an error naming the epoch and batch.
    With ``compile=True`` each batch runs as one compiled step (:func:`nn.compile_step`).
    """
    X = np.asarray(X)
    y = np.asarray(y)
    _lengths_match("fit", X, y)
    if validation_data is not None and len(validation_data[0]) != len(validation_data[1]):
        raise ValueError(f"fit: validation X has {len(validation_data[0])} samples but y has "
                         f"{len(validation_data[1])}")
    callbacks = list(callbacks) + ([early_stopping] if early_stopping is not None else [])
    loader = DataLoader(X, y, batch_size=batch_size, shuffle=shuffle, seed=seed)
    kind = _accuracy_kind(loss_fn)
    history = History()
    bar = _Progress(progress, epochs)
    for cb in callbacks:
        cb.on_train_begin(model)
    model.train()
    step = compile_step(model, loss_fn, optimizer) if compile else None
    for epoch in range(epochs):
        total = correct = 0.0
        lr = optimizer.lr
        for batch, (xb, yb) in enumerate(bar.batches(loader, epoch)):
            if step is not None:
                value, out = step(xb, yb), step.output
            else:
                optimizer.zero_grad()
                out = model(xb)
                loss = loss_fn(out, yb)
                value = float(loss.item())
            if not np.isfinite(value):
                raise FloatingPointError(f"fit: the loss became {value} at epoch {epoch + 1}, batch {batch + 1} "
                                         f"(try a smaller learning rate, or detect_anomaly() to find the op)")
            if step is None:
                loss.backward()
                optimizer.step()
            total += value * len(xb)
            if kind:
                correct += _n_correct(kind, out.data if isinstance(out, Tensor) else out, yb)
        logs = {"loss": total / len(X)}
        if kind:
            logs["accuracy"] = correct / len(X)
        if validation_data is not None:
            for k, v in evaluate(model, loss_fn, *validation_data).items():
                logs[f"val_{k}"] = v
        logs["lr"] = lr
        if scheduler is not None:
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
    if early_stopping is not None:
        history.best_epoch = early_stopping.best_epoch
    return history


__all__ = ["Callback", "EarlyStopping", "History", "TrainingDiagnostics", "evaluate", "fit"]
