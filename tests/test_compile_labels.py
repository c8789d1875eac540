"""Class labels in compiled code: the losses' decision on label values (all classes in
range, some ignored, some bad) is a guard, so a compiled program never replays one
batch's case on another batch (a label -1 would wrap around to the last class)."""

import numpy as np
import pytest

import autodiff as ad
import nn
import nn.fit_epoch as fit_epoch
from nn import functional as F, optim
from tests.helpers import eager_step


def _log_probs(rng, n=4, c=3):
    return F.log_softmax(ad.Tensor(rng.normal(size=(n, c))), axis=1).numpy()


def test_jitted_nll_loss_rechecks_the_labels_at_every_call():
    f = ad.jit(lambda x, y: F.nll_loss(x, y))
    rng = np.random.default_rng(0)
    for k in range(3):
        x, y = _log_probs(rng), np.array([0, 1, 2, k % 3])
        assert f(x, y) == pytest.approx(F.nll_loss(ad.Tensor(x), y).item(), rel=1e-15)
    with pytest.raises(ValueError, match=r"nll_loss: labels must be in \[0, 2\] for 3 classes .* got \[-1\]"):
        f(_log_probs(rng), np.array([0, 1, -1, 2]))
    with pytest.raises(ValueError, match=r"got \[3\]"):
        f(_log_probs(rng), np.array([3, 1, 0, 2]))
    for y in (np.array([0, -100, 2, 1]), np.array([-100, 1, 1, 0]), np.array([2, 2, 0, 1])):  # ignored labels too
        x = _log_probs(rng)
        assert f(x, y) == pytest.approx(F.nll_loss(ad.Tensor(x), y).item(), rel=1e-15)
    assert "_plain_labels" in str(f.program)


def _nll_pair(inputs, backend):
    """An eager classifier ending in LogSoftmax with its SGD, and a twin with a compiled NLL step."""
    def make():
        return nn.Sequential(nn.Linear(inputs, 4, seed=0), nn.Tanh(), nn.Linear(4, 3, seed=1), nn.LogSoftmax(dim=1))

    eager, model = make(), make()
    step = nn.compile_step(model, nn.NLLLoss(), optim.SGD(model.parameters(), lr=0.1), backend=backend)
    return eager, optim.SGD(eager.parameters(), lr=0.1), model, step


def test_compiled_nll_step_equals_eager_and_refuses_bad_labels():
    rng = np.random.default_rng(1)
    eager, eager_opt, model, step = _nll_pair(5, "numpy")
    loss_fn = nn.NLLLoss()
    for k in range(6):
        X, y = rng.normal(size=(6, 5)), rng.integers(0, 3, 6)
        if k >= 4:
            y[k - 3] = -100  # ignored by both
        assert step(X, y) == pytest.approx(eager_step(eager, loss_fn, eager_opt, X, y), rel=1e-12)
    for p, q in zip(eager.parameters(), model.parameters(), strict=True):
        np.testing.assert_allclose(q.data, p.data, rtol=1e-12, atol=1e-15)
    before = [p.data.copy() for p in model.parameters()]
    with pytest.raises(ValueError, match=r"labels must be in \[0, 2\] for 3 classes .* got \[-1\]"):
        step(rng.normal(size=(6, 5)), np.array([0, 1, 2, -1, 0, 1]))
    for b, p in zip(before, model.parameters(), strict=True):
        np.testing.assert_array_equal(p.data, b)  # the refused step changed nothing


