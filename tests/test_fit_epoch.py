"""fit(compile=True) runs an epoch's compiled steps without the per-call guards
(nn.fit_epoch): the same history and parameters as eager fit, bit for bit, and the
same errors."""

import numpy as np
import pytest

import nn
import nn.fit_epoch as fit_epoch
from nn import optim
from tests.helpers import FLAT_OPTIMIZERS


def _fit_both(monkeypatch, make_model, make_opt, loss_fn, X, y, **kwargs):
    """Eager fit and compiled fit from the same start; which epochs the compiled fit ran
    through nn.fit_epoch (its logs not None)."""
    ran = []
    run_epoch = fit_epoch.run_epoch
    monkeypatch.setattr(fit_epoch, "run_epoch", lambda *a: ran.append(run_epoch(*a)) or ran[-1])
    eager, model = make_model(), make_model()
    h_eager = nn.fit(eager, loss_fn, make_opt(eager.parameters()), X, y, progress=False, **kwargs)
    h_comp = nn.fit(model, loss_fn, make_opt(model.parameters()), X, y, progress=False, compile=True, **kwargs)
    return eager, model, h_eager, h_comp, [logs is not None for logs in ran]


def _same(eager, model):
    for p, q in zip(eager.parameters(), model.parameters(), strict=True):
        np.testing.assert_array_equal(q.data, p.data)


@pytest.mark.parametrize("opt_name", sorted(FLAT_OPTIMIZERS))
def test_epochs_run_without_guards_and_equal_eager_fit(monkeypatch, opt_name):
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(23, 4)), rng.integers(0, 3, 23)
    eager, model, h_eager, h_comp, fast = _fit_both(
        monkeypatch, lambda: nn.MLP([4, 6, 3], seed=0), FLAT_OPTIMIZERS[opt_name], nn.CrossEntropyLoss(),
        X, y, epochs=4, batch_size=5, seed=1)
    assert fast == [False, True, True, True]  # the first epoch has no output yet to check the labels against
    assert h_comp.history == h_eager.history
    _same(eager, model)


def test_step_counts_gradients_and_state_are_booked(monkeypatch):
    rng = np.random.default_rng(1)
    X, y = rng.normal(size=(20, 3)), rng.integers(0, 2, 20)
    models, opts = [], []
    for compiled in (False, True):
        model = nn.MLP([3, 4, 2], seed=0)
        opt = optim.Adam(model.parameters(), lr=0.01)
        nn.fit(model, nn.CrossEntropyLoss(), opt, X, y, epochs=3, batch_size=6, progress=False, compile=compiled)
        models.append(model)
        opts.append(opt)
    for p, q in zip(models[0].parameters(), models[1].parameters(), strict=True):
        se, sc = opts[0].state[p], opts[1].state[q]
        assert se["step"] == sc["step"] == 12  # 4 batches a epoch, 3 epochs
        np.testing.assert_array_equal(sc["exp_avg"], se["exp_avg"])
        np.testing.assert_array_equal(sc["exp_avg_sq"], se["exp_avg_sq"])
        np.testing.assert_array_equal(q.grad.data, p.grad.data)
    # training goes on from there exactly as eager training does
    X2 = X[::-1].copy()
    for model, opt in zip(models, opts, strict=True):
        nn.fit(model, nn.CrossEntropyLoss(), opt, X2, y, epochs=2, batch_size=6, progress=False, compile=True)
    _same(*models)


def test_dropout_and_batchnorm_state(monkeypatch):
    rng = np.random.default_rng(2)
    X, y = rng.normal(size=(30, 5)), rng.integers(0, 3, 30)

    def make():
        return nn.Sequential(nn.Linear(5, 8, seed=0), nn.BatchNorm1d(8), nn.ReLU(), nn.Dropout(0.3, seed=4),
                             nn.Linear(8, 3, seed=1))

    eager, model, h_eager, h_comp, fast = _fit_both(
        monkeypatch, make, FLAT_OPTIMIZERS["momentum"], nn.CrossEntropyLoss(), X, y, epochs=4, batch_size=8)
    assert fast[1:] == [True, True, True]
    assert h_comp.history == h_eager.history
    _same(eager, model)
    bn_e, bn_c = eager[1], model[1]
    np.testing.assert_array_equal(bn_c.running_mean, bn_e.running_mean)
    np.testing.assert_array_equal(bn_c.running_var, bn_e.running_var)


