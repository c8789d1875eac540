"""DataLoader, fit, early stopping, callbacks, diagnostics, metrics, datasets, and learning."""

from __future__ import annotations

import numpy as np
import pytest

import autodiff as ad
import nn
from nn import optim


# ------------------------------------------------------------------ data
def test_dataloader_batches_shuffles_and_drop_last():
    X, y = np.arange(20.0).reshape(10, 2), np.arange(10)
    assert [len(yb) for _, yb in nn.DataLoader(X, y, batch_size=4)] == [4, 4, 2]
    assert [len(yb) for _, yb in nn.DataLoader(X, y, batch_size=4, drop_last=True)] == [4, 4]
    loader = nn.DataLoader(X, y, batch_size=10, shuffle=True, seed=0)
    first, second = (np.concatenate([yb for _, yb in loader]) for _ in range(2))
    assert sorted(first) == list(range(10)) and not np.array_equal(first, second)  # reshuffled each epoch
    again = nn.DataLoader(X, y, batch_size=10, shuffle=True, seed=0)
    assert np.array_equal(next(iter(again))[1], first)  # same seed, same order
    xb, yb = next(iter(nn.DataLoader(X, y, batch_size=3, shuffle=True, seed=1)))
    assert np.array_equal(xb[:, 0] / 2, yb)  # rows stay paired with their labels


def test_dataloader_and_fit_reject_mismatched_lengths():
    with pytest.raises(ValueError, match="DataLoader: X has 5 samples but y has 4"):
        nn.DataLoader(np.ones((5, 2)), np.ones(4))
    model = nn.Linear(2, 1, seed=0)
    with pytest.raises(ValueError, match="fit: X has 5 samples but y has 4"):
        nn.fit(model, nn.MSELoss(), optim.SGD(model.parameters(), lr=0.1), np.ones((5, 2)), np.ones(4))


def test_train_test_split_seeded_and_stratified():
    X, y = np.arange(100).reshape(50, 2), np.repeat([0, 1], [40, 10])
    a = nn.train_test_split(X, y, test_size=0.2, seed=3, stratify=y)
    b = nn.train_test_split(X, y, test_size=0.2, seed=3, stratify=y)
    assert all(np.array_equal(u, v) for u, v in zip(a, b, strict=True))
    X_train, X_test, y_train, y_test = a
    assert len(X_test) == 10 and y_test.sum() == 2  # class proportions kept
    assert sorted(np.concatenate([X_train[:, 0], X_test[:, 0]])) == list(range(0, 100, 2))


# --------------------------------------------------------------- metrics
def test_metrics_closed_forms():
    assert nn.metrics.accuracy([0, 1, 2, 1], [0, 2, 2, 1]) == 0.75
    cm = nn.metrics.confusion_matrix([0, 1, 2, 1], [0, 2, 2, 1], num_classes=3)
    assert cm.tolist() == [[1, 0, 0], [0, 1, 1], [0, 0, 1]]
    assert nn.metrics.mean_squared_error([1.0, 2.0], [1.0, 4.0]) == 2.0
    t = np.array([1.0, 2.0, 3.0, 4.0])
    assert nn.metrics.r2_score(t, t) == 1.0
    assert nn.metrics.r2_score(t, np.full(4, t.mean())) == 0.0


