"""Guards on computed values inside the numba whole-step kernel.

A rule's decision on values (``autodiff.compile.decide``) is re-checked by the kernel
right after its flag's op; a failing guard returns before the update and the call runs
eagerly (eager's result or eager's error). Each predicate's lowering is checked against
the NumPy predicate itself on edge values (NaN, ±inf, ±0, out of range).
"""

import numpy as np
import pytest

import autodiff as ad
import nn
import nn.functional as F
from autodiff.compile.decide import has_inf, has_nan, has_zero, same_values
from autodiff.compile.program import Op, Program, Value
from autodiff.compile.trace import op_primitive
from nn.functional_losses import _plain_labels, _probabilities
from tests.helpers import FLAT_OPTIMIZERS, eager_step
from tests.test_compile_numba import KERNEL, _close

numba = pytest.importorskip("numba")

from autodiff.compile.numba_codegen import lower_program  # noqa: E402  (after the numba check)


def _params(model):
    return [p.data.copy() for p in model.parameters()]


def _pair(make, loss_fn, opt="adam"):
    eager, model = make(), make()
    eager_opt, compiled_opt = FLAT_OPTIMIZERS[opt](eager.parameters()), FLAT_OPTIMIZERS[opt](model.parameters())
    step = nn.compile_step(model, loss_fn, compiled_opt, backend="numba")
    return eager, eager_opt, model, step


def _same_model(eager, model, dtype=np.float64):
    for p, q in zip(eager.parameters(), model.parameters(), strict=True):
        _close(q.data, p.data, dtype)


def _sigmoid_mlp():
    return nn.Sequential(nn.MLP([4, 6, 3], seed=0), nn.Sigmoid())


def test_bce_after_sigmoid_is_one_kernel_and_trains_as_eager():
    rng = np.random.default_rng(0)
    eager, eager_opt, model, step = _pair(_sigmoid_mlp, nn.BCELoss())
    for _ in range(5):
        X, y = rng.normal(size=(8, 4)), (rng.random((8, 3)) > 0.5).astype(np.float64)
        _close(step(X, y), eager_step(eager, nn.BCELoss(), eager_opt, X, y), np.float64)
    assert step.source.startswith(KERNEL), step.source.splitlines()[0]
    assert "raise GuardFailed(int(r[0])" in step.source and step.ran is not None
    _same_model(eager, model)


def test_probabilities_out_of_range_raise_eagers_error_before_any_update():
    # no Sigmoid: small inputs keep the outputs near the bias (in [0, 1]), large ones leave it;
    # the kernel draws a dropout mask before the check: the failing call leaves the Generator as eager does
    def make():
        layer = nn.Linear(4, 3, seed=0)
        layer.bias.data = np.full(3, 0.5)
        return nn.Sequential(nn.Dropout(0.25, seed=3), layer)

    rng = np.random.default_rng(1)
    eager, eager_opt, model, step = _pair(make, nn.BCELoss(), "sgd")
    y = (rng.random((8, 3)) > 0.5).astype(np.float64)
    for _ in range(3):
        X = rng.normal(size=(8, 4)) * 0.01
        _close(step(X, y), eager_step(eager, nn.BCELoss(), eager_opt, X, y), np.float64)
    assert step.source.startswith(KERNEL) and step.ran is not None
    big = rng.normal(size=(8, 4)) * 100
    with pytest.raises(ValueError) as expected:
        nn.BCELoss()(eager(big), y)
    before = _params(model)
    with pytest.raises(ValueError) as got:
        step(big, y)
    assert str(got.value) == str(expected.value)
    assert model[0]._rng.bit_generator.state == eager[0]._rng.bit_generator.state
    for p, q in zip(before, model.parameters(), strict=True):
        np.testing.assert_array_equal(q.data, p)  # the kernel returned before the update
    X = rng.normal(size=(8, 4)) * 0.01
    _close(step(X, y), eager_step(eager, nn.BCELoss(), eager_opt, X, y), np.float64)
    assert step.ran is not None  # compiled again
    _same_model(eager, model)


def _mlp():
    return nn.MLP([4, 5, 3], seed=0)


# (class weights are picked from the labels in NumPy: a compiled step of either backend
# raises TraceError when the labels change, so that step sees one batch of labels)
@pytest.mark.parametrize(("loss_fn", "new_labels"), [(nn.CrossEntropyLoss(label_smoothing=0.1), True),
                                                     (nn.CrossEntropyLoss(weight=np.array([1.0, 2.0, 3.0])), False)])