def test_regression_targets(monkeypatch):
    rng = np.random.default_rng(3)
    X, y = rng.normal(size=(17, 3)), rng.normal(size=(17, 2))
    calls = []
    call = nn.compile.CompiledStep.__call__
    monkeypatch.setattr(nn.compile.CompiledStep, "__call__",
                        lambda self, X, y: calls.append(len(X)) or call(self, X, y))
    eager, model, h_eager, h_comp, fast = _fit_both(
        monkeypatch, lambda: nn.MLP([3, 5, 2], activation="tanh", seed=2), FLAT_OPTIMIZERS["sgd"], nn.MSELoss(),
        X, y, epochs=3, batch_size=4, seed=3)
    assert fast == [True, True, True]  # no labels to check: the first epoch too (its first calls trace)
    # step() only traces and verifies: batch shape 4 twice in the first epoch, shape 1 once in each of the first two
    assert calls == [4, 4, 1, 1]
    assert h_comp.history == h_eager.history
    _same(eager, model)


def test_a_non_finite_loss_stops_with_fits_error():
    rng = np.random.default_rng(4)
    X, y = rng.normal(size=(16, 3)), rng.normal(size=(16, 2))
    model = nn.MLP([3, 4, 2], seed=0)
    step = nn.compile_step(model, nn.MSELoss(), optim.SGD(model.parameters(), lr=0.01))
    for k in range(2):  # traced and verified: the epoch below calls the compiled program directly
        step(X[4 * k:4 * k + 4], y[4 * k:4 * k + 4])
    y[9, 0] = np.inf
    loader = nn.DataLoader(X, y, batch_size=4, shuffle=False)
    with pytest.raises(FloatingPointError, match=r"epoch 3, batch 3 "):
        fit_epoch.run_epoch(step, nn.MSELoss(), None, 2, loader)
    assert model[0].weight.grad is not None  # the steps before the error are booked


def test_labels_out_of_range_leave_the_epoch_to_the_per_batch_loop():
    rng = np.random.default_rng(5)
    X, y = rng.normal(size=(12, 3)), rng.integers(0, 3, 12)
    model = nn.MLP([3, 4, 3], seed=0)
    nn.fit(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1), X, y, epochs=2, batch_size=4,
           progress=False, compile=True)
    y[7] = 3
    with pytest.raises(ValueError, match=r"labels must be in \[0, 2\]"):
        nn.fit(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1), X, y, epochs=2, batch_size=4,
               progress=False, compile=True)


@pytest.mark.parametrize("size", [64, 200])
def test_accuracy_counted_and_rows_gathered_in_bulk_equal_the_per_batch_loop(monkeypatch, size):
    monkeypatch.setattr(fit_epoch.Hits, "size", size)  # 64 bytes: counted at every batch; 200: every few
    monkeypatch.setattr(fit_epoch, "GATHER_BYTES", 3 * size)  # rows of one batch gathered at a time, or of a few
    rng = np.random.default_rng(6)
    X, y = rng.normal(size=(29, 4)), rng.integers(0, 3, 29)
    eager, model, h_eager, h_comp, fast = _fit_both(
        monkeypatch, lambda: nn.MLP([4, 5, 3], seed=3), FLAT_OPTIMIZERS["adam"], nn.CrossEntropyLoss(),
        X, y, epochs=3, batch_size=4, seed=2)
    assert fast == [False, True, True]
    assert h_comp.history["accuracy"] == h_eager.history["accuracy"]
    assert 0 < h_eager.history["accuracy"][-1] < 1


