"""scikit-learn estimators trained by :func:`nn.fit`: :class:`MLPClassifier` and :class:`MLPRegressor`.

Parameters are named as scikit-learn's own ``MLPClassifier``/``MLPRegressor``, so the
estimators drop into ``Pipeline``, ``GridSearchCV`` and ``cross_val_score``; ``module=``
trains any :class:`nn.Module` instead of the default multilayer perceptron (as skorch's
``module=``). Needs scikit-learn (``pip install 'chainrule[sklearn]'``).

>>> from sklearn.datasets import load_iris
>>> X, y = load_iris(return_X_y=True)
>>> clf = MLPClassifier(hidden_layer_sizes=(16,), learning_rate_init=0.03, tol=1e-3, random_state=0)
>>> clf.fit(X, y).score(X, y) > 0.95
True
"""

from __future__ import annotations

import copy
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

import autodiff as ad

from . import functional as F, optim
from .layers import MLP, Linear
from .losses import BCEWithLogitsLoss, CrossEntropyLoss, MSELoss
from .module import Module
from .training import Callback, EarlyStopping, History, fit

try:
    from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.metrics import accuracy_score, r2_score
    from sklearn.model_selection import train_test_split
    from sklearn.utils.multiclass import check_classification_targets, type_of_target
    from sklearn.utils.validation import check_is_fitted, column_or_1d, validate_data
except ImportError:  # scikit-learn missing, or older than 1.6 (no validate_data)
    raise ImportError("nn.sklearn needs scikit-learn >= 1.6; install it with: pip install 'chainrule[sklearn]'"
                      ) from None

ModuleFactory = Callable[[int, int, np.random.Generator], Module]
_ACTIVATIONS = {"logistic": "sigmoid"}  # scikit-learn's name -> nn's name
_SOLVERS = ("sgd", "adam", "rmsprop", "adagrad")


def _with_penalty(value: Any, weights: Sequence[Any], alpha: float, n: int) -> Any:
    """scikit-learn's L2 term: loss + alpha/2 · Σ‖W‖² / batch size (weight matrices only)."""
    if not alpha or not weights:
        return value
    return value + (0.5 * alpha / n) * F.l2_penalty(weights)


class _Penalized(Module):
    """Mixin over a loss module: ``scale`` times the loss plus scikit-learn's L2 term."""

    scale = 1.0

    def __init__(self, weights: Sequence[Any], alpha: float) -> None:
        super().__init__()
        self._weights, self._alpha = tuple(weights), alpha

    def forward(self, prediction: Any, target: Any) -> Any:
        value = super().forward(prediction, target)
        return _with_penalty(self.scale * value if self.scale != 1.0 else value, self._weights, self._alpha,
                             len(target))


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


def _generator(random_state: Any) -> np.random.Generator:
    """A Generator from scikit-learn's ``random_state`` (None: fresh entropy)."""
    if isinstance(random_state, np.random.Generator):
        return random_state
    if isinstance(random_state, np.random.RandomState):
        return np.random.default_rng(random_state.randint(np.iinfo(np.int32).max))
    if random_state is None or isinstance(random_state, (int, np.integer)):
        return np.random.default_rng(random_state)
    raise ValueError(f"random_state must be None, an int, a numpy Generator or RandomState, got {random_state!r}")


