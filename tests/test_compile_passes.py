"""The compiled mode's passes and fused kernels: each one gives the bits the unfused
program (eager NumPy forwards) gives, and a compiled function is traced no more than it
must be."""

import numpy as np
import pytest

import autodiff as ad
import nn
from autodiff.primitives import softmax_cross_entropy_grad_p, softmax_cross_entropy_p
from nn import optim
from nn.flat import FlatOptimizer
from tests.helpers import FLAT_OPTIMIZERS


def _loss_and_grad(x, labels):
    return ad.value_and_grad(lambda z: softmax_cross_entropy_p(z, labels=labels))(x)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_softmax_cross_entropy_and_its_gradient_run_as_one_kernel_with_the_same_bits(dtype):
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 5, 7)
    f = ad.jit(lambda x: _loss_and_grad(x, labels))
    for k in range(4):
        x = (rng.normal(size=(7, 5)) * 3).astype(dtype)
        if k == 3:  # an infinite logit takes the primitives' own (shifted) path
            x[2, 1] = np.inf
        with np.errstate(invalid="ignore"):
            loss, grad = f(x)
            want_loss = softmax_cross_entropy_p.forward(x, labels=labels)
            want_grad = softmax_cross_entropy_grad_p.forward(x, np.ones((), dtype), labels=labels)
        assert loss.dtype == dtype and grad.dtype == dtype
        np.testing.assert_array_equal(loss, want_loss)
        np.testing.assert_array_equal(grad, want_grad)
    assert "f_sce_pair" in f.source and "losses paired" in str(f.program)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_the_loss_kernels_gradient_scale_from_a_traced_or_a_constant_seed(dtype):
    """g / N is computed once when the backward's seed is a constant, at every call when
    it is a traced value (a weight the caller passes)."""
    rng = np.random.default_rng(1)
    labels = rng.integers(0, 4, 6)
    weighted = ad.jit(lambda x, w: ad.value_and_grad(lambda z: softmax_cross_entropy_p(z, labels=labels) * w)(x))
    plain = ad.jit(lambda x: _loss_and_grad(x, labels))
    for k in range(3):
        x, w = rng.normal(size=(6, 4)).astype(dtype), dtype(0.5 + k)
        loss, grad = weighted(x, w)
        np.testing.assert_array_equal(grad, softmax_cross_entropy_grad_p.forward(x, np.asarray(w), labels=labels))
        np.testing.assert_array_equal(loss, softmax_cross_entropy_p.forward(x, labels=labels) * w)
        np.testing.assert_array_equal(plain(x)[1], softmax_cross_entropy_grad_p.forward(x, np.ones((), dtype),
                                                                                          labels=labels))
    assert "scale=" in plain.source and "scale=" not in weighted.source


def test_the_paired_kernel_refuses_labels_out_of_range():
    f = ad.jit(lambda x, y: _loss_and_grad(x, y))
    rng = np.random.default_rng(1)
    for k in range(3):
        f(rng.normal(size=(4, 3)), np.array([0, 1, 2, k % 3]))
    with pytest.raises(ValueError, match=r"labels must be in \[0, 2\] for 3 classes, got \[3\]"):
        f(rng.normal(size=(4, 3)), np.array([0, 1, 2, 3]))
    with pytest.raises(ValueError, match=r"labels must be in \[0, 2\] for 3 classes, got \[-1\]"):
        f(rng.normal(size=(4, 3)), np.array([0, 1, -1, 2]))  # as unsigned, -1 is the largest label


def test_a_call_identical_to_the_traced_one_is_not_traced_again():
    f = ad.jit(lambda x: ad.tanh(x) * 2)
    x = np.array([0.5, -1.0])
    for _ in range(5):
        np.testing.assert_array_equal(f(x), np.tanh(x) * 2)
    assert f.traces == 1
    f(x + 1)
    f(x + 2)
    assert f.traces == 2  # the second distinct call verified the program; the third ran it


def test_a_compiled_step_on_one_batch_compiles_once_the_parameters_changed():
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(8, 4)), rng.integers(0, 3, 8)
    model = nn.MLP([4, 5, 3], seed=0)
    step = nn.compile_step(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1))
    for _ in range(4):
        step(X, y)
    assert step.traces == 2 and step.ran is not None  # the second step's parameters differ: it verified
    step(X + 1, y)  # verified for that one batch only: a new batch is traced and compared first
    assert step.traces == 3 and step.ran is None
    step(X + 2, y)
    assert step.traces == 3 and step.ran is not None


OPTIMIZERS = FLAT_OPTIMIZERS


@pytest.mark.parametrize("piece_bytes", [131072, 24])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_updates_placed_right_after_each_gradient_equal_eager_bit_for_bit(name, dtype, piece_bytes, monkeypatch):
    monkeypatch.setattr(FlatOptimizer, "segment_size", 1)  # every parameter updated on its own
    monkeypatch.setattr(FlatOptimizer, "piece_bytes", piece_bytes)  # 24: in pieces of 3 or 6 elements
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(12, 6)).astype(dtype), rng.integers(0, 3, 12)
    eager, compiled = (nn.MLP([6, 10, 8, 3], seed=1, dtype=dtype) for _ in range(2))
    eager_opt, opt = OPTIMIZERS[name](eager.parameters()), OPTIMIZERS[name](compiled.parameters())
    step = nn.compile_step(compiled, nn.CrossEntropyLoss(), opt)
    for k in range(5):
        Xk = X + dtype(0.1 * k)
        eager_opt.zero_grad()
        loss = nn.CrossEntropyLoss()(eager(Xk), y)
        loss.backward()
        eager_opt.step()
        assert step(Xk, y) == loss.item()
    for p, q in zip(eager.parameters(), compiled.parameters(), strict=True):
        np.testing.assert_array_equal(p.data, q.data)
        np.testing.assert_array_equal(p.grad.data, q.grad.data)
    body = step.source.split("return")[0]
    assert "part 5" in body and body.index("part 0") > body.index("out=g0")  # each after its own gradient
    assert ("P_0_1" in body) == (piece_bytes == 24)  # the 6 x 10 weight in pieces, or in one


def test_the_model_output_is_written_into_one_buffer():
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(8, 4)), rng.integers(0, 3, 8)
    model = nn.MLP([4, 5, 3], seed=0)
    step = nn.compile_step(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1))
    outputs = []
    for k in range(4):
        with ad.no_grad():
            want = model(X + k).data.copy()  # the output on the parameters before the step
        step(X + k, y)
        np.testing.assert_array_equal(step.output, want)
        outputs.append(step.output)
    assert outputs[2] is outputs[3] and "out=OUTPUT" in step.source


def test_numbers_compared_with_floats_are_inlined_as_numpy_casts_them_eagerly():
    relu_grad = ad.jit(ad.grad(lambda x: ad.relu(x).sum()))
    big = ad.jit(lambda x: (x >= 16777217) * x)  # 2**24 + 1: compared as float32 16777216 eagerly
    for k in range(3):
        x = np.array([0.0, -0.0, 1e-45, -1e-45, np.nan, np.inf, 16777216.0, 2.0 + k], dtype=np.float32)
        with np.errstate(invalid="ignore"):
            np.testing.assert_array_equal(relu_grad(x), (x > 0).astype(np.float32))
            want = ((ad.Tensor(x) >= 16777217) * ad.Tensor(x)).numpy()
            np.testing.assert_array_equal(big(x), want)
    assert "np.greater(a0, f32_0p0, " in relu_grad.source  # a float32 zero: the cast done once
    assert want[6] == 16777216 and "np.greater_equal(a0, f32_1p6777216e07" in big.source