def test_ce_with_smoothing_or_weights_is_a_kernel_and_refuses_bad_labels(loss_fn, new_labels):
    rng = np.random.default_rng(2)
    eager, eager_opt, model, step = _pair(_mlp, loss_fn)
    X, y = rng.normal(size=(8, 4)), rng.integers(0, 3, 8)
    for _ in range(3):
        y = rng.integers(0, 3, 8) if new_labels else y
        _close(step(X, y), eager_step(eager, loss_fn, eager_opt, X, y), np.float64)
    assert step.source.startswith(KERNEL)
    before = _params(model)
    for bad in (-1, 3):
        y[5] = bad
        with pytest.raises(ValueError, match=rf"cross_entropy: labels must be in \[0, 2\] for 3 classes.*\[{bad}\]"):
            step(X, y)
    for p, q in zip(before, model.parameters(), strict=True):
        np.testing.assert_array_equal(q.data, p)


def _computed_labels_ce(out, y):
    # labels computed in the program (y * 1): their check is a guard on a computed value, in the kernel
    return F.cross_entropy(out, y * 1, label_smoothing=0.1)


def test_labels_computed_in_the_step_are_checked_by_the_kernel_never_wrapped():
    rng = np.random.default_rng(3)
    eager, eager_opt, model, step = _pair(_mlp, _computed_labels_ce)
    X = rng.normal(size=(8, 4))
    for _ in range(3):
        y = rng.integers(0, 3, 8)
        _close(step(X, y), eager_step(eager, _computed_labels_ce, eager_opt, X, y), np.float64)
    assert step.source.startswith(KERNEL) and "GUARDS[r[0]]" in step.source
    before = _params(model)
    for bad in (-1, 3):
        y[2] = bad
        with pytest.raises(ValueError) as expected:
            _computed_labels_ce(eager(X), y)
        with pytest.raises(ValueError) as got:  # (-1 would read the last class, 3 past the row)
            step(X, y)
        assert str(got.value) == str(expected.value)
    for p, q in zip(before, model.parameters(), strict=True):
        np.testing.assert_array_equal(q.data, p)


def _nansum_loss(out, y):
    # log(y) is NaN where a target is negative: nansum leaves those elements out (gradient 0)
    return ad.nansum((out - y) ** 2 + ad.log(y)) / out.shape[0]


def _targets(rng, shape, negative=False):
    y = rng.uniform(0.5, 1.5, size=shape)
    if negative:
        y[1, 0] = -1.0
    return y


def test_a_guard_that_flips_gives_eagers_result_then_the_compiled_one():
    # nansum decides has_nan on a computed value: a batch with a negative target takes the other branch
    rng = np.random.default_rng(4)
    eager, eager_opt, model, step = _pair(lambda: nn.MLP([3, 4, 2], activation="tanh", seed=1), _nansum_loss)
    X = rng.normal(size=(6, 3))
    for k in range(6):
        y = _targets(rng, (6, 2), negative=k in (3, 4))
        with np.errstate(invalid="ignore"):
            loss = step(X, y)
        assert np.isfinite(loss)
        with np.errstate(invalid="ignore"):
            _close(loss, eager_step(eager, _nansum_loss, eager_opt, X, y), np.float64)
        assert (step.ran is None) == (k in (0, 1, 3, 4)), k  # traced, compiled, eager for the others, compiled
        _same_model(eager, model)
    assert step.source.startswith(KERNEL) and step.guard_failures == 2


def test_fit_with_a_failing_guard_matches_eager(monkeypatch):
    # the whole-epoch numba path is not used for a step with guards: fit's per-batch
    # loop runs the kernel and hands a batch whose guard fails to step()
    from tests.test_compile_numba import _fit_both

    rng = np.random.default_rng(5)
    X, y = rng.normal(size=(12, 3)), _targets(rng, (12, 2))
    y[7, 1] = -1.0
    with np.errstate(invalid="ignore"):
        eager, model, h_eager, h_numba, in_numba = _fit_both(
            monkeypatch, lambda: nn.MLP([3, 4, 2], activation="tanh", seed=1), FLAT_OPTIMIZERS["adam"],
            _nansum_loss, X, y, epochs=4, batch_size=4, shuffle=False)
    assert in_numba == [False] * 4
    _close(h_numba.history["loss"], h_eager.history["loss"], np.float64)
    _same_model(eager, model)


