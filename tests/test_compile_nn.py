"""nn.compile_step and fit(compile=True) against eager training: bit for bit without
fusion, within a stated ulp bound with the flat optimizer."""

import numpy as np
import pytest
from hypothesis import given, strategies as st

import autodiff as ad
import nn
from autodiff.compile import TraceError
from nn import optim
from tests.helpers import FLAT_OPTIMIZERS, eager_step

OPTIMIZERS = {
    **FLAT_OPTIMIZERS,
    "rmsprop": lambda ps: optim.RMSprop(ps, lr=0.01, momentum=0.5),
    "adagrad": lambda ps: optim.Adagrad(ps, lr=0.1),
}


def _data(n=24, d=6, classes=3, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, d)), rng.integers(0, classes, n)


def _train_both(make_model, make_opt, loss_fn, X, y, steps, fuse, dtype=np.float64):
    eager_model, compiled_model = make_model(), make_model()
    eager_opt, compiled_opt = make_opt(eager_model.parameters()), make_opt(compiled_model.parameters())
    step = nn.compile_step(compiled_model, loss_fn, compiled_opt, fuse=fuse)
    losses = []
    for k in range(steps):
        Xk = (X + 0.1 * k).astype(dtype)
        losses.append((eager_step(eager_model, loss_fn, eager_opt, Xk, y), step(Xk, y)))
    return eager_model, compiled_model, losses, step


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_unfused_step_equals_eager_bit_for_bit(name, dtype):
    X, y = _data()
    eager, compiled, losses, step = _train_both(lambda: nn.MLP([6, 10, 8, 3], seed=0, dtype=dtype),
                                                OPTIMIZERS[name], nn.CrossEntropyLoss(), X, y, 5, False, dtype)
    assert all(a == b for a, b in losses)
    for p, q in zip(eager.parameters(), compiled.parameters(), strict=True):
        np.testing.assert_array_equal(p.data, q.data)
    assert "def compiled(" in step.source


# The flat optimizer runs the same formulas elementwise, with the same dtypes, so even fused
# the results are the same bits.
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name", ["sgd", "momentum", "nesterov", "adam", "adamw"])
def test_fused_step_equals_eager(name, dtype):
    X, y = _data()
    eager, compiled, losses, step = _train_both(lambda: nn.MLP([6, 10, 3], seed=1, dtype=dtype),
                                                OPTIMIZERS[name], nn.CrossEntropyLoss(), X, y, 5, True, dtype)
    assert "over the flat parameter buffer" in step.source
    for p, q in zip(eager.parameters(), compiled.parameters(), strict=True):
        np.testing.assert_array_equal(p.data, q.data)
    assert all(a == b for a, b in losses)


def test_a_changed_learning_rate_is_read_at_run_time():
    X, y = _data()
    eager, compiled, _, step = _train_both(lambda: nn.MLP([6, 4, 3], seed=0), OPTIMIZERS["sgd"],
                                           nn.CrossEntropyLoss(), X, y, 3, True)
    before = len(step._cache)
    step.optimizer.lr = 0.5
    eager_opt = optim.SGD(eager.parameters(), lr=0.5)
    eager_step(eager, nn.CrossEntropyLoss(), eager_opt, X, y)
    step(X, y)
    assert len(step._cache) == before
    for p, q in zip(eager.parameters(), compiled.parameters(), strict=True):
        np.testing.assert_array_equal(p.data, q.data)


def test_changed_hyperparameters_or_mode_retrace():
    X, y = _data()
    model = nn.MLP([6, 4, 3], seed=0)
    opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.5)
    step = nn.compile_step(model, nn.CrossEntropyLoss(), opt)
    for _ in range(3):
        step(X, y)
    opt.param_groups[0]["momentum"] = 0.9
    step(X, y)
    model.eval()
    step(X, y)
    assert len(step._cache) == 3


@pytest.mark.parametrize("change", ["state dict", "betas", "momentum buffer"])
def test_optimizer_state_or_hyperparameters_changed_between_steps_are_seen(change):
    """A parameter's state dict replaced (its own step count: the flat update's one count
    no longer serves), or a hyperparameter changed, between compiled steps: the next
    steps use the new values, as eager does."""
    X, y = _data()
    models = [nn.MLP([6, 5, 3], seed=0) for _ in range(2)]
    opts = [optim.SGD(m.parameters(), lr=0.1, momentum=0.9, dampening=0.5) if change == "momentum buffer"
            else optim.Adam(m.parameters(), lr=0.01) for m in models]
    step = nn.compile_step(models[1], nn.CrossEntropyLoss(), opts[1])
    run = [lambda: eager_step(models[0], nn.CrossEntropyLoss(), opts[0], X, y), lambda: step(X, y)]
    for _ in range(3):
        assert run[0]() == run[1]()
    for opt in opts:
        if change == "state dict":
            p = opt.params[0]
            opt.state[p] = {"step": 1, "exp_avg": np.full(p.shape, 0.5), "exp_avg_sq": np.full(p.shape, 2.0)}
        elif change == "betas":
            opt.param_groups[0]["betas"] = (0.5, 0.999)
        else:  # eager starts this parameter's buffer again from its gradient
            del opt.state[opt.params[1]]["momentum_buffer"]
    for _ in range(2):
        assert run[0]() == run[1]()
    for p, q in zip(*(m.parameters() for m in models), strict=True):
        np.testing.assert_array_equal(p.data, q.data)


