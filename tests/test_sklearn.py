"""nn.sklearn: scikit-learn's own estimator checks, and the estimators inside Pipeline,
GridSearchCV and cross_val_score."""

import importlib
import sys
import warnings

import numpy as np
import pytest

pytest.importorskip("sklearn")

from sklearn.base import clone  # noqa: E402
from sklearn.datasets import load_iris, make_regression  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.model_selection import GridSearchCV, cross_val_score  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402
from sklearn.utils.estimator_checks import parametrize_with_checks  # noqa: E402

import nn  # noqa: E402
from nn.sklearn import MLPClassifier, MLPRegressor  # noqa: E402


def _small_net(n_in, n_out, rng):
    return nn.Sequential(nn.Linear(n_in, 8, rng=rng), nn.Tanh(), nn.Linear(8, n_out, rng=rng))


@parametrize_with_checks([
    MLPClassifier(hidden_layer_sizes=(10,), learning_rate_init=0.01, max_iter=20, random_state=0),
    MLPRegressor(hidden_layer_sizes=(10,), learning_rate_init=0.01, max_iter=20, random_state=0),
    MLPClassifier(module=_small_net, solver="sgd", learning_rate_init=0.1, max_iter=20, random_state=0),
])
def test_scikit_learn_estimator_checks(estimator, check):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        check(estimator)


@pytest.fixture(scope="module")
def iris():
    X, y = load_iris(return_X_y=True)
    return StandardScaler().fit_transform(X), y


def _clf(**kw):
    params = {"hidden_layer_sizes": (16,), "learning_rate_init": 0.01, "max_iter": 40, "random_state": 0}
    return MLPClassifier(**{**params, **kw})


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_pipeline_grid_search_and_cross_validation(iris):
    X, y = load_iris(return_X_y=True)
    pipe = make_pipeline(StandardScaler(), _clf())
    assert pipe.fit(X, y).score(X, y) > 0.9
    grid = GridSearchCV(_clf(), {"alpha": [1e-4, 1.0], "learning_rate_init": [0.01, 0.03]}, cv=3).fit(*iris)
    assert set(grid.best_params_) == {"alpha", "learning_rate_init"}
    assert grid.cv_results_["mean_test_score"].shape == (4,)
    scores = cross_val_score(_clf(), *iris, cv=3)
    assert scores.shape == (3,) and scores.mean() > 0.8


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_string_labels_probabilities_and_fitted_attributes(iris):
    X, y = iris
    names = np.array(["setosa", "versicolor", "virginica"])[y]
    clf = _clf().fit(X, names)
    assert list(clf.classes_) == ["setosa", "versicolor", "virginica"]
    assert set(clf.predict(X)) <= set(clf.classes_)
    proba = clf.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-12)
    np.testing.assert_allclose(np.log(proba), clf.predict_log_proba(X), rtol=1e-10, atol=1e-12)
    assert np.array_equal(clf.classes_[proba.argmax(axis=1)], clf.predict(X))
    assert clf.n_features_in_ == 4 and clf.n_iter_ == len(clf.loss_curve_) == len(clf.history_.epoch)
    assert [w.shape for w in clf.coefs_] == [(4, 16), (16, 3)]
    assert [b.shape for b in clf.intercepts_] == [(16,), (3,)]