class _BaseMLP(BaseEstimator):
    """What the classifier and the regressor share: building the module, the optimizer,
    the stopping rule, and running :func:`nn.fit`."""

    _loss_kind = "regression"

    def __init__(self, hidden_layer_sizes: Sequence[int] = (100,), activation: str = "relu", *,
                 solver: str = "adam", alpha: float = 0.0001, batch_size: int | str = "auto",
                 learning_rate: str = "constant", learning_rate_init: float = 0.001, power_t: float = 0.5,
                 max_iter: int = 200, shuffle: bool = True, random_state: Any = None, tol: float = 1e-4,
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

    def _weights(self) -> list[Any]:
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

    def _validate_X(self, X: Any) -> np.ndarray:
        check_is_fitted(self, "module_")
        return validate_data(self, X, reset=False, dtype=self._dtype)

    @property
    def _dtype(self) -> Any:
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


class MLPClassifier(ClassifierMixin, _BaseMLP):
    """A neural-network classifier trained with softmax cross-entropy by :func:`nn.fit`
    (sigmoid cross-entropy per label for a multilabel indicator ``y``).

    Parameters are scikit-learn's ``MLPClassifier``'s (``solver`` in ``'adam'``, ``'sgd'``,
    ``'rmsprop'``, ``'adagrad'``; ``activation`` any of nn's activation names or
    ``'logistic'``); ``alpha`` adds ``alpha/2 · Σ‖W‖² / batch size`` to the loss.
    Training stops when the training loss (the validation accuracy with
    ``early_stopping``) has not improved by ``tol`` for ``n_iter_no_change`` epochs.
    ``module`` replaces the default MLP: a function ``module(n_features, n_outputs, rng)``
    returning an :class:`nn.Module` of logits, or a Module (copied before each fit).

    Fitted attributes: ``classes_``, ``n_features_in_``, ``module_``, ``loss_curve_``,
    ``n_iter_``, ``history_`` (the :class:`nn.History`), ``coefs_``, ``intercepts_``.
    """

    def _targets(self, y: Any, classes: Any = None) -> np.ndarray:
        kind = type_of_target(y)
        if kind == "multilabel-indicator":
            self._loss_kind = "multilabel"
            return np.asarray(y, dtype=self._fit_dtype)
        check_classification_targets(y)
        y = column_or_1d(y, warn=True)
        self._loss_kind = "multiclass"
        if classes is not None:
            self.classes_ = np.unique(classes)
        elif not self._keep_state:
            self.classes_ = np.unique(y)
        unknown = np.setdiff1d(y, self.classes_)
        if len(unknown):
            raise ValueError(f"{type(self).__name__}: y has labels {unknown.tolist()} not in classes_ "
                             f"{self.classes_.tolist()}")
        if len(self.classes_) < 2:
            raise ValueError(f"{type(self).__name__}: y has only one class ({self.classes_[0]!r}); a classifier "
                             f"needs at least two classes")
        return np.searchsorted(self.classes_, y)

    def _fit(self, X: Any, y: Any, incremental: bool, classes: Any = None) -> MLPClassifier:
        self._keep_state = hasattr(self, "module_") and (incremental or self.warm_start)
        X, y = validate_data(self, X, y, reset=not self._keep_state, multi_output=True,
                             dtype=self._dtype if self._keep_state else (np.float64, np.float32))
        self._fit_dtype = X.dtype
        if incremental and not hasattr(self, "module_") and classes is None and y.ndim == 1:
            raise ValueError(f"{type(self).__name__}.partial_fit: pass classes= (every label) on the first call")
        targets = self._targets(y, classes)
        n_out = targets.shape[1] if self._loss_kind == "multilabel" else len(self.classes_)
        if self._loss_kind == "multilabel":
            self.classes_ = np.arange(n_out)
        if not self._keep_state:
            self._initialize(X, n_out)
        elif n_out != self.n_outputs_:
            raise ValueError(f"{type(self).__name__}: y has {n_out} outputs, the fitted module has {self.n_outputs_}")
        self._run(X, targets, incremental)
        return self

    def fit(self, X: Any, y: Any) -> MLPClassifier:
        """Train on (X, y) for up to ``max_iter`` epochs (from scratch unless ``warm_start``)."""
        return self._fit(X, y, incremental=False)

    def partial_fit(self, X: Any, y: Any, classes: Any = None) -> MLPClassifier:
        """One epoch over (X, y), continuing from the current weights and optimizer state.
        ``classes`` (every label) is required on the first call."""
        return self._fit(X, y, incremental=True, classes=classes)

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities, shape (n_samples, n_classes), columns in the order of ``classes_``."""
        out = self._forward(self._validate_X(X))
        with ad.no_grad():
            prob = ad.sigmoid(out) if self._loss_kind == "multilabel" else ad.softmax(out, axis=1)
        return np.asarray(prob.data)

    def predict_log_proba(self, X: Any) -> np.ndarray:
        """The logarithm of :meth:`predict_proba`."""
        out = self._forward(self._validate_X(X))
        with ad.no_grad():
            if self._loss_kind == "multilabel":
                return np.asarray(-ad.softplus(-out).data)
            return np.asarray(ad.log_softmax(out, axis=1).data)

    def predict(self, X: Any) -> np.ndarray:
        """The most probable class of each sample (a 0/1 indicator matrix for multilabel)."""
        out = self._forward(self._validate_X(X))
        if self._loss_kind == "multilabel":
            return (out > 0).astype(np.int64)
        return self.classes_[np.argmax(out, axis=1)]

    def _score_module(self, X: np.ndarray, y: np.ndarray) -> float:
        out = self._forward(X)
        pred = (out > 0) if self._loss_kind == "multilabel" else np.argmax(out, axis=1)
        return float(accuracy_score(y, pred))

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags


class MLPRegressor(RegressorMixin, _BaseMLP):
    """A neural-network regressor trained on half the squared error by :func:`nn.fit`
    (scikit-learn's ``MLPRegressor`` loss; ``y`` may have several columns).

    Parameters and fitted attributes are as :class:`MLPClassifier`'s (without
    ``classes_``); ``module(n_features, n_outputs, rng)`` must return the predictions,
    shape (n_samples, n_outputs). ``early_stopping`` monitors R² on the held-out split.
    """

    def _fit(self, X: Any, y: Any, incremental: bool) -> MLPRegressor:
        keep = hasattr(self, "module_") and (incremental or self.warm_start)
        X, y = validate_data(self, X, y, reset=not keep, multi_output=True, y_numeric=True,
                             dtype=self._dtype if keep else (np.float64, np.float32))
        self._fit_dtype = X.dtype
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        targets = np.asarray(y, dtype=X.dtype).reshape(len(y), -1)
        if not keep:
            self._initialize(X, targets.shape[1])
        elif targets.shape[1] != self.n_outputs_:
            raise ValueError(f"{type(self).__name__}: y has {targets.shape[1]} outputs, the fitted module has "
                             f"{self.n_outputs_}")
        self._run(X, targets, incremental)
        return self

    def fit(self, X: Any, y: Any) -> MLPRegressor:
        """Train on (X, y) for up to ``max_iter`` epochs (from scratch unless ``warm_start``)."""
        return self._fit(X, y, incremental=False)

    def partial_fit(self, X: Any, y: Any) -> MLPRegressor:
        """One epoch over (X, y), continuing from the current weights and optimizer state."""
        return self._fit(X, y, incremental=True)

    def predict(self, X: Any) -> np.ndarray:
        """Predictions, shape (n_samples,) for one output, else (n_samples, n_outputs)."""
        out = self._forward(self._validate_X(X))
        return out.ravel() if out.shape[1] == 1 else out

    def _score_module(self, X: np.ndarray, y: np.ndarray) -> float:
        return float(r2_score(y, self._forward(X)))

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags


__all__ = ["MLPClassifier", "MLPRegressor", "ModuleFactory"]
