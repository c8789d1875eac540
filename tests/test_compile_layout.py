"""The order a compiled matrix product is computed in (autodiff.compile.layout): swapped
or direct, a compiled step keeps eager's bits; the swapped order is refused when the
library's result differs from the direct product's."""

import numpy as np
import pytest

import autodiff as ad
import nn
from autodiff.compile import layout
from nn import optim
from tests.helpers import eager_step

SWAPPED = ".T, "  # np.matmul(y.T, x.T, out=...).T in the generated source


@pytest.fixture
def choose(monkeypatch):
    """Force the measured choice: choose(True) swaps every candidate product, choose(False) none."""
    def force(swap: bool) -> None:
        layout.forget()
        monkeypatch.setattr(layout, "_measure", lambda *key, **kw: swap)
    yield force
    layout.forget()


@pytest.mark.parametrize("swap", [True, False])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("fuse", [True, False])
def test_a_compiled_mlp_step_equals_eager_bit_for_bit_in_either_order(choose, swap, dtype, fuse):
    choose(swap)
    rng = np.random.default_rng(3)
    X, y = rng.normal(size=(16, 40)).astype(dtype), rng.integers(0, 4, 16)
    eager_model, model = (nn.MLP([40, 32, 24, 4], seed=0, dtype=dtype) for _ in range(2))
    eager_opt, opt = optim.SGD(eager_model.parameters(), lr=0.1), optim.SGD(model.parameters(), lr=0.1)
    step = nn.compile_step(model, nn.CrossEntropyLoss(), opt, fuse=fuse)
    for k in range(5):
        Xk = (X + 0.1 * k).astype(dtype)
        assert eager_step(eager_model, nn.CrossEntropyLoss(), eager_opt, Xk, y) == step(Xk, y)
    assert (SWAPPED in step.source) == swap  # the hidden layers' input gradients g @ W.T
    for p, q in zip(eager_model.parameters(), model.parameters(), strict=True):
        np.testing.assert_array_equal(p.data, q.data)
        np.testing.assert_array_equal(p.grad.data, q.grad.data)


def test_a_jitted_gradient_through_a_transposed_product_equals_eager(choose):
    choose(True)
    rng = np.random.default_rng(0)
    x, w = rng.normal(size=(5, 7)), rng.normal(size=(6, 7))

    def f(x, w):
        return (ad.tanh(x @ w.T) ** 2).sum()

    g = ad.jit(ad.grad(f, argnums=(0, 1)))
    for k in range(3):
        xk = x + k
        got, want = g(xk, w), ad.grad(f, argnums=(0, 1))(xk, w)
        for a, b in zip(got, want, strict=True):
            np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


def test_the_swapped_order_is_refused_when_its_bits_differ():
    calls = []

    def off_by_an_ulp_when_swapped(a, b, out):  # a library summing in another order
        calls.append(out.shape)
        np.matmul(a, b, out=out)
        if out.shape == (48, 32):  # the swapped product, (y.T @ x.T)
            np.nextafter(out, np.inf, out=out)
        return out

    def much_faster_when_swapped(a, b, out):
        calls.append(out.shape)
        if out.shape == (32, 48):
            np.matmul(np.tile(a, (1, 50)), np.tile(b, (50, 1)))  # the direct order made slow
        return np.matmul(a, b, out=out)

    key = ((32, 64), (64, 48), "<f4", "C", "T")
    assert layout._measure(*key, matmul=much_faster_when_swapped) is True
    assert layout._measure(*key, matmul=off_by_an_ulp_when_swapped) is False
    assert calls.count((48, 32)) > 1 and calls[-2:] == [(32, 48), (48, 32)]  # compared once, not timed


def test_only_two_dimensional_float_products_of_some_size_are_candidates(choose):
    choose(True)
    rng = np.random.default_rng(1)

    def source_of(f, *args):
        jf = ad.jit(f)
        for _ in range(3):
            jf(*args)
        return jf.source

    a, b = rng.normal(size=(4, 20, 24)), rng.normal(size=(4, 24, 16))
    assert SWAPPED not in source_of(lambda a, b: a @ b, a, b)  # batched
    i, j = rng.integers(0, 5, (24, 20)), rng.integers(0, 5, (20, 16))
    assert SWAPPED not in source_of(lambda i, j: ad.Tensor(i) @ ad.Tensor(j), i, j)  # integers
    x, w = rng.normal(size=(6, 5)), rng.normal(size=(4, 5))
    assert SWAPPED not in source_of(lambda x, w: ad.Tensor(x) @ ad.Tensor(w).T + 1.0, x, w)  # 120 multiply-adds
    x, w = rng.normal(size=(24, 20)), rng.normal(size=(16, 20))
    assert SWAPPED in source_of(lambda x, w: ad.Tensor(x) @ ad.Tensor(w).T + 1.0, x, w)
