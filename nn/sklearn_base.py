"""What :class:`nn.sklearn.MLPClassifier` and :class:`nn.sklearn.MLPRegressor` share
(:class:`_BaseMLP`): scikit-learn's parameters and their checks, building the module and the
optimizer, the penalised losses, the learning-rate and stopping callbacks, and the
:func:`nn.fit` run. Needs scikit-learn (``pip install 'chainrule[sklearn]'``).
"""

from __future__ import annotations

import copy
import warnings
from collections.abc import Callable, Sequence
from typing import Any, TypeAlias

import numpy as np
from numpy.typing import ArrayLike

import autodiff as ad
from autodiff import Tensor, TensorLike

from . import functional as F, optim
from .layers import MLP, Linear
from .losses import BCEWithLogitsLoss, CrossEntropyLoss, MSELoss
from .module import Module, Parameter
from .training import Callback, EarlyStopping, History, fit

try:
    from sklearn.base import BaseEstimator
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.model_selection import train_test_split
    from sklearn.utils.validation import check_is_fitted, validate_data
except ImportError:  # scikit-learn missing, or older than 1.6 (no validate_data)
    raise ImportError("nn.sklearn needs scikit-learn >= 1.6; install it with: pip install 'chainrule[sklearn]'"
                      ) from None

ModuleFactory: TypeAlias = Callable[[int, int, np.random.Generator], Module]
"""``module(n_features, n_outputs, rng)`` -> the :class:`nn.Module` an estimator trains."""
RandomState: TypeAlias = int | np.random.Generator | np.random.RandomState | None
"""scikit-learn's ``random_state``: a seed, a Generator, a legacy RandomState, or None (fresh entropy)."""
_ACTIVATIONS = {"logistic": "sigmoid"}  # scikit-learn's name -> nn's name
_SOLVERS = ("sgd", "adam", "rmsprop", "adagrad")


def _with_penalty(value: Tensor, weights: Sequence[Tensor], alpha: float, n: int) -> Tensor:
    """scikit-learn's L2 term: loss + alpha/2 · Σ‖W‖² / batch size (weight matrices only)."""
    if not alpha or not weights:
        return value
    return value + (0.5 * alpha / n) * F.l2_penalty(weights)


class _Penalized(Module):
    """Mixin over a loss module: ``scale`` times the loss plus scikit-learn's L2 term."""

    scale = 1.0

    def __init__(self, weights: Sequence[Tensor], alpha: float) -> None:
        super().__init__()
        self._weights, self._alpha = tuple(weights), alpha

    def forward(self, prediction: TensorLike, target: TensorLike) -> Tensor:
        value: Tensor = super().forward(prediction, target)
        return _with_penalty(self.scale * value if self.scale != 1.0 else value, self._weights, self._alpha,
                             np.shape(target)[0])


class _ClassifierLoss(_Penalized, CrossEntropyLoss):
    """Softmax cross-entropy of the logits, plus the L2 term."""


class _MultilabelLoss(_Penalized, BCEWithLogitsLoss):
    """Sigmoid cross-entropy per label, plus the L2 term."""


class _RegressorLoss(_Penalized, MSELoss):
    """Half the mean squared error (scikit-learn's ``squared_error``), plus the L2 term."""

    scale = 0.5


class _ValidationScore(Callback):
    """Logs ``val_score`` (accuracy or R²) on the held-out split, scikit-learn's ``early_stopping``."""

    def __init__(self, score: Callable[[], float]) -> None:
        self.score = score

    def on_epoch_end(self, epoch: int, logs: dict[str, float]) -> None:
        logs["val_score"] = self.score()


class _InvScaling(Callback):
    """``learning_rate='invscaling'``: lr = learning_rate_init / (t + 1)^power_t after each epoch,
    t the number of samples seen so far (as scikit-learn's SGD solver)."""

    def __init__(self, est: _BaseMLP, optimizer: optim.Optimizer, n_samples: int) -> None:
        self.est, self.optimizer, self.n = est, optimizer, n_samples

    def on_epoch_end(self, epoch: int, logs: dict[str, float]) -> None:
        self.est.t_ += self.n
        self.optimizer.lr = self.est.learning_rate_init / (self.est.t_ + 1) ** self.est.power_t


