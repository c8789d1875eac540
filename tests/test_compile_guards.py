"""Decisions on values in compiled programs: a degenerate input after regular ones gives
exactly eager's result or eager's error (guards, and masks that are ops of the program);
full-batch training compiles; an unverified program never runs on new data."""

import numpy as np
import pytest

import autodiff as ad
import nn
from autodiff.compile.decide import decide, derive, has_zero, static_values
from nn import optim
from tests.helpers import eager_step

# degenerate inputs (a singular matrix, -inf, all labels ignored) make eager NumPy warn too
pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")


def _outcome(fn, *args):
    try:
        out = fn(*args)
    except Exception as e:
        return type(e), str(e)
    leaves = out if isinstance(out, (tuple, list)) else [out]
    return [np.asarray(o) for o in leaves]


def _assert_same(got, want):
    if isinstance(want, tuple):
        assert got == want
        return
    assert not isinstance(got, tuple), f"the compiled call raised {got}, eager gave values"
    for g, w in zip(got, want, strict=True):
        np.testing.assert_array_equal(g, w)


def _check(f, inputs, *, compiled_before=2):
    """Jit ``f``, call it on each input tuple, and compare every call to eager ``f``.
    The degenerate inputs come after ``compiled_before`` regular ones, so they reach
    the compiled program (its guards, its masks)."""
    jitted = ad.jit(f)
    for k, args in enumerate(inputs):
        want = _outcome(f, *args)
        _assert_same(_outcome(jitted, *args), want)
        if k == compiled_before - 1:
            assert jitted.program is not None
    return jitted


def _regular_then(degenerate, regular):
    return [(r,) for r in regular] + [(d,) for d in degenerate]


RNG = np.random.default_rng(0)


def _spd(n, shift):
    a = RNG.normal(size=(n, n))
    return a @ a.T + shift * np.eye(n)


# ------------------------------------------------------------------- linear algebra
def test_det_gradient_at_a_singular_matrix_raises_eagers_error_when_compiled():
    f = ad.grad(lambda a: ad.linalg.det(a))
    jitted = _check(f, _regular_then([np.zeros((2, 2)), np.eye(2) * 3], [np.eye(2), 2 * np.eye(2), _spd(2, 1)]))
    assert "has_zero" in jitted.source and jitted.guard_failures == 1


def test_slogdet_gradient_at_a_singular_matrix_and_its_sign():
    _check(ad.grad(lambda a: ad.linalg.slogdet(a).logabsdet), _regular_then([np.ones((2, 2))], [np.eye(2), _spd(2, 1)]))
    flip = np.diag([-1.0, 1.0])
    _check(lambda a: ad.linalg.slogdet(a).sign, _regular_then([flip, flip * 2], [np.eye(2), 2 * np.eye(2)]))


def _rotation(t):
    return np.array([[np.cos(t), -np.sin(t)], [np.sin(t), np.cos(t)]])


def test_eigh_at_repeated_eigenvalues_matches_eager_error_and_basis_free_value():
    repeated = 2 * np.eye(3)
    regular = [_spd(3, 1), _spd(3, 2), _spd(3, 3)]
    basis_dependent = ad.grad(lambda a: (ad.linalg.eigh(a).eigenvectors[:, 0] ** 3).sum())
    _check(basis_dependent, _regular_then([repeated + 1e-3 * np.eye(3)[::-1], repeated], regular))
    basis_free = ad.grad(lambda a: ((lambda r: (r.eigenvectors * r.eigenvalues[None, :]) @ r.eigenvectors.T)(
        ad.linalg.eigh(a)) ** 2).sum())
    _check(basis_free, _regular_then([repeated], regular))


def test_svd_at_repeated_singular_values_and_rank_deficiency():
    r = RNG.normal(size=(3, 2))
    _check(ad.grad(lambda a: (ad.linalg.svd(a, full_matrices=False).U ** 3).sum()),
           _regular_then([np.eye(3, 2), np.zeros((3, 2))], [r, r + 1, r * 2]))
    _check(lambda a: ad.linalg.svd(a, full_matrices=True).U, _regular_then([np.eye(3, 2)[::-1]], [r, r + 1]))