def test_fit_with_nll_loss_runs_compiled_epochs_and_equals_eager(monkeypatch):
    rng = np.random.default_rng(2)
    X, y = rng.normal(size=(26, 5)), rng.integers(0, 3, 26)
    ran = []
    run_epoch = fit_epoch.run_epoch
    monkeypatch.setattr(fit_epoch, "run_epoch", lambda *a: ran.append(run_epoch(*a)) or ran[-1])

    def make():
        return nn.Sequential(nn.Linear(5, 6, seed=0), nn.ReLU(), nn.Linear(6, 3, seed=1), nn.LogSoftmax(dim=1))

    histories, models = [], []
    for compiled in (False, True):
        model = make()
        histories.append(nn.fit(model, nn.NLLLoss(), optim.Adam(model.parameters(), lr=0.01), X, y, epochs=4,
                                batch_size=8, progress=False, compile=compiled).history)
        models.append(model)
    assert [logs is not None for logs in ran] == [True] * 4  # the guard checks the labels: no output needed
    for key in histories[0]:
        np.testing.assert_allclose(histories[1][key], histories[0][key], rtol=1e-12)
    for p, q in zip(models[0].parameters(), models[1].parameters(), strict=True):
        np.testing.assert_allclose(q.data, p.data, rtol=1e-12, atol=1e-15)


def test_numba_step_checks_the_label_guard_before_its_kernel():
    pytest.importorskip("numba")
    rng = np.random.default_rng(3)
    eager, eager_opt, model, step = _nll_pair(4, "numba")
    loss_fn = nn.NLLLoss()
    for k in range(5):
        X, y = rng.normal(size=(6, 4)), rng.integers(0, 3, 6)
        if k == 4:
            y[2] = -100  # ignored: the guard fails, the step runs eagerly (eager's numbers)
        assert step(X, y) == pytest.approx(eager_step(eager, loss_fn, eager_opt, X, y), rel=1e-11)
    assert step.source.startswith("# one numba kernel") and "raise GuardFailed(0, '_plain_labels')" in step.source
    assert step.guard_failures == 1
    with pytest.raises(ValueError, match=r"labels must be in \[0, 2\] for 3 classes .* got \[-1\]"):
        step(rng.normal(size=(6, 4)), np.array([0, 1, -1, 2, 0, 1]))  # the kernel would wrap -1 around
    for p, q in zip(eager.parameters(), model.parameters(), strict=True):
        np.testing.assert_allclose(q.data, p.data, rtol=1e-11, atol=1e-14)


