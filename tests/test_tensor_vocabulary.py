"""What a PyTorch or NumPy user types on a Tensor: aliases, methods, creation; values checked
against NumPy, gradients against closed forms."""

from __future__ import annotations

import numpy as np
import pytest

import autodiff as ad

A = np.arange(24.0).reshape(2, 3, 4)


def test_dim_and_keepdim_aliases_match_numpy():
    t = ad.Tensor(A)
    for name in ("sum", "mean", "max", "min", "var"):
        np.testing.assert_allclose(getattr(t, name)(dim=1, keepdim=True).data, getattr(A, name)(axis=1, keepdims=True))
        np.testing.assert_allclose(getattr(ad, name)(t, dim=(0, 2)).data, getattr(A, name)(axis=(0, 2)))
        with pytest.raises(TypeError, match=f"{name}: got both axis= and dim="):
            getattr(t, name)(axis=0, dim=0)
    np.testing.assert_allclose(ad.softmax(t, dim=0).data.sum(axis=0), np.ones((3, 4)))
    np.testing.assert_allclose(ad.concatenate([t, t], dim=2).data, np.concatenate([A, A], axis=2))
    assert t.squeeze(dim=None).shape == A.shape and t[:, :1].squeeze(dim=1).shape == (2, 4)


def test_max_with_dim_returns_values_and_argmax_gives_indices():
    t = ad.Tensor(A)
    np.testing.assert_array_equal(t.max(dim=2).data, A.max(axis=2))
    np.testing.assert_array_equal(t.argmax(dim=2).data, A.argmax(axis=2))
    np.testing.assert_array_equal(t.argmin(axis=1, keepdims=True).data, A.argmin(axis=1, keepdims=True))
    assert t.argmax().item() == 23


def test_size_stays_numpy_and_explains_torch_spelling():
    t = ad.Tensor(A)
    assert t.size == 24 and t.numel() == 24 and t.dim() == 3
    with pytest.raises(TypeError, match="use t.shape"):
        t.size()


def test_shape_methods_match_numpy():
    t = ad.Tensor(A)
    np.testing.assert_array_equal(t.view(4, 6).data, A.reshape(4, 6))
    np.testing.assert_array_equal(t.permute(2, 0, 1).data, A.transpose(2, 0, 1))
    np.testing.assert_array_equal(t.transpose(0, 2).data, A.swapaxes(0, 2))   # PyTorch's two-axis swap
    np.testing.assert_array_equal(t.unsqueeze(-1).data, A[..., None])
    np.testing.assert_array_equal(t.mT.data, A.swapaxes(-1, -2))
    np.testing.assert_array_equal(t.ravel().data, A.ravel())
    np.testing.assert_array_equal(ad.Tensor(A[0]).t().data, A[0].T)
    with pytest.raises(ValueError, match="t\\(\\)"):
        t.t()
    np.testing.assert_array_equal(ad.Tensor(A[:, :1]).expand(-1, 3, -1).data, np.broadcast_to(A[:, :1], A.shape))
    assert [c.shape for c in t.chunk(2, dim=2)] == [(2, 3, 2), (2, 3, 2)]
    assert [c.shape for c in t.split(2, dim=1)] == [(2, 2, 4), (2, 1, 4)]
    assert [c.shape for c in t.split([1, 3], dim=2)] == [(2, 3, 1), (2, 3, 3)]


def test_indexing_methods_route_gradients():
    x = ad.Tensor(A[0], requires_grad=True)
    idx = np.array([[2, 0], [1, 1], [3, 3]])
    g = x.gather(1, idx)
    np.testing.assert_array_equal(g.data, np.take_along_axis(A[0], idx, axis=1))
    g.sum().backward()
    expected = np.zeros((3, 4))
    np.add.at(expected, (np.arange(3)[:, None], idx), 1.0)   # repeated indices accumulate
    np.testing.assert_array_equal(x.grad.data, expected)
    x.grad = None
    x.index_select(1, [0, 0, 2]).sum().backward()
    np.testing.assert_array_equal(x.grad.data, np.tile([2.0, 0.0, 1.0, 0.0], (3, 1)))
    x.grad = None
    x.masked_fill(A[0] > 5, 0.0).sum().backward()
    np.testing.assert_array_equal(x.grad.data, (A[0] <= 5).astype(float))