def test_ctrl_c_inside_an_epoch_books_the_steps_taken(monkeypatch):
    rng = np.random.default_rng(7)
    X, y = rng.normal(size=(40, 4)), rng.integers(0, 3, 40)
    calls = []
    compiled = fit_epoch._compiled

    def interrupted(step, xb, yb, *case):  # the compiled program of the epoch's batches, stopped at its 4th call
        found = compiled(step, xb, yb, *case)
        if found is None:
            return None
        entry, fn, args, writes = found

        def stopping(*a):
            calls.append(1)
            if len(calls) == 4:
                raise KeyboardInterrupt
            return fn(*a)

        return entry, stopping, args, writes

    monkeypatch.setattr(fit_epoch, "_compiled", interrupted)
    model = nn.MLP([4, 5, 3], seed=0)
    opt = optim.Adam(model.parameters(), lr=0.01)
    history = nn.fit(model, nn.CrossEntropyLoss(), opt, X, y, epochs=3, batch_size=8, progress=False, compile=True)
    assert history.interrupted and len(calls) == 4
    steps = 5 + 3  # the first epoch's five batches, then three compiled steps before Ctrl-C
    assert all(opt.state[p]["step"] == steps for p in model.parameters())
    # going on eagerly gives what eager training from the start gives
    eager = nn.MLP([4, 5, 3], seed=0)
    eager_opt = optim.Adam(eager.parameters(), lr=0.01)
    order = nn.DataLoader(X, y, batch_size=8, shuffle=True, seed=0)
    batches = list(order) + list(order)[:3]
    loss_fn = nn.CrossEntropyLoss()
    for xb, yb in batches:
        eager_opt.zero_grad()
        loss_fn(eager(xb), yb).backward()
        eager_opt.step()
    _same(eager, model)


@pytest.mark.parametrize("ignore", [None, -100, 1])
def test_hits_count_as_a_per_batch_count_does(monkeypatch, ignore):
    monkeypatch.setattr(fit_epoch.Hits, "size", 100)  # counted every few batches
    rng = np.random.default_rng(8)
    hits, correct, counted = fit_epoch.Hits(ignore), 0, 0
    for rows in [5, 3, 5, 1, 4, 5]:
        out, labels = rng.normal(size=(rows, 3)), rng.integers(-1, 3, rows)
        labels[labels < 0] = -100
        hits.add(out, labels)
        keep = labels != ignore if ignore is not None else np.ones(rows, bool)
        correct += int(np.sum((np.argmax(out, axis=1) == labels) & keep))
        counted += int(np.sum(keep))
    assert hits.totals() == (correct, counted)


def test_eager_fit_accuracy_leaves_out_ignored_labels():
    rng = np.random.default_rng(9)
    X, y = rng.normal(size=(30, 4)), rng.integers(0, 3, 30)
    y[::4] = -100  # the default ignore_index: no loss, no accuracy
    loss_fn = nn.CrossEntropyLoss()
    model, reference = nn.MLP([4, 6, 3], seed=1), nn.MLP([4, 6, 3], seed=1)
    history = nn.fit(model, loss_fn, optim.SGD(model.parameters(), lr=0.1), X, y, epochs=2, batch_size=7,
                     progress=False, seed=4)
    opt, correct, counted = optim.SGD(reference.parameters(), lr=0.1), 0, 0
    loader = nn.DataLoader(X, y, batch_size=7, shuffle=True, seed=4)
    for epoch in range(2):
        correct = counted = 0
        for xb, yb in loader:
            opt.zero_grad()
            out = reference(xb)
            keep = yb != -100
            correct += int(np.sum((np.argmax(out.numpy(), axis=1) == yb) & keep))
            counted += int(np.sum(keep))
            loss_fn(out, yb).backward()
            opt.step()
        assert history.history["accuracy"][epoch] == correct / counted