def test_dropout_masks_are_drawn_at_run_time_from_the_layer_generator():
    X, y = _data()

    def make():
        return nn.Sequential(nn.Linear(6, 16, seed=0), nn.ReLU(), nn.Dropout(0.5, seed=3), nn.Linear(16, 3, seed=1))

    eager, compiled, losses, step = _train_both(make, OPTIMIZERS["sgd"], nn.CrossEntropyLoss(), X, y, 6, False)
    assert all(a == b for a, b in losses)
    assert len({b for _, b in losses}) == 6
    assert "dropout_mask" in str(step.program)


def test_mse_regression_and_tanh_unfused_equal_eager():
    rng = np.random.default_rng(2)
    X, y = rng.normal(size=(20, 3)), rng.normal(size=(20, 1))
    eager, compiled, losses, _ = _train_both(lambda: nn.MLP([3, 5, 1], activation="tanh", seed=0),
                                             OPTIMIZERS["adam"], nn.MSELoss(), X, y, 4, False)
    assert all(a == b for a, b in losses)


def _bn_model(dropout=0.0):
    layers = [nn.Linear(6, 8, seed=0), nn.BatchNorm1d(8), nn.ReLU()]
    if dropout:
        layers.append(nn.Dropout(dropout, seed=5))
    return nn.Sequential(*layers, nn.Linear(8, 3, seed=1))


@pytest.mark.parametrize("fuse", [False, True])
def test_batchnorm_running_statistics_are_traced_operations(fuse):
    X, y = _data()
    eager, compiled, losses, step = _train_both(lambda: _bn_model(dropout=0.3), OPTIMIZERS["momentum"],
                                                nn.CrossEntropyLoss(), X, y, 6, fuse)
    assert all(a == b for a, b in losses)
    for name in ("running_mean", "running_var", "num_batches_tracked"):
        np.testing.assert_array_equal(getattr(eager[1], name).data, getattr(compiled[1], name).data)
    assert int(compiled[1].num_batches_tracked.data) == 6
    for p, q in zip(eager.parameters(), compiled.parameters(), strict=True):
        np.testing.assert_array_equal(p.data, q.data)


def test_batchnorm_eval_mode_reads_the_current_running_statistics():
    X, y = _data()
    eager, compiled = _bn_model().eval(), _bn_model().eval()
    eager_opt, opt = OPTIMIZERS["sgd"](eager.parameters()), OPTIMIZERS["sgd"](compiled.parameters())
    step = nn.compile_step(compiled, nn.CrossEntropyLoss(), opt)
    for k in range(5):
        if k == 3:  # new statistics after compilation (as a load_state_dict or more training would give)
            for model in (eager, compiled):
                model[1].running_mean = np.full(8, 0.5)
                model[1].running_var = np.full(8, 2.0)
        assert eager_step(eager, nn.CrossEntropyLoss(), eager_opt, X + k, y) == step(X + k, y)
    assert type(step._last).__name__ == "Compiled"


def test_jit_refuses_module_buffers_it_cannot_track():
    model = _bn_model().eval()
    X = _data()[0]
    with pytest.raises(TraceError, match=r"Buffer .* is read at .*layers.py"):
        ad.jit(model)(X)
    fallback = ad.jit(model, fallback=True)
    np.testing.assert_array_equal(fallback(X), model(X).data)


def test_fit_compiled_equals_fit_eager():
    X, y = _data(n=50)
    histories = []
    for compiled in (False, True):
        model = nn.MLP([6, 12, 3], seed=0)
        opt = optim.Adam(model.parameters(), lr=0.01)
        histories.append(nn.fit(model, nn.CrossEntropyLoss(), opt, X, y, epochs=4, batch_size=16, progress=False,
                                compile=compiled).history)
    assert histories[0] == histories[1]


