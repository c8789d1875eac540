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

import numpy as np
from numpy.typing import ArrayLike

import autodiff as ad

from .sklearn_base import ModuleFactory as ModuleFactory, RandomState as RandomState, _BaseMLP

try:
    from sklearn.base import ClassifierMixin, RegressorMixin
    from sklearn.metrics import accuracy_score, r2_score
    from sklearn.utils import Tags
    from sklearn.utils.multiclass import check_classification_targets, type_of_target
    from sklearn.utils.validation import column_or_1d
except ImportError:  # scikit-learn missing, or older than 1.6 (no validate_data)
    raise ImportError("nn.sklearn needs scikit-learn >= 1.6; install it with: pip install 'chainrule[sklearn]'"
                      ) from None


class MLPClassifier(ClassifierMixin, _BaseMLP):  # type: ignore[misc]  # (ClassifierMixin is Any: no stubs)
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

    def _targets(self, y: np.ndarray, classes: ArrayLike | None = None) -> np.ndarray:
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

    def _fit(self, X_in: ArrayLike, y_in: ArrayLike, incremental: bool,
             classes: ArrayLike | None = None) -> MLPClassifier:
        self._keep_state = hasattr(self, "module_") and (incremental or self.warm_start)
        X, y = self._validate_Xy(X_in, y_in, self._keep_state)
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

    def fit(self, X: ArrayLike, y: ArrayLike) -> MLPClassifier:
        """Train on (X, y) for up to ``max_iter`` epochs (from scratch unless ``warm_start``)."""
        return self._fit(X, y, incremental=False)

    def partial_fit(self, X: ArrayLike, y: ArrayLike, classes: ArrayLike | None = None) -> MLPClassifier:
        """One epoch over (X, y), continuing from the current weights and optimizer state.
        ``classes`` (every label) is required on the first call."""
        return self._fit(X, y, incremental=True, classes=classes)

    def predict_proba(self, X: ArrayLike) -> np.ndarray:
        """Class probabilities, shape (n_samples, n_classes), columns in the order of ``classes_``."""
        out = self._forward(self._validate_X(X))
        with ad.no_grad():
            prob = ad.sigmoid(out) if self._loss_kind == "multilabel" else ad.softmax(out, axis=1)
        return np.asarray(prob.data)

    def predict_log_proba(self, X: ArrayLike) -> np.ndarray:
        """The logarithm of :meth:`predict_proba`."""
        out = self._forward(self._validate_X(X))
        with ad.no_grad():
            if self._loss_kind == "multilabel":
                return np.asarray(-ad.softplus(-out).data)
            return np.asarray(ad.log_softmax(out, axis=1).data)

    def predict(self, X: ArrayLike) -> np.ndarray:
        """The most probable class of each sample (a 0/1 indicator matrix for multilabel)."""
        out = self._forward(self._validate_X(X))
        if self._loss_kind == "multilabel":
            return (out > 0).astype(np.int64)
        labels: np.ndarray = self.classes_[np.argmax(out, axis=1)]
        return labels

    def _score_module(self, X: np.ndarray, y: np.ndarray) -> float:
        out = self._forward(X)
        pred = (out > 0) if self._loss_kind == "multilabel" else np.argmax(out, axis=1)
        return float(accuracy_score(y, pred))

    def __sklearn_tags__(self) -> Tags:
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags


class MLPRegressor(RegressorMixin, _BaseMLP):  # type: ignore[misc]  # (RegressorMixin is Any: no stubs)
    """A neural-network regressor trained on half the squared error by :func:`nn.fit`
    (scikit-learn's ``MLPRegressor`` loss; ``y`` may have several columns).

    Parameters and fitted attributes are as :class:`MLPClassifier`'s (without
    ``classes_``); ``module(n_features, n_outputs, rng)`` must return the predictions,
    shape (n_samples, n_outputs). ``early_stopping`` monitors R² on the held-out split.
    """

    def _fit(self, X_in: ArrayLike, y_in: ArrayLike, incremental: bool) -> MLPRegressor:
        keep = hasattr(self, "module_") and (incremental or self.warm_start)
        X, y = self._validate_Xy(X_in, y_in, keep, y_numeric=True)
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

    def fit(self, X: ArrayLike, y: ArrayLike) -> MLPRegressor:
        """Train on (X, y) for up to ``max_iter`` epochs (from scratch unless ``warm_start``)."""
        return self._fit(X, y, incremental=False)

    def partial_fit(self, X: ArrayLike, y: ArrayLike) -> MLPRegressor:
        """One epoch over (X, y), continuing from the current weights and optimizer state."""
        return self._fit(X, y, incremental=True)

    def predict(self, X: ArrayLike) -> np.ndarray:
        """Predictions, shape (n_samples,) for one output, else (n_samples, n_outputs)."""
        out = self._forward(self._validate_X(X))
        return out.ravel() if out.shape[1] == 1 else out

    def _score_module(self, X: np.ndarray, y: np.ndarray) -> float:
        return float(r2_score(y, self._forward(X)))

    def __sklearn_tags__(self) -> Tags:
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags


__all__ = ["MLPClassifier", "MLPRegressor", "ModuleFactory", "RandomState"]
