"""Calls that alternate between two cases a rule decides on values (a guard: NaN or not,
padding rows or not) compile both: a first trace of one case is kept while the other
case is traced, so neither waits for two calls of its kind in a row."""

import numpy as np
from hypothesis import given, settings, strategies as st

import autodiff as ad
import nn
from nn import optim
from tests.helpers import eager_step


def test_alternating_cases_of_a_guard_compile_both():
    g = ad.grad(lambda x: ad.nansum(x * x))
    f = ad.jit(g)
    base = [np.array([1.0, 2.0, 3.0]), np.array([1.0, np.nan, 3.0])]
    for k in range(10):
        x = base[k % 2] + k
        np.testing.assert_array_equal(f(x), g(x))
        assert f.traces == min(k + 1, 4)  # two traces of each case, then compiled code only
        assert (f.ran is not None) == (k >= 4)
    assert f.guard_failures > 0


def test_three_cases_in_turn_stay_correct():
    g = ad.grad(lambda x: ad.nansum(x * x) + ad.sum(ad.where(x > 0, x, 0.0)))
    f = ad.jit(g)
    base = [np.array([1.0, 2.0]), np.array([np.nan, 2.0]), np.array([1.0, np.inf])]
    for k in range(12):
        x = base[k % 3] * (1 + k)
        with np.errstate(invalid="ignore"):
            np.testing.assert_array_equal(f(x), g(x))


def test_a_step_alternating_padded_and_plain_batches_compiles_both():
    rng = np.random.default_rng(5)
    model, twin = nn.MLP([4, 6, 3], seed=0), nn.MLP([4, 6, 3], seed=0)
    step = nn.compile_step(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1))
    opt, loss_fn = optim.SGD(twin.parameters(), lr=0.1), nn.CrossEntropyLoss()
    for k in range(10):
        X, y = rng.normal(size=(8, 4)), rng.integers(0, 3, 8)
        if k % 2:
            y[[1, 5]] = -100  # padding rows: the general path's case
        assert step(X, y) == eager_step(twin, loss_fn, opt, X, y)
        assert (step.ran is not None) == (k >= 4)
    assert step.traces == 4
    for p, q in zip(model.parameters(), twin.parameters(), strict=True):
        np.testing.assert_array_equal(p.data, q.data)


_BINARY = [lambda x, c: x + c, lambda x, c: c - x, lambda x, c: x * c, lambda x, c: x / c,
           lambda x, c: ad.maximum(x, c), lambda x, c: (x > c) * x, lambda x, c: (x <= c) * x,
           lambda x, c: x ** c]


@given(st.sampled_from(range(len(_BINARY))), st.sampled_from([np.float16, np.float32, np.float64]),
       st.one_of(st.floats(-1e6, 1e6, width=64), st.integers(-(2 ** 25), 2 ** 25), st.sampled_from([-0.0, 1e-45, 2])))
@settings(max_examples=60, deadline=None)
def test_number_operands_compile_as_numpy_casts_them(k, dtype, c):
    """A Python number in the traced code is bound as NumPy casts it (a 0-d array of the other
    operand's dtype, or the number itself): the same bits and dtype as eager."""
    f = _BINARY[k]
    jitted = ad.jit(lambda x: f(x, c))
    for j in range(3):
        x = (np.linspace(-2.0, 3.0, 5) + j).astype(dtype)
        with np.errstate(all="ignore"):
            want = f(ad.Tensor(x), c).numpy()
            got = jitted(x)
        assert got.dtype == want.dtype
        np.testing.assert_array_equal(got, want)