def test_conversions_and_clone():
    x = ad.Tensor([1.5, 2.5], requires_grad=True)
    assert x.float().dtype == np.float32 and x.double().dtype == np.float64 and x.long().dtype == np.int64
    assert x.to(np.float32).dtype == np.float32 and x.to("cpu") is x and x.type_as(x.float()).dtype == np.float32
    c = x.clone()
    assert not np.shares_memory(c.data, x.data) and c.requires_grad
    (c * c).sum().backward()
    np.testing.assert_allclose(x.grad.data, [3.0, 5.0])
    assert x.tolist() == [1.5, 2.5] and x.copy().tolist() == [1.5, 2.5]
    assert x.grad_fn is None and (x * 2).grad_fn is ad.mul


def test_elementwise_and_linear_algebra_methods():
    x = ad.Tensor([0.5, 1.0])
    for name in ("sin", "cos", "tan", "exp", "log", "log1p", "sqrt", "tanh", "abs"):
        np.testing.assert_allclose(getattr(x, name)().data, getattr(np, name)(x.data))
    np.testing.assert_allclose(x.pow(3).data, x.data ** 3)
    np.testing.assert_allclose(x.clamp(min=0.7).data, [0.7, 1.0])
    m = ad.Tensor(np.eye(2) * 2)
    np.testing.assert_allclose(m.mm(m).data, np.eye(2) * 4)
    np.testing.assert_allclose(m.matmul(x).data, [1.0, 2.0])
    assert x.all().item() and ad.Tensor([0.0, 1.0]).any().item() and not ad.Tensor([0.0, 1.0]).all().item()
    np.testing.assert_allclose(x.log_softmax(dim=0).data, np.log(np.exp(x.data) / np.exp(x.data).sum()))


def test_methods_of_functions_another_module_adds_say_so():
    x = ad.Tensor([1.0, 2.0])
    for name in ("std", "prod", "cumsum", "flip", "repeat"):
        if hasattr(ad, name):
            np.testing.assert_allclose(getattr(x, name)().data if name != "repeat" else x.repeat(2).data,
                                       getattr(np, name)(x.data) if name != "repeat" else np.repeat(x.data, 2))
        else:
            with pytest.raises(AttributeError, match=f"autodiff has no function {name}"):
                getattr(x, name)()


def test_creation():
    assert ad.zeros(2, 3).shape == (2, 3) and ad.ones((2,)).dtype == np.float64
    assert ad.zeros(2, dtype=np.float32).dtype == np.float32 and ad.ones(1, requires_grad=True).requires_grad
    np.testing.assert_array_equal(ad.full((2,), 7.0).data, [7.0, 7.0])
    np.testing.assert_array_equal(ad.eye(2).data, np.eye(2))
    np.testing.assert_array_equal(ad.arange(1, 7, 2).data, [1, 3, 5])
    assert ad.arange(0.0, 1.0, 0.5).dtype == np.float64
    np.testing.assert_allclose(ad.linspace(0, 1, 5).data, np.linspace(0, 1, 5))
    x = ad.Tensor(np.ones((2, 2), np.float32))
    assert ad.zeros_like(x).dtype == np.float32 and ad.ones_like(x).data.sum() == 4
    a = np.zeros(2)
    f = ad.from_numpy(a)
    f[0] = 3.0
    assert a[0] == 3.0


def test_random_creation_needs_an_explicit_generator():
    np.testing.assert_array_equal(ad.randn(3, rng=0).data, np.random.default_rng(0).standard_normal(3))
    np.testing.assert_array_equal(ad.rand(2, 2, rng=np.random.default_rng(1)).data,
                                  np.random.default_rng(1).random((2, 2)))
    r = ad.randint(5, size=(10,), rng=2)
    assert r.dtype == np.int64 and 0 <= r.data.min() and r.data.max() < 5
    with pytest.raises(TypeError, match="no global random state"):
        ad.randn(3)


def test_lists_holding_tensors_are_stacked_differentiably():
    x = ad.Tensor([1.0, 2.0], requires_grad=True)
    y = ad.tensor([x, 2 * x, [3.0, 4.0]])
    assert y.shape == (3, 2) and y.requires_grad
    y.sum().backward()
    np.testing.assert_allclose(x.grad.data, [3.0, 3.0])
    s = ad.Tensor(3.0, requires_grad=True)
    nested = ad.tensor([[s, 1.0], [2.0, s * s]])
    ad.sum(nested).backward()
    assert s.grad.item() == 1.0 + 6.0
    z = ad.Tensor(1.0, requires_grad=True)
    ad.mean([z, z + 2]).backward()
    assert z.grad.item() == 1.0
    with pytest.raises(ValueError, match="ragged"):
        ad.tensor([x, [1.0, 2.0, 3.0]])