def test_pandas_dataframe_gives_feature_names(iris):
    pd = pytest.importorskip("pandas")
    X, y = iris
    frame = pd.DataFrame(X, columns=["a", "b", "c", "d"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf = _clf(max_iter=5).fit(frame, pd.Series(y))
    assert list(clf.feature_names_in_) == ["a", "b", "c", "d"]
    np.testing.assert_array_equal(clf.predict(frame), clf.predict(frame.to_numpy().copy()))


def test_loss_curve_includes_the_l2_term_as_scikit_learn_defines_it(iris):
    """First epoch, one full batch: loss = mean cross-entropy + alpha/2 · Σ‖W‖² / n, at the
    initial weights (computed here with NumPy from the copied module's weights)."""
    X, y = iris
    model = _small_net(4, 3, np.random.default_rng(1))
    w1, b1, w2, b2 = (p.data.copy() for p in model.parameters())
    alpha = 0.7
    clf = MLPClassifier(module=model, alpha=alpha, batch_size=len(X), max_iter=1, shuffle=False, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X, y)
    logits = np.tanh(X @ w1 + b1) @ w2 + b2
    log_p = logits - logits.max(1, keepdims=True)
    log_p -= np.log(np.exp(log_p).sum(1, keepdims=True))
    expected = -log_p[np.arange(len(y)), y].mean() + alpha / 2 * (np.sum(w1**2) + np.sum(w2**2)) / len(X)
    assert clf.loss_curve_[0] == pytest.approx(expected, rel=1e-12)
    np.testing.assert_array_equal(model.parameters()[0].data, w1)  # the parameter object is never trained


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_partial_fit_continues_the_optimizer_like_fit(iris):
    X, y = iris
    whole = _clf(max_iter=3, shuffle=False, n_iter_no_change=50).fit(X, y)
    steps = _clf(shuffle=False)
    for _ in range(3):
        steps.partial_fit(X, y, classes=[0, 1, 2])
    assert steps.n_iter_ == 3
    np.testing.assert_allclose(steps.loss_curve_, whole.loss_curve_, rtol=1e-12)
    for a, b in zip(steps.coefs_, whole.coefs_, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12)
    with pytest.raises(ValueError, match="classes="):
        _clf().partial_fit(X, y)
    with pytest.raises(ValueError, match=r"labels \[7\]"):
        steps.partial_fit(X[:2], [0, 7])


def test_early_stopping_keeps_the_best_validation_weights(iris):
    X, y = iris
    clf = _clf(early_stopping=True, validation_fraction=0.2, n_iter_no_change=3, max_iter=200).fit(X, y)
    assert clf.n_iter_ < 200 and clf.best_loss_ is None
    assert clf.best_validation_score_ == max(clf.validation_scores_)
    assert len(clf.validation_scores_) == clf.n_iter_


def test_sgd_learning_rate_schedules(iris):
    X, y = iris
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        inv = _clf(solver="sgd", learning_rate="invscaling", learning_rate_init=0.5, power_t=0.5, max_iter=2)
        inv.fit(X, y)
    assert inv._optimizer.lr == pytest.approx(0.5 / (2 * len(X) + 1) ** 0.5)
    assert inv.t_ == 2 * len(X)
    # no loss improves by tol=10: 'adaptive' divides lr by 5 after every two stalled epochs
    # (1e-5 -> 2e-6 -> 4e-7) and stops once lr is at most 1e-6, after 1 + 3 * 2 epochs
    ada = _clf(solver="sgd", learning_rate="adaptive", learning_rate_init=1e-5, n_iter_no_change=2, tol=10.0,
               max_iter=30)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ada.fit(X, y)
    assert ada._optimizer.lr == pytest.approx(1e-5 / 5**2)
    assert ada.n_iter_ == 7


def test_regressor_multi_output_and_convergence_warning():
    X, y = make_regression(n_samples=80, n_features=3, n_targets=2, random_state=0)
    y = y / y.std(axis=0)
    reg = MLPRegressor(hidden_layer_sizes=(16,), learning_rate_init=0.01, max_iter=5, random_state=0)
    with pytest.warns(ConvergenceWarning, match="maximum iterations"):
        reg.fit(X, y)
    assert reg.predict(X).shape == (80, 2)
    reg1 = clone(reg).set_params(max_iter=200).fit(X, y[:, 0])
    assert reg1.predict(X).shape == (80,) and reg1.score(X, y[:, 0]) > 0.9


def test_multilabel_indicator_targets(iris):
    X, y = iris
    Y = np.stack([y == 0, y == 2], axis=1).astype(int)
    clf = _clf(max_iter=100).fit(X, Y)
    assert clf.predict(X).shape == (150, 2) and clf.score(X, Y) > 0.9
    assert clf.predict_proba(X).shape == (150, 2)


def test_clear_errors(iris):
    X, y = iris
    with pytest.raises(ValueError, match="L-BFGS"):
        _clf(solver="lbfgs").fit(X, y)
    with pytest.raises(ValueError, match="only one class"):
        _clf().fit(X, np.zeros(len(X)))
    with pytest.raises(TypeError, match="must return an nn.Module"):
        _clf(module=lambda n_in, n_out, rng: None).fit(X, y)
    with pytest.raises(ValueError, match=r"returned shape \(1, 2\), expected \(1, 3\)"):
        _clf(module=lambda n_in, n_out, rng: _small_net(n_in, 2, rng), max_iter=1).fit(X, y)


def test_missing_scikit_learn_names_the_extra(monkeypatch):
    for name in [m for m in sys.modules if m == "sklearn" or m.startswith("sklearn.")]:
        monkeypatch.setitem(sys.modules, name, None)  # makes every `import sklearn...` fail
    monkeypatch.delitem(sys.modules, "nn.sklearn", raising=False)
    with pytest.raises(ImportError, match=r"chainrule\[sklearn\]"):
        importlib.import_module("nn.sklearn")
