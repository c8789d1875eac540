"""The numba whole-step kernel on the models people build: every nn activation, dropout,
the regression and binary-classification losses, batched (3-D) inputs to Linear, each
optimizer variant. Each step must be the one numba kernel (not the NumPy fallback) and
give the losses and parameters of eager training within the bounds of
test_compile_numba.py (float64 1e-11, float32 2e-5, relative to the largest magnitude of
the compared array); dropout draws the same masks from the same seeded Generator.
"""

import numpy as np
import pytest

import autodiff as ad
import nn
from tests.helpers import FLAT_OPTIMIZERS, eager_step

numba = pytest.importorskip("numba")

BOUND = {np.float64: 1e-11, np.float32: 2e-5}
KERNEL = "# one numba kernel"


def _close(a, b, dtype, what=""):
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    scale = max(float(np.max(np.abs(b), initial=0.0)), 1e-30)
    assert np.max(np.abs(a - b), initial=0.0) <= BOUND[dtype] * scale, (what, a, b)


class _Above(nn.Module):
    """x where x > threshold else -x: a comparison with a Python float (NumPy compares a
    float32 array with it in float32), discontinuous, so a wrong compare changes the loss."""

    def __init__(self, threshold):
        super().__init__()
        self.threshold = threshold

    def forward(self, x):
        return ad.where(x > self.threshold, x, -x)


def _layers(acts, width, dtype, inputs=4, outputs=3):
    """Linear, act, Linear, act, ..., Linear (seeded)."""
    mods, n = [], inputs
    for k, act in enumerate(acts):
        mods += [nn.Linear(n, width, seed=k, dtype=dtype), act]
        n = width
    return nn.Sequential(*mods, nn.Linear(n, outputs, seed=99, dtype=dtype))


def _train_both(make, loss_fn, make_opt, batches, dtype):
    """Eager and numba training from the same initial model on the same batches: the
    losses of every step are compared; returns both models and the step."""
    eager, model = make(), make()
    eager_opt, opt = make_opt(eager.parameters()), make_opt(model.parameters())
    step = nn.compile_step(model, loss_fn, opt, backend="numba")
    for k, (X, y) in enumerate(batches):
        _close(step(X, y), eager_step(eager, loss_fn, eager_opt, X, y), dtype, f"loss of step {k}")
        if k == 1:  # traced twice, compiled at the second call: from here on the kernel runs
            assert step.source.startswith(KERNEL), step.source.splitlines()[0]
    for (name, p), q in zip(eager.named_parameters(), model.parameters(), strict=True):
        assert q.data.dtype == dtype, name
        _close(q.data, p.data, dtype, name)
    return eager, model, step


def _regression_batches(dtype, shape=(8, 4), outputs=3, n=4, scale=2.0, seed=0):
    rng = np.random.default_rng(seed)
    return [((scale * rng.normal(size=shape)).astype(dtype), rng.normal(size=(*shape[:-1], outputs)).astype(dtype))
            for _ in range(n)]


# (ELU is SELU's core; ReLU, Tanh, Sigmoid, SiLU and GELU("tanh") had lowerings before)
PIECEWISE = [lambda: nn.LeakyReLU(0.1), nn.SELU, nn.ReLU6, lambda: nn.CELU(0.5), lambda: nn.Hardtanh(-0.5, 1.5),
             nn.Hardsigmoid, nn.Hardswish]
SMOOTH = [lambda: nn.Softplus(beta=2.0, threshold=1.5), nn.GELU, nn.Mish, nn.LogSigmoid, nn.Softsign]
MIXED = [nn.ELU, nn.Softplus, nn.Hardswish]


# A kernel of seven activations takes numba about 8 s to compile: each list once, in
# float32 (where the dtypes of literals and casts matter), and a mixed one in float64.
@pytest.mark.parametrize(("acts", "dtype"), [(PIECEWISE, np.float32), (SMOOTH, np.float32), (MIXED, np.float64)],
                         ids=["piecewise-f32", "smooth-f32", "mixed-f64"])