def test_qr_rank_deficient_and_lstsq_rank():
    r = RNG.normal(size=(3, 2)) + np.eye(3, 2) * 3
    _check(ad.grad(lambda a: ad.linalg.qr(a)[1].sum()), _regular_then([np.ones((3, 2))], [r, r + 1]))
    b = np.arange(3.0)
    _check(lambda a: ad.linalg.lstsq(a, b)[:3], _regular_then([np.ones((3, 2))], [r, r + 1]))


# --------------------------------------------------------------------- cumulative
def test_cumprod_gradient_takes_eagers_safe_path_at_zeros_on_long_axes():
    x = RNG.uniform(0.9, 1.1, size=40)
    zeros = x.copy()
    zeros[[3, 20]] = 0.0
    small = x.copy()
    small[5] = 1e-5
    jitted = _check(ad.grad(lambda v: ad.cumprod(v).sum()), _regular_then([zeros, small, x * 0.5], [x, x * 1.01]))
    assert jitted.guard_failures == 2


def test_logcumsumexp_gradient_with_minus_infinity_and_a_wide_range():
    x = RNG.normal(size=6)
    minus_inf = x.copy()
    minus_inf[[0, 3]] = -np.inf
    wide = x * 1e3
    _check(ad.grad(lambda v: ad.logcumsumexp(v).sum()), _regular_then([minus_inf, wide, x + 5], [x, x + 1]))


# -------------------------------------------------------------------- reductions
def test_std_quantile_average_nan_reductions_on_degenerate_input():
    x = RNG.normal(size=(3, 4))
    const = np.ones((3, 4))
    _check(ad.grad(lambda v: ad.std(v, axis=1).sum()), _regular_then([const, x], [x, x * 2]))
    with_nan = x.copy()
    with_nan[1, 2] = np.nan
    for f in (lambda v: ad.median(v, axis=1), lambda v: ad.nansum(v, axis=0), lambda v: ad.nanmean(v, axis=1)):
        _check(f, _regular_then([with_nan, x], [x, x + 1]))
        _check(ad.grad(lambda v, f=f: ad.nansum(f(v))), _regular_then([with_nan, x], [x, x + 1]))
    w = np.ones(4)
    _check(lambda w: ad.average(x, axis=1, weights=w), _regular_then([np.array([1.0, -1.0, 1.0, -1.0]), w], [w, w * 2]))


def test_values_without_gradient_are_recomputed_at_every_call():
    xs = [np.array([1.0, 2.0, 3.0]), np.array([2.0, 3.0, 4.0]), np.array([5.0, 1.0, 0.0]), np.array([0.0, 9.0, 1.0])]
    for f in (ad.argmax, ad.argmin, ad.argsort, lambda v: ad.argsort(v, descending=True), lambda v: ad.sort(v),
              lambda v: ad.any(v > 2), lambda v: ad.all(v > 0.5), lambda v: ad.count_nonzero(v),
              ad.grad(lambda v: ad.sort(v)[0] * 3 + ad.sort(v)[2])):
        _check(f, [(x,) for x in xs])


def test_piecewise_rules_and_where_on_a_float_condition():
    x, y = RNG.normal(size=4), RNG.normal(size=4)
    nan_y = y.copy()
    nan_y[1] = np.nan
    for op in (ad.fmax, ad.fmin):
        _check(ad.grad(lambda a, b, op=op: ad.nansum(op(a, b)), argnums=(0, 1)),
               [(x, y), (x + 1, y), (x, nan_y), (x, y - 1)])
    inf_x = x.copy()
    inf_x[2] = np.inf
    _check(ad.grad(lambda a: ad.nan_to_num(a).sum()), _regular_then([inf_x, x], [x, x + 1]))
    c = np.array([1.0, 0.0, 2.0, 0.0])
    _check(lambda c, a: ad.where(c, a, -a), [(c, x), (c[::-1].copy(), x), (1 - c, x), (c * 0, x)])