# ------------------------------------------------------------------- fit
def regression_problem(n=64, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    return X, X @ np.array([1.0, -2.0, 0.5]) + 0.3


def test_fit_returns_history_with_losses_lr_and_validation():
    X, y = regression_problem()
    model = nn.Linear(3, 1, seed=0)
    opt = optim.SGD(model.parameters(), lr=0.1)
    sched = optim.lr_scheduler.ExponentialLR(opt, gamma=0.5)
    h = nn.fit(model, nn.MSELoss(), opt, X, y.reshape(-1, 1), epochs=5, batch_size=16,
               validation_data=(X[:10], y[:10].reshape(-1, 1)), scheduler=sched, progress=False)
    assert h.epoch == [0, 1, 2, 3, 4]
    assert h["lr"] == [0.1, 0.05, 0.025, 0.0125, 0.00625]
    assert h["loss"][-1] < h["loss"][0] and len(h["val_loss"]) == 5
    expected = float(np.mean((model(X[:10]).numpy().ravel() - y[:10]) ** 2))
    assert h["val_loss"][-1] == pytest.approx(expected)


def test_early_stopping_restores_exactly_the_best_epoch():
    X, y = regression_problem()
    Xv, yv = regression_problem(16, seed=1)
    snapshots = {}

    class Snapshot(nn.Callback):
        def on_train_begin(self, model):
            self.model = model

        def on_epoch_end(self, epoch, logs):
            snapshots[epoch] = (logs["val_loss"], self.model.state_dict())

    model = nn.MLP([3, 8, 1], seed=0)
    # a learning rate large enough that validation loss bounces, so the best epoch is not the last
    stopper = nn.EarlyStopping(patience=3, restore_best_weights=True)
    h = nn.fit(model, nn.MSELoss(), optim.SGD(model.parameters(), lr=0.02, momentum=0.9), X, y.reshape(-1, 1),
               epochs=60, batch_size=8, validation_data=(Xv, yv.reshape(-1, 1)), early_stopping=stopper,
               callbacks=[Snapshot()], progress=False)
    best = int(np.argmin([snapshots[e][0] for e in sorted(snapshots)]))
    assert h.best_epoch == best and h.stopped_epoch == best + 3
    assert best != max(snapshots)  # restoring the last epoch would be wrong
    for key, value in model.state_dict().items():
        assert np.array_equal(value, snapshots[best][1][key]), key


def test_nan_loss_stops_with_epoch_and_batch():
    X, y = regression_problem()
    model = nn.Linear(3, 1, seed=0)
    with pytest.raises(FloatingPointError, match=r"loss became (nan|inf) at epoch \d+, batch \d+"):
        with np.errstate(all="ignore"):
            nn.fit(model, nn.MSELoss(), optim.SGD(model.parameters(), lr=1e6), X, y.reshape(-1, 1) * 1e30,
                   epochs=5, batch_size=8, progress=False)


def test_progress_prints_one_line_per_epoch(capsys):
    X, y = regression_problem()
    model = nn.Linear(3, 1, seed=0)
    nn.fit(model, nn.MSELoss(), optim.SGD(model.parameters(), lr=0.1), X, y.reshape(-1, 1), epochs=3,
           progress=True)
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 3 and lines[0].startswith("epoch 1/3 - loss ")


def test_diagnostics_dead_relu_and_gradient_norms():
    model = nn.MLP([2, 4, 1], seed=0)
    with ad.no_grad():  # kill units 0 and 1: their pre-activation is negative for every input
        model[0].weight[:, :2] = 0.0
        model[0].bias[:2] = -1.0
    X = np.random.default_rng(0).uniform(0, 1, size=(32, 2))
    diag = nn.TrainingDiagnostics(X)
    h = nn.fit(model, nn.MSELoss(), optim.SGD(model.parameters(), lr=0.01), X, X.sum(axis=1, keepdims=True),
               epochs=2, callbacks=[diag], progress=False)
    assert h["dead_relu/1"][0] == pytest.approx(50.0)
    # the logged norm is the last batch's gradient norm; dead units' weights got no gradient at all
    W = model[0].weight.grad.numpy()
    assert h["grad_norm/0.weight"][-1] == pytest.approx(np.sqrt((W ** 2).sum()))
    assert np.all(W[:, :2] == 0) and np.any(W[:, 2:] != 0)
    assert "grad_norm/2.bias" in h.history


def test_fit_reports_accuracy_for_classification():
    X, y = nn.datasets.logic_gate("xor")
    model = nn.MLP([2, 8, 1], activation="tanh", seed=0)
    h = nn.fit(model, nn.BCEWithLogitsLoss(), optim.Adam(model.parameters(), lr=0.05), X, y.reshape(-1, 1),
               epochs=300, batch_size=4, progress=False)
    assert h["accuracy"][-1] == 1.0
    assert nn.metrics.accuracy(y, (model(X).numpy().ravel() > 0).astype(int)) == 1.0


# ------------------------------------------------------------- datasets
def test_course_datasets():
    X, y = nn.datasets.logic_gate("and")
    assert y.tolist() == [0, 0, 0, 1]
    X, y = nn.datasets.font_color(200, seed=0)
    lum = 0.299 * X[:, 0] + 0.587 * X[:, 1] + 0.114 * X[:, 2]
    assert np.array_equal(y, (lum < 128).astype(float)) and 0.2 < y.mean() < 0.8
    X, y = nn.datasets.polynomial(100, seed=0)
    assert X.shape == (100, 2) and np.allclose(y, X[:, 0] ** 2 + 3 * X[:, 0] * X[:, 1] + X[:, 1] ** 2 + 5)
    days, temps = nn.datasets.temperature(n_days=730, window=125, seed=0)
    assert days.shape == (606, 1) and temps.shape == (606, 2)
    assert np.all(temps[:, 0] > temps[:, 1])  # smoothed TMAX above TMIN
    assert np.std(np.diff(temps[:, 0])) < 0.2  # the moving average is smooth


def test_digits_reaches_95_percent():
    pytest.importorskip("sklearn")
    X_train, X_test, y_train, y_test = nn.datasets.load_digits(seed=0)
    model = nn.MLP([64, 50, 10], seed=0)
    nn.fit(model, nn.CrossEntropyLoss(), optim.Adam(model.parameters(), lr=1e-3), X_train, y_train, epochs=40,
           batch_size=32, progress=False)
    model.eval()
    acc = nn.metrics.accuracy(y_test, model(X_test))
    assert acc >= 0.95, acc


def test_breast_cancer_loader_standardizes():
    pytest.importorskip("sklearn")
    X_train, X_test, y_train, y_test = nn.datasets.load_breast_cancer()
    assert X_train.shape[1] == 30 and abs(X_train.mean()) < 1e-10
    assert set(np.unique(y_train)) == {0.0, 1.0}


def test_dataset_loaders_name_the_extra_when_sklearn_is_missing(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "sklearn", None)  # makes `import sklearn` fail
    with pytest.raises(ImportError, match=r"needs scikit-learn: pip install 'chainrule\[datasets\]'"):
        nn.datasets.load_digits()
