"""The numba backend of compile_step and fit: a whole training step (forward, backward,
optimizer update) as one numba kernel, against eager training.

The kernel sums in loop order (NumPy sums pairwise) and numba's libm may round exp, log
and tanh differently, so results agree within a stated bound, not to the bit: after a few
steps every loss and parameter is within ``BOUND[dtype]`` of eager's, relative to the
largest magnitude of the compared array (float64: 1e-11, about 5e4 ulp; float32: 2e-5,
about 170 ulp). Where the kernel is not used (an op without a numba lowering) the step is
the NumPy program with the numba update: the same bits as eager.
"""

import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import autodiff as ad
import nn
from tests.helpers import FLAT_OPTIMIZERS, eager_step

numba = pytest.importorskip("numba")

BOUND = {np.float64: 1e-11, np.float32: 2e-5}
KERNEL = "# one numba kernel"

OPTIMIZERS = FLAT_OPTIMIZERS


def _close(a, b, dtype):
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    scale = max(float(np.max(np.abs(b), initial=0.0)), 1e-30)
    assert np.max(np.abs(a - b), initial=0.0) <= BOUND[dtype] * scale, (a, b)


def _train_both(sizes, activation, opt_name, dtype, loss_fn, batch, steps, seed):
    rng = np.random.default_rng(seed)
    eager = nn.MLP(sizes, activation=activation, seed=seed, dtype=dtype)
    model = nn.MLP(sizes, activation=activation, seed=seed, dtype=dtype)
    eager_opt, opt = OPTIMIZERS[opt_name](eager.parameters()), OPTIMIZERS[opt_name](model.parameters())
    step = nn.compile_step(model, loss_fn, opt, backend="numba")
    for _ in range(steps):
        X = rng.normal(size=(batch, sizes[0])).astype(dtype)
        if isinstance(loss_fn, nn.CrossEntropyLoss):
            y = rng.integers(0, sizes[-1], batch)
        else:
            y = rng.normal(size=(batch, sizes[-1])).astype(dtype)
        _close(step(X, y), eager_step(eager, loss_fn, eager_opt, X, y), dtype)
    return eager, model, step


@settings(max_examples=3)
@given(hidden=st.integers(1, 6), inputs=st.integers(1, 4), classes=st.integers(2, 4), batch=st.integers(1, 5),
       activation=st.sampled_from(["relu", "tanh", "sigmoid"]), opt_name=st.sampled_from(sorted(OPTIMIZERS)),
       dtype=st.sampled_from([np.float64, np.float32]), mse=st.booleans())
def test_whole_numba_step_equals_eager(hidden, inputs, classes, batch, activation, opt_name, dtype, mse):
    loss_fn = nn.MSELoss() if mse else nn.CrossEntropyLoss()
    eager, model, step = _train_both([inputs, hidden, classes], activation, opt_name, dtype, loss_fn, batch, 4, 0)
    assert step.source.startswith(KERNEL), step.source.splitlines()[0]
    for p, q in zip(eager.parameters(), model.parameters(), strict=True):
        assert q.data.dtype == dtype
        _close(q.data, p.data, dtype)
        _close(q.grad.data, p.grad.data, dtype)


def test_digits_shaped_step_equals_eager_and_shows_its_code():
    eager, model, step = _train_both([64, 50, 10], "relu", "adam", np.float64, nn.CrossEntropyLoss(), 32, 5, 1)
    source = step.source
    assert source.startswith(KERNEL)
    assert "def kernel(" in source and "linear_into(" in source and "adam_update(" in source
    for p, q in zip(eager.parameters(), model.parameters(), strict=True):
        _close(q.data, p.data, np.float64)
    with pytest.raises(ValueError, match=r"labels must be in \[0, 9\]"):  # checked before the kernel runs
        step(np.zeros((32, 64)), np.full(32, 10))


@ad.primitive
def _cube(x):
    return x ** 3


_cube.defvjp(lambda g, out, x: g * 3 * x ** 2)


class _Cube(nn.Module):
    def forward(self, x):
        return _cube(x)


def test_an_op_without_a_lowering_falls_back_to_the_numpy_step_with_the_same_bits():
    # a user's own primitive has no numba lowering: the step is the NumPy program with the numba update
    eager, model, step = _train_both([3, 4, 2], _Cube(), "adam", np.float64, nn.CrossEntropyLoss(), 4, 4, 2)
    first = step.source.splitlines()[0]
    assert first.startswith("# numba whole step not used: _cube"), first
    assert "one numba loop" in step.source
    for p, q in zip(eager.parameters(), model.parameters(), strict=True):
        np.testing.assert_array_equal(p.data, q.data)


def test_importing_the_packages_does_not_import_numba():
    code = "import sys, autodiff, nn, autodiff.compile.numba_codegen; print('numba' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def _fit_both(monkeypatch, make_model, make_opt, loss_fn, X, y, **kwargs):
    import nn.fit_numba as fit_numba

    epochs_in_numba = []
    run_epoch = fit_numba.run_epoch
    monkeypatch.setattr(fit_numba, "run_epoch", lambda *a: epochs_in_numba.append(run_epoch(*a)) or epochs_in_numba[-1])
    eager, model = make_model(), make_model()
    h_eager = nn.fit(eager, loss_fn, make_opt(eager.parameters()), X, y, progress=False, **kwargs)
    h_numba = nn.fit(model, loss_fn, make_opt(model.parameters()), X, y, progress=False, compile="numba", **kwargs)
    return eager, model, h_eager, h_numba, [logs is not None for logs in epochs_in_numba]