def test_values_that_shape_the_result_are_guarded():
    x = np.arange(4.0)
    masks = [np.array([True, False, True, False]), np.array([False, True, False, True]),
             np.array([True, True, False, False]), np.array([True, True, True, False])]
    _check(lambda v, m: v[m], [(x, m) for m in masks], compiled_before=3)
    counts = [np.array([1, 2, 1, 0]), np.array([0, 2, 1, 1]), np.array([3, 0, 0, 1]), np.array([1, 1, 1, 1])]
    _check(lambda v, r: ad.repeat(v, r), [(x, r) for r in counts])
    _check(lambda v, q: ad.quantile(v, q), [(x, np.array(q)) for q in (0.5, 0.25, 0.75, 0.1)])
    _check(lambda v, s: ad.roll(v, s), [(x, np.array(s)) for s in (1, 1, 2, 3)])
    _check(lambda v, c: ad.pad(v, 1, constant_values=c), [(x, np.array(c)) for c in (1.0, 1.0, 2.0, 0.0)])


# ------------------------------------------------------------------- the mechanism
def test_a_guard_is_a_checked_op_and_a_failed_guard_runs_eagerly():
    def f(x):
        if decide(has_zero, x):
            raise ZeroDivisionError("f: a zero")
        return (1 / x).sum()

    jitted = ad.jit(f)
    for v in (1.0, 2.0, 3.0):
        assert jitted(np.array([v, 4.0])) == 1 / v + 0.25
    assert "if v1: raise GuardFailed(0, 'has_zero')" in jitted.source
    assert "guard:   %1 is False (has_zero)" in str(jitted.program)
    with pytest.raises(ZeroDivisionError, match="f: a zero"):
        jitted(np.array([0.0, 4.0]))
    assert jitted.guard_failures == 1 and jitted.traces == 3  # the failed call was traced: eager, recorded
    assert jitted(np.array([5.0, 4.0])) == 0.45 and jitted.ran is not None  # the program is kept


def test_traces_that_decided_differently_are_verified_by_a_trace_of_their_own_kind():
    def f(x):
        return ad.exp(x).sum() if decide(has_zero, x) else ad.sin(x).sum()

    jitted = ad.jit(f)
    calls = [np.array([0.0, 1.0]), np.array([1.0, 1.0]), np.array([1.0, 2.0]), np.array([1.0, 3.0]),
             np.array([0.0, 2.0]), np.array([0.0, 3.0]), np.array([0.0, 4.0]), np.array([1.0, 4.0])]
    ran = []
    for x in calls:
        assert jitted(x) == f(ad.Tensor(x)).item()
        ran.append(jitted.ran is not None)
    # the second trace decided otherwise (the first is kept): the third verified it; the guard
    # failed on the fifth call, whose trace verified the first call's case; from then on both
    # cases compile
    assert ran == [False, False, False, True, False, True, True, True]
    assert jitted.traces == 4 and jitted.guard_failures == 3


def test_derive_and_static_values_outside_tracing_are_plain_numpy():
    x = np.array([3.0, 1.0, 2.0])
    np.testing.assert_array_equal(derive(np.argsort, x), [1, 2, 0])
    assert isinstance(derive(np.argsort, ad.Tensor(x)), ad.Tensor)
    assert static_values(ad.Tensor(x)) is not None and decide(has_zero, x) is False


# ------------------------------------------------------------- identical calls
def test_a_pure_function_called_again_and_again_compiles_but_verifies_new_data():
    def f(x):
        return ad.tanh(x) * 2

    jitted = ad.jit(f)
    x = np.array([0.5, -1.0])
    for _ in range(4):
        np.testing.assert_array_equal(jitted(x), np.tanh(x) * 2)
    assert jitted.traces == 1 and jitted.ran is not None  # the repeats ran the traced program (exact for x)
    np.testing.assert_array_equal(jitted(x + 1), np.tanh(x + 1) * 2)
    assert jitted.traces == 2 and jitted.ran is None  # new data: traced and compared before any trust
    np.testing.assert_array_equal(jitted(x + 2), np.tanh(x + 2) * 2)
    assert jitted.ran is not None