class _Adaptive(EarlyStopping):
    """``learning_rate='adaptive'``: when the score stalls, divide lr by 5 instead of stopping,
    until lr falls below 1e-6 (as scikit-learn's SGD solver)."""

    def __init__(self, optimizer: optim.Optimizer, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.optimizer = optimizer

    def on_epoch_end(self, epoch: int, logs: dict[str, float]) -> None:
        super().on_epoch_end(epoch, logs)
        if self.stop_training and self.optimizer.lr > 1e-6:
            self.optimizer.lr /= 5.0
            self.wait, self.stop_training = 0, False


def _generator(random_state: RandomState) -> np.random.Generator:
    """A Generator from scikit-learn's ``random_state`` (None: fresh entropy)."""
    if isinstance(random_state, np.random.Generator):
        return random_state
    if isinstance(random_state, np.random.RandomState):
        return np.random.default_rng(random_state.randint(np.iinfo(np.int32).max))
    if random_state is None or isinstance(random_state, (int, np.integer)):
        return np.random.default_rng(random_state)
    raise ValueError(f"random_state must be None, an int, a numpy Generator or RandomState, got {random_state!r}")


class _BaseMLP(BaseEstimator):  # type: ignore[misc]  # (scikit-learn has no type information: its classes are Any)
    """What the classifier and the regressor share: building the module, the optimizer,
    the stopping rule, and running :func:`nn.fit`."""

    _loss_kind = "regression"

    def __init__(self, hidden_layer_sizes: Sequence[int] = (100,), activation: str = "relu", *,
                 solver: str = "adam", alpha: float = 0.0001, batch_size: int | str = "auto",
                 learning_rate: str = "constant", learning_rate_init: float = 0.001, power_t: float = 0.5,
                 max_iter: int = 200, shuffle: bool = True, random_state: RandomState = None, tol: float = 1e-4,
                 verbose: bool = False, warm_start: bool = False, momentum: float = 0.9,
                 nesterovs_momentum: bool = True, early_stopping: bool = False, validation_fraction: float = 0.1,
                 beta_1: float = 0.9, beta_2: float = 0.999, epsilon: float = 1e-8, n_iter_no_change: int = 10,
                 module: ModuleFactory | Module | None = None) -> None:
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.power_t = power_t
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.verbose = verbose
        self.warm_start = warm_start
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.n_iter_no_change = n_iter_no_change
        self.module = module

    # ------------------------------------------------------------ validation
    def _check_params(self) -> None:
        name = type(self).__name__
        if self.solver not in _SOLVERS:
            hint = " (nn has no L-BFGS optimizer)" if self.solver == "lbfgs" else ""
            raise ValueError(f"{name}: solver must be one of {_SOLVERS}, got {self.solver!r}{hint}")
        if self.learning_rate not in ("constant", "invscaling", "adaptive"):
            raise ValueError(f"{name}: learning_rate must be 'constant', 'invscaling' or 'adaptive', "
                             f"got {self.learning_rate!r}")
        checks = {"max_iter": self.max_iter > 0, "alpha": self.alpha >= 0,
                  "learning_rate_init": self.learning_rate_init > 0, "n_iter_no_change": self.n_iter_no_change > 0,
                  "validation_fraction": 0 < self.validation_fraction < 1, "momentum": 0 <= self.momentum <= 1}
        for key, ok in checks.items():
            if not ok:
                raise ValueError(f"{name}: invalid {key}={getattr(self, key)!r}")
        if self.batch_size != "auto" and not (isinstance(self.batch_size, (int, np.integer)) and self.batch_size > 0):
            raise ValueError(f"{name}: batch_size must be 'auto' or a positive int, got {self.batch_size!r}")
        if self.module is None and any(int(h) <= 0 for h in np.atleast_1d(self.hidden_layer_sizes)):
            raise ValueError(f"{name}: hidden_layer_sizes must be positive, got {self.hidden_layer_sizes!r}")

    # ------------------------------------------------------------ building
    def _build_module(self, n_in: int, n_out: int, dtype: np.dtype) -> Module:
        if isinstance(self.module, Module):
            return copy.deepcopy(self.module)  # never train the parameter object itself (clone-safety)
        if self.module is not None:
            model = self.module(n_in, n_out, self._rng)
            if not isinstance(model, Module):
                raise TypeError(f"{type(self).__name__}: module(n_features, n_outputs, rng) must return an "
                                f"nn.Module, got {type(model).__name__}")
            return model
        hidden = [int(h) for h in np.atleast_1d(self.hidden_layer_sizes)]
        activation = _ACTIVATIONS.get(self.activation, self.activation)
        return MLP([n_in, *hidden, n_out], activation=activation, rng=self._rng, dtype=dtype)

    def _make_optimizer(self) -> optim.Optimizer:
        params, lr = self.module_.parameters(), self.learning_rate_init
        if self.solver == "sgd":
            return optim.SGD(params, lr=lr, momentum=self.momentum,
                             nesterov=bool(self.nesterovs_momentum and self.momentum > 0))
        if self.solver == "adam":
            return optim.Adam(params, lr=lr, betas=(self.beta_1, self.beta_2), eps=self.epsilon)
        if self.solver == "rmsprop":
            return optim.RMSprop(params, lr=lr, eps=self.epsilon)
        return optim.Adagrad(params, lr=lr)

    def _weights(self) -> list[Parameter]:
        """The matrices the L2 penalty applies to (biases and vectors are not penalised)."""
        return [p for p in self.module_.parameters() if p.ndim >= 2]

    def _initialize(self, X: np.ndarray, n_out: int) -> None:
        self._rng = _generator(self.random_state)
        self.module_ = self._build_module(X.shape[1], n_out, X.dtype)
        self._optimizer = self._make_optimizer()
        self.history_ = History()
        self.loss_curve_: list[float] = []
        self.n_iter_ = 0
        self.t_ = 0
        self.n_outputs_ = n_out
        self._forward(X[:1])  # a module of the wrong output shape fails here, before training

    # ------------------------------------------------------------ training
    def _run(self, X: np.ndarray, y: np.ndarray, incremental: bool) -> None:
        """One :func:`nn.fit` call: ``max_iter`` epochs (one for ``partial_fit``)."""
        self._check_params()
        n = len(X)
        batch = min(200, n) if self.batch_size == "auto" else min(int(self.batch_size), n)
        stop_early = self.early_stopping and not incremental
        callbacks: list[Callback] = []
        if stop_early:
            stratify = y if self._loss_kind == "multiclass" else None
            X, X_val, y, y_val = train_test_split(X, y, test_size=self.validation_fraction, stratify=stratify,
                                                  random_state=int(self._rng.integers(2**31)))
            callbacks.append(_ValidationScore(lambda: self._score_module(X_val, y_val)))
            self.validation_scores_: list[float] = []
        if not incremental:
            self._optimizer = self._make_optimizer()
        sgd = self.solver == "sgd"
        if sgd and self.learning_rate == "invscaling":
            callbacks.append(_InvScaling(self, self._optimizer, len(X)))
        stopper = None
        if not incremental:
            kind = _Adaptive if sgd and self.learning_rate == "adaptive" else EarlyStopping
            extra = {"optimizer": self._optimizer} if kind is _Adaptive else {}
            stopper = kind(monitor="val_score" if stop_early else "loss", mode="max" if stop_early else "min",
                           patience=self.n_iter_no_change, min_delta=self.tol,
                           restore_best_weights=stop_early, **extra)
        loss_cls = {"multiclass": _ClassifierLoss, "multilabel": _MultilabelLoss}.get(self._loss_kind, _RegressorLoss)
        loss = loss_cls(self._weights(), self.alpha)
        history = fit(self.module_, loss, self._optimizer, X, y, epochs=1 if incremental else self.max_iter,
                      batch_size=batch, callbacks=callbacks, early_stopping=stopper, progress=bool(self.verbose),
                      shuffle=self.shuffle, seed=int(self._rng.integers(2**63)))
        self._record(history, stop_early, stopper)
        if self.learning_rate != "invscaling" or not sgd:
            self.t_ += len(X) * len(history.epoch)
        if stopper is not None and history.stopped_epoch is None:
            warnings.warn(f"{type(self).__name__}: maximum iterations ({self.max_iter}) reached and the "
                          f"optimization hasn't converged yet.", ConvergenceWarning, stacklevel=4)

    def _record(self, history: History, stop_early: bool, stopper: EarlyStopping | None) -> None:
        for epoch in history.epoch:
            self.history_.append(self.n_iter_ + epoch, {k: v[epoch] for k, v in history.history.items()})
        self.n_iter_ += len(history.epoch)
        self.loss_curve_ = list(self.history_["loss"])
        self.loss_ = self.loss_curve_[-1]
        if stop_early:
            self.validation_scores_ = list(history["val_score"])
            self.best_validation_score_ = max(self.validation_scores_)
            self.best_loss_ = None
        else:
            self.best_loss_ = min(self.loss_curve_)

    def _forward(self, X: np.ndarray) -> np.ndarray:
        """The module's outputs for X, in eval mode, without recording a graph."""
        model = self.module_
        was_training = model.training
        model.eval()
        try:
            with ad.no_grad():
                out = model(X)
        finally:
            model.train(was_training)
        out = np.asarray(out.data if isinstance(out, ad.Tensor) else out)
        if out.ndim != 2 or out.shape != (len(X), self.n_outputs_):
            raise ValueError(f"{type(self).__name__}: the module returned shape {out.shape}, expected "
                             f"({len(X)}, {self.n_outputs_})")
        return out

    def _validate_Xy(self, X: ArrayLike, y: ArrayLike, keep: bool, **checks: Any) -> tuple[np.ndarray, np.ndarray]:
        """scikit-learn's checks of a fit's (X, y): X as float64 or float32 (the first fit's dtype
        when ``keep``ing the fitted state), several outputs allowed; ``checks`` passed on."""
        checked: tuple[np.ndarray, np.ndarray] = validate_data(
            self, X, y, reset=not keep, multi_output=True, dtype=self._dtype if keep else (np.float64, np.float32),
            **checks)
        self._fit_dtype = checked[0].dtype
        return checked

    def _validate_X(self, X: ArrayLike) -> np.ndarray:
        check_is_fitted(self, "module_")
        checked: np.ndarray = validate_data(self, X, reset=False, dtype=self._dtype)
        return checked

    @property
    def _dtype(self) -> np.dtype[Any] | tuple[type[np.floating[Any]], ...]:
        """The dtype of the first fit (the floats scikit-learn may pass through, before it)."""
        return getattr(self, "_fit_dtype", (np.float64, np.float32))

    @property
    def coefs_(self) -> list[np.ndarray]:
        """The weight matrices of the module's Linear layers, input to output (scikit-learn's ``coefs_``)."""
        check_is_fitted(self, "module_")
        return [m.weight.data for m in self.module_.modules() if isinstance(m, Linear)]

    @property
    def intercepts_(self) -> list[np.ndarray]:
        """The bias vectors of the module's Linear layers (scikit-learn's ``intercepts_``)."""
        check_is_fitted(self, "module_")
        return [m.bias.data for m in self.module_.modules() if isinstance(m, Linear) and m.bias is not None]

    def _score_module(self, X: np.ndarray, y: np.ndarray) -> float:
        raise NotImplementedError
