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


class _Parallel(nn.Module):
    """The sum of several activations of 3·x: every activation (and its gradient) sees
    the same wide range of inputs, and one kernel holds them all (numba compiles it in a
    few seconds, a chain of Linear layers between them takes twice as long)."""

    def __init__(self, acts):
        super().__init__()
        self.acts = acts

    def forward(self, x):
        x = x * 3.0
        out = self.acts[0](x)
        for act in self.acts[1:]:
            out = out + act(x)
        return out


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


class _Elementwise(nn.Module):
    """A sum of the other elementwise functions the kernel lowers, each on a safe domain."""

    def forward(self, x):
        x = x * 0.3
        pos = x * x + 1.0
        terms = [ad.square(x), ad.reciprocal(pos), ad.log2(pos), ad.log10(pos), ad.exp2(x * 0.5), ad.sinh(x * 0.5),
                 ad.cosh(x * 0.5), ad.arcsinh(x), ad.arctan(x), ad.hypot(x, pos), ad.arctan2(x, pos),
                 ad.logaddexp(x, -x), ad.logaddexp2(x, 0.5 * x), ad.fmax(x, -x * 0.5), ad.fmin(x, 0.25 * x),
                 ad.erf(x), ad.expm1(x * 0.5), ad.clip(x, -1.0, 0.5), ad.clip(x, None, 0.3),
                 x.astype(np.float32).astype(x.dtype), x * ad.floor(x), x * ad.ceil(x), x * ad.trunc(x)]
        out = terms[0]
        for t in terms[1:]:
            out = out + t
        return out


# every activation module (ReLU, Tanh, Sigmoid, SiLU had lowerings before), and the
# other elementwise functions
ACTIVATIONS = [lambda: nn.LeakyReLU(0.1), nn.ELU, nn.SELU, nn.ReLU6, lambda: nn.CELU(0.5),
               lambda: nn.Hardtanh(-0.5, 1.5), nn.Hardsigmoid, nn.Hardswish, nn.Softplus,
               lambda: nn.Softplus(beta=2.0, threshold=1.5), nn.GELU, lambda: nn.GELU("tanh"), nn.Mish, nn.LogSigmoid,
               nn.Softsign]


def _activations_model(dtype, first=()):
    return nn.Sequential(*first, nn.Linear(4, 5, seed=0, dtype=dtype), _Parallel([a() for a in ACTIVATIONS]),
                         nn.Linear(5, 3, seed=1, dtype=dtype))


def test_every_activation_in_float32_and_a_comparison_with_a_python_float():
    # _Above compares the input with 0.1 (weak: in float32); 0.1 as float32 is above the
    # float64 0.1, so a float64 compare would keep those entries instead of negating them
    dtype = np.float32
    batches = _regression_batches(dtype)
    for X, _ in batches:
        X[:, 0] = np.float32(0.1)
    _, _, step = _train_both(lambda: _activations_model(dtype, [_Above(0.1)]), nn.MSELoss(), FLAT_OPTIMIZERS["adam"],
                             batches, dtype)
    assert "np.float32(np.float64(0.1))" in step.source  # the weak number cast to x's dtype


def test_every_activation_with_regression_losses_in_float64():
    # L1, Huber and SmoothL1 (sign, where, abs) in one loss
    def loss_fn(out, y):
        return nn.L1Loss()(out, y) + nn.HuberLoss(delta=0.5)(out, y) + nn.SmoothL1Loss(beta=0.3)(out, y)

    _train_both(lambda: _activations_model(np.float64), loss_fn, FLAT_OPTIMIZERS["nesterov"],
                _regression_batches(np.float64), np.float64)


def test_other_elementwise_functions_and_batched_linear_equal_eager():
    # 3-D inputs to Linear: the rows of a batch of sequences
    def make():
        return nn.Sequential(nn.Linear(4, 5, seed=0), _Elementwise(), nn.Linear(5, 3, seed=1))

    _, _, step = _train_both(make, nn.MSELoss(), FLAT_OPTIMIZERS["adam"], _regression_batches(np.float64, (2, 5, 4)),
                             np.float64)
    assert "reshape((10, 4))" in step.source and "math.erf(" in step.source and "np.hypot(" in step.source


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