def test_a_constant_computed_from_the_input_is_caught_after_identical_calls():
    def f(x):
        return ad.Tensor(np.asarray(x._data) * 2) + x  # outside the primitive table: a constant

    jitted = ad.jit(f)
    x = np.array([1.0, 2.0])
    for _ in range(3):
        np.testing.assert_array_equal(jitted(x), 3 * x)  # exact for the traced values
    with pytest.raises(ad.compile.TraceError, match="computed outside the primitive table"):
        jitted(x + 1)


def test_a_step_verified_on_one_batch_traces_a_new_batch_before_running_it():
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(6, 3)), rng.integers(0, 2, 6)

    def loss_fn(out, target):
        return nn.functional.cross_entropy(out, target, ignore_index=1)  # the labels shape a mask

    model = nn.MLP([3, 4, 2], seed=0)
    step = nn.compile_step(model, loss_fn, optim.SGD(model.parameters(), lr=0.1), fallback=True)
    eager_model = nn.MLP([3, 4, 2], seed=0)
    eager_opt = optim.SGD(eager_model.parameters(), lr=0.1)
    y2 = 1 - y
    for target in (y, y, y, y2, y2, y):
        eager_opt.zero_grad()
        want = loss_fn(eager_model(ad.Tensor(X)), target)
        want.backward()
        eager_opt.step()
        np.testing.assert_allclose(step(X, target), want.item(), rtol=1e-12, atol=1e-12)
    for p, q in zip(model.parameters(), eager_model.parameters(), strict=True):
        np.testing.assert_allclose(p.numpy(), q.numpy(), rtol=1e-12, atol=1e-12)


# --------------------------------------------------------------- full-batch training
@pytest.mark.parametrize("shuffle", [False, True])
def test_full_batch_fit_compiles_and_equals_eager_fit(shuffle, monkeypatch):
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(40, 6)), rng.integers(0, 3, 40)
    steps = []
    real = nn.training.compile_step

    def spy(*args, **kwargs):
        steps.append(real(*args, **kwargs))
        return steps[-1]

    monkeypatch.setattr(nn.training, "compile_step", spy)
    histories = []
    for compiled in (False, True):
        model = nn.MLP([6, 12, 3], seed=0)
        opt = optim.Adam(model.parameters(), lr=0.01)
        histories.append(nn.fit(model, nn.CrossEntropyLoss(), opt, X, y, epochs=6, batch_size=64, progress=False,
                                shuffle=shuffle, compile=compiled).history)
    assert histories[0] == histories[1]
    (step,) = steps
    assert step.traces == 2 and step.ran is not None  # every step from the third ran the compiled program
    assert "over the flat parameter buffer" in step.source


def test_a_guarded_step_is_not_one_numba_kernel_and_says_why():
    pytest.importorskip("numba")
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(8, 3)), rng.normal(size=(8, 2))

    def loss_fn(out, target):
        return ((out - target) ** 2).mean() + 0.1 * ad.std(out, axis=0).sum()  # std guards zero variance

    model = nn.MLP([3, 4, 2], seed=0)
    step = nn.compile_step(model, loss_fn, optim.SGD(model.parameters(), lr=0.1), backend="numba")
    for k in range(3):
        step(X + k, y)
    assert step.ran is not None
    assert "numba whole step not used: the program has 1 guard(s) on computed values (_all_positive)" in step.source


def test_a_compiled_step_whose_guard_fails_steps_like_eager_and_compiles_the_other_case():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(6, 3))
    regular, constant = rng.normal(size=(6, 2)), np.ones((6, 2))

    def loss_fn(out, target):  # std(target) is 0 on a constant target: std's rule decides on it
        return ((out - target) ** 2).mean() * (1 + ad.std(target, axis=0).sum())

    model, eager_model = nn.MLP([3, 4, 2], seed=0), nn.MLP([3, 4, 2], seed=0)
    step = nn.compile_step(model, loss_fn, optim.Adam(model.parameters(), lr=0.01))
    eager_opt = optim.Adam(eager_model.parameters(), lr=0.01)
    ran = []
    for k, target in enumerate([regular, regular, regular, constant, constant, constant, regular, constant]):
        Xk = X + 0.1 * k
        assert step(Xk, target) == eager_step(eager_model, loss_fn, eager_opt, Xk, target)
        ran.append(step.ran is not None)
    assert ran == [False, False, True, False, False, True, True, True]
    for p, q in zip(model.parameters(), eager_model.parameters(), strict=True):
        np.testing.assert_array_equal(p.numpy(), q.numpy())