def test_every_activation_in_the_kernel_equals_eager(acts, dtype):
    # inputs of scale 3 reach every branch (hardsigmoid's ±3, relu6's 6, the thresholds)
    batches = _regression_batches(dtype, scale=3.0)
    _train_both(lambda: _layers([a() for a in acts], 5, dtype), nn.MSELoss(), FLAT_OPTIMIZERS["adam"], batches, dtype)


def test_a_comparison_with_a_python_float_is_made_in_float32():
    dtype = np.float32
    batches = _regression_batches(dtype, n=3)
    for X, _ in batches:
        X[:, 0] = np.float32(0.1)  # 0.1 as float32 is above the float64 0.1: a float64 compare would keep x
    _, model, step = _train_both(lambda: nn.Sequential(_Above(0.1), nn.Linear(4, 3, seed=0, dtype=dtype)),
                                 nn.MSELoss(), FLAT_OPTIMIZERS["sgd"], batches, dtype)
    assert "np.float32(np.float64(0.1))" in step.source  # the weak number cast to x's dtype


def test_regression_losses_and_batched_linear_equal_eager():
    # L1, Huber and SmoothL1 (sign, where, abs) in one loss; 3-D inputs to Linear (rows of a batch of sequences)
    def loss_fn(out, y):
        return nn.L1Loss()(out, y) + nn.HuberLoss(delta=0.5)(out, y) + nn.SmoothL1Loss(beta=0.3)(out, y)

    batches = _regression_batches(np.float64, shape=(2, 5, 4))
    _, _, step = _train_both(lambda: _layers([nn.Tanh()], 6, np.float64), loss_fn, FLAT_OPTIMIZERS["nesterov"],
                             batches, np.float64)
    assert "reshape((10, 4))" in step.source


def _binary_batches(dtype, n=4):
    rng = np.random.default_rng(1)
    return [(rng.normal(size=(8, 4)).astype(dtype), (rng.random((8, 2)) < 0.5).astype(dtype)) for _ in range(n)]


def test_binary_classifier_with_dropout_draws_eager_masks(dtype=np.float32):  # float64: the fit test below
    def make():
        return nn.Sequential(nn.Linear(4, 6, seed=0, dtype=dtype), nn.ReLU(), nn.Dropout(0.4, seed=5),
                             nn.Linear(6, 6, seed=1, dtype=dtype), nn.Tanh(), nn.Dropout(0.25, seed=6),
                             nn.Linear(6, 2, seed=2, dtype=dtype))

    opt = FLAT_OPTIMIZERS["adamw"]
    eager, model, step = _train_both(make, nn.BCEWithLogitsLoss(), opt, _binary_batches(dtype), dtype)
    assert ".random() >= 0.4" in step.source
    for k in (2, 5):  # each layer's Generator made the same draws
        assert model[k]._rng.bit_generator.state == eager[k]._rng.bit_generator.state


def test_fit_runs_dropout_epochs_inside_numba_with_eager_masks(monkeypatch):
    import nn.fit_numba as fit_numba

    in_numba = []
    run_epoch = fit_numba.run_epoch
    monkeypatch.setattr(fit_numba, "run_epoch", lambda *a: in_numba.append(run_epoch(*a)) or in_numba[-1])

    def make():
        return nn.MLP([4, 6, 3], dropout=0.3, seed=0)

    rng = np.random.default_rng(3)
    X, y = rng.normal(size=(20, 4)), rng.integers(0, 3, 20)
    eager, model = make(), make()
    kwargs = dict(epochs=4, batch_size=5, seed=1, progress=False)
    h_eager = nn.fit(eager, nn.CrossEntropyLoss(), FLAT_OPTIMIZERS["momentum"](eager.parameters()), X, y, **kwargs)
    h_numba = nn.fit(model, nn.CrossEntropyLoss(), FLAT_OPTIMIZERS["momentum"](model.parameters()), X, y,
                     compile="numba", **kwargs)
    assert [logs is not None for logs in in_numba] == [False, True, True, True]  # the Generator is a kernel argument
    for key in h_eager.history:
        _close(h_numba.history[key], h_eager.history[key], np.float64, key)
    for p, q in zip(eager.parameters(), model.parameters(), strict=True):
        _close(q.data, p.data, np.float64)