def test_eager_steps_and_compiled_steps_mix():
    X, y = _data()
    a, b = nn.MLP([6, 5, 3], seed=0), nn.MLP([6, 5, 3], seed=0)
    oa, ob = optim.Adam(a.parameters(), lr=0.01), optim.Adam(b.parameters(), lr=0.01)
    step = nn.compile_step(b, nn.CrossEntropyLoss(), ob)
    loss = nn.CrossEntropyLoss()
    for k in range(8):
        eager_step(a, loss, oa, X, y)
        if k % 3 == 2:
            eager_step(b, loss, ob, X, y)
        else:
            step(X, y)
    for p, q in zip(a.parameters(), b.parameters(), strict=True):
        np.testing.assert_array_equal(p.data, q.data)
    assert ob.state[ob.params[0]]["step"] == oa.state[oa.params[0]]["step"] == 8  # PyTorch: state keyed by parameter


@given(sizes=st.lists(st.integers(1, 6), min_size=2, max_size=4),
       activation=st.sampled_from(["relu", "tanh", "sigmoid", "leaky_relu"]),
       batch=st.integers(2, 9), name=st.sampled_from(sorted(OPTIMIZERS)), fuse=st.booleans())
def test_random_mlps_compiled_equal_eager(sizes, activation, batch, name, fuse):
    X, y = _data(n=batch, d=sizes[0], classes=sizes[-1] + 1)
    eager, compiled, losses, _ = _train_both(
        lambda: nn.MLP([*sizes, sizes[-1] + 1], activation=activation, seed=0), OPTIMIZERS[name],
        nn.CrossEntropyLoss(), X, y, 3, fuse)
    assert all(a == b for a, b in losses)
    for p, q in zip(eager.parameters(), compiled.parameters(), strict=True):
        np.testing.assert_array_equal(p.data, q.data)


def test_labels_out_of_range_are_refused_after_compilation():
    X, y = _data()
    model = nn.MLP([6, 4, 3], seed=0)
    step = nn.compile_step(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1))
    for _ in range(3):
        step(X, y)
    bad = y.copy()
    bad[0] = -1
    with pytest.raises(ValueError, match=r"labels must be in \[0, 2\]"):
        step(X, bad)


# The numba backend (a whole step as one numba kernel) is tested in test_compile_numba.py.


def test_an_unknown_backend_is_refused():
    model = nn.MLP([2, 2], seed=0)
    with pytest.raises(ValueError, match="backend must be"):
        nn.compile_step(model, nn.MSELoss(), optim.SGD(model.parameters(), lr=0.1), backend="cuda")


@pytest.mark.parametrize("fuse", [False, True])
def test_a_parameter_the_loss_never_reaches_is_left_alone(fuse):
    class Two(nn.Module):
        def __init__(self):
            super().__init__()
            self.used = nn.Linear(6, 3, seed=0)
            self.unused = nn.Linear(6, 3, seed=1)

        def forward(self, x):
            return self.used(x)

    X, y = _data()
    eager, compiled, losses, _ = _train_both(Two, OPTIMIZERS["momentum"], nn.CrossEntropyLoss(), X, y, 4, fuse)
    assert all(a == b for a, b in losses)
    for p, q in zip(eager.parameters(), compiled.parameters(), strict=True):
        np.testing.assert_array_equal(p.data, q.data)


def test_binary_cross_entropy_compiles_and_rechecks_its_probabilities():
    """BCELoss's range check is a guard: a compiled step equals eager, and probabilities
    outside [0, 1] in a later call fail as eager fails."""
    rng = np.random.default_rng(0)
    X, t = rng.normal(size=(16, 5)), rng.integers(0, 2, (16, 1)).astype(float)
    models = [nn.Sequential(nn.Linear(5, 1, seed=0), nn.Sigmoid()) for _ in range(2)]
    opts = [optim.SGD(m.parameters(), lr=0.1) for m in models]
    step = nn.compile_step(models[1], nn.BCELoss(), opts[1])
    for k in range(4):
        assert eager_step(models[0], nn.BCELoss(), opts[0], X + k, t) == step(X + k, t)
    assert step.ran is not None and "GuardFailed" in step.source
    for p, q in zip(*(m.parameters() for m in models), strict=True):
        np.testing.assert_array_equal(p.data, q.data)

    from nn import functional as F
    f = ad.jit(lambda p, t: F.binary_cross_entropy(p * 1.0, t))
    p = rng.uniform(0.1, 0.9, (6, 1))
    for k in range(3):
        assert f(p / (k + 1), t[:6]) == F.binary_cross_entropy(ad.Tensor(p / (k + 1)), t[:6]).item()
    with pytest.raises(ValueError, match=r"binary_cross_entropy: input must be probabilities in \[0, 1\]"):
        f(p * 2, t[:6])