def test_an_argument_read_as_a_python_number_or_branch_is_guarded():
    x = np.arange(3.0)
    scale = ad.jit(lambda v, lr: v * float(lr))  # float() of an argument: a number in the program
    for lr in (0.1, 0.2, 0.2, 0.2, 0.3):
        np.testing.assert_array_equal(scale(x + lr, lr), (x + lr) * lr)
    assert "same_values" in scale.source
    branch = ad.jit(lambda v, n: ad.tanh(v) if bool(n) else ad.sin(v))
    _check_pairs = [(x + k, np.array(n)) for k, n in enumerate((1, 1, 1, 0, 0, 1))]
    for args in _check_pairs:
        np.testing.assert_array_equal(branch(*args), np.tanh(args[0]) if args[1] else np.sin(args[0]))
    with pytest.raises(ad.compile.TraceError, match=r"\.tolist\(\) of a traced value"):
        ad.jit(lambda v: ad.Tensor((v * 2).tolist()))(x)


def _over_ten(x):
    return bool((np.abs(x) > 10).any())


def test_a_guard_failing_after_a_dropout_draw_leaves_the_generator_as_eager_leaves_it():
    """The abandoned compiled call drew a mask: its Generator is restored before the eager
    rerun, which draws the same mask eager draws (values and Generator state equal eager's)."""
    from nn import functional as F

    def f(x, gen):
        kept = F.dropout(x, 0.5, rng=gen)
        return (kept * 2.0 if decide(_over_ten, kept) else ad.tanh(kept)).sum()

    g_eager, g_compiled = np.random.default_rng(7), np.random.default_rng(7)
    jf = ad.jit(lambda x: f(x, g_compiled))
    rng = np.random.default_rng(0)
    xs = [rng.uniform(1, 2, 64) for _ in range(4)]
    xs[3][:] = 100.0  # the guard flips after the draw
    for x in xs:
        want = f(ad.Tensor(x), g_eager).item()
        assert jf(x).item() == want
        assert g_compiled.bit_generator.state == g_eager.bit_generator.state
    assert jf.guard_failures >= 1 and "rng_state0" in jf.source


def test_a_compiled_step_whose_guard_fails_runs_its_program_once():
    """The failing call goes on to the other case's program (traced, so eager, at first)
    without running the failed program a second time; the results are eager's."""
    def loss_fn(out, y):
        return (out * 2.0).sum() if decide(_over_ten, out) else ((out - y) ** 2).mean()

    rng = np.random.default_rng(5)
    X, y = rng.normal(size=(8, 3)), rng.normal(size=(8, 2))
    models = [nn.Linear(3, 2, seed=0) for _ in range(2)]
    opts = [optim.SGD(m.parameters(), lr=0.01) for m in models]
    step = nn.compile_step(models[1], loss_fn, opts[1])
    for k in range(3):
        assert eager_step(models[0], loss_fn, opts[0], X + 0.1 * k, y) == step(X + 0.1 * k, y)
    entry, runs = step._fast.entry, []
    fn = entry.fn

    def counted(*args):
        runs.append(1)
        return fn(*args)

    entry.fn = step._fast.fn = counted
    assert eager_step(models[0], loss_fn, opts[0], X * 100, y) == step(X * 100, y)  # the guard flips
    assert len(runs) == 1 and step.guard_failures == 1
    for p, q in zip(models[0].parameters(), models[1].parameters(), strict=True):
        np.testing.assert_array_equal(p.data, q.data)
