"""The fused softmax cross-entropy primitives against independent references: the
composite (log_softmax, gather, mean), float64 finite differences, SymPy and PyTorch."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, strategies as st

import autodiff as ad
import nn
from autodiff import primitives as P
from autodiff.testing import numerical_grad
from nn import functional as F


def _composite(x, labels):
    """The same loss without the fused primitive (what cross_entropy recorded before)."""
    logp = ad.log_softmax(x, axis=1)
    return -logp[np.arange(len(labels)), labels].sum() / len(labels)


def _case(seed, n, c, scale=3.0):
    rng = np.random.default_rng(seed)
    return rng.uniform(-scale, scale, (n, c)), rng.integers(0, c, n)


@given(st.integers(0, 10_000), st.integers(1, 4), st.integers(1, 4))
def test_value_gradient_and_hessian_match_composite_and_finite_differences(seed, n, c):
    x, labels = _case(seed, n, c)
    fused = ad.value_and_grad(lambda z: F.cross_entropy(z, labels))
    value, grad = fused(x)
    assert float(value) == pytest.approx(_composite(ad.Tensor(x), labels).item(), rel=1e-12, abs=1e-14)
    numeric = numerical_grad(lambda z: _composite(z, labels), x)
    np.testing.assert_allclose(np.asarray(grad), numeric, rtol=1e-6, atol=1e-8)
    v = np.random.default_rng(seed + 1).uniform(-1, 1, x.shape)
    hess_v = np.asarray(ad.hessian(lambda z: F.cross_entropy(z, labels))(x)).reshape(x.size, x.size) @ v.ravel()
    numeric_hv = numerical_grad(lambda z: (ad.grad(lambda w: _composite(w, labels))(z) * v).sum(), x)
    np.testing.assert_allclose(hess_v, numeric_hv.ravel(), rtol=1e-5, atol=1e-7)


def test_cross_entropy_uses_one_node_and_keeps_float32():
    x, labels = _case(1, 8, 4)
    t = ad.Tensor(x.astype(np.float32), requires_grad=True)
    loss = F.cross_entropy(t, labels)
    assert loss.prim is P.softmax_cross_entropy_p and loss.dtype == np.float32
    loss.backward()
    assert t.grad.dtype == np.float32
    np.testing.assert_allclose(t.grad.numpy(), numerical_grad(lambda z: _composite(z, labels), x), atol=1e-6)


@given(st.integers(0, 10_000), st.integers(1, 4), st.integers(2, 4))
def test_gradient_primitive_rules_match_finite_differences(seed, n, c):
    """Third order of the loss rests on the gradient primitive's own rules (x and g)."""
    x, labels = _case(seed, n, c)
    rng = np.random.default_rng(seed + 1)
    G, g = rng.uniform(-1, 1, (n, c)), np.array(rng.uniform(-2, 2))

    def f(z, s):
        return (P.softmax_cross_entropy_grad_p(z, s, labels=labels) * G).sum()

    gx, gg = ad.grad(f, argnums=(0, 1))(x, g)
    np.testing.assert_allclose(np.asarray(gx), numerical_grad(lambda z: f(z, g), x), rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(np.asarray(gg), numerical_grad(lambda s: f(x, s), g), rtol=1e-6, atol=1e-8)


def test_sympy_forms_agree_with_the_forwards():
    sp = pytest.importorskip("sympy")
    x, labels = _case(3, 3, 3)
    syms = np.array(sp.symbols("x0:9"), dtype=object).reshape(3, 3)
    g = sp.Symbol("g")
    values = {s: v for s, v in zip(syms.ravel(), x.ravel(), strict=True)} | {g: 0.7}
    loss = P.softmax_cross_entropy_p.sympy_array(sp, syms, labels=labels)[()]
    assert float(loss.subs(values)) == pytest.approx(P.softmax_cross_entropy_p(x, labels=labels).item(), rel=1e-12)
    grad = P.softmax_cross_entropy_grad_p.sympy_array(sp, syms, np.array(g, dtype=object), labels=labels)
    ours = P.softmax_cross_entropy_grad_p(x, np.array(0.7), labels=labels).numpy()
    np.testing.assert_allclose(np.array([[float(e.subs(values)) for e in row] for row in grad]), ours, rtol=1e-12)
    symbolic = np.array([[float(sp.diff(loss, s).subs(values)) for s in row] for row in syms])
    np.testing.assert_allclose(symbolic * 0.7, ours, rtol=1e-10, atol=1e-14)


def test_against_pytorch():
    torch = pytest.importorskip("torch")
    x, labels = _case(4, 16, 7, scale=30.0)
    xt = torch.tensor(x, requires_grad=True)
    ref = torch.nn.functional.cross_entropy(xt, torch.tensor(labels))
    ref.backward()
    ours = ad.Tensor(x, requires_grad=True)
    loss = nn.CrossEntropyLoss()(ours, labels)
    loss.backward()
    assert loss.item() == pytest.approx(ref.item(), rel=1e-12)
    np.testing.assert_allclose(ours.grad.numpy(), xt.grad.numpy(), rtol=1e-10, atol=1e-15)


def test_extreme_and_non_finite_logits():
    labels = np.array([0, 1])
    big = np.array([[1e4, -1e4], [0.0, 2.0]])
    assert np.isfinite(P.softmax_cross_entropy_p(big, labels=labels).item())
    with np.errstate(all="raise"):
        assert np.isnan(P.softmax_cross_entropy_p(np.array([[-np.inf, -np.inf], [1.0, 2.0]]), labels=labels).item())
        assert np.isnan(P.softmax_cross_entropy_p(np.array([[np.nan, 0.0], [1.0, 2.0]]), labels=labels).item())


@pytest.mark.parametrize("n, c", [(2, 3), (16, 2), (64, 10), (300, 32), (40, 33), (15, 4)])
def test_row_max_is_the_exact_row_max_on_either_path(n, c):
    from autodiff.primitives_loss import row_max

    rng = np.random.default_rng(n * c)
    for dtype in (np.float32, np.float64):
        x = rng.normal(size=(n, c)).astype(dtype) * 1e3
        x[rng.random((n, c)) < 0.1] = -np.inf
        x[0, :] = -np.inf
        x[1 % n, rng.integers(c)] = np.inf
        x[-1, rng.integers(c)] = np.nan
        np.testing.assert_array_equal(row_max(x), np.max(x, axis=1, keepdims=True))
        np.testing.assert_array_equal(row_max(x.T.copy().T), np.max(x, axis=1, keepdims=True))  # Fortran order


@pytest.mark.parametrize("n", [3, 64])
def test_large_logits_on_many_rows_stay_finite_and_match_the_composite(n):
    rng = np.random.default_rng(n)
    x, labels = rng.uniform(-1e4, 1e4, (n, 10)), rng.integers(0, 10, n)
    with np.errstate(over="raise", invalid="raise", divide="raise"):  # exp(-2e4) underflows to 0, as it may
        loss = P.softmax_cross_entropy_p(ad.Tensor(x, requires_grad=True), labels=labels)
        want = _composite(ad.Tensor(x), labels)
        np.testing.assert_allclose(loss.item(), want.item(), rtol=1e-12)
        grad = P.softmax_cross_entropy_grad_p(x, np.array(1.0), labels=labels).numpy()
    p = np.exp(x - x.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    p[np.arange(n), labels] -= 1
    np.testing.assert_allclose(grad, p / n, rtol=1e-12, atol=1e-300)


@pytest.mark.parametrize("labels, message", [
    (np.array([0, 3]), r"labels must be in \[0, 2\] for 3 classes, got \[3\]"),
    (np.array([0, -1]), r"labels must be in \[0, 2\] for 3 classes, got \[-1\]"),
    (np.array([0, -1], np.int8), r"labels must be in \[0, 2\] for 3 classes, got \[-1\]"),
    (np.array([-2, 0], ">i4"), r"labels must be in \[0, 2\] for 3 classes, got \[-2\]"),  # big-endian
    (np.array([0, 3], ">u2"), r"labels must be in \[0, 2\] for 3 classes, got \[3\]"),
    (np.array([255, 0], np.uint8), r"labels must be in \[0, 2\] for 3 classes, got \[255\]"),
    (np.array([0]), r"integer labels of shape \(2,\)"),
    (np.array([0.0, 1.0]), r"integer labels of shape \(2,\)"),
])
def test_primitive_refuses_bad_labels(labels, message):
    with pytest.raises(ValueError, match=message):
        P.softmax_cross_entropy_p(np.zeros((2, 3)), labels=labels)
    with pytest.raises(ValueError, match=message):
        P.softmax_cross_entropy_grad_p(np.zeros((2, 3)), np.array(1.0), labels=labels)


def test_cross_entropy_keeps_its_general_paths_and_messages():
    x, labels = _case(5, 6, 4)
    with pytest.raises(ValueError, match=r"cross_entropy: labels must be in \[0, 3\] for 4 classes"):
        F.cross_entropy(ad.Tensor(x), np.array([0, 1, 2, 3, 4, 0]))
    ignored = np.array([0, 1, -100, 3, 2, -100])  # ignore_index: the general path, mean over kept labels
    loss = F.cross_entropy(ad.Tensor(x), ignored)
    assert loss.prim is not P.softmax_cross_entropy_p
    assert loss.item() == pytest.approx(_composite(ad.Tensor(x[ignored >= 0]), ignored[ignored >= 0]).item())
    in_range = F.cross_entropy(ad.Tensor(x), labels, ignore_index=int(labels[0]))  # an ignore_index that occurs
    keep = labels != labels[0]
    assert in_range.item() == pytest.approx(_composite(ad.Tensor(x[keep]), labels[keep]).item())
    for kwargs in ({"reduction": "sum"}, {"label_smoothing": 0.1}, {"weight": np.ones(4)}):
        assert F.cross_entropy(ad.Tensor(x), labels, **kwargs).prim is not P.softmax_cross_entropy_p


def test_compiled_step_equals_eager_with_the_fused_loss():
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(16, 5)), rng.integers(0, 3, 16)
    models = [nn.MLP([5, 4, 3], seed=1) for _ in range(2)]
    opts = [nn.optim.SGD(m.parameters(), lr=0.1) for m in models]
    step = nn.compile_step(models[1], nn.CrossEntropyLoss(), opts[1], fuse=False)
    for _ in range(4):
        opts[0].zero_grad()
        loss = nn.CrossEntropyLoss()(models[0](X), y)
        loss.backward()
        opts[0].step()
        assert step(X, y) == loss.item()
    for a, b in zip(models[0].parameters(), models[1].parameters(), strict=True):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