@pytest.mark.parametrize("loss_fn", [
    nn.CrossEntropyLoss(weight=np.array([1.0, 2.0, 0.5])),
    nn.CrossEntropyLoss(weight=np.array([1.0, 2.0, 0.5]), label_smoothing=0.1),
    nn.CrossEntropyLoss(weight=np.array([1.0, 2.0, 0.5]), reduction="sum"),
], ids=["weight", "weight and smoothing", "weight, sum"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_class_weighted_losses_compile_and_follow_each_batchs_labels(loss_fn, dtype):
    """w[labels] and the total weight are ops of the program: each batch's own labels
    weigh its rows (a compiled step kept the first batch's before, or refused to trace)."""
    rng = np.random.default_rng(1)
    X = rng.normal(size=(16, 5)).astype(dtype)
    models = [nn.Linear(5, 3, seed=0, dtype=dtype) for _ in range(2)]
    opts = [optim.SGD(m.parameters(), lr=0.1) for m in models]
    step = nn.compile_step(models[1], loss_fn, opts[1])
    for k in range(6):
        y = rng.integers(0, 3, 16)
        assert eager_step(models[0], loss_fn, opts[0], X + k, y) == step(X + k, y)
        for p, q in zip(models[0].parameters(), models[1].parameters(), strict=True):
            np.testing.assert_array_equal(p.data, q.data)
    assert step.ran is not None  # the last steps ran the compiled program


def test_jitted_plain_cross_entropy_takes_ignored_rows_as_the_other_case():
    """ad.jit of the plain cross_entropy (the fused loss): labels with rows ignored are
    the other case's (the general path's program, compiled once traced twice), eager's
    numbers; a label out of range gets eager's error (the fused kernel's before)."""
    f = ad.jit(lambda x, y: F.cross_entropy(x, y))
    df = ad.jit(ad.grad(lambda x, y: F.cross_entropy(x, y)))
    rng = np.random.default_rng(6)
    for k in range(8):
        x, y = rng.normal(size=(6, 3)), rng.integers(0, 3, 6)
        if k >= 3 and k != 6:
            y[[k % 6, 2]] = -100
        assert f(x, y) == F.cross_entropy(ad.Tensor(x), y).item()
        np.testing.assert_array_equal(df(x, y), ad.grad(F.cross_entropy)(ad.Tensor(x), y).numpy())
        assert (f.ran is not None, df.ran is not None) == ((k not in (0, 1, 3, 4),) * 2)
    y[1] = 3
    with pytest.raises(ValueError, match=r"cross_entropy: labels must be in \[0, 2\] for 3 classes \(or ignore_index"):
        f(x, y)


def _eager_calls(monkeypatch, step_class):
    """The calls that ran a compiled step's function eagerly (not traced, not compiled)."""
    calls = []
    eager = step_class._eager
    monkeypatch.setattr(step_class, "_eager", lambda self, *a: calls.append(1) or eager(self, *a))
    return calls


def _dropout_net():
    return nn.Sequential(nn.Linear(5, 8, seed=0), nn.Dropout(0.25, seed=4), nn.Linear(8, 3, seed=1))


@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_plain_cross_entropy_compiles_batches_with_ignored_rows(backend, monkeypatch):
    """The fused loss's program takes labels that are all classes; a batch with rows
    labelled ignore_index goes on to the program of the other case (the general path,
    whose kept rows are an op), compiled once two of its traces agree: no batch runs
    eagerly, each gives eager's numbers (dropout draws eager's masks). Labels out of
    range give eager's error, a batch of ignored rows only eager's NaN."""
    if backend == "numba":
        pytest.importorskip("numba")
    eager_calls = _eager_calls(monkeypatch, nn.compile.CompiledStep)
    rng = np.random.default_rng(2)
    X = rng.normal(size=(16, 5))
    models = [_dropout_net() for _ in range(2)]
    opts = [optim.Adam(m.parameters(), lr=0.1) for m in models]
    loss_fn = nn.CrossEntropyLoss()
    step = nn.compile_step(models[1], loss_fn, opts[1], backend=backend)
    ran = []
    for k, padded in enumerate([0, 0, 0, 1, 1, 1, 0, 1, 0, 1, 1, 0]):
        y = rng.integers(0, 3, 16)
        if padded:
            y[rng.random(16) < 0.3] = -100
            y[k] = -100
        want, got = eager_step(models[0], loss_fn, opts[0], X + k, y), step(X + k, y)
        assert got == want if backend == "numpy" else abs(got - want) < 1e-12
        ran.append(step.ran)
    assert [r is not None for r in ran] == [False, False, True, False, False] + [True] * 7  # two traces a case
    assert step.traces == 4 and not eager_calls
    if backend == "numba":  # both cases' programs are whole numba kernels
        assert {r.source.startswith("# one numba kernel") for r in ran[5:]} == {True} and ran[5] is not ran[6]
    message = r"cross_entropy: labels must be in \[0, 2\] for 3 classes \(or ignore_index=-100\), got \["
    for bad, padded in ((3, False), (-1, True), (3, True)):  # not ignored: eager's error, with or without padding
        y = rng.integers(0, 3, 16)
        y[1], y[4] = bad, -100 if padded else 0
        with pytest.raises(ValueError, match=message + str(bad)):
            step(X, y)
    for p, q in zip(models[0].parameters(), models[1].parameters(), strict=True):
        np.testing.assert_allclose(p.data, q.data, rtol=1e-12, atol=0 if backend == "numpy" else 1e-15)
    y = np.full(16, -100)
    with np.errstate(all="ignore"):  # the mean over no rows: NaN, as eager's
        assert np.isnan(eager_step(models[0], loss_fn, opts[0], X, y)) and np.isnan(step(X, y))
    assert step.ran is not None and not eager_calls


@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_fit_compiled_on_padded_labels_equals_eager_fit(backend, monkeypatch):
    """fit(compile=...) on labels with padding rows: from the second epoch on, fit_epoch
    runs each batch's case's compiled program itself (the fused loss's, or the general
    path's for batches with padding), without step() and its checks; losses, accuracy
    (padding left out) and parameters as eager fit's."""
    if backend == "numba":
        pytest.importorskip("numba")
    eager_calls = _eager_calls(monkeypatch, nn.compile.CompiledStep)
    step_calls, epochs = [], []
    call, run_epoch = nn.compile.CompiledStep.__call__, fit_epoch.run_epoch
    monkeypatch.setattr(nn.compile.CompiledStep, "__call__", lambda *a, **k: step_calls.append(1) or call(*a, **k))
    monkeypatch.setattr(fit_epoch, "run_epoch",
                        lambda *a: epochs.append((run_epoch(*a), len(step_calls))) or epochs[-1][0])
    rng = np.random.default_rng(5)
    X, y = rng.normal(size=(48, 5)), rng.integers(0, 3, 48)
    y[rng.random(48) < 0.25] = -100
    y[40:] = rng.integers(0, 3, 8)  # a batch without padding (the fused loss's)
    histories, models = [], []
    for compiled in (False, True if backend == "numpy" else "numba"):
        model = _dropout_net()
        histories.append(nn.fit(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1, momentum=0.9),
                                X, y, epochs=5, batch_size=8, progress=False, compile=compiled).history)
        models.append(model)
    assert not eager_calls and [logs is not None for logs, _ in epochs] == [False, True, True, True, True]
    assert epochs[-1][1] == epochs[-2][1]  # the last epoch called no step(): every case's program was compiled
    for key in histories[0]:
        np.testing.assert_allclose(histories[1][key], histories[0][key], rtol=1e-12)
    for p, q in zip(models[0].parameters(), models[1].parameters(), strict=True):
        np.testing.assert_allclose(q.data, p.data, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("loss_fn", [
    nn.NLLLoss(),
    nn.CrossEntropyLoss(label_smoothing=0.1),
    nn.CrossEntropyLoss(weight=np.array([1.0, 2.0, 0.5])),
], ids=["nll", "smoothed CE", "weighted CE"])
def test_ignored_rows_that_change_between_batches_compile(loss_fn):
    """The rows labelled ignore_index (padding) differ from batch to batch: which rows are
    kept is an op of the program, so the step compiles and follows each batch's rows."""
    rng = np.random.default_rng(3)
    X = rng.normal(size=(16, 5))
    def make():
        return nn.Sequential(nn.Linear(5, 3, seed=0), nn.LogSoftmax(dim=1)) if isinstance(loss_fn, nn.NLLLoss) \
            else nn.Linear(5, 3, seed=0)
    models = [make() for _ in range(2)]
    opts = [optim.SGD(m.parameters(), lr=0.1) for m in models]
    step = nn.compile_step(models[1], loss_fn, opts[1])
    ran = []
    for k in range(6):
        y = rng.integers(0, 3, 16)
        y[rng.random(16) < 0.3] = -100
        assert eager_step(models[0], loss_fn, opts[0], X + k, y) == step(X + k, y)
        ran.append(step.ran is not None)
    assert ran[3:] == [True, True, True]
    y[2] = 3  # a label past the last class, not ignored: eager's error
    message = r"labels must be in \[0, 2\] for 3 classes \(or ignore_index=-100\), got \[3\]"
    with pytest.raises(ValueError, match=message):
        step(X, y)
    for p, q in zip(models[0].parameters(), models[1].parameters(), strict=True):
        np.testing.assert_array_equal(p.data, q.data)