def _class_batches(dtype, classes=3, n=4):
    rng = np.random.default_rng(2)
    return [(rng.normal(size=(8, 4)).astype(dtype), rng.integers(0, classes, 8)) for _ in range(n)]


def test_log_softmax_with_nll_loss_gathers_and_scatters_in_the_kernel():
    dtype = np.float32
    batches = _class_batches(dtype)
    _, model, step = _train_both(lambda: nn.Sequential(*_layers([nn.ELU()], 6, dtype), nn.LogSoftmax()),
                                 nn.NLLLoss(), FLAT_OPTIMIZERS["momentum"], batches, dtype)
    assert "log_softmax_rows(" in step.source and "check_index(" in step.source
    X, y = batches[0]
    y[3] = 3  # no class 3: the wrapper's label guard fails, and the step runs eagerly into eager's error
    with pytest.raises(ValueError, match=r"nll_loss: labels must be in \[0, 2\]"):
        step(X, y)


def test_softmax_glu_and_label_smoothing_equal_eager():
    # a softmax inside the model, GLU (two basic slices, scattered back); cross-entropy
    # with label smoothing takes the general path (log_softmax, a gather of the labelled
    # entries, their scatter-add gradient)
    def make():
        return nn.Sequential(nn.Linear(4, 6, seed=0), nn.GLU(), nn.Linear(3, 6, seed=1), nn.Softmax(),
                             nn.Linear(6, 3, seed=2))

    _, _, step = _train_both(make, nn.CrossEntropyLoss(label_smoothing=0.1), FLAT_OPTIMIZERS["sgd"],
                             _class_batches(np.float64), np.float64)
    assert "softmax_rows(" in step.source and "] += " in step.source and "[:, 0:3]" in step.source


def test_probability_targets_kl_divergence_and_cross_entropy_equal_eager():
    dtype = np.float32
    rng = np.random.default_rng(4)
    batches = []
    for _ in range(4):
        p = rng.random((8, 3)).astype(dtype)
        batches.append((rng.normal(size=(8, 4)).astype(dtype), p / p.sum(axis=1, keepdims=True)))

    def loss_fn(out, target):
        kl = nn.KLDivLoss(reduction="batchmean")(ad.log_softmax(out, axis=1), target)
        return kl + nn.CrossEntropyLoss()(out, target)

    _train_both(lambda: _layers([nn.Tanh()], 6, dtype), loss_fn, FLAT_OPTIMIZERS["adam"], batches, dtype)


def test_comparisons_with_python_numbers_take_numpy_2_dtypes():
    from autodiff.compile.numba_elementwise import _compare_dtype
    from autodiff.compile.numba_ops import Unsupported
    from autodiff.compile.program import Op, Program, Value
    from autodiff.compile.trace import op_primitive

    values = [Value(0, "input", (3,), np.dtype(np.int8), slot=0), Value(1, "input", (3,), np.dtype(np.float32), slot=1),
              Value(2, "const", (), np.dtype(np.int64), data=np.asarray(300), weak=True),
              Value(3, "const", (), np.dtype(np.float64), data=np.asarray(0.1), weak=True),
              Value(4, "const", (), np.dtype(np.float64), data=np.asarray(0.1))]
    program = Program(values, [], [], 2)

    def dtype(a, b):
        return _compare_dtype(program, Op(op_primitive(np.greater), (a, b), {}, 0))

    assert dtype(1, 3) == np.float32  # a weak float takes the array's float dtype
    assert dtype(0, 3) == np.float64  # and a float dtype against integers
    assert dtype(1, 4) == np.float64  # a float64 array value is not weak
    with pytest.raises(Unsupported, match="int8 values with 300"):  # NumPy compares exactly; a cast would wrap
        dtype(0, 2)