def test_a_predicate_without_a_lowering_keeps_the_numpy_step_and_says_why():
    def loss_fn(out, y):
        return ((out - y) ** 2).mean() + ad.std(out)  # std decides _all_positive: no numba lowering

    rng = np.random.default_rng(6)
    model = nn.MLP([3, 4, 2], seed=0)
    step = nn.compile_step(model, loss_fn, FLAT_OPTIMIZERS["sgd"](model.parameters()), backend="numba")
    for _ in range(3):
        step(rng.normal(size=(5, 3)), rng.normal(size=(5, 2)))
    first = step.source.splitlines()[0]
    assert first == ("# numba whole step not used: the program has 1 guard(s) on computed values (_all_positive) "
                     "whose predicate has no numba lowering"), first


# ---------------------------------------------------------------- the predicates' lowerings
def _flag_kernel(predicate, x, other=None, **params):
    """One njit function computing ``predicate``'s flag from x with the kernel's lowering."""
    values = [Value(0, "input", x.shape, x.dtype, slot=0)]
    if other is not None:
        values.append(Value(1, "const", other.shape, other.dtype, data=other))
    out = Value(len(values), "op", (), np.dtype(bool))
    op = Op(op_primitive(predicate), tuple(range(len(values))), params, out.index)
    program = Program([*values, out], [op], [out.index], 1)
    body = lower_program(program, {0: "a0"}, {})
    source = "def f(a0" + (", k0" if other is not None else "") + "):\n" + "".join(
        f"    {line}\n" for line in body.lines) + f"    return {body.outputs[0]}\n"
    namespace = {"np": np}
    exec(source, namespace)  # noqa: S102  (our generated code)
    fn = numba.njit(namespace["f"])
    return lambda a: fn(a, *body.const_args.values())


EDGES = np.array([[0.5, -0.0, np.inf], [np.nan, 1.0, -2.0]])


@pytest.mark.parametrize("predicate", [has_zero, has_nan, has_inf, _probabilities])
def test_predicate_lowerings_answer_as_numpy(predicate):
    cases = [EDGES, np.array([[0.5, 0.25, 1.0], [0.0, 0.75, 1.0]]), np.array([[0.5, 2.0, 1.0], [3.0, 1.0, 0.1]]),
             np.array([[0.5, -1.0, 1.0], [np.nan, 1.0, 0.1]]), np.array([[0.5, np.nan, 1.0], [-np.inf, 1.0, 0.1]])]
    fn = _flag_kernel(predicate, cases[0])
    for x in cases:
        assert fn(x) == predicate(x), (predicate.__name__, x)
    for other in (np.array([[0, 1], [2, -3]]), np.array([[1, 1], [2, 3]]), np.array([[True, False]]),
                  np.array([[0.5, 1.0]], np.float32), np.array([[0.5, np.nan]], np.float32)):
        assert _flag_kernel(predicate, other)(other) == predicate(other), (predicate.__name__, other)


def test_same_values_and_plain_labels_lowerings_answer_as_numpy():
    traced = EDGES.copy()
    same = _flag_kernel(same_values, EDGES, traced)
    changed = EDGES.copy()
    changed[0, 0] = 0.25
    assert same(EDGES.copy()) and not same(changed)  # NaN equals NaN; -0.0 equals 0.0
    assert same(np.where(np.isnan(EDGES), np.nan, EDGES + 0.0)) == same_values(EDGES + 0.0, traced)
    labels = _flag_kernel(_plain_labels, np.zeros(5, np.int64), c=3, ignore_index=-100)
    for t in ([0, 1, 2, 2, 0], [0, -1, 2, 1, 1], [0, 3, 1, 1, 1], [2, 2, 2, 2, 2]):
        t = np.array(t)
        assert labels(t) == _plain_labels(t, 3, -100), t
    floats = _flag_kernel(_plain_labels, np.zeros(5), c=3, ignore_index=-100)
    for t in ([0.0, 1.0, 2.0, 2.0, 0.0], [0.0, np.nan, 2.0, 1.0, 1.0], [np.nan, 5.0, 1.0, 1.0, 1.0]):
        t = np.array(t)
        assert floats(t) == _plain_labels(t, 3, -100), t
    ignoring = _flag_kernel(_plain_labels, np.zeros(5, np.int64), c=3, ignore_index=1)
    for t in ([0, 1, 2, 2, 0], [0, 0, 2, 2, 2]):
        t = np.array(t)
        assert ignoring(t) == _plain_labels(t, 3, 1), t