def test_fit_runs_later_epochs_inside_numba_with_eager_history(monkeypatch, dtype=np.float32):
    rng = np.random.default_rng(3)
    X, y = rng.normal(size=(23, 4)).astype(dtype), rng.integers(0, 3, 23)
    eager, model, h_eager, h_numba, in_numba = _fit_both(
        monkeypatch, lambda: nn.MLP([4, 6, 3], seed=0, dtype=dtype), OPTIMIZERS["adam"], nn.CrossEntropyLoss(),
        X, y, epochs=5, batch_size=5, seed=1)
    assert in_numba == [False, False, True, True, True]  # each batch shape compiles on its second trace
    assert h_numba.history.keys() == h_eager.history.keys()
    for key in h_eager.history:
        _close(h_numba.history[key], h_eager.history[key], dtype)
    for p, q in zip(eager.parameters(), model.parameters(), strict=True):
        _close(q.data, p.data, dtype)


def test_fit_regression_with_momentum_inside_numba(monkeypatch):
    rng = np.random.default_rng(4)
    X, y = rng.normal(size=(16, 3)), rng.normal(size=(16, 2))
    eager, model, h_eager, h_numba, in_numba = _fit_both(
        monkeypatch, lambda: nn.MLP([3, 5, 2], activation="tanh", seed=2), OPTIMIZERS["momentum"], nn.MSELoss(),
        X, y, epochs=4, batch_size=4, shuffle=False)
    assert in_numba == [False, True, True, True]  # one batch shape: compiled at the second batch
    _close(h_numba.history["loss"], h_eager.history["loss"], np.float64)
    for p, q in zip(eager.parameters(), model.parameters(), strict=True):
        _close(q.data, p.data, np.float64)
    # an epoch inside numba stops at a non-finite loss with fit's error (the same shapes: the kernels are cached)
    from nn.fit_numba import run_epoch

    step = nn.compile_step(model, nn.MSELoss(), OPTIMIZERS["momentum"](model.parameters()), backend="numba")
    for k in range(2):
        step(X[4 * k:4 * k + 4], y[4 * k:4 * k + 4])
    y[9, 0] = np.inf
    with pytest.raises(FloatingPointError, match=r"the loss became inf at epoch 7, batch 3 "):
        run_epoch(step, nn.MSELoss(), None, 6, nn.DataLoader(X, y, batch_size=4))


def test_batchnorm_buffers_are_read_and_written_by_the_kernel():
    # A bias right before BatchNorm has a gradient of pure rounding noise (the batch mean is
    # removed), so parameters are compared against the model's largest magnitude here.
    def make():
        return nn.Sequential(nn.Linear(4, 6, seed=0), nn.BatchNorm1d(6), nn.Tanh(), nn.Linear(6, 3, seed=1))

    eager, model = make(), make()
    eager_opt, opt = OPTIMIZERS["momentum"](eager.parameters()), OPTIMIZERS["momentum"](model.parameters())
    step = nn.compile_step(model, nn.CrossEntropyLoss(), opt, backend="numba")
    rng = np.random.default_rng(6)
    for _ in range(6):
        X, y = rng.normal(size=(8, 4)), rng.integers(0, 3, 8)
        _close(step(X, y), eager_step(eager, nn.CrossEntropyLoss(), eager_opt, X, y), np.float64)
    assert step.source.startswith(KERNEL)
    scale = max(float(np.max(np.abs(p.data))) for p in eager.parameters())
    for (name, a), (_, b) in zip(eager.state_dict().items(), model.state_dict().items(), strict=True):
        a, b = np.asarray(a), np.asarray(b)
        assert a.dtype == b.dtype and a.shape == b.shape, name
        assert np.max(np.abs(a - b), initial=0.0) <= BOUND[np.float64] * scale, name


@pytest.mark.parametrize("ignored", [False, True])
def test_fit_with_nll_loss_runs_epochs_inside_numba_unless_a_label_is_ignored(monkeypatch, ignored):
    """NLL's label check is a guard on the step's input: fit checks it once on all the
    labels and then runs whole epochs inside numba; with a label equal to ignore_index
    the epochs stay batch by batch (the step checks each batch), with eager's history."""
    rng = np.random.default_rng(7)
    X, y = rng.normal(size=(23, 4)), rng.integers(0, 3, 23)
    if ignored:
        y[9] = -100

    def model():
        return nn.Sequential(nn.MLP([4, 6, 3], seed=0), nn.LogSoftmax(dim=1))

    eager, compiled, h_eager, h_numba, in_numba = _fit_both(
        monkeypatch, model, OPTIMIZERS["adam"], nn.NLLLoss(), X, y, epochs=5, batch_size=5, seed=1)
    assert in_numba == ([False] * 5 if ignored else [False, False, True, True, True])
    for key in h_eager.history:
        _close(h_numba.history[key], h_eager.history[key], np.float64)
    for p, q in zip(eager.parameters(), compiled.parameters(), strict=True):
        _close(q.data, p.data, np.float64)
    # the epoch's labels are checked before numba runs it: a label past the last class
    # leaves the epoch to fit's per-batch loop (where the step raises eager's error)
    from nn.fit_numba import run_epoch

    step = nn.compile_step(compiled, nn.NLLLoss(), OPTIMIZERS["adam"](compiled.parameters()), backend="numba")
    y[9] = 2
    for k in range(2):  # two traces of each batch shape (other values: verified for any batch)
        step(X[:20] + k, y[:20])
        step(X[20:] + k, y[20:])
    y[9] = 3
    assert run_epoch(step, nn.NLLLoss(), "multiclass", 6, nn.DataLoader(X, y, batch_size=20)) is None
    y[9] = 2
    assert run_epoch(step, nn.NLLLoss(), "multiclass", 6, nn.DataLoader(X, y, batch_size=20)) is not None
