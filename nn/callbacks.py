"""Callbacks of :func:`nn.fit`: History, Callback, EarlyStopping, TrainingDiagnostics."""

from __future__ import annotations

from typing import Any

import numpy as np

from autodiff import no_grad

from .checks import check_bool, check_number
from .layers import ReLU, Sequential
from .module import Module


class History:
    """Per-epoch logs of a training run: ``history["loss"]`` is the list of epoch losses;
    ``interrupted`` is True when Ctrl-C ended the run early."""

    def __init__(self) -> None:
        self.history: dict[str, list[float]] = {}
        self.epoch: list[int] = []
        self.stopped_epoch: int | None = None
        self.best_epoch: int | None = None
        self.interrupted = False

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

    def _repr_html_(self) -> str:
        from .plots import history_html

        return history_html(self)

    def plot(self) -> Any:
        """Loss (and accuracy) curves over the epochs as a matplotlib Figure (the ``plots`` extra)."""
        from .plots import plot_history

        return plot_history(self)


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
        if not isinstance(monitor, str):
            raise TypeError(f"EarlyStopping: monitor must be the name of a logged value, got {monitor!r}")
        check_number("EarlyStopping", "patience", patience, "nonneg", integer=True)
        check_number("EarlyStopping", "min_delta", min_delta, "nonneg")
        check_bool("EarlyStopping", "restore_best_weights", restore_best_weights)
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
        self.best_state: dict[str, Any] | None = None
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
        self.restore(model)

    def restore(self, model: Module) -> None:
        """Load the best epoch's weights into ``model`` if asked to and one was recorded."""
        state = getattr(self, "best_state", None)
        if self.restore_best_weights and state is not None:
            model.load_state_dict(state)


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

    @staticmethod
    def plot(history: History) -> Any:
        """Dead units per ReLU layer and gradient norms per parameter over the epochs of
        ``history`` (a matplotlib Figure; the ``plots`` extra)."""
        from .plots import plot_diagnostics

        return plot_diagnostics(history)

    def on_epoch_end(self, epoch: int, logs: dict[str, float]) -> None:
        for name, pct in self.dead_percentages().items():
            logs[f"dead_relu/{name}"] = pct
        for name, p in self.model.named_parameters():
            if p.grad is not None:
                logs[f"grad_norm/{name}"] = float(np.sqrt(np.sum(np.square(p.grad.data, dtype=np.float64))))
